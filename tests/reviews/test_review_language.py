"""Reviews in the member's language (issue 16): the language a review is written in, the
title page listing the page's language first with a switch, feeds per language.

A page is asked for in Spanish both ways the site may read it: the address under the
language (reverse() inside translation.override, /es/... once i18n_patterns are on) and the
Accept-Language header (what LocaleMiddleware reads while they are not).
"""

import json
import re
import xml.etree.ElementTree as ET

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from reviews import moderation
from reviews.forms import ReviewForm
from reviews.models import Review, TitleLanguageCount
from reviews.pagination import REVIEWS_PER_PAGE
from reviews.services import review_submit
from tests.factories import StaffUserFactory, TitleFactory, UserFactory, review
from tests.html import ReviewList, element, elements_with_class, parse, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def title():
    return TitleFactory(name="Step Up: All In", slug="step-up-all-in")


def url_in(language, name, query="", **kwargs):
    with translation.override(language):
        return reverse(name, kwargs=kwargs) + query


def get_in(client, language, name, query="", **kwargs):
    return client.get(url_in(language, name, query, **kwargs), HTTP_ACCEPT_LANGUAGE=language)


def title_page(client, language, title, query=""):
    return get_in(client, language, "films:title_detail", query, slug=title.slug)


def card_languages(response):
    """The lang attribute of each review card listed, in order."""
    html = response.content.decode()
    listing = html[html.index('id="reviews-heading"') :]
    return re.findall(r'<article lang="(\w+)"[^>]*id="review-\d+"', listing)


def language_switch(response):
    """The switch's links as the reader sees them, and which one is current."""
    # By its class: its label is in the page's language.
    nav = parse(response).find(".//nav[@class='review-languages mb-3']")
    if nav is None:
        return [], None
    links = nav.findall(".//a")
    current = [text_of(a) for a in links if a.get("aria-current") == "true"]
    return [text_of(a) for a in links], current[0] if current else None


@pytest.fixture
def mixed(title):
    """Three English reviews and two Spanish ones of All In."""
    english = [review(title=title, body=f"English words {n}", language="en") for n in range(3)]
    spanish = [review(title=title, body=f"Palabras {n}", language="es") for n in range(2)]
    return english, spanish


# --- The form ---------------------------------------------------------------------------


def test_the_form_offers_the_language_the_member_reads_the_site_in(title):
    with translation.override("es"):
        assert ReviewForm(title=title)["language"].value() == "es"
    with translation.override("en"):
        assert ReviewForm(title=title)["language"].value() == "en"
    # Editing shows the language the review was written in, whatever the page's.
    written = review(title=title, body="Palabras", language="es")
    with translation.override("en"):
        assert ReviewForm(title=title, instance=written)["language"].value() == "es"


def test_the_review_form_page_selects_the_active_language(client, title):
    client.force_login(UserFactory())
    for language in ("es", "en"):
        response = get_in(client, language, "reviews:edit", slug=title.slug)
        assert response.status_code == 200
        select = parse(response).find(".//select[@name='language']")
        options = select.findall("option")
        selected = [o.get("value") for o in options if o.get("selected") is not None]
        assert selected == [language]
        assert [text_of(o) for o in select.findall("option")] == ["English", "Español"]


