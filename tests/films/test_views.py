import io

import pytest
from django.urls import reverse
from PIL import Image

from films.models import Title
from tests.factories import (
    CastCreditFactory,
    CrewCreditFactory,
    CrewMembershipFactory,
    RoutineDancerFactory,
    RoutineFactory,
    TitleFactory,
    TriviaFactory,
    routine_rating,
)
from tests.html import assert_valid_accessible_page, parse, section_text

pytestmark = pytest.mark.django_db

PUBLIC_PAGES = [
    ("films:home", {}, "Step Up, from the first battle to the last"),
    ("films:title_list", {}, "Step Up: High Water"),
    ("films:title_detail", {"slug": "step-up-all-in"}, "Trish Sie"),
    ("films:person_list", {}, "Parris Goebel"),
    ("films:person_detail", {"slug": "adam-sevani"}, "Step Up 3D"),
    ("films:character_list", {}, "Andie West"),
    ("films:character_detail", {"slug": "moose"}, "Adam Sevani"),
    ("films:crew_list", {}, "LMNTRIX"),
    ("films:crew_detail", {"slug": "lmntrix"}, "Mari Koda"),
    ("films:routine_list", {}, "The Las Vegas finale"),
    ("films:routine_detail", {"slug": "las-vegas-finale"}, "Step Up: All In"),
    ("films:search", {}, 'aria-label="Search the catalog"'),
]


@pytest.mark.parametrize(("name", "kwargs", "expected"), PUBLIC_PAGES)
def test_every_public_page_opens_for_an_anonymous_reader(client, catalog, name, kwargs, expected):
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200
    html = response.content.decode()
    assert expected in html
    assert_valid_accessible_page(html)


@pytest.mark.parametrize(
    "name",
    [
        "films:title_detail",
        "films:person_detail",
        "films:character_detail",
        "films:crew_detail",
        "films:routine_detail",
    ],
)
def test_an_unknown_slug_is_a_404(client, db, name):
    assert client.get(reverse(name, kwargs={"slug": "no-such-thing"})).status_code == 404


def test_home_lists_the_franchise_in_order_with_something_to_read(client, catalog):
    html = client.get(reverse("films:home")).content.decode()
    positions = [
        html.index(name) for name in ("Step Up 2: The Streets", "Step Up 3D", "Step Up: All In")
    ]
    assert positions == sorted(positions)
    assert "Did you know?" in html
    assert "Tyler Gage, a Baltimore street dancer" in html


def test_title_page_shows_facts_cast_crews_routines_trivia_and_a_reviews_section(client, catalog):
    html = client.get(
        reverse("films:title_detail", kwargs={"slug": "step-up-all-in"})
    ).content.decode()
    assert '<dt class="col-sm-4">Director</dt>' in html
    assert "about US$14.9 million" in html
    assert "about US$71.0 million" in html
    assert 'href="/characters/moose/">Moose</a>' in html
    crews = section_text(html, "crews-heading")
    assert "LMNTRIX" in crews and "The Mob" in crews
    assert 'id="routine-frankenstein-lab-audition"' in html
    assert "first feature film" in html
    assert 'id="reviews"' in html
    assert "No one has rated Step Up: All In yet." in html


def test_job_headings_are_plural_when_several_people_hold_the_job(client, catalog):
    html = client.get(reverse("films:title_detail", kwargs={"slug": "step-up"})).content.decode()
    assert '<dt class="col-sm-4">Writers</dt>' in html
    assert '<dt class="col-sm-4">Director</dt>' in html


