import io
import os
import re
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from films.models import Character, Credit, Crew, CrewMembership, Person, Routine, Title, Trivia
from tests.factories import (
    CastCreditFactory,
    CharacterFactory,
    CrewMembershipFactory,
    PersonFactory,
    RoutineFactory,
    StaffUserFactory,
    TitleFactory,
    TriviaFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CATALOG_MODELS = [Title, Person, Character, Credit, Crew, Routine, Trivia]


def admin_url(model, view, *args):
    return reverse(f"admin:films_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def staff_client(client):
    client.force_login(StaffUserFactory())
    return client


def test_every_catalog_model_is_in_the_admin():
    registered = set(admin.site._registry)
    assert set(CATALOG_MODELS) <= registered
    assert CrewMembership not in registered  # edited as an inline under its crew


@pytest.mark.parametrize("model", CATALOG_MODELS)
def test_staff_open_list_add_and_change_pages(staff_client, catalog, model):
    listed = staff_client.get(admin_url(model, "changelist"))
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == model.objects.count() > 0
    assert staff_client.get(admin_url(model, "changelist"), {"q": "moose"}).status_code == 200
    added = staff_client.get(admin_url(model, "add"))
    assert added.status_code == 200
    assert added.context["adminform"].form.instance.pk is None
    obj = model.objects.first()
    changed = staff_client.get(admin_url(model, "change", obj.pk))
    assert changed.status_code == 200
    assert changed.context["adminform"].form.instance == obj


@pytest.mark.parametrize("model", CATALOG_MODELS)
def test_anonymous_visitors_and_ordinary_users_are_sent_to_the_login(client, catalog, model):
    url = admin_url(model, "changelist")
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == f"/admin/login/?next={url}"
    client.force_login(UserFactory())
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == f"/admin/login/?next={url}"


def test_title_page_has_credit_routine_and_trivia_inlines_and_a_poster_preview(
    staff_client, catalog
):
    title = Title.objects.get(slug="step-up-all-in")
    html = staff_client.get(admin_url(Title, "change", title.pk)).content.decode()
    for prefix in ("credits", "routines", "trivia"):
        assert f'name="{prefix}-TOTAL_FORMS"' in html
    assert 'src="/titles/step-up-all-in/poster.png"' in html
    # The slug fills itself from the name, for the title and for each routine inline.
    assert "&quot;id&quot;: &quot;#id_slug&quot;" in html
    assert "&quot;dependency_list&quot;: [&quot;name&quot;]" in html


def test_crew_page_has_a_members_inline(staff_client, catalog):
    crew = Crew.objects.get(slug="lmntrix")
    html = staff_client.get(admin_url(Crew, "change", crew.pk)).content.decode()
    assert 'name="memberships-TOTAL_FORMS"' in html
    assert "Mari Koda" in html


def routine_form(routine, dancers=(), **changes):
    """The routine's change form as a browser posts it, with `dancers` as new inline rows."""
    data = {
        "title": routine.title_id,
        "name": routine.name,
        "slug": routine.slug,
        "order": routine.order,
        "description_en": routine.description,
        "dancers-TOTAL_FORMS": len(dancers),
        "dancers-INITIAL_FORMS": 0,
        **changes,
    }
    for index, (person, character) in enumerate(dancers):
        data |= {
            f"dancers-{index}-person": person.pk,
            f"dancers-{index}-character": character.pk if character else "",
            f"dancers-{index}-order": index * 10,
        }
    return data


def test_a_routines_page_edits_its_dancers_inline_with_person_and_character_autocomplete(
    staff_client,
):
    routine = RoutineFactory()
    html = staff_client.get(admin_url(Routine, "change", routine.pk)).content.decode()
    assert 'name="dancers-TOTAL_FORMS"' in html
    for field in ("person", "character"):
        assert f'name="dancers-0-{field}"' in html
        assert f'data-field-name="{field}"' in html  # Django's autocomplete widget
    dancer, character, another = PersonFactory(), CharacterFactory(), PersonFactory()
    response = staff_client.post(
        admin_url(Routine, "change", routine.pk),
        routine_form(routine, [(dancer, character), (another, None)]),
    )
    assert response.status_code == 302
    assert [(d.person, d.character) for d in routine.dancers.all()] == [
        (dancer, character),
        (another, None),
    ]


def test_the_same_dancer_twice_in_a_routine_is_a_form_error_not_a_crash(staff_client):
    routine = RoutineFactory()
    dancer = PersonFactory()
    response = staff_client.post(
        admin_url(Routine, "change", routine.pk), routine_form(routine, [(dancer, None)] * 2)
    )
    assert response.status_code == 200
    assert "Please correct the duplicate data" in response.content.decode()
    assert not routine.dancers.exists()


def test_a_routines_stored_counts_are_shown_but_never_taken_from_the_form(staff_client):
    routine = RoutineFactory()
    Routine.objects.filter(pk=routine.pk).update(rating_count=2, rating_sum=15)
    html = staff_client.get(admin_url(Routine, "change", routine.pk)).content.decode()
    assert 'name="rating_count"' not in html and 'name="best_routine_count"' not in html
    response = staff_client.post(
        admin_url(Routine, "change", routine.pk),
        routine_form(routine, rating_count=99, rating_sum=0, best_routine_count=99),
    )
    assert response.status_code == 302
    routine.refresh_from_db()
    assert (routine.rating_count, routine.rating_sum, routine.best_routine_count) == (2, 15, 0)


def test_a_titles_routine_inline_still_saves_and_links_to_the_routines_own_page(staff_client):
    routine = RoutineFactory()
    title = routine.title
    html = staff_client.get(admin_url(Title, "change", title.pk)).content.decode()
    assert admin_url(Routine, "change", routine.pk) in html  # where its dancers are edited
    data = {
        "name_en": title.name,
        "slug": title.slug,
        "kind": title.kind,
        "franchise_position": title.franchise_position,
        "release_year": title.release_year,
        "routines-TOTAL_FORMS": 1,
        "routines-INITIAL_FORMS": 1,
        "routines-0-id": routine.pk,
        "routines-0-title": title.pk,
        "routines-0-name": "Renamed in the title's page",
        "routines-0-slug": routine.slug,
        "routines-0-order": 5,
    }
    for prefix in ("credits", "trivia"):
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    response = staff_client.post(admin_url(Title, "change", title.pk), data)
    assert response.status_code == 302
    routine.refresh_from_db()
    assert (routine.name, routine.order) == ("Renamed in the title's page", 5)


def test_editors_keep_routine_dancers(client):
    from django.contrib.auth.models import Group

    from tests.conftest import ensure_roles

    ensure_roles()
    editor = UserFactory(is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    client.force_login(editor)
    routine, dancer = RoutineFactory(), PersonFactory()
    response = client.post(
        admin_url(Routine, "change", routine.pk), routine_form(routine, [(dancer, None)])
    )
    assert response.status_code == 302
    assert routine.dancers.get().person == dancer


def test_admin_search_folds_case_and_accents(staff_client, db):
    Person.objects.create(name="Zoë Saldaña", slug="zoe-saldana")
    Person.objects.create(name="Somebody Else", slug="somebody-else")
    for term in ("zoe", "SALDAÑA", "saldana"):
        response = staff_client.get(admin_url(Person, "changelist"), {"q": term})
        assert [p.slug for p in response.context["cl"].result_list] == ["zoe-saldana"], term


def grow_catalog():
    for title in TitleFactory.create_batch(3):
        for _ in range(8):
            credit = CastCreditFactory(title=title)
            membership = CrewMembershipFactory(title=title, person=credit.person)
            RoutineFactory(title=title, crews=[membership.crew], choreographers=[credit.person])
            TriviaFactory(title=title)


@pytest.mark.parametrize("model", CATALOG_MODELS)
def test_changelist_query_count_does_not_grow_with_rows(
    staff_client, catalog, model, django_assert_num_queries
):
    # A list showing related names (credits: person, character, title) must not fetch
    # them once per row: the count with 24 more rows of everything is the same.
    url = admin_url(model, "changelist")
    with CaptureQueriesContext(connection) as before:
        assert staff_client.get(url).status_code == 200
    grow_catalog()
    with django_assert_num_queries(len(before)):
        assert staff_client.get(url).status_code == 200


def test_seed_records_are_listed_read_only(staff_client, catalog):
    response = staff_client.get(
        reverse("admin:films_catalogseedrecord_changelist"), {"q": "title:"}
    )
    assert response.status_code == 200
    assert "title:step-up-all-in" in response.content.decode()
    assert staff_client.get(reverse("admin:films_catalogseedrecord_add")).status_code == 403


# --- Posters -----------------------------------------------------------------------


def image_file(name="poster.png", size=(600, 900), image_format="PNG", image=None, **options):
    buffer = io.BytesIO()
    (image or Image.new("RGB", size, (200, 30, 90))).save(buffer, format=image_format, **options)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{image_format.lower()}")


def post_poster(staff_client, title, upload):
    data = {
        "name_en": title.name,
        "slug": title.slug,
        "kind": title.kind,
        "franchise_position": title.franchise_position,
        "release_year": title.release_year,
        "poster": upload,
    }
    for prefix in ("credits", "routines", "trivia"):
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    return staff_client.post(admin_url(Title, "change", title.pk), data)


def test_a_real_image_becomes_the_poster_with_a_resized_copy_for_lists(staff_client, client):
    title = TitleFactory()
    response = post_poster(staff_client, title, image_file())
    assert response.status_code == 302, response.context["adminform"].form.errors
    title.refresh_from_db()
    assert title.poster.name.startswith("posters/")
    assert title.poster_url == title.poster.url
    thumbnail = Image.open(title.poster_thumbnail.path)
    assert thumbnail.size == (240, 360)
    assert thumbnail.format == "JPEG"
    html = client.get(reverse("films:title_list")).content.decode()
    assert title.poster_thumbnail.url in html


def form_errors(response):
    assert response.status_code == 200
    return " ".join(str(error) for error in response.context["adminform"].form.errors["poster"])


def test_a_file_that_is_not_an_image_is_refused(staff_client):
    title = TitleFactory()
    fake = SimpleUploadedFile("poster.png", b"<html>not a poster</html>", content_type="image/png")
    assert "Upload a valid image" in form_errors(post_poster(staff_client, title, fake))
    title.refresh_from_db()
    assert not title.poster


def test_an_oversized_file_is_refused_with_its_size(staff_client, settings):
    settings.POSTER_MAX_UPLOAD_BYTES = 2000
    message = form_errors(
        post_poster(staff_client, TitleFactory(), image_file(size=(900, 1350), image_format="BMP"))
    )
    assert "posters may be at most 2.0\xa0KB" in message


def test_an_image_with_too_many_pixels_is_refused(staff_client, settings):
    settings.POSTER_MAX_PIXELS = 100_000
    message = form_errors(post_poster(staff_client, TitleFactory(), image_file(size=(600, 900))))
    assert "600×900 pixels" in message


def test_only_jpeg_png_and_webp_are_accepted(staff_client):
    message = form_errors(
        post_poster(staff_client, TitleFactory(), image_file("poster.gif", image_format="GIF"))
    )
    assert "JPEG, PNG or WebP" in message


def test_a_phone_photo_read_as_mpo_is_accepted(staff_client):
    frames = [Image.new("RGB", (600, 900), colour) for colour in ("red", "blue")]
    upload = image_file(
        "phone.jpg", image=frames[0], image_format="MPO", save_all=True, append_images=frames[1:]
    )
    assert Image.open(io.BytesIO(upload.read())).format == "MPO"
    upload.seek(0)
    title = TitleFactory()
    assert post_poster(staff_client, title, upload).status_code == 302
    title.refresh_from_db()
    assert title.poster


def test_the_list_copy_is_turned_upright_from_the_photos_exif_rotation(staff_client):
    """A photo stored landscape with "rotate 90° clockwise" in EXIF is a portrait poster."""
    stored = Image.new("RGB", (900, 600), "blue")
    stored.paste(Image.new("RGB", (450, 600), "red"), (0, 0))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    title = TitleFactory()
    upload = image_file("photo.jpg", image=stored, image_format="JPEG", exif=exif.tobytes())
    assert post_poster(staff_client, title, upload).status_code == 302
    title.refresh_from_db()
    thumbnail = Image.open(title.poster_thumbnail.path).convert("RGB")
    # Upright, the red half is on top and the blue half below.
    top, bottom = thumbnail.getpixel((120, 20)), thumbnail.getpixel((120, 340))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_saving_a_title_whose_poster_file_went_missing_still_works(staff_client):
    title = TitleFactory()
    assert post_poster(staff_client, title, image_file()).status_code == 302
    title.refresh_from_db()
    Path(title.poster.path).unlink()
    data = {
        "name_en": "Renamed",
        "slug": title.slug,
        "kind": title.kind,
        "franchise_position": title.franchise_position,
        "release_year": title.release_year,
    }
    for prefix in ("credits", "routines", "trivia"):
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    response = staff_client.post(admin_url(Title, "change", title.pk), data)
    assert response.status_code == 302
    title.refresh_from_db()
    assert title.name == "Renamed"


# --- Uploads: only the pixels are kept --------------------------------------------------


def jpeg_with_metadata_and_a_page_appended():
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS position
    buffer = io.BytesIO()
    Image.new("RGB", (600, 900), (200, 30, 90)).save(
        buffer, "JPEG", exif=exif.tobytes(), comment=b"taken at home"
    )
    # A polyglot: a valid JPEG that is also an HTML page with a script, for a sniffing browser.
    return buffer.getvalue() + b"<html><script>alert(document.cookie)</script></html>"


def test_a_stored_poster_keeps_only_its_pixels_not_metadata_or_appended_bytes(staff_client):
    title = TitleFactory(slug="all-in")
    upload = SimpleUploadedFile("camera.jpeg", jpeg_with_metadata_and_a_page_appended())
    assert post_poster(staff_client, title, upload).status_code == 302
    title.refresh_from_db()
    stored = Path(title.poster.path).read_bytes()
    assert b"<script" not in stored
    assert b"SpyCam" not in stored
    assert b"taken at home" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert image.size == (600, 900)
        assert not image.getexif()
        assert "exif" not in image.info and "comment" not in image.info
    # Named after the title, with the extension of what it really is.
    assert Path(title.poster.name).parent.name == "posters"
    assert Path(title.poster.name).suffix == ".jpg"
    assert Path(title.poster.name).stem.startswith("all-in")


def test_png_text_chunks_are_dropped_and_png_stays_png(staff_client):
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "someone@example.org")
    title = TitleFactory()
    assert post_poster(staff_client, title, image_file(pnginfo=text)).status_code == 302
    title.refresh_from_db()
    stored = Path(title.poster.path).read_bytes()
    assert b"someone@example.org" not in stored
    assert Image.open(io.BytesIO(stored)).format == "PNG"
    assert title.poster.name.endswith(".png")


@pytest.mark.parametrize(
    ("image_format", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")],
)
def test_every_stored_poster_is_served_as_an_image_whatever_its_upload_name(
    staff_client, settings, rf, image_format, content_type
):
    """The stored name's extension is the decoded format's, so a server (Django's own media
    view here, or nginx) sends an image content type; and nosniff stops a browser guessing."""
    from django.views.static import serve

    title = TitleFactory()
    upload = image_file("innocent.jpg", image_format=image_format)  # name and content disagree
    assert post_poster(staff_client, title, upload).status_code == 302
    title.refresh_from_db()
    response = serve(rf.get("/"), title.poster.name, document_root=settings.MEDIA_ROOT)
    assert response["Content-Type"] == content_type
    assert staff_client.get(title.get_absolute_url())["X-Content-Type-Options"] == "nosniff"


def test_an_html_file_named_like_an_image_is_refused(staff_client):
    page = SimpleUploadedFile("poster.jpg", b"<html><script>alert(1)</script></html>")
    assert "Upload a valid image" in form_errors(post_poster(staff_client, TitleFactory(), page))


def test_an_image_named_like_a_page_is_refused(staff_client):
    upload = image_file("poster.html")
    assert "extension" in form_errors(post_poster(staff_client, TitleFactory(), upload))


def test_a_truncated_image_is_refused_as_damaged(staff_client):
    whole = image_file("poster.png", size=(600, 900)).read()
    cut = SimpleUploadedFile("poster.png", whole[: len(whole) // 2])
    message = form_errors(post_poster(staff_client, TitleFactory(), cut))
    assert "damaged" in message or "valid image" in message


def test_a_file_over_five_megabytes_is_refused_with_a_clear_message(staff_client):
    noise = Image.frombytes("RGB", (1500, 1500), os.urandom(1500 * 1500 * 3))
    upload = image_file("noise.png", image=noise)
    assert upload.size > 5 * 1024 * 1024
    message = form_errors(post_poster(staff_client, TitleFactory(), upload))
    assert "posters may be at most 5.0\xa0MB" in message


# Pillow warns about the 144-million-pixel one as it opens it: expected, it is the point.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [12_000, 20_000])
def test_a_decompression_bomb_is_refused_before_it_is_decoded(staff_client, side):
    """A few kilobytes of PNG that would decode to 144 or 400 million pixels. Past twice
    Pillow's own limit Django's image check refuses it first, with its generic message."""
    bomb = image_file("bomb.png", image=Image.new("1", (side, side)))
    assert bomb.size < 200_000
    title = TitleFactory()
    message = form_errors(post_poster(staff_client, title, bomb))
    assert "144,000,000 pixels" not in message
    assert ("12000×12000 pixels" in message) if side == 12_000 else ("valid image" in message)
    title.refresh_from_db()
    assert not title.poster


def test_a_transparent_png_stays_transparent(staff_client):
    palette = Image.new("P", (600, 900), 0)
    palette.putpalette([255, 0, 0] * 256)
    title = TitleFactory()
    upload = image_file("logo.png", image=palette, transparency=0)
    assert post_poster(staff_client, title, upload).status_code == 302
    title.refresh_from_db()
    stored = Image.open(title.poster.path).convert("RGBA")
    assert stored.getpixel((10, 10))[3] == 0


# --- Both languages side by side (films/translation.py) ----------------------------------


def rendered_field_names(html):
    """The names of the form's inputs, in the order the page shows them."""
    return re.findall(r'name="([a-z_]+)"', html)


@pytest.mark.parametrize("accept_language", ["en", "es"])
def test_a_titles_texts_are_edited_and_saved_in_both_languages(staff_client, accept_language):
    title = TitleFactory(name="Step Up: All In", synopsis="Sean teams up with Moose.")
    url = admin_url(Title, "change", title.pk)
    html = staff_client.get(url, HTTP_ACCEPT_LANGUAGE=accept_language, follow=True).content.decode()
    names = rendered_field_names(html)
    for field in ("name", "tagline", "synopsis"):
        # English first, then Spanish, and never the language-less field, which would write
        # to whichever language the editor's admin happens to be in.
        assert names.index(f"{field}_en") + 1 == names.index(f"{field}_es")
        assert field not in names
    # No tabbed variant: nothing loaded from a CDN, which the site's CSP refuses.
    assert "jquery-ui" not in html and "tabbed_translation_fields" not in html
    data = {
        "name_en": "Step Up: All In",
        "name_es": "",
        "slug": title.slug,
        "kind": title.kind,
        "franchise_position": title.franchise_position,
        "release_year": title.release_year,
        "tagline_en": "",
        "tagline_es": "",
        "synopsis_en": "Sean teams up with Moose to build LMNTRIX.",
        "synopsis_es": "Sean se une a Moose para formar LMNTRIX.",
    }
    for prefix in ("credits", "routines", "trivia"):
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    response = staff_client.post(url, data, HTTP_ACCEPT_LANGUAGE=accept_language)
    assert response.status_code == 302
    stored = Title.objects.values("name_en", "name_es", "synopsis_en", "synopsis_es").get(
        pk=title.pk
    )
    assert stored == {
        "name_en": "Step Up: All In",
        # Blank is NULL, not "": every title without a Spanish name may leave it blank.
        "name_es": None,
        "synopsis_en": "Sean teams up with Moose to build LMNTRIX.",
        "synopsis_es": "Sean se une a Moose para formar LMNTRIX.",
    }


def test_two_titles_may_both_leave_the_spanish_name_blank(staff_client):
    first, second = TitleFactory(), TitleFactory()
    for title in (first, second):
        data = {
            "name_en": title.name,
            "name_es": "",
            "slug": title.slug,
            "kind": title.kind,
            "franchise_position": title.franchise_position,
            "release_year": title.release_year,
        }
        for prefix in ("credits", "routines", "trivia"):
            data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
        assert staff_client.post(admin_url(Title, "change", title.pk), data).status_code == 302
    assert Title.objects.filter(name_es__isnull=True).count() == 2


def test_a_title_without_its_english_name_is_a_form_error(staff_client):
    title = TitleFactory()
    data = {
        "name_en": "",
        "name_es": "Un título",
        "slug": title.slug,
        "kind": title.kind,
        "franchise_position": title.franchise_position,
        "release_year": title.release_year,
    }
    for prefix in ("credits", "routines", "trivia"):
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    response = staff_client.post(admin_url(Title, "change", title.pk), data)
    assert response.status_code == 200
    assert "name_en" in response.context["adminform"].form.errors


@pytest.mark.parametrize("accept_language", ["en", "es"])
def test_a_routines_description_is_edited_and_saved_in_both_languages(
    staff_client, accept_language
):
    routine = RoutineFactory(description="The final battle.")
    url = admin_url(Routine, "change", routine.pk)
    names = rendered_field_names(
        staff_client.get(url, HTTP_ACCEPT_LANGUAGE=accept_language, follow=True).content.decode()
    )
    assert names.index("description_en") + 1 == names.index("description_es")
    response = staff_client.post(
        url,
        routine_form(routine, description_es="La batalla final."),
        HTTP_ACCEPT_LANGUAGE=accept_language,
    )
    assert response.status_code == 302
    routine.refresh_from_db()
    assert (routine.description_en, routine.description_es) == (
        "The final battle.",
        "La batalla final.",
    )


@pytest.mark.parametrize("accept_language", ["en", "es"])
def test_a_persons_bio_is_edited_and_saved_in_both_languages(staff_client, accept_language):
    person = PersonFactory(name="Trish Sie", bio="Director of Step Up: All In.")
    url = admin_url(Person, "change", person.pk)
    names = rendered_field_names(
        staff_client.get(url, HTTP_ACCEPT_LANGUAGE=accept_language, follow=True).content.decode()
    )
    assert names.index("bio_en") + 1 == names.index("bio_es")
    response = staff_client.post(
        url,
        {
            "name": "Trish Sie",
            "slug": person.slug,
            "bio_en": "Director of Step Up: All In.",
            "bio_es": "Directora de Step Up: All In.",
        },
        HTTP_ACCEPT_LANGUAGE=accept_language,
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.bio_en, person.bio_es) == (
        "Director of Step Up: All In.",
        "Directora de Step Up: All In.",
    )


def test_a_titles_trivia_inline_has_both_languages_and_english_is_required(staff_client):
    item = TriviaFactory(text="A fact.")
    title = item.title
    html = staff_client.get(admin_url(Title, "change", title.pk)).content.decode()
    assert 'name="trivia-0-text_en"' in html and 'name="trivia-0-text_es"' in html
    data = {
        "name_en": title.name,
        "slug": title.slug,
        "kind": title.kind,
        "franchise_position": title.franchise_position,
        "release_year": title.release_year,
        "trivia-TOTAL_FORMS": 2,
        "trivia-INITIAL_FORMS": 1,
        "trivia-0-id": item.pk,
        "trivia-0-title": title.pk,
        "trivia-0-text_en": "A fact.",
        "trivia-0-text_es": "Un dato.",
        "trivia-0-order": 0,
        "trivia-1-title": title.pk,
        "trivia-1-text_en": "",
        "trivia-1-text_es": "Solo en español.",
        "trivia-1-order": 10,
    }
    for prefix in ("credits", "routines"):
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    response = staff_client.post(admin_url(Title, "change", title.pk), data)
    assert response.status_code == 200  # the new row lacks its English text
    assert Trivia.objects.count() == 1
    data |= {"trivia-TOTAL_FORMS": 1}
    assert staff_client.post(admin_url(Title, "change", title.pk), data).status_code == 302
    assert Trivia.objects.values_list("text_en", "text_es").get() == ("A fact.", "Un dato.")
