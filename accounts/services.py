"""The account's life: signing up, changing the email address, suspension and deletion.

Signing up and changing the address never say whether an address belongs to an account.
Whoever asks gets the same answer and the same work is done; only the address's owner
learns more, by email.

Suspending and deleting orchestrate: what happens to the member's reviews, votes and
comments is reviews' business (reviews.moderation, reviews.services), called from here.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from reviews.models import ModerationAction
from reviews.moderation import (
    member_content_hide,
    member_content_restore,
    moderation_action_record,
)
from reviews.services import member_content_delete

from .models import User
from .tasks import queue_email

# How long an emailed link works; an account left unconfirmed as long is removed, so its
# username and address are free again.
CONFIRMATION_MAX_AGE = timedelta(days=3)
_SIGNUP_SALT = "accounts.signup-confirmation"
_EMAIL_CHANGE_SALT = "accounts.email-change"


class UsernameTaken(Exception):
    """Another sign-up took the username between the form's check and the save."""


class LinkRefused(Exception):
    """An emailed link that cannot be used; the message says why, for the person holding it."""


class SuspensionRefused(PermissionDenied):
    """A moderator may not suspend (or reinstate) this account; the message says why."""


def _absolute(site_url, name, **kwargs):
    return site_url + reverse(name, kwargs=kwargs)


def _mail(template, context, *, subject, to):
    context = {"days": CONFIRMATION_MAX_AGE.days, **context}
    return {
        "subject": subject,
        "body": render_to_string(f"accounts/email/{template}.txt", context),
        "recipients": [to],
    }


def _signed_data(token, *, salt, refused):
    """What an emailed link's token carries; LinkRefused(`refused`) if it is forged or
    older than a link lives."""
    try:
        return signing.loads(token, salt=salt, max_age=CONFIRMATION_MAX_AGE)
    except signing.BadSignature:
        raise LinkRefused(refused) from None


def signup_confirmation_mail(*, member, site_url, next_url):
    token = signing.dumps({"u": member.pk, "e": member.email, "n": next_url}, salt=_SIGNUP_SALT)
    return _mail(
        "signup_confirm",
        {
            "member": member,
            "link": _absolute(site_url, "accounts:signup_confirm", token=token),
        },
        subject=_("Confirm your email address for Step Up Community"),
        to=member.email,
    )


def unconfirmed_accounts_prune():
    """Sign-ups never confirmed within the link's lifetime give their username and address back.

    Such an account never signed in, so it has nothing else to take with it.
    """
    User.objects.filter(
        email_confirmed=False, date_joined__lt=timezone.now() - CONFIRMATION_MAX_AGE
    ).delete()


@transaction.atomic
def sign_up(*, username, email, password, next_url, site_url, language=settings.LANGUAGE_CODE):
    """Make an account waiting for its address to be confirmed, and email the link.

    An account that holds the address but was never confirmed is replaced: it never signed
    in, and whoever made it may not own the address (signing up first with another's
    address must not hand its owner a link to an account someone else controls). If a
    confirmed account has the address, no account is made: its owner is emailed that
    someone tried. The caller answers every case alike, and each does the same work: a
    password hashed, one mail queued.
    """
    member = User(username=username, email_confirmed=False, language=language)
    member.set_password(password)
    for _attempt in range(2):
        holder = User.objects.with_email(email).first()
        if holder is not None and not holder.email_confirmed:
            holder.delete()
            holder = None
        # An account is made either way, so the username is held alike: were it held only
        # for a free address, trying the same username again would tell which the address
        # was. For a taken address it is a placeholder with the password chosen, as any
        # sign-up (signing in with it then says "confirm first" too), and no address, so
        # it can never be confirmed; it is pruned with the other unconfirmed sign-ups.
        member.email = "" if holder else email
        try:
            with transaction.atomic():
                member.save()
            break
        except IntegrityError:
            # The username (or a look-alike) was taken a moment ago, or the address signed
            # up a moment ago: try again, as a taken address or replacing that sign-up.
            if User.objects.filter(username__iexact=username).exists():
                raise UsernameTaken from None
    else:
        raise UsernameTaken
    if holder is None:
        queue_email(**signup_confirmation_mail(member=member, site_url=site_url, next_url=next_url))
        return
    queue_email(
        **_mail(
            "signup_taken",
            {
                "member": holder,
                "login_link": _absolute(site_url, "login"),
                "reset_link": _absolute(site_url, "password_reset"),
            },
            subject=_("Someone tried to sign up to Step Up Community with your address"),
            to=holder.email,
        )
    )


