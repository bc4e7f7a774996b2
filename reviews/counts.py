"""The stored counts every write keeps in step, and the row locks they are changed under.

Shared by the member writes (reviews.services) and the moderation (reviews.moderation):
both move items in or out of the same counts, and must lock rows in the same order.
"""

from collections import Counter, defaultdict
from datetime import date
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum

from films.models import Routine, Title

from .models import Comment, Review, TitleMonth, month_of, review_month


class Counted(NamedTuple):
    """What one published review adds to its title's stored aggregates."""

    rating: int
    has_text: bool
    month: date  # month_of(created_at): the TitleMonth row it counts in


def title_adjust(title_id, *, add=None, remove=None):
    """Move a title's stored aggregates by one rating added and/or one removed.

    `add` and `remove` are Counted (counted() of the review after and before the write).
    F() expressions make the change in the database itself, so simultaneous reviews of one
    title never overwrite each other. The title's row changes first, then its months in
    month order: every write takes them in that order, so two never deadlock.
    """
    deltas = Counter()
    months = defaultdict(Counter)
    for change, sign in ((add, 1), (remove, -1)):
        if change is None:
            continue
        rating, has_text, month = change
        deltas["rating_count"] += sign
        deltas["rating_sum"] += sign * rating
        deltas[f"ratings_{rating}"] += sign
        deltas["text_review_count"] += sign if has_text else 0
        months[month]["rating_count"] += sign
        months[month]["rating_sum"] += sign * rating
    changes = {field: F(field) + delta for field, delta in deltas.items() if delta}
    if changes:
        Title.objects.filter(pk=title_id).update(**changes)
    for month in sorted(months):
        title_month_adjust(title_id, month, months[month])


def title_month_adjust(title_id, month, deltas):
    """Move one TitleMonth row by `deltas` (rating_count, rating_sum), creating it for a
    month's first rating. Usually one UPDATE; the INSERT runs once per title and month,
    and a simultaneous first rating of the same month that wins the race is caught by the
    unique constraint and added to instead."""
    changes = {field: F(field) + delta for field, delta in deltas.items() if delta}
    if not changes:
        return
    rows = TitleMonth.objects.filter(title_id=title_id, month=month)
    if rows.update(**changes):
        return
    try:
        with transaction.atomic():
            # A month's first write is never a removal: a removal's rating was counted.
            # bulk_create sends no signal, as .update() sends none: the review's own save
            # or deletion names the pages this changes (its title's), in the same call.
            TitleMonth.objects.bulk_create([TitleMonth(title_id=title_id, month=month, **deltas)])
    except IntegrityError:
        rows.update(**changes)


def title_months_recount(title):
    """A title's months of published ratings counted afresh from the reviews table (one
    GROUP BY): {month: (rating_count, rating_sum)}, months with ratings only. For checks,
    repairs and the migration that first filled TitleMonth, never for showing a page."""
    rows = (
        Review.objects.published()
        .filter(title=title)
        .annotate(month=review_month())
        .order_by()
        .values("month")
        .annotate(rating_count=Count("id"), rating_sum=Sum("rating"))
        .values_list("month", "rating_count", "rating_sum")
    )
    return {month: (count, total) for month, count, total in rows}


def title_months_stored(title):
    """The stored counterpart of title_months_recount."""
    rows = TitleMonth.objects.series(title.pk).values_list("month", "rating_count", "rating_sum")
    return {month: (count, total) for month, count, total in rows}


def title_months_rebuild(title):
    """Set a title's TitleMonth rows to a recount (after bulk loads that bypass the
    services, such as the bench data)."""
    with transaction.atomic():
        TitleMonth.objects.filter(title=title).delete()
        TitleMonth.objects.bulk_create(
            TitleMonth(title=title, month=month, rating_count=count, rating_sum=total)
            for month, (count, total) in title_months_recount(title).items()
        )


def routine_adjust(routine_id, *, add=(), remove=()):
    """Move a routine's stored rating count and sum by the ratings (1 to 10 half-stars
    each) added and removed, by F() expressions as title_adjust does."""
    count = len(add) - len(remove)
    total = sum(add) - sum(remove)
    changes = {}
    if count:
        changes["rating_count"] = F("rating_count") + count
    if total:
        changes["rating_sum"] = F("rating_sum") + total
    if changes:
        Routine.objects.filter(pk=routine_id).update(**changes)


def counted(review, *, published=None):
    """What a review adds to its title's aggregates (a Counted): only a published one
    counts. `published` overrides the review's own status (a moderation's before and
    after)."""
    if not (review.is_published if published is None else published):
        return None
    return Counted(review.rating, review.has_text, month_of(review.created_at))


def best_routine_counted(review):
    """The routine a review names its title's best, as counted in the routine's stored
    best_routine_count: only while the review is published. None when it names none."""
    return review.best_routine_id if review.is_published else None


def best_routine_adjust(*, add=None, remove=None):
    """Move one review's naming from routine `remove` to routine `add` (ids, or None).

    The two routines change in id order, as every such change does, so two reviews
    swapping the same pair of routines at once never deadlock on PostgreSQL.
    """
    if add == remove:
        return
    steps = {pk: step for pk, step in ((add, 1), (remove, -1)) if pk is not None}
    for pk in sorted(steps):
        Routine.objects.filter(pk=pk).update(best_routine_count=F("best_routine_count") + steps[pk])


def comment_count_adjust(review_id, step):
    if step:
        Review.objects.filter(pk=review_id).update(comment_count=F("comment_count") + step)


def lock_review_of(*, comment):
    """Lock a comment's review before the comment itself: the order in which deleting the
    review takes them (it locks the review, then deletes its comments). Taken the other way
    round, the two deadlock on PostgreSQL and one member gets an error page."""
    Review.objects.select_for_update().filter(pk=comment.review_id).first()


def locked(item):
    """A review or comment read again and locked until the transaction ends;
    DoesNotExist if it is gone.

    Votes and comments lock their review first, so they queue behind a deletion of it
    instead of counting onto a row that no longer exists. A comment's review is locked
    before the comment, in the deadlock-free order.
    """
    if isinstance(item, Comment):
        lock_review_of(comment=item)
    return type(item).objects.select_for_update().get(pk=item.pk)
