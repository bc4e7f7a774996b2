"""Every write members make to reviews, votes, comments and reports, with the stored counts
they change (moderators' writes are in reviews.moderation).

Each function is one transaction: the review and the title's aggregates (or the vote and
the review's helpful count, ...) change together or not at all. Only published items are
counted: a status change moves an item in or out of the counts in the same transaction.

A moderator's decision holds against the item's author until a moderator acts again
(ModerationHold): a review that is removed or pending cannot be deleted by its author, so
they cannot post a fresh one on that title in its place (one review per member per title);
editing a pending review keeps it pending, editing a removed one is refused; a removed
comment cannot be edited or deleted, and a pending one cannot be deleted (a fresh comment
would be published in its place). Restoring or approving lifts this. The checks read
the locked row, so a decision made while the author had a form open still holds.
"""

from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from films.models import RATING_VALUES

from . import counts, moderation
from .models import (
    Comment,
    HelpfulVote,
    Report,
    Review,
    RoutineRating,
    Status,
    review_language_codes,
)


class AlreadyReported(Exception):
    pass


class ModerationHold(PermissionDenied):
    """The author asked to change or delete what a moderator removed or holds.

    A PermissionDenied, so a view that lets it through answers a 403 with its message.
    """


def ensure_author_may_edit(item):
    """Refuse (ModerationHold) an author's edit of a review or comment a moderator removed.

    A pending item may be edited: it stays pending (see review_submit).
    """
    if item.status != Status.REMOVED:
        return
    if isinstance(item, Review):
        raise ModerationHold(_("A moderator removed this review; it cannot be edited."))
    raise ModerationHold(_("A moderator removed this comment; it cannot be edited."))


def ensure_author_may_delete(item):
    """Refuse (ModerationHold) an author's deletion of a removed or pending review or
    comment: deleting would escape the decision (a fresh comment, or a fresh review in the
    title's one place, would be published) before a moderator has acted."""
    if isinstance(item, Review):
        if item.status == Status.REMOVED:
            raise ModerationHold(
                _(
                    "A moderator removed this review; it cannot be deleted, and you cannot "
                    "post another review of this title unless a moderator restores it."
                )
            )
        if item.status == Status.PENDING:
            raise ModerationHold(
                _(
                    "This review is waiting for a moderator; it cannot be deleted until a "
                    "moderator has looked at it. You can still edit it."
                )
            )
    elif item.status == Status.REMOVED:
        raise ModerationHold(_("A moderator removed this comment; it cannot be deleted."))
    elif item.status == Status.PENDING:
        raise ModerationHold(
            _(
                "This comment is waiting for a moderator; it cannot be deleted until a "
                "moderator has looked at it. You can still edit it."
            )
        )


def _status_for_new_review(author):
    if settings.REVIEWS_HOLD_NEW:
        return Status.PENDING
    young = settings.REVIEWS_HOLD_ACCOUNTS_YOUNGER_THAN_DAYS
    if young and author.date_joined > timezone.now() - timedelta(days=young):
        return Status.PENDING
    return Status.PUBLISHED


@transaction.atomic
def review_submit(
    *,
    title,
    author,
    rating,
    headline="",
    body="",
    contains_spoilers=False,
    best_routine=None,
    language=None,
):
    """Post a review, or change the one the author already has: never a second one.

    A new review is published, or held for approval when the moderation settings say so.
    Editing a pending review leaves it pending; editing a removed one is refused
    (ModerationHold). `best_routine`, optional, must be one of the title's routines
    (ValidationError otherwise, before anything is written); the routine's stored
    best_routine_count follows while the review is published. `language`, one of
    settings.LANGUAGES (ValidationError otherwise), is the one the review is written in;
    None leaves an edited review's as it was and gives a new one the field's default.
    Returns (review, created).
    """
    if best_routine is not None and best_routine.title_id != title.pk:
        raise ValidationError(
            _("Choose the best routine among this title's own routines."), code="other_title"
        )
    if language is not None and language not in review_language_codes():
        raise ValidationError(
            _("Choose one of the site's languages for your review."), code="invalid_language"
        )
    fields = {
        "rating": rating,
        "headline": headline,
        "body": body,
        "contains_spoilers": contains_spoilers,
        "best_routine": best_routine,
        **({"language": language} if language is not None else {}),
    }
    review = Review.objects.select_for_update().filter(title=title, author=author).first()
    if review is None:
        try:
            with transaction.atomic():
                review = Review.objects.create(
                    title=title, author=author, status=_status_for_new_review(author), **fields
                )
        except IntegrityError:
            # Another request from the same author created it a moment ago: edit that one.
            review = Review.objects.select_for_update().filter(title=title, author=author).first()
            if review is None:
                raise
        else:
            counts.title_adjust(title.pk, add=counts.counted(review))
            counts.best_routine_adjust(add=counts.best_routine_counted(review))
            return review, True
    ensure_author_may_edit(review)
    before = counts.counted(review)
    best_before = counts.best_routine_counted(review)
    text_changed = (review.headline, review.body) != (headline, body)
    for name, value in fields.items():
        setattr(review, name, value)
    update = [*fields, "updated_at"]
    if text_changed and review.is_published and _status_for_new_review(author) == Status.PENDING:
        # While reviews are held, new words wait for a moderator like a new review does.
        review.status = Status.PENDING
        update.append("status")
    # Only what the author wrote: the stored counts are kept by F() updates elsewhere.
    review.save(update_fields=update)
    after = counts.counted(review)
    if after != before:
        counts.title_adjust(title.pk, add=after, remove=before)
    counts.best_routine_adjust(add=counts.best_routine_counted(review), remove=best_before)
    return review, False


