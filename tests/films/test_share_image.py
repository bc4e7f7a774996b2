"""The image of a title's sharing card (films.share_image): drawn once per change of what
it shows, served with an ETag."""

import io
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import formats, translation
from PIL import Image

from films import share_image
from films.models import Title
from tests.factories import TitleFactory, review

pytestmark = pytest.mark.django_db

GOLD = share_image.STAR_GOLD


def image_of(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    return image


@pytest.fixture
def drawings():
    """How many images were drawn while the test ran."""
    with mock.patch.object(
        share_image, "render_share_image", wraps=share_image.render_share_image
    ) as drawn:
        yield drawn


def share_url(title):
    return reverse("films:share_image", kwargs={"slug": title.slug})


def test_a_titles_share_image_is_a_1200_by_630_png(client, db):
    title = TitleFactory(name="Step Up: All In")
    assert image_of(client.get(share_url(title))).size == (1200, 630)


def test_the_sites_own_card_is_a_1200_by_630_png(client, db):
    assert image_of(client.get(reverse("films:site_share_image"))).size == (1200, 630)


def test_an_unchanged_title_is_not_drawn_again(client, db, drawings):
    title = TitleFactory()
    first = client.get(share_url(title))
    second = client.get(share_url(title))
    third = client.get(f"{share_url(title)}?v=anything")
    assert drawings.call_count == 1
    assert first.content == second.content == third.content
    assert first["ETag"] == second["ETag"]


def test_a_new_rating_draws_a_new_image_with_a_new_etag(client, db, drawings):
    title = TitleFactory()
    before = client.get(share_url(title))
    review(title=title, rating=7)
    after = client.get(share_url(title))
    assert drawings.call_count == 2
    assert after.content != before.content
    assert after["ETag"] != before["ETag"]


def test_a_client_holding_the_current_image_gets_304(client, db):
    title = TitleFactory()
    first = client.get(share_url(title))
    again = client.get(share_url(title), headers={"if-none-match": first["ETag"]})
    assert again.status_code == 304
    assert not again.content
    assert "public" in first["Cache-Control"] and "max-age" in first["Cache-Control"]


def test_an_unknown_title_is_a_404(client, db):
    assert client.get(reverse("films:share_image", kwargs={"slug": "nope"})).status_code == 404


def star_pixels(image, star):
    """Pixels of the left and right halves of star `star` (0 to 4)."""
    left = share_image.MARGIN * 2 + share_image.POSTER_WIDTH + 20 + star * (64 + 16)
    top = 630 - share_image.MARGIN - 150
    return image.getpixel((left + 24, top + 34))[:3], image.getpixel((left + 40, top + 34))[:3]


def test_the_stars_are_drawn_to_the_half(db):
    title = TitleFactory()
    Title.objects.filter(pk=title.pk).update(rating_count=1, rating_sum=7)  # 3.5 stars
    title.refresh_from_db()
    image = Image.open(io.BytesIO(share_image.render_share_image(title))).convert("RGB")
    assert star_pixels(image, 2) == (GOLD, GOLD)
    left, right = star_pixels(image, 3)
    assert left == GOLD and right != GOLD
    assert GOLD not in star_pixels(image, 4)


def test_the_caption_is_written_in_the_pages_language():
    title = Title(rating_count=1234, rating_sum=10366)  # 4.2 stars on average
    assert share_image.rating_caption(title).startswith("4.2 ")
    assert "1,234" in share_image.rating_caption(title)
    with translation.override("es"):
        caption = share_image.rating_caption(title)
        # Grouped as the site groups numbers in Spanish (its format module: "1.234" in
        # Latin America; Django's own es formats group with a no-break space).
        thousands = formats.get_format("THOUSAND_SEPARATOR")
    assert caption.startswith("4,2 ") and f"1{thousands}234" in caption
    assert share_image.rating_caption(Title()) == "No ratings yet"


def test_an_uploaded_poster_is_drawn_on_the_card(client, db):
    title = TitleFactory()
    red = io.BytesIO()
    Image.new("RGB", (480, 720), (220, 0, 0)).save(red, format="PNG")
    name = default_storage.save("posters/red.png", ContentFile(red.getvalue()))
    Title.objects.filter(pk=title.pk).update(poster=name)
    image = image_of(client.get(share_url(title))).convert("RGB")
    assert image.getpixel((share_image.MARGIN + 100, 300)) == (220, 0, 0)


def test_a_poster_whose_file_is_gone_still_gets_a_card(client, db):
    title = TitleFactory()
    Title.objects.filter(pk=title.pk).update(poster="posters/missing.png")
    assert image_of(client.get(share_url(title))).size == (1200, 630)


def test_the_spanish_image_is_drawn_apart_from_the_english_one(client, db, drawings):
    title = TitleFactory()
    review(title=title, rating=7)
    english = client.get(share_url(title))
    with translation.override("es"):
        spanish_url = share_url(title)
    assert spanish_url.startswith("/es/")
    spanish = client.get(spanish_url)
    assert drawings.call_count == 2
    assert image_of(spanish).size == (1200, 630)
    assert spanish["ETag"] != english["ETag"]
