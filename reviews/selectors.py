"""Reads of reviews for other pages: the reviews part of a title page
(reviews.title_section), a member's profile, the home page."""

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Q

from films.models import half_star_histogram

from .models import (
    DEFAULT_REVIEW_SORT,
    REVIEW_SORT_KEYS,
    HelpfulVote,
    Report,
    Review,
    RoutineRating,
    Status,
)
from .pagination import paginate_reviews


@dataclass(frozen=True)
class ReaderMarks:
    """What a reader has done on a title page: the listed reviews they marked helpful or
    reported, and their own review of the title (None when they have none)."""

    voted: frozenset = field(default_factory=frozenset)
    reported: frozenset = field(default_factory=frozenset)
    own_review: Review | None = None


def review_sort(request):
    sort = request.GET.get("sort")
    return sort if sort in REVIEW_SORT_KEYS else DEFAULT_REVIEW_SORT


def listed_language_counts(title):
    """How many of the title's reviews the list shows (published, with text) in each
    language, {"es": 12, "en": 230}: one GROUP BY, read from the review_lang_*_seek
    partial indexes alone. No query when the stored count says there is none."""
    if not title.text_review_count:
        return {}
    sql, params = listed_language_counts_sql(title_pk=title.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def listed_language_counts_sql(*, title_pk):
    """The statement of listed_language_counts (tools.explain_queries shows its plan).

    Written out, not through the ORM: its conditions must be the partial indexes' own,
    as literals. With them as parameters (as the ORM sends them) SQLite still takes the
    index but checks both conditions on every row of the table: 400 ms instead of 30 ms
    on the 141,444 listed reviews of All In in the bench data.
    """
    quote = connection.ops.quote_name
    review = Review._meta
    column = {name: quote(review.get_field(name).column) for name in ("title", "language")}
    status, body = (quote(review.get_field(name).column) for name in ("status", "body"))
    sql = (
        f"SELECT {column['language']}, COUNT(*) FROM {quote(review.db_table)}"
        f" WHERE {column['title']} = %s AND {status} = '{Status.PUBLISHED.value}'"
        f" AND NOT ({body} = '') GROUP BY {column['language']}"
    )
    return sql, [title_pk]


def listed_review_page(request, title, *, featured, language=None, counts=None, query=None):
    """The page of the title's written reviews the request asks for (sort and cursor),
    without the staff pick, which the page shows above the list: those written in
    `language`, or in every language when it is None. `counts` (listed_language_counts)
    gives a language's total for the pager; `query`, the parameters its links keep."""
    reviews = Review.objects.published().filter(title=title).with_text()
    reviews = reviews.select_related("author", "best_routine")
    listed = title.text_review_count  # stored: paging never counts the reviews table
    if language is not None:
        reviews = reviews.filter(language=language)
        listed = (counts or {}).get(language, 0)
    if featured is not None and language in (None, featured.language):
        reviews = reviews.exclude(pk=featured.pk)
        listed -= 1
    page = paginate_reviews(
        reviews,
        sort=review_sort(request),
        total=max(listed, 0),
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        last=request.GET.get("page") == "last",
        query=query,
    )
    for review in page:
        review.title = title  # known already: no join for it
    return page


def reader_marks(reader, *, title, review_ids):
    """The reader's marks on `review_ids` and their own review of `title`.

    The marks and the own review's id are one statement; the review itself is loaded only
    when there is one. Through the ORM (a union of two querysets, then a query for the own
    review) the same reads took 1.8 + 1.4 ms in process on the bench data, almost all of
    it building the queries: the SQL of the votes alone ran in 0.1 ms.
    """
    if not reader.is_authenticated or reader.pk is None:
        return ReaderMarks()
    review_ids = [pk for pk in review_ids if pk is not None]
    sql, params = reader_marks_sql(reader_pk=reader.pk, title_pk=title.pk, review_ids=review_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    marks = {"voted": set(), "reported": set(), "own": set()}
    for kind, review_id in rows:
        marks[kind].add(review_id)
    own_review = None
    if marks["own"]:
        own_review = Review.objects.select_related("author", "best_routine").get(
            pk=marks["own"].pop()
        )
        own_review.title = title
    return ReaderMarks(frozenset(marks["voted"]), frozenset(marks["reported"]), own_review)


def reader_marks_sql(*, reader_pk, title_pk, review_ids):
    """The statement of reader_marks and its parameters (tools.explain_queries shows its plan)."""
    listed = ", ".join(["%s"] * len(review_ids)) or "NULL"
    quote = connection.ops.quote_name
    vote, report, review = (model._meta for model in (HelpfulVote, Report, Review))
    sql = (
        f"SELECT 'voted', {quote(vote.get_field('review').column)} FROM {quote(vote.db_table)}"
        f" WHERE {quote(vote.get_field('voter').column)} = %s"
        f" AND {quote(vote.get_field('review').column)} IN ({listed})"
        f" UNION ALL SELECT 'reported', {quote(report.get_field('review').column)}"
        f" FROM {quote(report.db_table)} WHERE {quote(report.get_field('reporter').column)} = %s"
        f" AND {quote(report.get_field('review').column)} IN ({listed})"
        f" UNION ALL SELECT 'own', {quote(review.pk.column)} FROM {quote(review.db_table)}"
        f" WHERE {quote(review.get_field('author').column)} = %s"
        f" AND {quote(review.get_field('title').column)} = %s"
    )
    return sql, [reader_pk, *review_ids, reader_pk, *review_ids, reader_pk, title_pk]


def member_rating_stats(member):
    """One query: how many published reviews of the member give each half-star rating, how
    many have text (the rest are ratings alone), and the average in stars."""
    rows = list(
        Review.objects.published()
        .filter(author=member)
        .order_by()
        .values("rating")
        .annotate(count=Count("id"), with_text=Count("id", filter=~Q(body="")))
    )
    counts = {row["rating"]: row["count"] for row in rows}
    total = sum(counts.values())
    return {
        "total": total,
        "with_text": sum(row["with_text"] for row in rows),
        "average_stars": sum(r * n for r, n in counts.items()) / total / 2 if total else None,
        "buckets": half_star_histogram(counts),
    }


def member_reviews(member, *, reader):
    """The member's reviews for their profile, newest first: all of them for the member
    themselves (whatever their status), only the published ones for anyone else."""
    reviews = Review.objects.filter(author=member)
    if reader != member:
        reviews = reviews.published()
    return reviews.for_listing().order_by("-created_at", "-id")


def latest_written_reviews():
    """Published reviews with text, newest first (the home page shows the first few)."""
    return Review.objects.published().with_text().for_listing().order_by("-created_at", "-id")


def written_staff_picks():
    """Staff picks with text, newest pick first."""
    return Review.objects.featured().with_text().for_listing()


def member_routine_rating(member, routine):
    """The member's rating of the routine (1 to 10 half-stars), or None."""
    if not member.is_authenticated:
        return None
    ratings = RoutineRating.objects.filter(routine=routine, member=member)
    return ratings.values_list("rating", flat=True).first()


def reviews_naming_best_routine(routine):
    """Published reviews that name the routine their title's best, newest first."""
    return (
        Review.objects.published()
        .filter(best_routine=routine)
        .select_related("author")
        .order_by("-created_at", "-id")
    )
