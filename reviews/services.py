"""Every write to reviews, votes, comments and reports, with the stored counts they change.

Each function is one transaction: the review and the title's aggregates (or the vote and
the review's helpful count, ...) change together or not at all.
"""

from collections import Counter

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.utils.translation import gettext as _

from films.models import Title

from .models import Comment, HelpfulVote, Report, Review


class AlreadyReported(Exception):
    pass


def _adjust_title(title_id, *, add=None, remove=None):
    """Move a title's stored aggregates by one rating added and/or one removed.

    `add` and `remove` are (rating, has_text). F() expressions make the change in the
    database itself, so simultaneous reviews of one title never overwrite each other.
    """
    deltas = Counter()
    for change, sign in ((add, 1), (remove, -1)):
        if change is None:
            continue
        rating, has_text = change
        deltas["rating_count"] += sign
        deltas["rating_sum"] += sign * rating
        deltas[f"ratings_{rating}"] += sign
        deltas["text_review_count"] += sign if has_text else 0
    changes = {field: F(field) + delta for field, delta in deltas.items() if delta}
    if changes:
        Title.objects.filter(pk=title_id).update(**changes)


def _locked_review(review):
    """The review, locked until the transaction ends; Review.DoesNotExist if it is gone.

    Votes and comments lock their review first, so they queue behind a deletion of it
    instead of counting onto a row that no longer exists.
    """
    return Review.objects.select_for_update().get(pk=review.pk)


@transaction.atomic
def review_submit(*, title, author, rating, headline="", body="", contains_spoilers=False):
    """Post a review, or change the one the author already has: never a second one.

    Returns (review, created).
    """
    fields = {
        "rating": rating,
        "headline": headline,
        "body": body,
        "contains_spoilers": contains_spoilers,
    }
    review = Review.objects.select_for_update().filter(title=title, author=author).first()
    if review is None:
        try:
            with transaction.atomic():
                review = Review.objects.create(title=title, author=author, **fields)
        except IntegrityError:
            # Another request from the same author created it a moment ago: edit that one.
            review = Review.objects.select_for_update().filter(title=title, author=author).first()
            if review is None:
                raise
        else:
            _adjust_title(title.pk, add=(rating, bool(body)))
            return review, True
    before = (review.rating, review.has_text)
    for name, value in fields.items():
        setattr(review, name, value)
    # Only what the author wrote: the stored counts are kept by F() updates elsewhere.
    review.save(update_fields=[*fields, "updated_at"])
    after = (review.rating, review.has_text)
    if after != before:
        _adjust_title(title.pk, add=after, remove=before)
    return review, False


@transaction.atomic
def review_delete(*, review):
    locked = Review.objects.select_for_update().filter(pk=review.pk).first()
    if locked is None:
        return  # already gone: deleting twice changes nothing
    _adjust_title(locked.title_id, remove=(locked.rating, locked.has_text))
    locked.delete()


@transaction.atomic
def helpful_vote_toggle(*, review, voter):
    """Mark a review helpful, or take the mark back. Returns (voted, helpful_count)."""
    if review.author_id == voter.pk:
        raise PermissionDenied(_("You cannot mark your own review helpful."))
    review = _locked_review(review)
    deleted, _details = HelpfulVote.objects.filter(review=review, voter=voter).delete()
    if deleted:
        voted, step = False, -1
    else:
        HelpfulVote.objects.create(review=review, voter=voter)
        voted, step = True, 1
    Review.objects.filter(pk=review.pk).update(helpful_count=F("helpful_count") + step)
    return voted, review.helpful_count + step


@transaction.atomic
def comment_create(*, review, author, body):
    review = _locked_review(review)
    comment = Comment.objects.create(review=review, author=author, body=body)
    Review.objects.filter(pk=review.pk).update(comment_count=F("comment_count") + 1)
    return comment


def comment_update(*, comment, body):
    comment.body = body
    comment.save(update_fields=["body", "updated_at"])
    return comment


@transaction.atomic
def comment_delete(*, comment):
    _deleted, per_model = Comment.objects.filter(pk=comment.pk).delete()
    if per_model.get(Comment._meta.label):
        Review.objects.filter(pk=comment.review_id).update(comment_count=F("comment_count") - 1)


def report_create(*, reporter, reason, note="", review=None, comment=None):
    if (review or comment).author_id == reporter.pk:
        raise PermissionDenied(_("You cannot report what you wrote yourself."))
    try:
        with transaction.atomic():
            return Report.objects.create(
                reporter=reporter, review=review, comment=comment, reason=reason, note=note
            )
    except IntegrityError as error:
        raise AlreadyReported from error


@transaction.atomic
def account_delete(*, user):
    """Delete a member with their reviews, votes and comments, keeping every count right."""
    # Locking the member first: a vote or comment they send from another tab meanwhile
    # waits (PostgreSQL) or fails, instead of vanishing uncounted.
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    # A fixed order (by title, by review) so two deletions never deadlock on the same rows.
    for review in Review.objects.filter(author=user).order_by("title_id"):
        review_delete(review=review)
    votes = Counter(HelpfulVote.objects.filter(voter=user).values_list("review_id", flat=True))
    comments = Counter(Comment.objects.filter(author=user).values_list("review_id", flat=True))
    HelpfulVote.objects.filter(voter=user).delete()
    Comment.objects.filter(author=user).delete()
    for review_id in sorted(votes):
        Review.objects.filter(pk=review_id).update(
            helpful_count=F("helpful_count") - votes[review_id]
        )
    for review_id in sorted(comments):
        Review.objects.filter(pk=review_id).update(
            comment_count=F("comment_count") - comments[review_id]
        )
    user.delete()


def title_aggregates_recount(title):
    """What the stored aggregates should be, counted afresh from the reviews table.

    For checks and repairs, never for showing a page.
    """
    counted = Review.objects.filter(title=title).aggregate(
        rating_count=Count("id"),
        rating_sum=Sum("rating", default=0),
        text_review_count=Count("id", filter=~Q(body="")),
        **{f"ratings_{value}": Count("id", filter=Q(rating=value)) for value in range(1, 11)},
    )
    return counted


def review_counts_recount(review):
    return {
        "helpful_count": review.helpful_votes.count(),
        "comment_count": review.comments.count(),
    }
