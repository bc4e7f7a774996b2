"""Every write to reviews, votes, comments, reports and moderation, with the stored counts
they change.

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
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.tasks import queue_email
from films.models import Title

from .models import Comment, HelpfulVote, ModerationAction, Report, Review, Status


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


def _counted(review):
    """What a review adds to its title's aggregates: only a published one counts."""
    return (review.rating, review.has_text) if review.is_published else None


def _lock_review_of(*, comment):
    """Lock a comment's review before the comment itself: the order in which deleting the
    review takes them (it locks the review, then deletes its comments). Taken the other way
    round, the two deadlock on PostgreSQL and one member gets an error page."""
    Review.objects.select_for_update().filter(pk=comment.review_id).first()


def _locked(item):
    """A review or comment read again and locked until the transaction ends;
    DoesNotExist if it is gone.

    Votes and comments lock their review first, so they queue behind a deletion of it
    instead of counting onto a row that no longer exists. A comment's review is locked
    before the comment, in the deadlock-free order.
    """
    if isinstance(item, Comment):
        _lock_review_of(comment=item)
    return type(item).objects.select_for_update().get(pk=item.pk)


def _status_for_new_review(author):
    if settings.REVIEWS_HOLD_NEW:
        return Status.PENDING
    young = settings.REVIEWS_HOLD_ACCOUNTS_YOUNGER_THAN_DAYS
    if young and author.date_joined > timezone.now() - timedelta(days=young):
        return Status.PENDING
    return Status.PUBLISHED


@transaction.atomic
def review_submit(*, title, author, rating, headline="", body="", contains_spoilers=False):
    """Post a review, or change the one the author already has: never a second one.

    A new review is published, or held for approval when the moderation settings say so.
    Editing a pending review leaves it pending; editing a removed one is refused
    (ModerationHold). Returns (review, created).
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
                review = Review.objects.create(
                    title=title, author=author, status=_status_for_new_review(author), **fields
                )
        except IntegrityError:
            # Another request from the same author created it a moment ago: edit that one.
            review = Review.objects.select_for_update().filter(title=title, author=author).first()
            if review is None:
                raise
        else:
            _adjust_title(title.pk, add=_counted(review))
            return review, True
    ensure_author_may_edit(review)
    before = _counted(review)
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
    after = _counted(review)
    if after != before:
        _adjust_title(title.pk, add=after, remove=before)
    return review, False


@transaction.atomic
def review_delete(*, review, by_author=True):
    """The author deletes their review: refused (ModerationHold) while it is removed or
    pending. `by_author=False` is for the account's deletion, which takes everything."""
    locked = Review.objects.select_for_update().filter(pk=review.pk).first()
    if locked is None:
        return  # already gone: deleting twice changes nothing
    if by_author:
        ensure_author_may_delete(locked)
    _adjust_title(locked.title_id, remove=_counted(locked))
    locked.delete()
    if locked.is_featured:
        _refresh_featured_review(locked.title_id)


@transaction.atomic
def helpful_vote_toggle(*, review, voter):
    """Mark a review helpful, or take the mark back. Returns (voted, helpful_count)."""
    if review.author_id == voter.pk:
        raise PermissionDenied(_("You cannot mark your own review helpful."))
    review = _locked(review)
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


def _adjust_comment_count(review_id, step):
    if step:
        Review.objects.filter(pk=review_id).update(comment_count=F("comment_count") + step)


@transaction.atomic
def comment_create(*, review, author, body):
    review = _locked(review)
    if not review.is_published:
        raise Review.DoesNotExist
    comment = Comment.objects.create(review=review, author=author, body=body)
    _adjust_comment_count(review.pk, 1)
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
    _lock_review_of(comment=comment)
    locked = Comment.objects.select_for_update().filter(pk=comment.pk).first()
    if locked is None:
        return
    ensure_author_may_delete(locked)
    locked.delete()
    _adjust_comment_count(locked.review_id, -1 if locked.is_published else 0)


