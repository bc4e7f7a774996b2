"""What moderators (and the site, after enough reports) do to reviews and comments: publish,
hold or remove them, pick staff picks, resolve reports; and the audit trail of it all.

Each function is one transaction: a status change moves the item in or out of every
stored count (reviews.counts) together with the record of who did it and why.
"""

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.tasks import queue_email
from films.models import Title

from . import counts
from .models import Comment, ModerationAction, Report, Review, Status

ACTION_FOR_STATUS = {
    Status.PUBLISHED: ModerationAction.Kind.APPROVE,
    Status.PENDING: ModerationAction.Kind.HOLD,
    Status.REMOVED: ModerationAction.Kind.REMOVE,
}


def moderation_action_record(*, action, moderator, item=None, member=None, reason=""):
    """Add to the audit trail: `item` (a review or comment) or `member` (an account)."""
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
def content_moderate(
    *, item, status, moderator, reason="", notify=True, hidden_by_suspension=False
):
    """Publish, hold or remove a review or a comment, moving it in or out of every count.

    Removing needs a reason, which the author receives by email. Approving or restoring
    an item that was already published changes nothing but the record.
    """
    item = counts.locked(item)
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
        featured_review_refresh(item.title_id)
    if was_published != item.is_published:
        if isinstance(item, Review):
            counts.title_adjust(
                item.title_id,
                add=counts.counted(item),
                remove=counts.counted(item, published=was_published),
            )
            named = item.best_routine_id
            counts.best_routine_adjust(
                add=named if item.is_published else None,
                remove=None if item.is_published else named,
            )
        else:
            counts.comment_count_adjust(item.review_id, 1 if item.is_published else -1)
    action = ACTION_FOR_STATUS[status]
    if status == Status.PUBLISHED and previous == Status.REMOVED:
        action = ModerationAction.Kind.RESTORE
    moderation_action_record(action=action, moderator=moderator, item=item, reason=reason)
    if status == Status.PUBLISHED and moderator is not None:
        # A moderator looked and published it: the reports so far are answered, so they
        # cannot hold it again on the next report.
        reports_resolve(item=item, moderator=moderator)
    if status == Status.REMOVED and notify and item.author.email:
        _email_removal(item, reason)
    return item


def _email_removal(item, reason):
    # In the member's language, whichever language the moderator works in.
    with translation.override(item.author.preferred_language):
        _queue_removal_email(item, reason)


def _queue_removal_email(item, reason):
    kind = _("review") if isinstance(item, Review) else _("comment")
    title = item.title if isinstance(item, Review) else item.review.title
    context = {
        "item": item,
        "kind": kind,
        "title": title.name,
        "reason": reason,
        "member": item.author,
    }
    # Whole sentences, not one with the kind put in: other languages agree with its gender.
    if isinstance(item, Review):
        subject = _("Your review on Step Up Community was removed")
    else:
        subject = _("Your comment on Step Up Community was removed")
    body = render_to_string("reviews/email/removed.txt", context)
    queue_email(subject=subject, body=body, recipients=[item.author.email])


@transaction.atomic
def member_content_hide(*, member, moderator, reason):
    """Remove everything a member has published, for their suspension: marked so that
    member_content_restore brings back these items and no earlier removal. The author is
    not emailed for each: the suspension tells them."""
    removal = _("Removed with the suspension of the account: %(reason)s") % {"reason": reason}
    for model in (Review, Comment):
        for item in model.objects.filter(author=member, status=Status.PUBLISHED).order_by("pk"):
            content_moderate(
                item=item,
                status=Status.REMOVED,
                moderator=moderator,
                reason=removal,
                notify=False,
                hidden_by_suspension=True,
            )


@transaction.atomic
def member_content_restore(*, member, moderator):
    """Publish again what member_content_hide removed, and only that."""
    for model in (Review, Comment):
        hidden = model.objects.filter(author=member, hidden_by_suspension=True).order_by("pk")
        for item in hidden:
            content_moderate(item=item, status=Status.PUBLISHED, moderator=moderator)


def featured_review_refresh(title_id):
    """Point the title at its newest staff pick (or none), after a pick came or went."""
    # The title row is locked first, so two picks made at once leave the newest showing.
    Title.objects.select_for_update().filter(pk=title_id).first()
    newest = Review.objects.featured().filter(title_id=title_id).first()
    Title.objects.filter(pk=title_id).update(featured_review=newest)


@transaction.atomic
def _featured_set(*, review, featured, moderator):
    review = Review.objects.select_for_update().get(pk=review.pk)
    if featured and not review.is_published:
        raise ValueError("only a published review can be a staff pick")
    if review.is_featured == featured:
        return review
    review.is_featured = featured
    review.featured_at = timezone.now() if featured else None
    review.save(update_fields=["is_featured", "featured_at"])
    featured_review_refresh(review.title_id)
    moderation_action_record(
        action=ModerationAction.Kind.FEATURE if featured else ModerationAction.Kind.UNFEATURE,
        moderator=moderator,
        item=review,
    )
    return review


def review_feature(*, review, moderator):
    """Make a published review a staff pick: the newest pick shows on its title's page."""
    return _featured_set(review=review, featured=True, moderator=moderator)


def review_unfeature(*, review, moderator):
    return _featured_set(review=review, featured=False, moderator=moderator)


@transaction.atomic
def reports_resolve(*, item, moderator, reason=""):
    """Close the open reports on a review or comment; how many there were."""
    resolved = (
        Report.objects.open()
        .filter(**{"review" if isinstance(item, Review) else "comment": item})
        .update(resolved_at=timezone.now(), resolved_by=moderator)
    )
    if resolved:
        moderation_action_record(
            action=ModerationAction.Kind.RESOLVE_REPORTS,
            moderator=moderator,
            item=item,
            reason=reason,
        )
    return resolved