def signup_token_read(token):
    """(member, next_url) for a sign-up link that is genuine, unexpired and still waiting.

    A used link finds its account confirmed already: LinkRefused says so, and the member
    signs in with their password instead.
    """
    data = _signed_data(
        token,
        salt=_SIGNUP_SALT,
        refused=_("This link is not valid or has expired. Ask for a new one below."),
    )
    member = User.objects.filter(pk=data["u"], email=data["e"]).first()
    if member is None:
        raise LinkRefused(_("This link is not valid or has expired. Ask for a new one below."))
    if member.email_confirmed:
        raise LinkRefused(_("Your email address is confirmed already: sign in to continue."))
    return member, data["n"]


@transaction.atomic
def signup_confirm(*, member):
    """Confirm the address: once only, even if the link is opened twice at once."""
    confirmed = (
        User.objects.select_for_update()
        .filter(pk=member.pk, email=member.email, email_confirmed=False)
        .update(email_confirmed=True)
    )
    if not confirmed:
        raise LinkRefused(_("Your email address is confirmed already: sign in to continue."))
    member.email_confirmed = True
    return member


def _password_stamp(member):
    """Changes when the password does (changed or reset), or when every session is ended:
    a link asked for before then is not the owner's wish any more, maybe not even theirs."""
    return salted_hmac(
        _EMAIL_CHANGE_SALT,
        f"{member.password}:{member.session_epoch}",
        algorithm="sha256",
    ).hexdigest()


@transaction.atomic
def email_change_request(*, member, new_email, site_url):
    """Email a link confirming the new address to it, and tell the current one.

    A new address that belongs to another account gets a notice instead of the link, and
    the member is answered the same either way: two mails queued (both or neither).
    """
    # In the language the member chose, whichever page they asked from.
    with translation.override(member.preferred_language):
        if User.objects.with_email(new_email).exclude(pk=member.pk).exists():
            queue_email(
                **_mail(
                    "email_change_taken",
                    {"site_url": site_url},
                    subject=_("Your address and Step Up Community"),
                    to=new_email,
                )
            )
        else:
            token = signing.dumps(
                {"u": member.pk, "o": member.email, "n": new_email, "p": _password_stamp(member)},
                salt=_EMAIL_CHANGE_SALT,
            )
            queue_email(
                **_mail(
                    "email_change_confirm",
                    {
                        "member": member,
                        "link": _absolute(site_url, "accounts:email_change_confirm", token=token),
                    },
                    subject=_("Confirm your new email address for Step Up Community"),
                    to=new_email,
                )
            )
        if member.email:
            queue_email(
                **_mail(
                    "email_change_notice",
                    {
                        "member": member,
                        "new_email": new_email,
                        "password_link": _absolute(site_url, "password_change"),
                    },
                    subject=_("A change of your email address on Step Up Community"),
                    to=member.email,
                )
            )


def email_change_token_read(token, *, for_update=False):
    """(member, new address) for an email-change link that is genuine and unexpired.

    Refused once the password has changed since it was sent (changed or reset: the owner
    may be taking the account back from whoever asked) or every session was ended.
    """
    data = _signed_data(
        token,
        salt=_EMAIL_CHANGE_SALT,
        refused=_(
            "This link is not valid or has expired. Ask for the change again in your settings."
        ),
    )
    members = User.objects.select_for_update() if for_update else User.objects
    member = members.filter(pk=data["u"]).first()
    if member is None:
        raise LinkRefused(_("This link is not valid any more."))
    if not constant_time_compare(data.get("p", ""), _password_stamp(member)):
        raise LinkRefused(
            _(
                "Your password changed after this link was sent, so it is not valid any more. "
                "Ask for the change again in your settings."
            )
        )
    if member.email != data["n"] and member.email != data["o"]:
        raise LinkRefused(
            _("Your address changed after this link was sent, so it is not valid any more.")
        )
    return member, data["n"]