@transaction.atomic
def report_create(*, reporter, reason, note="", review=None, comment=None):
    """Record a report; enough distinct open reports hold the item for a moderator."""
    item = review or comment
    if item.author_id == reporter.pk:
        raise PermissionDenied(_("You cannot report what you wrote yourself."))
    # Locked, and its status read from the locked row: a report arriving as a moderator
    # acts (or as another report lands) never works from a stale status.
    item = _locked(item)
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
        set_status(
            item=item,
            status=Status.PENDING,
            moderator=None,
            reason=_("Held automatically after %(count)s reports.") % {"count": reporters},
        )
    return report


# --- Moderation -------------------------------------------------------------------------

ACTION_FOR_STATUS = {
    Status.PUBLISHED: ModerationAction.Kind.APPROVE,
    Status.PENDING: ModerationAction.Kind.HOLD,
    Status.REMOVED: ModerationAction.Kind.REMOVE,
}


def _record(*, action, moderator, item=None, member=None, reason=""):
    ModerationAction.objects.create(
        action=action,
        moderator=moderator,
        moderator_username=moderator.get_username() if moderator else "",
        review=item if isinstance(item, Review) else None,
        comment=item if isinstance(item, Comment) else None,
        member=member if member is not None else getattr(item, "author", None),
        subject=str(item if item is not None else member)[:300],
        reason=reason,
    )


@transaction.atomic
def set_status(*, item, status, moderator, reason="", notify=True, hidden_by_suspension=False):
    """Publish, hold or remove a review or a comment, moving it in or out of every count.

    Removing needs a reason, which the author receives by email. Approving or restoring
    an item that was already published changes nothing but the record.
    """
    item = _locked(item)
    if status == Status.REMOVED and not reason.strip():
        raise ValueError("removing an item needs a reason")
    was_published, previous = item.is_published, item.status
    item.status = status
    item.moderation_reason = reason if status != Status.PUBLISHED else ""
    item.moderated_by = moderator
    item.moderated_at = timezone.now()
    item.hidden_by_suspension = hidden_by_suspension
    update = ["status", "moderation_reason", "moderated_by", "moderated_at", "hidden_by_suspension"]
    unfeatured = isinstance(item, Review) and status != Status.PUBLISHED and item.is_featured
    if unfeatured:
        item.is_featured, item.featured_at = False, None
        update += ["is_featured", "featured_at"]
    item.save(update_fields=update)
    if unfeatured:
        _refresh_featured_review(item.title_id)
    if was_published != item.is_published:
        if isinstance(item, Review):
            counted = (item.rating, item.has_text)
            _adjust_title(
                item.title_id,
                add=counted if item.is_published else None,
                remove=None if item.is_published else counted,
            )
        else:
            _adjust_comment_count(item.review_id, 1 if item.is_published else -1)
    action = ACTION_FOR_STATUS[status]
    if status == Status.PUBLISHED and previous == Status.REMOVED:
        action = ModerationAction.Kind.RESTORE
    _record(action=action, moderator=moderator, item=item, reason=reason)
    if status == Status.PUBLISHED and moderator is not None:
        # A moderator looked and published it: the reports so far are answered, so they
        # cannot hold it again on the next report.
        reports_resolve(item=item, moderator=moderator)
    if status == Status.REMOVED and notify and item.author.email:
        _email_removal(item, reason)
    return item


def _email_removal(item, reason):
    kind = _("review") if isinstance(item, Review) else _("comment")
    title = item.title if isinstance(item, Review) else item.review.title
    context = {
        "item": item,
        "kind": kind,
        "title": title.name,
        "reason": reason,
        "member": item.author,
    }
    subject = _("Your %(kind)s on Step Up Community was removed") % {"kind": kind}
    body = render_to_string("reviews/email/removed.txt", context)
    queue_email(subject=subject, body=body, recipients=[item.author.email])


def _refresh_featured_review(title_id):
    # The title row is locked first, so two picks made at once leave the newest showing.
    Title.objects.select_for_update().filter(pk=title_id).first()
    newest = Review.objects.featured().filter(title_id=title_id).first()
    Title.objects.filter(pk=title_id).update(featured_review=newest)


@transaction.atomic
def set_featured(*, review, featured, moderator):
    review = Review.objects.select_for_update().get(pk=review.pk)
    if featured and not review.is_published:
        raise ValueError("only a published review can be a staff pick")
    if review.is_featured == featured:
        return review
    review.is_featured = featured
    review.featured_at = timezone.now() if featured else None
    review.save(update_fields=["is_featured", "featured_at"])
    _refresh_featured_review(review.title_id)
    _record(
        action=ModerationAction.Kind.FEATURE if featured else ModerationAction.Kind.UNFEATURE,
        moderator=moderator,
        item=review,
    )
    return review


