"""What machines read of the public pages: schema.org JSON-LD (films.structured_data,
reviews.structured_data), Open Graph and Twitter card tags (films.share) and the meta
description."""

import json
from urllib.parse import urlparse

import pytest
from django.urls import reverse
from django.utils import translation

from films.models import Title
from reviews.models import Status
from reviews.moderation import content_moderate
from tests.factories import StaffUserFactory, UserFactory, review
from tests.html import parse, text_of

pytestmark = pytest.mark.django_db

PAGES = {
    "title": ("films:title_detail", {"slug": "step-up-all-in"}),
    "series": ("films:title_detail", {"slug": "step-up-high-water"}),
    "person": ("films:person_detail", {"slug": "adam-sevani"}),
    "character": ("films:character_detail", {"slug": "moose"}),
    "crew": ("films:crew_detail", {"slug": "lmntrix"}),
    "routine": ("films:routine_detail", {"slug": "las-vegas-finale"}),
    "title list": ("films:title_list", {}),
    "person list": ("films:person_list", {}),
    "character list": ("films:character_list", {}),
    "crew list": ("films:crew_list", {}),
    "routine list": ("films:routine_list", {}),
    "search": ("films:search", {}),
    "home": ("films:home", {}),
}
DETAIL_PAGES = ["title", "series", "person", "character", "crew", "routine"]


def json_ld(response):
    """Every JSON-LD item of the page, parsed."""
    scripts = parse(response).findall(".//script[@type='application/ld+json']")
    return [json.loads(script.text) for script in scripts]


def of_type(items, kind):
    found = [item for item in items if item.get("@type") == kind]
    assert len(found) == 1, f"{len(found)} {kind} items in {items}"
    return found[0]


def meta(response):
    """The page's <meta> tags by property or name (a list: og:locale:alternate repeats)."""
    tags = {}
    for element in parse(response).findall(".//head/meta"):
        key = element.get("property") or element.get("name")
        if key:
            tags.setdefault(key, []).append(element.get("content"))
    return tags


def get(client, page):
    name, kwargs = PAGES[page]
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200
    return response


def absolute(url):
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and parsed.netloc == "testserver"


@pytest.mark.parametrize("page", list(PAGES))
def test_every_public_page_has_a_breadcrumb_list_of_absolute_addresses(client, catalog, page):
    trail = of_type(json_ld(get(client, page)), "BreadcrumbList")
    elements = trail["itemListElement"]
    assert elements, "an empty trail"
    assert [element["position"] for element in elements] == list(range(1, len(elements) + 1))
    assert all(absolute(element["item"]) and element["name"] for element in elements)
    # The page itself comes last.
    name, kwargs = PAGES[page]
    assert urlparse(elements[-1]["item"]).path == reverse(name, kwargs=kwargs)


@pytest.mark.parametrize("page", DETAIL_PAGES)
def test_the_breadcrumb_list_says_what_the_visible_breadcrumb_shows(client, catalog, page):
    response = get(client, page)
    visible = parse(response).find(".//nav/ol[@class='breadcrumb']")
    shown = [
        (
            text_of(item).strip(),
            (item.find("a").get("href") if item.find("a") is not None else None),
        )
        for item in visible.findall("li")
    ]
    elements = of_type(json_ld(response), "BreadcrumbList")["itemListElement"]
    assert [element["name"] for element in elements] == [name for name, _ in shown]
    # The link of each crumb but the page itself (which the visible trail does not link).
    paths = [urlparse(element["item"]).path for element in elements]
    assert paths[:-1] == [href for _, href in shown[:-1]]


