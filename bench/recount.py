"""Stored counts against a recount: every title's rating aggregates, every review's helpful
and comment counts; and the counts a run must leave as it found them."""

import time


def chunked(items, size):
    """`items` in lists of `size`: an IN (...) of a bounded length per query."""
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def aggregate_mismatches():
    """Every title's stored rating aggregates (and months of ratings) against a fresh
    count of its reviews, and every routine's against its ratings."""
    from films.models import Routine, Title
    from reviews.counts import title_months_recount, title_months_stored
    from reviews.services import routine_aggregates_recount, title_aggregates_recount

    problems = []
    for title in Title.objects.order_by("pk"):
        for key, counted in title_aggregates_recount(title).items():
            stored = getattr(title, key)
            if stored != counted:
                problems.append(f"{title.slug}: {key} stored {stored}, counted {counted}")
        # The months of the title page's chart of ratings over time: (count, sum) each.
        months, counted_months = title_months_stored(title), title_months_recount(title)
        for month in sorted(months.keys() | counted_months.keys()):
            stored, counted = months.get(month, (0, 0)), counted_months.get(month, (0, 0))
            if stored != counted:
                problems.append(
                    f"{title.slug}: month {month:%Y-%m} (ratings, sum) stored {stored}, "
                    f"counted {counted}"
                )
    for routine in Routine.objects.order_by("pk"):
        for key, counted in routine_aggregates_recount(routine).items():
            stored = getattr(routine, key)
            if stored != counted:
                problems.append(f"routine {routine.slug}: {key} stored {stored}, counted {counted}")
    return problems


def check_aggregates():
    print("Checking every title's and routine's stored aggregates against a recount...", flush=True)
    mismatches = aggregate_mismatches()
    for mismatch in mismatches:
        print(f"  MISMATCH {mismatch}")
    print("  all titles and routines match" if not mismatches else "  MISMATCHES", flush=True)
    return [f"aggregates: {mismatch}" for mismatch in mismatches]


def review_counter_mismatches():
    """Every review's stored helpful and comment counts against a recount, in one query:
    what reviews.services.review_counts_recount counts (every mark; published comments)."""
    from django.db.models import Count, F, OuterRef, Q, Subquery
    from django.db.models.functions import Coalesce

    from reviews.models import Comment, HelpfulVote, Review

    def counted(rows):
        per_review = rows.filter(review=OuterRef("pk")).order_by().values("review")
        return Coalesce(Subquery(per_review.annotate(n=Count("pk")).values("n")), 0)

    wrong = (
        Review.objects.annotate(
            marks_counted=counted(HelpfulVote.objects.all()),
            comments_counted=counted(Comment.objects.published()),
        )
        .filter(~Q(helpful_count=F("marks_counted")) | ~Q(comment_count=F("comments_counted")))
        .values_list("pk", "helpful_count", "marks_counted", "comment_count", "comments_counted")
    )
    return [
        f"review {pk}: helpful_count stored {helpful}, counted {marks}; "
        f"comment_count stored {comments_stored}, counted {comments}"
        for pk, helpful, marks, comments_stored, comments in wrong
    ]


def check_review_counters():
    print("Checking every review's helpful and comment counts against a recount...", flush=True)
    started = time.monotonic()
    mismatches = review_counter_mismatches()
    for mismatch in mismatches[:20]:
        print(f"  MISMATCH {mismatch}")
    print(
        f"  all reviews match ({time.monotonic() - started:.1f} s)"
        if not mismatches
        else f"  {len(mismatches)} MISMATCHES",
        flush=True,
    )
    return [f"review counts: {mismatch}" for mismatch in mismatches]


def stored_counts(target_ids):
    """What a later run should find again: the titles' aggregates, the targets' counts."""
    from films.models import Title
    from reviews.models import Review

    fields = ["rating_count", "rating_sum", "text_review_count"]
    fields += [f"ratings_{value}" for value in range(1, 11)]
    titles = {row[0]: row[1:] for row in Title.objects.values_list("pk", *fields)}
    reviews = {
        row[0]: row[1:]
        for chunk in chunked(target_ids, 500)
        for row in Review.objects.filter(pk__in=chunk).values_list(
            "pk", "helpful_count", "comment_count"
        )
    }
    return titles, reviews