def test_unknown_pages_get_the_sites_own_404(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert 'href="/titles/"' in html
    assert_valid_accessible_page(html)


def test_a_crew_dancing_a_routine_shows_on_the_title_page_without_a_line_up(client, catalog):
    url = reverse("films:title_detail", kwargs={"slug": "step-up-2-the-streets"})
    html = client.get(url).content.decode()
    crews = html[html.index('id="crews-heading"') : html.index('id="routines-heading"')]
    assert 'href="/crews/410/">410</a>' in crews
    assert "Its line-up in this title has not been added yet." in crews
    assert 'href="/crews/msa-crew/">MSA Crew</a>' in crews


def test_twins_sharing_a_character_list_each_crew_once(client, catalog):
    html = client.get(reverse("films:character_detail", kwargs={"slug": "santiago-twins"}))
    text = html.content.decode()
    assert text.count('href="/crews/lmntrix/"') == 1
    assert text.count('href="/crews/house-of-pirates/"') == 1


def test_the_menu_marks_the_section_of_a_detail_page(client, catalog):
    html = client.get(reverse("films:title_detail", kwargs={"slug": "step-up"})).content.decode()
    assert '<a class="nav-link active" href="/titles/">Titles</a>' in html
    html = client.get(reverse("films:title_list")).content.decode()
    assert '<a class="nav-link active" aria-current="page" href="/titles/">Titles</a>' in html


def test_sitemap_lists_every_catalog_page_and_robots_points_to_it(client, catalog):
    sitemap = client.get("/sitemap.xml").content.decode()
    for path in (
        "/titles/step-up-all-in/",
        "/people/trish-sie/",
        "/characters/moose/",
        "/crews/lmntrix/",
        "/routines/las-vegas-finale/",
        "/routines/",
    ):
        assert f"http://testserver{path}</loc>" in sitemap
    robots = client.get("/robots.txt")
    assert robots["Content-Type"].startswith("text/plain")
    assert "Sitemap: http://testserver/sitemap.xml" in robots.content.decode()
    assert "Disallow: /admin/" in robots.content.decode()


def test_server_errors_get_the_sites_own_page(rf, db):
    from django.views.defaults import server_error

    html = server_error(rf.get("/")).content.decode()
    assert "Something went wrong" in html
    assert 'href="/"' in html


def test_character_page_lists_appearances_in_franchise_order(client, catalog):
    page = client.get(reverse("films:character_detail", kwargs={"slug": "moose"})).content.decode()
    html = page[page.index('id="timeline-heading"') :]
    order = [
        html.index(name) for name in ("Step Up 2: The Streets", "Step Up 3D", "Step Up: All In")
    ]
    assert order == sorted(order)


def test_crew_page_lists_members_per_title(client, catalog):
    page = client.get(reverse("films:crew_detail", kwargs={"slug": "the-mob"})).content.decode()
    html = page[page.index('id="members-heading"') :]
    revolution, all_in = html.index("Step Up Revolution"), html.index("Step Up: All In")
    assert revolution < html.index("Misha Gabriel") < all_in


def test_person_page_lists_roles_across_titles(client, catalog):
    page = client.get(reverse("films:person_detail", kwargs={"slug": "alyson-stoner"}))
    roles = parse(page).findall(".//section[@aria-labelledby='roles-heading']//a")
    # Camille in Step Up, Step Up 3D and All In, each beside the title it is played in.
    assert [a.get("href") for a in roles].count("/characters/camille/") == 3
    assert {"/titles/step-up/", "/titles/step-up-3d/", "/titles/step-up-all-in/"} <= {
        a.get("href") for a in roles
    }


@pytest.mark.usefixtures("no_page_cache")
class TestTitleList:
    def names(self, client, **params):
        response = client.get(reverse("films:title_list"), params)
        assert response.status_code == 200
        return [title.name for title in response.context["titles"]]

    def test_default_is_the_whole_franchise_in_order(self, client, catalog):
        assert self.names(client) == list(Title.objects.values_list("name", flat=True))

    def test_filter_series(self, client, catalog):
        assert self.names(client, kind="series") == ["Step Up: High Water"]

    def test_filter_films(self, client, catalog):
        assert "Step Up: High Water" not in self.names(client, kind="film")
        assert len(self.names(client, kind="film")) == 6

    def test_sort_by_year_puts_the_2018_series_before_the_2019_film(self, client, catalog):
        names = self.names(client, sort="year")
        assert names[-2:] == ["Step Up: High Water", "Step Up: Year of the Dance"]
        assert self.names(client, sort="-year")[0] == "Step Up: Year of the Dance"

    def test_an_unknown_filter_value_quietly_shows_the_default_list(self, client, catalog):
        response = client.get(reverse("films:title_list"), {"kind": "musical", "sort": "<b>"})
        assert response.status_code == 200
        assert [t.name for t in response.context["titles"]] == self.names(client)
        html = response.content.decode()
        assert "Select a valid choice" not in html and "&lt;b&gt;" not in html


def test_generated_poster_is_a_png_of_the_title(client, catalog):
    response = client.get(reverse("films:generated_poster", kwargs={"slug": "step-up-all-in"}))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "max-age=86400" in response["Cache-Control"]
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (480, 720)


def test_renaming_a_title_draws_a_new_poster_at_once(client, db):
    title = TitleFactory(name="Step Up: Old Name")
    url = reverse("films:generated_poster", kwargs={"slug": title.slug})
    first = client.get(url).content
    assert client.get(url).content == first  # served from the cache
    title.name = "Step Up: New Name"
    title.save()
    assert client.get(url).content != first


def test_generated_poster_colour_is_the_titles_own(client, catalog):
    def corner_colour(slug):
        content = client.get(reverse("films:generated_poster", kwargs={"slug": slug})).content
        return Image.open(io.BytesIO(content)).getpixel((5, 5))

    assert corner_colour("step-up") != corner_colour("step-up-all-in")
    assert corner_colour("step-up") == corner_colour("step-up")


def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


@pytest.mark.parametrize(("name", "kwargs", "expected"), PUBLIC_PAGES)
def test_pages_refuse_writes(client, catalog, name, kwargs, expected):
    url = reverse(name, kwargs=kwargs)
    for write in (client.post, client.put, client.patch, client.delete):
        response = write(url)
        assert response.status_code == 405, (url, write)
        assert "POST" not in response["Allow"] and "GET" in response["Allow"], url


# --- Query counts -------------------------------------------------------------------
# Pinned so that no page grows a query per row it lists: each test renders the page,
# adds many more related rows, and renders it again within the same budget.


def grow_title(title, n=15):
    for _ in range(n):
        credit = CastCreditFactory(title=title)
        CrewCreditFactory(title=title, person=credit.person)
        CrewMembershipFactory(title=title, person=credit.person, character=credit.character)
        RoutineFactory(
            title=title,
            crews=[CrewMembershipFactory(title=title).crew],
            choreographers=[credit.person],
        )
        TriviaFactory(title=title)


@pytest.mark.parametrize(
    ("name", "slug_of", "queries"),
    [
        # titles, a few trivia, the crews, the staff picks, the latest reviews, the routines
        ("films:home", None, 6),
        # titles
        ("films:title_list", None, 1),
        # title + credits + crew line-ups + routines + their choreographers + their crews
        # + trivia + the earlier credits of its cast's characters (who returns, from where)
        # (its JSON-LD reads its credits with the catalog part, and no review: it has none)
        ("films:title_detail", "title", 8),
        # the name list
        ("films:person_list", None, 1),
        ("films:crew_list", None, 1),
        # the crossover timeline: titles + characters + their cast credits with their people
        ("films:character_list", None, 3),
        # person + credits + crew memberships + routines choreographed + routines danced
        ("films:person_detail", "person", 5),
        # character + credits + crew memberships + routines danced + the titles of its timeline
        ("films:character_detail", "character", 5),
        # crew + line-ups + routines
        ("films:crew_detail", "crew", 3),
    ],
)
def test_page_query_count_does_not_grow_with_rows(
    client, django_assert_num_queries, name, slug_of, queries, no_page_cache
):
    title = TitleFactory()
    credit = CastCreditFactory(title=title)
    membership = CrewMembershipFactory(
        title=title, person=credit.person, character=credit.character
    )
    routine = RoutineFactory(title=title, crews=[membership.crew], choreographers=[credit.person])
    RoutineDancerFactory(routine=routine, person=credit.person, character=credit.character)
    routine_rating(routine=routine, rating=8)
    slugs = {
        "title": title.slug,
        "person": credit.person.slug,
        "character": credit.character.slug,
        "crew": membership.crew.slug,
    }
    url = reverse(name, kwargs={"slug": slugs[slug_of]} if slug_of else {})

    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200

    grow_title(title)
    for other in TitleFactory.create_batch(5):
        grow_title(other, n=2)
        CastCreditFactory(title=other, person=credit.person, character=credit.character)
        CrewMembershipFactory(title=other, person=credit.person, crew=membership.crew)
        danced = RoutineFactory(title=other, crews=[membership.crew])
        RoutineDancerFactory(routine=danced, person=credit.person, character=credit.character)
        routine_rating(routine=danced, rating=6)

    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200


def test_favicon_ico_redirects_for_good_to_the_sites_icon(client, db):
    """Browsers and crawlers ask for /favicon.ico whatever the page's <link rel=icon> says."""
    from django.templatetags.static import static

    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == static("favicon.svg")
    icon = client.get(response["Location"])
    assert icon.status_code == 200 and icon["Content-Type"] == "image/svg+xml"
    [link] = [node for node in parse(client.get("/")).iter("link") if node.get("rel") == "icon"]
    assert link.get("href") == static("favicon.svg")