def test_a_member_reading_in_english_may_post_in_spanish_and_it_is_stored(client, title):
    member = UserFactory()
    client.force_login(member)
    response = client.post(
        url_in("en", "reviews:edit", slug=title.slug),
        {"rating": 8, "body": "Me encantó el baile.", "language": "es"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302
    assert Review.objects.get(author=member).language == "es"
    # An edit from a form without the field (one rendered before it existed) keeps it.
    client.post(url_in("en", "reviews:edit", slug=title.slug), {"rating": 9, "body": "Sí."})
    assert Review.objects.values_list("rating", "language").get(author=member) == (9, "es")


def test_a_new_review_posted_without_a_language_takes_the_readers(client, title):
    member = UserFactory()
    client.force_login(member)
    client.post(
        url_in("es", "reviews:edit", slug=title.slug),
        {"rating": 8, "body": "Muy buena."},
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert Review.objects.get(author=member).language == "es"


@pytest.mark.parametrize("bad", ["fr", "ES", "es-mx", "all", "e" * 500, "é", "1"])
def test_a_language_the_site_does_not_have_is_a_form_error_and_nothing_is_stored(
    client, title, bad
):
    client.force_login(UserFactory())
    response = client.post(
        url_in("en", "reviews:edit", slug=title.slug),
        {"rating": 8, "body": "Words", "language": bad},
    )
    assert response.status_code == 400
    assert "Choose the language your review is written in." in response.content.decode()
    assert not Review.objects.exists()
    title.refresh_from_db()
    assert title.rating_count == 0


def test_a_nul_byte_in_the_language_is_refused_before_the_form(client, title):
    client.force_login(UserFactory())
    response = client.post(
        url_in("en", "reviews:edit", slug=title.slug),
        {"rating": 8, "body": "Words", "language": "es\x00"},
    )
    assert response.status_code == 400
    assert not Review.objects.exists()


def test_the_service_and_the_database_refuse_another_language(title):
    author = UserFactory()
    with pytest.raises(ValidationError):
        review_submit(title=title, author=author, rating=5, body="Bonjour", language="fr")
    assert not Review.objects.exists()
    written = review(title=title, author=author, body="Hello")
    assert written.language == "en"  # the default: every review before issue 16 is English
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.filter(pk=written.pk).update(language="fr")


# --- The title page ---------------------------------------------------------------------


def test_the_title_page_lists_the_pages_language_with_the_count_of_each(client, title, mixed):
    english, spanish = mixed

    in_spanish = title_page(client, "es", title)
    assert sorted(ReviewList(in_spanish).review_ids) == sorted(r.pk for r in spanish)
    assert card_languages(in_spanish) == ["es", "es"]
    links, current = language_switch(in_spanish)
    assert links[0] == "Español (2)"  # the page's language first
    assert links[1] == "English (3)"
    assert links[2].endswith("(5)") and len(links) == 3  # every language, in Spanish
    assert current == "Español (2)"

    in_english = title_page(client, "en", title)
    assert sorted(ReviewList(in_english).review_ids) == sorted(r.pk for r in english)
    assert card_languages(in_english) == ["en", "en", "en"]
    assert language_switch(in_english) == (
        ["English (3)", "Español (2)", "All languages (5)"],
        "English (3)",
    )


def test_the_switch_links_work_without_javascript(client, title, mixed):
    english, spanish = mixed
    every = title_page(client, "es", title, "?lang=all")
    assert sorted(ReviewList(every).review_ids) == sorted(r.pk for r in english + spanish)
    assert sorted(card_languages(every)) == ["en", "en", "en", "es", "es"]
    assert language_switch(every)[1].endswith("(5)")

    english_on_spanish_page = title_page(client, "es", title, "?lang=en")
    assert sorted(ReviewList(english_on_spanish_page).review_ids) == sorted(r.pk for r in english)
    # The links the switch shows lead there.
    nav = parse(title_page(client, "en", title)).find(
        ".//nav[@aria-label='Languages of the reviews']"
    )
    hrefs = {text_of(a): a.get("href") for a in nav.findall(".//a")}
    assert hrefs["Español (2)"] == "?sort=helpful&lang=es#reviews"
    assert hrefs["All languages (5)"] == "?sort=helpful&lang=all#reviews"
    followed = title_page(client, "en", title, hrefs["Español (2)"].split("#")[0])
    assert sorted(ReviewList(followed).review_ids) == sorted(r.pk for r in spanish)


def test_with_no_review_in_the_pages_language_it_says_so_and_lists_every_language(client, title):
    english = [review(title=title, body=f"Words {n}") for n in range(2)]
    response = title_page(client, "es", title)
    assert sorted(ReviewList(response).review_ids) == sorted(r.pk for r in english)
    notice = elements_with_class(response, "review-language-missing")
    assert len(notice) == 1 and "Español" in text_of(notice[0])
    links, current = language_switch(response)
    assert links[0] == "Español (0)" and current.endswith("(2)")  # every language is current
    # In English there is nothing missing to say.
    assert not elements_with_class(title_page(client, "en", title), "review-language-missing")


def test_a_title_without_written_reviews_shows_no_switch_and_counts_nothing(client, title):
    review(title=title)  # a rating alone
    with CaptureQueriesContext(connection) as queries:
        response = title_page(client, "es", title)
    assert response.status_code == 200
    assert language_switch(response) == ([], None)
    assert not any("GROUP BY" in q["sql"] for q in queries.captured_queries)


@pytest.mark.parametrize("asked", ["zz", "", "ALL", "es\u200b", "9" * 100, "%C0%AF"])
def test_an_unknown_language_asked_for_is_the_default(client, title, mixed, asked):
    english, _spanish = mixed
    response = title_page(client, "en", title, f"?lang={asked}")
    assert sorted(ReviewList(response).review_ids) == sorted(r.pk for r in english)


def test_sorts_and_pages_keep_the_language(client, title):
    spanish = [
        review(title=title, body=f"Reseña {n}", rating=1 + n % 10, language="es")
        for n in range(REVIEWS_PER_PAGE + 5)
    ]
    english = [review(title=title, body=f"Review {n}", language="en") for n in range(3)]

    first = ReviewList(title_page(client, "en", title, "?sort=newest&lang=es"))
    assert len(first) == REVIEWS_PER_PAGE and (first.number, first.num_pages) == (1, 2)
    assert "lang=es" in first.links["next"] and "lang=es" in first.links["last"]
    second = ReviewList(title_page(client, "en", title, first.links["next"]))
    assert (second.number, second.num_pages) == (2, 2)
    newest_first = sorted(spanish, key=lambda r: (r.created_at, r.pk), reverse=True)
    assert first.review_ids + second.review_ids == [r.pk for r in newest_first]
    assert "lang=es" in second.links["previous"]
    last = ReviewList(title_page(client, "en", title, first.links["last"]))
    assert last.review_ids == second.review_ids

    # The sort links keep the language asked for; English alone is one page.
    html = title_page(client, "en", title, "?lang=es").content.decode()
    assert 'href="?sort=lowest&amp;lang=es#reviews"' in html
    lowest = ReviewList(title_page(client, "en", title, "?sort=lowest&lang=es"))
    ratings = dict(Review.objects.values_list("pk", "rating"))
    assert [ratings[pk] for pk in lowest.review_ids] == sorted(
        ratings[pk] for pk in lowest.review_ids
    )
    assert set(lowest.review_ids) <= {r.pk for r in spanish}
    only_english = ReviewList(title_page(client, "en", title))
    assert sorted(only_english.review_ids) == sorted(r.pk for r in english)
    assert (only_english.number, only_english.num_pages) == (1, 1)


def test_the_staff_pick_in_the_language_shown_is_left_out_of_the_list_and_its_count(client, title):
    spanish = [review(title=title, body=f"Reseña {n}", language="es") for n in range(3)]
    moderation.review_feature(review=spanish[0], moderator=StaffUserFactory())
    response = title_page(client, "es", title)
    assert sorted(ReviewList(response).review_ids) == sorted(r.pk for r in spanish[1:])
    assert element(response, "featured-review").get("lang") == "es"


def test_a_spanish_review_posted_updates_the_spanish_pages_counts_caching_on(client, title, mixed):
    # Caching is on in these tests: the counts and the list are cached under the title.
    before = title_page(client, "es", title)
    assert language_switch(before)[0][0] == "Español (2)"
    assert title_page(client, "es", title).content == before.content  # served from the cache

    author = UserFactory()
    client.force_login(author)
    response = client.post(
        url_in("es", "reviews:edit", slug=title.slug),
        {"rating": 9, "body": "¡Qué buena!", "language": "es"},
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert response.status_code == 302
    client.logout()

    after = title_page(client, "es", title)
    links, current = language_switch(after)
    assert links[0] == "Español (3)" and current == "Español (3)"
    assert links[-1].endswith("(6)")
    posted = Review.objects.get(author=author)
    assert posted.pk in ReviewList(after).review_ids
    # The English page's counts follow too.
    assert language_switch(title_page(client, "en", title))[0][1] == "Español (3)"


def test_the_counts_are_read_stored_never_counted_per_view(client, title, mixed, no_page_cache):
    # One query of the stored rows (TitleLanguageCount), no GROUP BY over the reviews.
    with CaptureQueriesContext(connection) as queries:
        title_page(client, "es", title)
    sqls = [q["sql"] for q in queries.captured_queries]
    assert not [sql for sql in sqls if "GROUP BY" in sql]
    assert len([sql for sql in sqls if TitleLanguageCount._meta.db_table in sql]) == 1


# --- Cards, the review's page, the profile, the admin -----------------------------------


def test_a_card_carries_its_language_and_the_frame_the_pages(client, title, mixed):
    _english, spanish = mixed
    response = title_page(client, "en", title, "?lang=all")
    card = element(response, f"review-{spanish[0].pk}")
    assert card.get("lang") == "es"
    assert card.find(".//footer").get("lang") == "en"  # "Helpful", the counts: English
    badge = [n for n in card.iter() if "review-language" in (n.get("class") or "").split()]
    assert [text_of(b) for b in badge] == ["Español"]


def test_the_review_page_and_the_profile_show_the_reviews_language(client, title):
    author = UserFactory(username="valedanza")
    written = review(title=title, author=author, body="Me encantó.", language="es")
    page = get_in(client, "en", "reviews:detail", pk=written.pk)
    line = elements_with_class(page, "review-language-line")[0]
    assert "Español" in text_of(line) and line.find("span").get("lang") == "es"
    assert element(page, f"review-{written.pk}").get("lang") == "es"
    profile = get_in(client, "en", "accounts:profile", username=author.username)
    assert element(profile, f"review-{written.pk}").get("lang") == "es"
    assert "Español" in text_of(element(profile, f"review-{written.pk}"))


def test_moderators_filter_the_queue_by_language(client, title, mixed):
    _english, spanish = mixed
    client.force_login(StaffUserFactory())
    response = client.get(reverse("admin:reviews_review_changelist"), {"language__exact": "es"})
    assert response.status_code == 200
    assert {r.pk for r in response.context["cl"].result_list} == {r.pk for r in spanish}
    assert "language" in response.context["cl"].list_display


# --- Feeds ------------------------------------------------------------------------------


def feed(client, language, name, query="", **kwargs):
    response = get_in(client, language, name, query, **kwargs)
    assert response.status_code == 200
    return ET.fromstring(response.content)


ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@pytest.mark.parametrize("kind", ["rss", "title_rss"])
def test_a_feed_shows_the_reviews_in_its_language_and_says_so(client, title, mixed, kind):
    english, spanish = mixed
    kwargs = {"slug": title.slug} if kind == "title_rss" else {}
    for language, expected in (("es", spanish), ("en", english)):
        root = feed(client, language, f"reviews:{kind}", **kwargs)
        assert root.findtext("channel/language") == language
        assert sorted(i.findtext("description") for i in root.iter("item")) == sorted(
            r.body for r in expected
        )
    every = feed(client, "es", f"reviews:{kind}", "?lang=all", **kwargs)
    assert len(list(every.iter("item"))) == 5
    assert every.findtext("channel/language") == "es"  # the feed's own words
    english_from_spanish = feed(client, "es", f"reviews:{kind}", "?lang=en", **kwargs)
    assert english_from_spanish.findtext("channel/language") == "en"
    assert len(list(english_from_spanish.iter("item"))) == 3


@pytest.mark.parametrize("kind", ["atom", "title_atom"])
def test_an_atom_feed_has_its_language_too(client, title, mixed, kind):
    kwargs = {"slug": title.slug} if kind == "title_atom" else {}
    root = feed(client, "es", f"reviews:{kind}", **kwargs)
    assert root.get(XML_LANG) == "es"
    assert len(root.findall(f"{ATOM}entry")) == 2


def test_a_feed_with_an_odd_language_asked_is_the_default(client, title, mixed):
    for asked in ("zz", "ALL", "\u00e9s", "1" * 300):
        root = feed(client, "en", "reviews:rss", f"?lang={asked}")
        assert root.findtext("channel/language") == "en"
        assert len(list(root.iter("item"))) == 3


def test_a_review_posted_in_spanish_reaches_the_spanish_feed_caching_on(client, title, mixed):
    assert len(list(feed(client, "es", "reviews:rss").iter("item"))) == 2
    review(title=title, body="Nueva reseña", language="es")
    assert len(list(feed(client, "es", "reviews:rss").iter("item"))) == 3
    assert len(list(feed(client, "en", "reviews:rss").iter("item"))) == 3


def test_pages_link_the_feeds_of_each_language(client, title):
    response = title_page(client, "en", title)
    # Absolute addresses: a link with an hreflang must have one (search engines, Lighthouse).
    links = [
        (link.get("type"), link.get("hreflang"), link.get("href").removeprefix("http://testserver"))
        for link in parse(response).findall(".//head/link[@rel='alternate']")
        if link.get("type") in ("application/rss+xml", "application/atom+xml")
    ]
    assert all(
        link.get("href").startswith("http://testserver/")
        for link in parse(response).findall(".//head/link[@hreflang]")
    )
    rss = reverse("reviews:rss")
    title_rss = reverse("reviews:title_rss", kwargs={"slug": title.slug})
    assert ("application/rss+xml", "en", rss) in links
    assert ("application/rss+xml", "en", title_rss) in links
    spanish = [href for kind, lang, href in links if lang == "es" and kind.endswith("rss+xml")]
    assert url_in("es", "reviews:rss", "?lang=es") in spanish
    assert url_in("es", "reviews:title_rss", "?lang=es", slug=title.slug) in spanish
    # Each one works and lists what it says.
    for href in spanish:
        assert client.get(href, HTTP_ACCEPT_LANGUAGE="en").status_code == 200


def test_a_member_sees_the_list_in_the_pages_language_on_the_shared_copy(client, title, mixed):
    english, spanish = mixed
    client.force_login(UserFactory())
    for _ in range(2):  # rendered, then from the copy shared by members
        in_spanish = title_page(client, "es", title)
        assert sorted(ReviewList(in_spanish).review_ids) == sorted(r.pk for r in spanish)
        every = title_page(client, "es", title, "?lang=all")
        assert len(ReviewList(every)) == 5
        in_english = title_page(client, "en", title)
        assert sorted(ReviewList(in_english).review_ids) == sorted(r.pk for r in english)


def test_the_export_names_each_reviews_language(client, title):
    member = UserFactory()
    review(title=title, author=member, body="Palabras", language="es")
    client.force_login(member)
    data = json.loads(client.get(reverse("accounts:export_json")).content)
    assert [row["language"] for row in data["reviews"]] == ["es"]


def test_when_the_staff_pick_is_the_only_review_in_the_language_the_list_shows_the_others(
    client, title
):
    pick = review(title=title, body="La única en español", language="es")
    english = [review(title=title, body=f"Words {n}") for n in range(2)]
    moderation.review_feature(review=pick, moderator=StaffUserFactory())
    response = title_page(client, "es", title)
    assert element(response, "featured-review").get("lang") == "es"
    assert sorted(ReviewList(response).review_ids) == sorted(r.pk for r in english)
    assert not elements_with_class(response, "review-language-missing")
