"""Keyset ("cursor") pagination of a title's reviews.

Page 5,000 of a quarter of a million reviews costs what page 1 costs: each page starts
from the sort key of the row before it (an index seek), never from an OFFSET that makes
the database walk past every earlier row. Links carry that key in an opaque cursor.
"""

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.db.models import BooleanField, Expression, F, Value

from .models import DEFAULT_REVIEW_SORT, REVIEW_SORT_KEYS, Review

REVIEWS_PER_PAGE = 20


class RowValueCompare(Expression):
    """`(a, b, c) < (x, y, z)`: a row-value comparison, which PostgreSQL and SQLite both
    answer with one range seek on an index over (…, a, b, c). Django only emits it on
    backends it trusts with tuple lookups (not SQLite), and its fallback, an OR chain,
    cannot seek."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, columns, values, operator, model):
        super().__init__()
        if operator not in {"<", ">"}:
            raise ValueError(operator)
        self.operator = operator
        self.columns = [F(name) for name in columns]
        self.values = [
            Value(value, output_field=model._meta.get_field(name))
            for name, value in zip(columns, values, strict=True)
        ]

    def get_source_expressions(self):
        return [*self.columns, *self.values]

    def set_source_expressions(self, expressions):
        count = len(self.columns)
        self.columns, self.values = expressions[:count], expressions[count:]

    def as_sql(self, compiler, connection):
        sides = []
        params = []
        for side in (self.columns, self.values):
            compiled = [compiler.compile(expression) for expression in side]
            sides.append(", ".join(sql for sql, _ in compiled))
            params.extend(param for _, side_params in compiled for param in side_params)
        return f"({sides[0]}) {self.operator} ({sides[1]})", params


def _encode_cursor(page_number, values):
    plain = [page_number, *(v.isoformat() if isinstance(v, datetime) else v for v in values)]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode()


# Every key column is a count, a rating or an id (64-bit at most) or a moment; a page
# number is shown on the page.
LARGEST_KEY = 2**63 - 1
LARGEST_PAGE_NUMBER = 2**31 - 1


def _counting_number(raw, largest):
    return isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= largest


def _moment(raw):
    """A datetime from a cursor: with its offset, and one that every database can store in
    UTC (9999-12-31T23:59:59-14:00 is a valid text whose UTC falls in year 10000)."""
    if not isinstance(raw, str):
        return None
    moment = datetime.fromisoformat(raw)
    if moment.utcoffset() is None:
        return None
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


def _decode_cursor(cursor, columns):
    """(page number, key values) from a cursor, or None for anything we did not make."""
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        if not isinstance(plain, list) or len(plain) != len(columns) + 1:
            return None
        page_number, *raw_values = plain
        if not _counting_number(page_number, LARGEST_PAGE_NUMBER):
            return None
        values = []
        for name, raw in zip(columns, raw_values, strict=True):
            value = _moment(raw) if name == "created_at" else raw
            if value is None or (name != "created_at" and not _counting_number(raw, LARGEST_KEY)):
                return None
            values.append(value)
        return page_number, values
    except (ValueError, TypeError, UnicodeError, binascii.Error, RecursionError):
        return None


@dataclass
class CursorPage:
    """One page of reviews, with what the pager needs (numbers are for showing only)."""

    object_list: list
    number: int
    num_pages: int
    sort: str
    has_previous: bool = False
    has_next: bool = False
    links: dict = field(default_factory=dict)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    @property
    def has_other_pages(self):
        return self.has_previous or self.has_next


def _query(sort, kept=None, **params):
    return "?" + urlencode({"sort": sort, **(kept or {}), **params})


def paginate_reviews(reviews, *, sort, total, after=None, before=None, last=False, query=None):
    """The page of `reviews` (a queryset, unordered) that the request's cursor points to.

    `total` is how many rows the queryset holds, from a stored counter, for "page N of M".
    `query`: other parameters the links keep (the language shown, {"lang": "es"}).
    A cursor we cannot read, or one that points past either end of a list that changed
    under the reader, shows the first page: the honest answer to both.
    """
    if sort not in REVIEW_SORT_KEYS:
        sort = DEFAULT_REVIEW_SORT
    columns, direction = REVIEW_SORT_KEYS[sort]
    descending = direction == "descending"
    forward = [f"-{name}" if descending else name for name in columns]
    backward = [name if descending else f"-{name}" for name in columns]
    ahead, behind = ("<", ">") if descending else (">", "<")
    num_pages = max(1, math.ceil(total / REVIEWS_PER_PAGE))

    def fetch(order, limit, operator=None, values=None):
        rows = reviews
        if operator:
            rows = rows.filter(RowValueCompare(columns, values, operator, Review))
        return list(rows.order_by(*order)[:limit])

    page = None
    after, before = (_decode_cursor(c, columns) if c else None for c in (after, before))
    if after:
        number, values = after
        rows = fetch(forward, REVIEWS_PER_PAGE + 1, ahead, values)
        if rows:
            page = CursorPage(
                rows[:REVIEWS_PER_PAGE],
                number + 1,
                num_pages,
                sort,
                has_previous=True,
                has_next=len(rows) > REVIEWS_PER_PAGE,
            )
    elif before:
        number, values = before
        rows = fetch(backward, REVIEWS_PER_PAGE + 1, behind, values)
        if len(rows) > REVIEWS_PER_PAGE:
            page = CursorPage(
                rows[REVIEWS_PER_PAGE - 1 :: -1],
                number - 1,
                num_pages,
                sort,
                has_previous=True,
                has_next=True,
            )
    elif last and num_pages > 1:
        on_last_page = total - (num_pages - 1) * REVIEWS_PER_PAGE
        rows = fetch(backward, on_last_page + 1)
        if len(rows) > on_last_page:
            page = CursorPage(
                rows[on_last_page - 1 :: -1],
                num_pages,
                num_pages,
                sort,
                has_previous=True,
                has_next=False,
            )
    if page is None:
        # The stored counter says when there is nothing to list: no query for that.
        rows = fetch(forward, REVIEWS_PER_PAGE + 1) if total else []
        page = CursorPage(
            rows[:REVIEWS_PER_PAGE], 1, num_pages, sort, has_next=len(rows) > REVIEWS_PER_PAGE
        )
    # Numbers come from cursors and counters: keep them sensible whatever the links say.
    page.number = min(page.number, num_pages - 1 if page.has_next else num_pages)
    page.number = max(page.number, 2 if page.has_previous else 1)
    page.num_pages = max(page.num_pages, page.number + (1 if page.has_next else 0))
    if page.has_previous:
        first_values = [getattr(page.object_list[0], name) for name in columns]
        page.links["first"] = _query(sort, query)
        page.links["previous"] = _query(
            sort, query, before=_encode_cursor(page.number, first_values)
        )
    if page.has_next:
        last_values = [getattr(page.object_list[-1], name) for name in columns]
        page.links["next"] = _query(sort, query, after=_encode_cursor(page.number, last_values))
        page.links["last"] = _query(sort, query, page="last")
    return page


def page_url(title, *, sort, page):
    """The address of page `page` of a title's written reviews, as a reader paging
    forward would reach it. One OFFSET query: for benchmarks and tests, not for views."""
    columns, direction = REVIEW_SORT_KEYS[sort]
    descending = direction == "descending"
    path = title.get_absolute_url()
    if page <= 1:
        return path + _query(sort)
    order = [f"-{name}" if descending else name for name in columns]
    row_before = (
        Review.objects.published()
        .filter(title=title)
        .with_text()
        .order_by(*order)
        .values_list(*columns)[(page - 1) * REVIEWS_PER_PAGE - 1]
    )
    return path + _query(sort, after=_encode_cursor(page - 1, list(row_before)))