@transaction.atomic
def review_delete(*, review, by_author=True):
    """The author deletes their review: refused (ModerationHold) while it is removed or
    pending. `by_author=False` is for the account's deletion (member_content_delete), which
    takes everything."""
    locked = Review.objects.select_for_update().filter(pk=review.pk).first()
    if locked is None:
        return  # already gone: deleting twice changes nothing
    if by_author:
        ensure_author_may_delete(locked)
    counts.title_adjust(locked.title_id, remove=counts.counted(locked))
    counts.best_routine_adjust(remove=counts.best_routine_counted(locked))
    locked.delete()
    if locked.is_featured:
        moderation.featured_review_refresh(locked.title_id)


@transaction.atomic
def helpful_vote_toggle(*, review, voter):
    """Mark a review helpful, or take the mark back. Returns (voted, helpful_count)."""
    if review.author_id == voter.pk:
        raise PermissionDenied(_("You cannot mark your own review helpful."))
    review = counts.locked(review)
    if not review.is_published:
        raise Review.DoesNotExist
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
    review = counts.locked(review)
    if not review.is_published:
        raise Review.DoesNotExist
    comment = Comment.objects.create(review=review, author=author, body=body)
    counts.comment_count_adjust(review.pk, 1)
    return comment


@transaction.atomic
def comment_update(*, comment, body):
    """The author edits their comment: refused (ModerationHold) if a moderator removed it;
    a pending one stays pending. Comment.DoesNotExist if it was deleted a moment ago
    (alone, or with its review)."""
    locked = Comment.objects.select_for_update().get(pk=comment.pk)  # held while it is saved
    ensure_author_may_edit(locked)
    comment.body = body
    comment.save(update_fields=["body", "updated_at"])
    return comment


@transaction.atomic
def comment_delete(*, comment):
    """The author deletes their comment: refused (ModerationHold) if a moderator removed it."""
    counts.lock_review_of(comment=comment)
    locked = Comment.objects.select_for_update().filter(pk=comment.pk).first()
    if locked is None:
        return
    ensure_author_may_delete(locked)
    locked.delete()
    counts.comment_count_adjust(locked.review_id, -1 if locked.is_published else 0)


def _ensure_may_rate(member, rating):
    """Refuse a rating off the half-star scale (ValidationError) or by an account that is
    suspended or closed (PermissionDenied). The account is read again, locked, as
    account_suspend and account_delete take it: a suspension landing while the request
    was on its way is seen, and a deletion waits for the rating or comes before it."""
    if rating not in RATING_VALUES:
        raise ValidationError(
            _("A rating is from half a star to five stars."), code="rating_off_scale"
        )
    accounts = get_user_model().objects.select_for_update().filter(pk=member.pk)
    if not accounts.values_list("is_active", flat=True).first():
        raise PermissionDenied(_("A suspended or closed account cannot rate routines."))


@transaction.atomic
def routine_rate(*, routine, member, rating):
    """Rate a routine, or change the member's rating of it: never a second one.

    Refused with ValidationError for a rating off the half-star scale (1 to 10) and with
    PermissionDenied for an inactive (suspended or closed) account. Returns (rating row,
    created).
    """
    _ensure_may_rate(member, rating)
    own = RoutineRating.objects.select_for_update().filter(routine=routine, member=member).first()
    if own is None:
        try:
            with transaction.atomic():
                own = RoutineRating.objects.create(routine=routine, member=member, rating=rating)
        except IntegrityError:
            # The same member's other request created it a moment ago: change that one.
            own = (
                RoutineRating.objects.select_for_update()
                .filter(routine=routine, member=member)
                .first()
            )
            if own is None:
                raise
        else:
            counts.routine_adjust(routine.pk, add=[rating])
            return own, True
    if own.rating != rating:
        before, own.rating = own.rating, rating
        own.save(update_fields=["rating", "updated_at"])
        counts.routine_adjust(routine.pk, add=[rating], remove=[before])
    return own, False


@transaction.atomic
def routine_rating_remove(*, routine, member):
    """Take back the member's rating of a routine. Returns whether there was one (removing
    twice changes nothing)."""
    own = RoutineRating.objects.select_for_update().filter(routine=routine, member=member).first()
    if own is None:
        return False
    own.delete()
    counts.routine_adjust(routine.pk, remove=[own.rating])
    return True


