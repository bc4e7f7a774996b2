"""The reviews part of a title page (reviews/title_section.py): cards cached by what they
show, and each member's own parts in the slots of copies shared by every member."""

import re

import pytest
from django.test import Client

from reviews import moderation, services
from reviews.pagination import page_url
from tests.factories import TitleFactory, UserFactory, review
from tests.html import element_text, page_text

pytestmark = pytest.mark.django_db

CARD = "reviews/_review_card.html"


@pytest.fixture
def title():
    return TitleFactory(name="Step Up: All In", slug="step-up-all-in")


def _as(member):
    reader = Client()
    reader.force_login(member)
    return reader


def test_a_vote_re_renders_the_one_card_it_changed(title, renders):
    reviewed = [review(title=title, body=f"review {n}") for n in range(6)]
    reader = _as(UserFactory())
    visitor = Client()
    for client in (reader, visitor):
        client.get(title.get_absolute_url())
    services.helpful_vote_toggle(review=reviewed[2], voter=UserFactory())
    renders.clear()
    for client in (reader, visitor):
        html = client.get(title.get_absolute_url()).content.decode()
        assert "1 person found this helpful" in element_text(html, f"review-{reviewed[2].pk}")
    # One card for members and one for visitors: the five others came from the cache.
    assert renders.count(CARD) == 2


def test_a_review_that_lands_on_another_page_re_renders_no_card_of_this_one(title, renders):
    for n in range(25):
        review(title=title, body=f"review {n}", rating=1 + n % 5)
    url = page_url(title, sort="lowest", page=1)
    reader = _as(UserFactory())
    reader.get(url)
    review(title=title, body="a ten", rating=10)  # the end of the "lowest" list: page 2
    renders.clear()
    html = reader.get(url).content.decode()
    assert "a ten" not in page_text(html) and "26 reviews" in page_text(html)
    assert renders.count(CARD) == 0


def test_each_member_sees_their_own_reports_on_the_shared_cards(title):
    reported = review(title=title, body="reported words")
    ana, ben = UserFactory(username="ana"), UserFactory(username="ben")
    services.report_create(reporter=ana, reason="spam", review=reported)
    ana_card = element_text(_as(ana).get(title.get_absolute_url()), f"review-{reported.pk}")
    ben_card = element_text(_as(ben).get(title.get_absolute_url()), f"review-{reported.pk}")
    assert "Reported" in ana_card and "Report" in ben_card and "Reported" not in ben_card


def test_a_vote_without_javascript_returns_to_the_page_it_was_cast_on(title):
    target = review(title=title, body="words")
    reader = _as(UserFactory())
    url = page_url(title, sort="newest", page=1)
    html = reader.get(url).content.decode()
    form = re.search(r'action="([^"]+)" class="helpful-form">(.*?)</form>', html, re.S)
    next_url = re.search(r'name="next" value="([^"]+)"', form.group(2)).group(1)
    assert next_url.replace("&amp;", "&") == f"{url}#review-{target.pk}"
    response = reader.post(form.group(1), {"next": next_url.replace("&amp;", "&")})
    assert response.status_code == 302 and response["Location"] == f"{url}#review-{target.pk}"


def test_text_that_looks_like_a_slot_is_shown_as_written(title, settings):
    # A slot token comes from the secret key: what a member can type is never one.
    look_alike = "slot" + "0" * 24 + ":csrf:"
    review(title=title, body=f"see {look_alike} here")
    html = _as(UserFactory()).get(title.get_absolute_url()).content.decode()
    assert f"see {look_alike} here" in page_text(html)


def test_the_staff_pick_that_is_the_readers_own_review_shows_once_at_the_top(title):
    author = UserFactory(username="ana")
    pick = review(title=title, author=author, body="ana's picked words")
    review(title=title, body="someone else's words")
    moderation.review_feature(review=pick, moderator=UserFactory(is_staff=True))
    html = _as(author).get(title.get_absolute_url()).content.decode()
    assert page_text(html).count("ana's picked words") == 1
    assert "ana's picked words" in element_text(html, "own-review")
    others = _as(UserFactory()).get(title.get_absolute_url()).content.decode()
    assert "ana's picked words" in element_text(others, "featured-review")