@transaction.atomic
def reports_resolve(*, item, moderator, reason=""):
    resolved = (
        Report.objects.open()
        .filter(**{"review" if isinstance(item, Review) else "comment": item})
        .update(resolved_at=timezone.now(), resolved_by=moderator)
    )
    if resolved:
        _record(
            action=ModerationAction.Kind.RESOLVE_REPORTS,
            moderator=moderator,
            item=item,
            reason=reason,
        )
    return resolved


@transaction.atomic
def account_suspend(*, member, moderator, reason, hide_content=False):
    """Stop a member signing in or posting; optionally remove what they published."""
    member = get_user_model().objects.select_for_update().get(pk=member.pk)
    member.is_active = False
    member.suspended_at = timezone.now()
    # Ends every session the member has open, for good: lifting the suspension later does
    # not bring them back.
    member.session_epoch = F("session_epoch") + 1
    member.save(update_fields=["is_active", "suspended_at", "session_epoch"])
    member.refresh_from_db(fields=["session_epoch"])
    _record(action=ModerationAction.Kind.SUSPEND, moderator=moderator, member=member, reason=reason)
    if hide_content:
        removal = _("Removed with the suspension of the account: %(reason)s") % {"reason": reason}
        for model in (Review, Comment):
            for item in model.objects.filter(author=member, status=Status.PUBLISHED).order_by("pk"):
                set_status(
                    item=item,
                    status=Status.REMOVED,
                    moderator=moderator,
                    reason=removal,
                    notify=False,
                    hidden_by_suspension=True,
                )
    return member


@transaction.atomic
def account_unsuspend(*, member, moderator, reason=""):
    """Lift a suspension: the member can sign in again, and what the suspension hid is back."""
    member = get_user_model().objects.select_for_update().get(pk=member.pk)
    if member.suspended_at is None:
        return member  # not suspended (perhaps closed for another reason): leave it alone
    member.is_active = True
    member.suspended_at = None
    member.save(update_fields=["is_active", "suspended_at"])
    _record(
        action=ModerationAction.Kind.UNSUSPEND, moderator=moderator, member=member, reason=reason
    )
    for model in (Review, Comment):
        hidden = model.objects.filter(author=member, hidden_by_suspension=True).order_by("pk")
        for item in hidden:
            set_status(item=item, status=Status.PUBLISHED, moderator=moderator)
    return member


@transaction.atomic
def account_delete(*, user):
    """Delete a member with their reviews, votes and comments, keeping every count right."""
    # Locking the member first: a vote or comment they send from another tab meanwhile
    # waits (PostgreSQL) or fails, instead of vanishing uncounted.
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    # A fixed order (by title, by review) so two deletions never deadlock on the same rows.
    for review in Review.objects.filter(author=user).order_by("title_id"):
        review_delete(review=review, by_author=False)
    # Then the other reviews they voted on or commented on, by id, before their votes and
    # comments go: review before comment, as everywhere, or this deadlocks with a deletion
    # of one of those reviews.
    touched = {
        *HelpfulVote.objects.filter(voter=user).values_list("review_id", flat=True),
        *Comment.objects.filter(author=user).values_list("review_id", flat=True),
    }
    list(Review.objects.select_for_update().filter(pk__in=touched).order_by("pk").values("pk"))
    votes = Counter(HelpfulVote.objects.filter(voter=user).values_list("review_id", flat=True))
    comments = Counter(
        Comment.objects.published().filter(author=user).values_list("review_id", flat=True)
    )
    HelpfulVote.objects.filter(voter=user).delete()
    Comment.objects.filter(author=user).delete()
    for review_id in sorted(votes):
        Review.objects.filter(pk=review_id).update(
            helpful_count=F("helpful_count") - votes[review_id]
        )
    for review_id in sorted(comments):
        _adjust_comment_count(review_id, -comments[review_id])
    user.delete()


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


def review_counts_recount(review):
    return {
        "helpful_count": review.helpful_votes.count(),
        "comment_count": review.comments.published().count(),
    }