def test_a_title_is_a_movie_with_its_director_cast_poster_and_release(client, catalog):
    movie = of_type(json_ld(get(client, "title")), "Movie")
    assert movie["@context"] == "https://schema.org"
    assert movie["name"] == "Step Up: All In"
    assert movie["url"] == "http://testserver/titles/step-up-all-in/"
    assert movie["datePublished"].startswith("2014")
    assert {
        "@type": "Person",
        "name": "Trish Sie",
        "url": "http://testserver/people/trish-sie/",
    } in (movie["director"])
    assert "Adam Sevani" in [actor["name"] for actor in movie["actor"]]
    assert all(absolute(actor["url"]) for actor in movie["actor"])
    assert absolute(movie["image"])
    assert client.get(urlparse(movie["image"]).path).status_code == 200
    assert movie["description"] == Title.objects.get(slug="step-up-all-in").synopsis


def test_the_series_is_a_tv_series_with_its_creator(client, catalog):
    items = json_ld(get(client, "series"))
    assert not [item for item in items if item["@type"] == "Movie"]
    series = of_type(items, "TVSeries")
    assert series["name"] == "Step Up: High Water"
    assert "Holly Sorensen" in [creator["name"] for creator in series["creator"]]


def test_a_title_without_ratings_claims_no_rating_nor_review(client, catalog):
    movie = of_type(json_ld(get(client, "title")), "Movie")
    assert "aggregateRating" not in movie
    assert "review" not in movie


def test_a_rated_title_has_the_properties_review_snippets_need(client, catalog):
    title = Title.objects.get(slug="step-up-all-in")
    review(title=title, rating=9, body="The Vegas finale is the best thing in the franchise.")
    review(title=title, rating=6, headline="Fun", body="Good dancing, thin story.")
    review(title=title, rating=3)  # a rating alone: counted, not a Review item
    movie = of_type(json_ld(get(client, "title")), "Movie")

    rating = movie["aggregateRating"]
    assert rating["@type"] == "AggregateRating"
    assert rating["ratingValue"] == pytest.approx(3.0)  # (9 + 6 + 3) / 3 / 2 stars
    assert rating["ratingCount"] == 3
    assert (rating["bestRating"], rating["worstRating"]) == (5, 0.5)

    assert len(movie["review"]) == 2
    for item in movie["review"]:
        assert item["@type"] == "Review"
        assert item["author"]["@type"] == "Person" and item["author"]["name"]
        assert 0.5 <= item["reviewRating"]["ratingValue"] <= 5
        assert item["reviewBody"] and item["datePublished"]
        assert absolute(item["url"])
    assert {item["reviewRating"]["ratingValue"] for item in movie["review"]} == {4.5, 3.0}


def test_no_pending_removed_or_spoiler_review_reaches_the_structured_data(client, catalog):
    title = Title.objects.get(slug="step-up-all-in")
    moderator = StaffUserFactory()
    shown = review(title=title, rating=8, body="Published and shown.")
    pending = review(title=title, rating=2, body="Waiting for a moderator.")
    removed = review(title=title, rating=2, body="Removed by a moderator.")
    review(title=title, rating=4, body="Sean wins in the end.", contains_spoilers=True)
    content_moderate(item=pending, status=Status.PENDING, moderator=moderator)
    content_moderate(item=removed, status=Status.REMOVED, moderator=moderator, reason="Spam")

    html = get(client, "title").content.decode()
    movie = of_type(json_ld(get(client, "title")), "Movie")
    assert [item["reviewBody"] for item in movie["review"]] == [shown.body]
    assert movie["aggregateRating"]["ratingCount"] == 2  # the spoiler's rating counts
    assert "Waiting for a moderator" not in html
    assert "Removed by a moderator" not in html


