"""Keyset pagination of a title's reviews: every review once, in order, at any depth."""

import base64
import datetime
import json

import pytest
from django.db import transaction
from django.utils import timezone

from reviews.models import REVIEW_SORT_KEYS, Review
from reviews.pagination import REVIEWS_PER_PAGE, page_url
from tests.factories import TitleFactory, UserFactory, review
from tests.html import ReviewList as Page

pytestmark = pytest.mark.django_db

NUMBER_OF_REVIEWS = 2 * REVIEWS_PER_PAGE + 7


@pytest.fixture(scope="module")
def reviewed_title(django_db_setup, django_db_blocker):
    """Written once for the module's tests, which mostly only read it: each test runs in a
    transaction of its own inside this one, so what a test changes goes with it, and this
    one is rolled back after the module's last test."""
    with django_db_blocker.unblock(), transaction.atomic():
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
        yield title
        transaction.set_rollback(True)


@pytest.fixture
def title(db, reviewed_title):
    reviewed_title.refresh_from_db()
    return reviewed_title


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
        "before=%01%ff",  # (a NUL is refused before any view: tests/test_request_guards.py)
        "after=WzEsIjIwMjUiXQ==",  # a cursor of the wrong shape
        "after=WzEsIm5vdC1hLWRhdGUiLDFd&sort=newest",  # not a date
        "sort=lowest&after=" + "A" * 5000,
    ],
)
def test_a_cursor_we_did_not_make_shows_the_first_page(client, title, query):
    page = Page(client.get(f"{title_path}?{query}"))
    assert page.number == 1
    assert len(page) == 20


def cursor(*fields):
    return base64.urlsafe_b64encode(json.dumps(list(fields)).encode()).decode()


MOMENT = "2025-01-01T00:00:00+00:00"
# Well-formed cursors holding what no page link ever holds, each with its sort's columns.
CRAFTED = [
    # A valid text whose UTC falls in year 10000, or year 0: no database column holds it.
    ("newest", cursor(1, "9999-12-31T23:59:59-14:00", 1)),
    ("newest", cursor(1, "0001-01-01T00:00:00+14:00", 1)),
    ("helpful", cursor(1, 0, "9999-12-31T23:59:59-14:00", 1)),
    ("newest", cursor(1, "2025-01-01T00:00:00", 1)),  # no offset: which moment?
    ("newest", cursor(1, "2025-01-01T00:00:00\u0000", 1)),
    # Integers past 64 bits, negative, or not integers at all.
    ("newest", cursor(1, MOMENT, 2**64)),
    ("newest", cursor(1, MOMENT, 2**63)),
    ("highest", cursor(1, 2**63, MOMENT, 1)),
    ("highest", cursor(1, -1, MOMENT, 1)),
    ("lowest", cursor(1, 1.5, MOMENT, 1)),
    ("lowest", cursor(1, True, MOMENT, 1)),
    ("lowest", cursor(1, "1", MOMENT, 1)),
    ("helpful", cursor(1, None, MOMENT, 1)),
    # Page numbers no list reaches.
    ("newest", cursor(2**70, MOMENT, 1)),
    ("newest", cursor(-5, MOMENT, 1)),
    ("newest", cursor(True, MOMENT, 1)),
    ("newest", cursor("2", MOMENT, 1)),
    # Not a list, or nested deep enough to exhaust the parser.
    ("newest", cursor({"page": 1})),
    ("newest", base64.urlsafe_b64encode(b"[" * 100_000).decode()),
]


@pytest.mark.parametrize("direction", ["after", "before"])
@pytest.mark.parametrize(("sort", "crafted"), CRAFTED)
def test_a_crafted_cursor_shows_the_first_page_on_either_database(
    client, title, sort, crafted, direction
):
    response = client.get(f"{title_path}?sort={sort}&{direction}={crafted}")
    assert response.status_code == 200
    page = Page(response)
    assert page.number == 1
    assert page.review_ids == expected_order(title, sort)[:REVIEWS_PER_PAGE]


def test_a_cursor_at_the_edge_of_the_range_is_still_read(client, title):
    """The checks refuse what cannot be stored, not what merely looks odd: a cursor at the
    last moment and the largest id every database holds is read (a page after the first,
    here every review), where a refused one would show page 1."""
    edge = cursor(3, "9999-12-31T23:59:59+00:00", 2**63 - 1)
    page = Page(client.get(f"{title_path}?sort=newest&after={edge}"))
    assert page.number == 2
    assert page.review_ids == expected_order(title, "newest")[:REVIEWS_PER_PAGE]


def test_a_cursor_past_the_end_shows_the_first_page_not_an_empty_one(client, title):
    second = Page(client.get(page_url(title, sort="newest", page=2)))
    last = Page(client.get(f"{title_path}?sort=newest&page=last"))
    Review.objects.filter(pk__in=last.review_ids).delete()
    # The reader's "next" link now points past the end of the list.
    after_end = Page(client.get(title_path + second.links["next"]))
    assert after_end.number == 1 and len(after_end) == 20