@transaction.atomic
def report_create(*, reporter, reason, note="", review=None, comment=None):
    """Record a report; enough distinct open reports hold the item for a moderator."""
    item = review or comment
    if item.author_id == reporter.pk:
        raise PermissionDenied(_("You cannot report what you wrote yourself."))
    # Locked, and its status read from the locked row: a report arriving as a moderator
    # acts (or as another report lands) never works from a stale status.
    item = counts.locked(item)
    try:
        with transaction.atomic():
            report = Report.objects.create(
                reporter=reporter, review=review, comment=comment, reason=reason, note=note
            )
    except IntegrityError as error:
        raise AlreadyReported from error
    reporters = (
        Report.objects.open()
        .filter(review=review, comment=comment)
        .values("reporter")
        .distinct()
        .count()
    )
    # Only published items are held: a removed item stays removed, a pending one pending.
    if reporters >= settings.REPORTS_TO_HOLD and item.status == Status.PUBLISHED:
        moderation.content_moderate(
            item=item,
            status=Status.PENDING,
            moderator=None,
            reason=_("Held automatically after %(count)s reports.") % {"count": reporters},
        )
    return report


@transaction.atomic
def member_content_delete(*, member):
    """Delete all a member wrote or marked (reviews, helpful votes, comments, routine
    ratings), keeping every count right: for the account's deletion, which takes everything
    whatever its status.

    The caller locks the member's row first (accounts.services.account_delete), so a vote
    or comment they send from another tab meanwhile waits (PostgreSQL) or fails, instead of
    vanishing uncounted.
    """
    # A fixed order (by title, by review) so two deletions never deadlock on the same rows.
    for review in Review.objects.filter(author=member).order_by("title_id"):
        review_delete(review=review, by_author=False)
    # Then the other reviews they voted on or commented on, by id, before their votes and
    # comments go: review before comment, as everywhere, or this deadlocks with a deletion
    # of one of those reviews.
    touched = {
        *HelpfulVote.objects.filter(voter=member).values_list("review_id", flat=True),
        *Comment.objects.filter(author=member).values_list("review_id", flat=True),
    }
    list(Review.objects.select_for_update().filter(pk__in=touched).order_by("pk").values("pk"))
    votes = Counter(HelpfulVote.objects.filter(voter=member).values_list("review_id", flat=True))
    comments = Counter(
        Comment.objects.published().filter(author=member).values_list("review_id", flat=True)
    )
    HelpfulVote.objects.filter(voter=member).delete()
    Comment.objects.filter(author=member).delete()
    for review_id in sorted(votes):
        Review.objects.filter(pk=review_id).update(
            helpful_count=F("helpful_count") - votes[review_id]
        )
    for review_id in sorted(comments):
        counts.comment_count_adjust(review_id, -comments[review_id])
    member_routine_ratings_delete(member=member)


def member_routine_ratings_delete(*, member):
    """Take a leaving member's routine ratings out of each routine's stored count and sum,
    then delete them (RoutineRating.member is PROTECT: the account's row cannot go first).

    The ratings are locked first, then the routines' counts change one by one in routine
    id order (the order counts.best_routine_adjust keeps too). The caller holds the
    member's row, so a rating they send from another tab meanwhile waits or fails.
    """
    ratings = list(
        RoutineRating.objects.select_for_update()
        .filter(member=member)
        .order_by("routine_id")
        .values_list("pk", "routine_id", "rating")
    )
    RoutineRating.objects.filter(pk__in=[pk for pk, _routine, _rating in ratings]).delete()
    for _pk, routine_id, rating in ratings:
        counts.routine_adjust(routine_id, remove=[rating])


def title_aggregates_recount(title):
    """What the stored aggregates should be, counted afresh from the reviews table.

    For checks and repairs, never for showing a page.
    """
    return (
        Review.objects.published()
        .filter(title=title)
        .aggregate(
            rating_count=Count("id"),
            rating_sum=Sum("rating", default=0),
            text_review_count=Count("id", filter=~Q(body="")),
            **{f"ratings_{value}": Count("id", filter=Q(rating=value)) for value in range(1, 11)},
        )
    )


def best_routine_count_recount(routine):
    """How many published reviews name `routine` their title's best, counted afresh (for
    checks and repairs, like title_aggregates_recount)."""
    return Review.objects.published().filter(best_routine=routine).count()


def review_counts_recount(review):
    return {
        "helpful_count": review.helpful_votes.count(),
        "comment_count": review.comments.published().count(),
    }


def routine_aggregates_recount(routine):
    """A routine's stored rating count and sum, counted afresh from its ratings (for checks
    and repairs, never for showing a page)."""
    return RoutineRating.objects.filter(routine=routine).aggregate(
        rating_count=Count("id"), rating_sum=Sum("rating", default=0)
    )