def test_the_top_reviews_are_the_most_helpful_five(client, catalog):
    title = Title.objects.get(slug="step-up-all-in")
    written = [review(title=title, rating=6, body=f"Review number {n}.") for n in range(7)]
    for position, item in enumerate(written):
        type(item).objects.filter(pk=item.pk).update(helpful_count=position)
    movie = of_type(json_ld(get(client, "title")), "Movie")
    assert [item["reviewBody"] for item in movie["review"]] == [
        f"Review number {n}." for n in (6, 5, 4, 3, 2)
    ]


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_cached_title_page_follows_its_ratings_and_reviews(client, catalog, signed_in):
    """The JSON-LD is cached with the page (its reviews part, its catalog part): a new
    review, and a review removed, show at once, to visitors and members alike."""
    if signed_in:
        client.force_login(UserFactory())
    title = Title.objects.get(slug="step-up-all-in")
    assert "aggregateRating" not in of_type(json_ld(get(client, "title")), "Movie")
    written = review(title=title, rating=10, body="Five stars.")
    movie = of_type(json_ld(get(client, "title")), "Movie")
    assert movie["aggregateRating"]["ratingCount"] == 1
    assert [item["reviewBody"] for item in movie["review"]] == ["Five stars."]
    content_moderate(
        item=written, status=Status.REMOVED, moderator=StaffUserFactory(), reason="Spam"
    )
    movie = of_type(json_ld(get(client, "title")), "Movie")
    assert "aggregateRating" not in movie and "review" not in movie


def test_a_person_is_a_person_with_what_the_catalog_holds(client, catalog):
    person = of_type(json_ld(get(client, "person")), "Person")
    assert person["name"] == "Adam Sevani"
    assert person["url"] == "http://testserver/people/adam-sevani/"
    assert "image" not in person  # the catalog has no pictures of people


@pytest.mark.parametrize("page", ["character", "crew", "routine"])
def test_stories_characters_and_crews_claim_no_real_person_or_group(client, catalog, page):
    assert [item["@type"] for item in json_ld(get(client, page))] == ["BreadcrumbList"]


def test_the_home_page_names_the_site(client, catalog):
    site = of_type(json_ld(get(client, "home")), "WebSite")
    assert site["url"] == "http://testserver/"


def test_text_in_the_json_ld_cannot_end_its_script_element(client, catalog):
    title = Title.objects.get(slug="step-up-all-in")
    body = 'Best film </script><script>alert("x")</script> <!-- & more'
    review(title=title, rating=8, body=body)
    html = get(client, "title").content.decode()
    assert "</script><script>alert" not in html
    movie = of_type(json_ld(get(client, "title")), "Movie")
    assert movie["review"][0]["reviewBody"] == body  # unchanged once parsed


# --- Open Graph, Twitter cards, description ---------------------------------------------

OG_TYPES = {"title": "video.movie", "series": "video.tv_show", "person": "profile"}


@pytest.mark.parametrize("page", list(PAGES))
def test_every_public_page_has_its_sharing_card_and_a_description(client, catalog, page):
    tags = meta(get(client, page))
    for key in (
        "description",
        "og:title",
        "og:description",
        "og:url",
        "og:image",
        "og:image:alt",
        "og:site_name",
        "og:locale",
        "twitter:title",
        "twitter:image",
    ):
        assert len(tags.get(key, [])) == 1, f"{key}: {tags.get(key)}"
        assert tags[key][0].strip(), key
    assert tags["description"] == tags["og:description"]
    assert tags["og:type"] == [OG_TYPES.get(page, "website")]
    assert tags["twitter:card"] == ["summary_large_image"]
    assert tags["og:image:width"] == ["1200"] and tags["og:image:height"] == ["630"]
    assert tags["og:locale"] == ["en_US"]
    name, kwargs = PAGES[page]
    assert tags["og:url"] == [f"http://testserver{reverse(name, kwargs=kwargs)}"]
    assert absolute(tags["og:image"][0]) and tags["twitter:image"] == tags["og:image"]


def test_the_canonical_address_drops_the_query_string(client, catalog):
    tags = meta(client.get(reverse("films:title_list") + "?sort=year"))
    assert tags["og:url"] == ["http://testserver/titles/"]


def test_a_titles_card_shows_its_own_share_image(client, catalog):
    tags = meta(get(client, "title"))
    image = urlparse(tags["og:image"][0])
    assert image.path == "/titles/step-up-all-in/share.png"
    response = client.get(image.path)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"


