"""Keyset pagination of a title's reviews: every review once, in order, at any depth."""

import datetime

import pytest
from django.utils import timezone

from reviews.models import REVIEW_SORT_KEYS, Review
from reviews.pagination import REVIEWS_PER_PAGE, page_url
from tests.factories import TitleFactory, UserFactory, review
from tests.html import ReviewList as Page

pytestmark = pytest.mark.django_db

NUMBER_OF_REVIEWS = 2 * REVIEWS_PER_PAGE + 7


@pytest.fixture
def title():
    title = TitleFactory(name="Step Up: All In", slug="step-up-all-in")
    authors = UserFactory.create_batch(NUMBER_OF_REVIEWS + 2)
    for index, author in enumerate(authors[:NUMBER_OF_REVIEWS]):
        review(title=title, author=author, body=f"review {index}", rating=1 + index % 3)
    # Ties everywhere: half the reviews share one timestamp and every helpful count is 0,
    # so only the id tells many rows apart, as in a real bulk of new reviews.
    same_moment = timezone.now() - datetime.timedelta(days=3)
    every_other = list(Review.objects.order_by("pk").values_list("pk", flat=True))[::2]
    Review.objects.filter(pk__in=every_other).update(created_at=same_moment)
    for rating_only in authors[NUMBER_OF_REVIEWS:]:
        review(title=title, author=rating_only)  # counted, but not listed
    title.refresh_from_db()
    return title


def expected_order(title, sort):
    columns, direction = REVIEW_SORT_KEYS[sort]
    order = [f"-{c}" if direction == "descending" else c for c in columns]
    return list(
        Review.objects.filter(title=title)
        .exclude(body="")
        .order_by(*order)
        .values_list("pk", flat=True)
    )


def walk(client, url, link):
    pages = []
    while url:
        page = Page(client.get(url))
        pages.append(page.review_ids)
        url = title_path + page.links[link] if link in page.links else None
    return pages


title_path = "/titles/step-up-all-in/"


@pytest.mark.parametrize("sort", list(REVIEW_SORT_KEYS))
def test_paging_forward_shows_every_written_review_once_in_sort_order(client, title, sort):
    pages = walk(client, f"{title_path}?sort={sort}", "next")
    assert [len(p) for p in pages] == [20, 20, 7]
    assert [pk for page in pages for pk in page] == expected_order(title, sort)


@pytest.mark.parametrize("sort", list(REVIEW_SORT_KEYS))
def test_paging_back_from_the_last_page_shows_the_same_pages(client, title, sort):
    forward = walk(client, f"{title_path}?sort={sort}", "next")
    backward = walk(client, f"{title_path}?sort={sort}&page=last", "previous")
    assert backward == forward[::-1]


def test_pages_are_numbered_and_linked_first_previous_next_last(client, title):
    html = client.get(page_url(title, sort="newest", page=2)).content.decode()
    assert "Page 2 of 3" in html
    for label in ("First", "Previous", "Next", "Last"):
        assert f">{label}</a>" in html
    last = client.get(f"{title_path}?sort=newest&page=last").content.decode()
    assert "Page 3 of 3" in last and ">Next</a>" not in last


@pytest.mark.parametrize("sort", list(REVIEW_SORT_KEYS))
def test_page_url_lands_where_paging_forward_does(client, title, sort):
    pages = walk(client, f"{title_path}?sort={sort}", "next")
    for number, rows in enumerate(pages, start=1):
        page = Page(client.get(page_url(title, sort=sort, page=number)))
        assert page.review_ids == rows
        assert page.number == number


@pytest.mark.parametrize(
    "query",
    [
        "after=garbage",
        "before=%00%ff",
        "after=WzEsIjIwMjUiXQ==",  # a cursor of the wrong shape
        "after=WzEsIm5vdC1hLWRhdGUiLDFd&sort=newest",  # not a date
        "sort=lowest&after=" + "A" * 5000,
    ],
)
def test_a_cursor_we_did_not_make_shows_the_first_page(client, title, query):
    page = Page(client.get(f"{title_path}?{query}"))
    assert page.number == 1
    assert len(page) == 20


def test_a_cursor_past_the_end_shows_the_first_page_not_an_empty_one(client, title):
    second = Page(client.get(page_url(title, sort="newest", page=2)))
    last = Page(client.get(f"{title_path}?sort=newest&page=last"))
    Review.objects.filter(pk__in=last.review_ids).delete()
    # The reader's "next" link now points past the end of the list.
    after_end = Page(client.get(title_path + second.links["next"]))
    assert after_end.number == 1 and len(after_end) == 20