@transaction.atomic
def email_change_confirm(*, token):
    """Apply the change an emailed link confirms; the member, with the new address.

    Confirming again once it is applied only shows the result. A link is refused once the
    address or the password has changed since it was sent, or when the new address has
    meanwhile become another account's.
    """
    member, new_email = email_change_token_read(token, for_update=True)
    if member.email == new_email:
        return member
    taken = _("This address belongs to another account now, so it cannot be yours here too.")
    if User.objects.with_email(new_email).exclude(pk=member.pk).exists():
        raise LinkRefused(taken)
    member.email, member.email_confirmed = new_email, True
    try:
        with transaction.atomic():
            member.save(update_fields=["email", "email_confirmed"])
    except IntegrityError:
        raise LinkRefused(taken) from None
    return member


def _ensure_within_reach(*, member, moderator):
    """Refuse (SuspensionRefused) a moderator acting on their own account, or a moderator
    who is not a superuser acting on a staff account. The site itself (moderator None)
    may act on any."""
    if moderator is None:
        return
    if member.pk == moderator.pk:
        raise SuspensionRefused(
            _("You cannot suspend or reinstate your own account, %(member)s.") % {"member": member}
        )
    if member.is_staff and not moderator.is_superuser:
        raise SuspensionRefused(
            _("Only a superuser can suspend or reinstate %(member)s, a staff account.")
            % {"member": member}
        )


@transaction.atomic
def account_suspend(*, member, moderator, reason, hide_content=False):
    """Stop a member signing in or posting; optionally remove what they published.

    Refused (SuspensionRefused) out of the moderator's reach (see _ensure_within_reach) or
    for an account that cannot sign in already (suspended, or closed by hand).
    """
    member = User.objects.select_for_update().get(pk=member.pk)
    _ensure_within_reach(member=member, moderator=moderator)
    if not member.is_active:
        raise SuspensionRefused(
            _("The account %(member)s is suspended or closed already.") % {"member": member}
        )
    member.is_active = False
    member.suspended_at = timezone.now()
    # Ends every session the member has open, for good: lifting the suspension later does
    # not bring them back.
    member.session_epoch = F("session_epoch") + 1
    member.save(update_fields=["is_active", "suspended_at", "session_epoch"])
    member.refresh_from_db(fields=["session_epoch"])
    moderation_action_record(
        action=ModerationAction.Kind.SUSPEND, moderator=moderator, member=member, reason=reason
    )
    if hide_content:
        member_content_hide(member=member, moderator=moderator, reason=reason)
    return member


@transaction.atomic
def account_unsuspend(*, member, moderator, reason=""):
    """Lift a suspension: the member can sign in again, and what the suspension hid is back.

    Refused (SuspensionRefused) out of the moderator's reach, as suspending is. An account
    that is not suspended (perhaps closed for another reason) is left as it is.
    """
    member = User.objects.select_for_update().get(pk=member.pk)
    _ensure_within_reach(member=member, moderator=moderator)
    if member.suspended_at is None:
        return member
    member.is_active = True
    member.suspended_at = None
    member.save(update_fields=["is_active", "suspended_at"])
    moderation_action_record(
        action=ModerationAction.Kind.UNSUSPEND, moderator=moderator, member=member, reason=reason
    )
    member_content_restore(member=member, moderator=moderator)
    return member


@transaction.atomic
def account_delete(*, user):
    """Delete a member with their reviews, votes, comments and routine ratings, keeping
    every count right."""
    # Locking the member first: a vote or comment they send from another tab meanwhile
    # waits (PostgreSQL) or fails, instead of vanishing uncounted.
    user = User.objects.select_for_update().get(pk=user.pk)
    member_content_delete(member=user)
    user.delete()
