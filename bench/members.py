"""Who the bench members are (their names, a password nobody can sign in with), and
deleting them with everything they wrote, in SQL, without touching real members' content."""

from django.contrib.auth import get_user_model
from django.db import connection, models
from django.db.models import Q

from films.models import Title
from reviews.models import Comment, HelpfulVote, Review

BENCH_PREFIX = "bench-"

# Unusable (it starts with "!"), so nobody can sign in as a bench member; and never what a
# real sign-up stores (a hash), so a real member who chose a "bench-" name is never taken
# for bench data and deleted with it.
BENCH_PASSWORD = "!bench-data-no-sign-in"
BENCH_EMAIL_DOMAIN = "bench.example.invalid"


def bench_users():
    return get_user_model().objects.filter(_bench())


def _bench(path=""):
    """The condition on a member (the one `path` leads to) that makes them a bench member."""
    prefix = f"{path}__" if path else ""
    return Q(**{f"{prefix}username__startswith": BENCH_PREFIX, f"{prefix}password": BENCH_PASSWORD})


class BenchDeleteError(Exception):
    pass


# Rows that PROTECT a bench member but are bench data themselves: deleted with the member.
_BENCH_CONTENT = (Review, HelpfulVote, Comment)


def _relations_to(model):
    # Hidden relations too (related_name="+"), as Django's own deletion collector sees them.
    return [
        field
        for field in model._meta.get_fields(include_hidden=True)
        if field.auto_created and not field.concrete and (field.one_to_many or field.one_to_one)
    ]


def _delete_where(cursor, model, where, params, counts):
    """Delete the rows of `model` matching `where`, after what refers to them, in SQL.

    What Model.delete() would do, but set-based: each relation gets one statement with a
    subquery, instead of loading a million rows into Python to cascade over them.
    """
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    for relation in _relations_to(model):
        field = relation.field
        related = relation.related_model
        related_table = quote(related._meta.db_table)
        target = quote(field.target_field.column)
        condition = f"{quote(field.column)} IN (SELECT {target} FROM {table} WHERE {where})"
        on_delete = field.remote_field.on_delete
        if on_delete is models.CASCADE or (
            on_delete is models.PROTECT and related in _BENCH_CONTENT
        ):
            _delete_where(cursor, related, condition, params, counts)
        elif on_delete is models.SET_NULL:
            cursor.execute(
                f"UPDATE {related_table} SET {quote(field.column)} = NULL WHERE {condition}",
                params,
            )
        elif on_delete is not models.DO_NOTHING:
            cursor.execute(f"SELECT COUNT(*) FROM {related_table} WHERE {condition}", params)
            blocking = cursor.fetchone()[0]
            if blocking:
                raise BenchDeleteError(
                    f"{blocking} {related._meta.verbose_name_plural} still refer to bench "
                    f"data ({related.__name__}.{field.name}); delete them first"
                )
    cursor.execute(f"DELETE FROM {table} WHERE {where}", params)
    counts[model._meta.label] = counts.get(model._meta.label, 0) + max(cursor.rowcount, 0)


def delete_bench_data():
    """Delete the bench members with everything they wrote and everything on it.

    Real members' content stays. Their reviews lose the votes and comments bench members
    gave them (none, unless someone added some by hand), so those reviews are recounted;
    a title whose staff pick was a bench review gets its previous pick back.
    """
    quote = connection.ops.quote_name
    User = get_user_model()
    users = bench_users()
    if not users.exists():
        return {}
    bench_reviews = Review.objects.filter(author__in=users)
    # Joins, not NOT IN (subquery): PostgreSQL plans that as a rescan per row, for hours.
    touched = set(
        HelpfulVote.objects.filter(_bench("voter"))
        .exclude(_bench("review__author"))
        .order_by()
        .values_list("review_id", flat=True)
    ) | set(
        Comment.objects.filter(_bench("author"))
        .exclude(_bench("review__author"))
        .order_by()
        .values_list("review_id", flat=True)
    )
    picks_lost = list(
        Title.objects.filter(featured_review__in=bench_reviews).values_list("pk", flat=True)
    )
    counts = {}
    meta = User._meta
    where = (
        f"{quote(meta.get_field('username').column)} LIKE %s "
        f"AND {quote(meta.get_field('password').column)} = %s"
    )
    # No LIKE wildcards in the prefix, so it matches literally.
    params = [f"{BENCH_PREFIX}%", BENCH_PASSWORD]
    with connection.cursor() as cursor:
        _delete_where(cursor, User, where, params, counts)
    for review in Review.objects.filter(pk__in=touched):
        Review.objects.filter(pk=review.pk).update(
            helpful_count=review.helpful_votes.count(),
            comment_count=review.comments.published().count(),
        )
    for title_id in picks_lost:
        newest = Review.objects.featured().filter(title_id=title_id).first()
        Title.objects.filter(pk=title_id).update(featured_review=newest)
    return counts