def test_the_share_image_address_changes_with_a_new_rating(client, catalog):
    """Sites that keep a shared card's image (for weeks) then fetch the new one."""
    before = meta(get(client, "title"))["og:image"]
    review(title=Title.objects.get(slug="step-up-all-in"), rating=8)
    assert meta(get(client, "title"))["og:image"] != before


def test_pages_whose_views_give_no_card_show_the_sites(client, db):
    tags = meta(client.get(reverse("login")))
    assert tags["og:title"] == ["Step Up Community"]
    assert urlparse(tags["og:image"][0]).path == reverse("films:site_share_image")
    assert tags["description"] and tags["twitter:card"] == ["summary_large_image"]


def test_a_review_and_a_profile_have_their_cards_and_trails(client, catalog):
    title = Title.objects.get(slug="step-up-all-in")
    written = review(title=title, rating=8, body="A review worth sharing.")
    response = client.get(written.get_absolute_url())
    tags = meta(response)
    assert tags["og:description"] == ["A review worth sharing."]
    assert urlparse(tags["og:image"][0]).path == "/titles/step-up-all-in/share.png"
    trail = of_type(json_ld(response), "BreadcrumbList")["itemListElement"]
    assert [element["name"] for element in trail] == ["Step Up: All In", "Review"]

    profile = client.get(written.author.get_absolute_url())
    assert meta(profile)["og:type"] == ["profile"]
    assert of_type(json_ld(profile), "BreadcrumbList")


# --- In Spanish (/es/) ------------------------------------------------------------------


def test_an_english_page_names_its_spanish_locale_as_an_alternate(client, catalog):
    tags = meta(get(client, "title"))
    assert tags["og:locale"] == ["en_US"]
    assert tags["og:locale:alternate"] == ["es_LA"]  # Facebook's Latin American Spanish


def test_a_spanish_page_speaks_of_itself_at_its_spanish_addresses(client, catalog):
    with translation.override("es"):
        url = reverse("films:title_detail", kwargs={"slug": "step-up-all-in"})
    assert url == "/es/titles/step-up-all-in/"
    response = client.get(url)
    assert response.status_code == 200
    tags = meta(response)
    assert tags["og:locale"] == ["es_LA"] and tags["og:locale:alternate"] == ["en_US"]
    assert tags["og:url"] == ["http://testserver/es/titles/step-up-all-in/"]
    image = urlparse(tags["og:image"][0]).path
    assert image == "/es/titles/step-up-all-in/share.png"
    assert client.get(image).status_code == 200
    items = json_ld(response)
    assert of_type(items, "Movie")["url"] == "http://testserver/es/titles/step-up-all-in/"
    trail = of_type(items, "BreadcrumbList")["itemListElement"]
    assert [urlparse(element["item"]).path for element in trail] == [
        "/es/titles/",
        "/es/titles/step-up-all-in/",
    ]


def test_each_language_keeps_its_own_cached_json_ld(client, catalog):
    english = of_type(json_ld(get(client, "title")), "Movie")["url"]
    spanish = of_type(json_ld(client.get("/es/titles/step-up-all-in/")), "Movie")["url"]
    assert (english, spanish) == (
        "http://testserver/titles/step-up-all-in/",
        "http://testserver/es/titles/step-up-all-in/",
    )


def test_the_top_reviews_come_in_the_pages_language_first_as_the_page_lists_them(client, catalog):
    title = Title.objects.get(slug="step-up-all-in")
    english = review(title=title, rating=8, body="The best one.", language="en")
    type(english).objects.filter(pk=english.pk).update(helpful_count=50)
    review(title=title, rating=6, body="La mejor de todas.", language="es")
    in_english = of_type(json_ld(get(client, "title")), "Movie")["review"]
    in_spanish = of_type(json_ld(client.get("/es/titles/step-up-all-in/")), "Movie")["review"]
    assert [(item["inLanguage"], item["reviewBody"]) for item in in_english] == [
        ("en", "The best one."),
        ("es", "La mejor de todas."),
    ]
    assert [item["inLanguage"] for item in in_spanish] == ["es", "en"]
