"""Signing up and changing the email address: every write, and the mail each one queues.

Neither ever says whether an address belongs to an account. Whoever asks gets the same
answer and the same work is done; only the address's owner learns more, by email.
"""

from datetime import timedelta

from django.core import signing
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

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


def _absolute(site_url, name, **kwargs):
    return site_url + reverse(name, kwargs=kwargs)


def _mail(template, context, *, subject, to):
    context = {"days": CONFIRMATION_MAX_AGE.days, **context}
    return {
        "subject": subject,
        "body": render_to_string(f"accounts/email/{template}.txt", context),
        "recipients": [to],
    }


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
def sign_up(*, username, email, password, next_url, site_url):
    """Make an account waiting for its address to be confirmed, and email the link.

    If the address already has an account, no account is made: its owner is emailed that
    someone tried (or, while that account still waits, its confirmation link again). The
    caller answers both alike, and both do the same work: a password hashed, one mail queued.
    """
    holder = User.objects.filter(email__iexact=email).first()
    # An account is made either way, so the username is held alike: were it held only for a
    # free address, trying the same username again would tell which the address was. For a
    # taken address it is a placeholder with no address and no password, never confirmed,
    # pruned with the other unconfirmed sign-ups.
    member = User(username=username, email="" if holder else email, email_confirmed=False)
    member.set_password(password)
    if holder is not None:
        member.set_unusable_password()
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError:
        # The username (or a look-alike) was taken a moment ago, or the address signed up
        # a moment ago: from here on it is a taken address.
        holder = holder or User.objects.filter(email__iexact=email).first()
        if holder is None or User.objects.filter(username__iexact=username).exists():
            raise UsernameTaken from None
    if holder is None:
        queue_email(**signup_confirmation_mail(member=member, site_url=site_url, next_url=next_url))
        return
    if holder.email_confirmed:
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
    else:
        queue_email(**signup_confirmation_mail(member=holder, site_url=site_url, next_url=next_url))


def signup_token_read(token):
    """(member, next_url) for a sign-up link that is genuine, unexpired and still waiting.

    A used link finds its account confirmed already: LinkRefused says so, and the member
    signs in with their password instead.
    """
    try:
        data = signing.loads(token, salt=_SIGNUP_SALT, max_age=CONFIRMATION_MAX_AGE)
    except signing.BadSignature:
        raise LinkRefused(
            _("This link is not valid or has expired. Ask for a new one below.")
        ) from None
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


def email_change_request(*, member, new_email, site_url):
    """Email a link confirming the new address to it, and tell the current one.

    A new address that belongs to another account gets a notice instead of the link, and
    the member is answered the same either way: two mails queued.
    """
    if User.objects.filter(email__iexact=new_email).exclude(pk=member.pk).exists():
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
            {"u": member.pk, "o": member.email, "n": new_email}, salt=_EMAIL_CHANGE_SALT
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


@transaction.atomic
def email_change_confirm(*, token):
    """Apply the change an emailed link confirms; the member, with the new address.

    Opening the link again once it is applied only shows the result. A link is refused
    once the address has changed since it was sent, or when the new address has meanwhile
    become another account's.
    """
    try:
        data = signing.loads(token, salt=_EMAIL_CHANGE_SALT, max_age=CONFIRMATION_MAX_AGE)
    except signing.BadSignature:
        raise LinkRefused(
            _("This link is not valid or has expired. Ask for the change again in your settings.")
        ) from None
    member = User.objects.select_for_update().filter(pk=data["u"]).first()
    if member is None:
        raise LinkRefused(_("This link is not valid any more."))
    if member.email == data["n"]:
        return member
    if member.email != data["o"]:
        raise LinkRefused(
            _("Your address changed after this link was sent, so it is not valid any more.")
        )
    taken = _("This address belongs to another account now, so it cannot be yours here too.")
    if User.objects.filter(email__iexact=data["n"]).exclude(pk=member.pk).exists():
        raise LinkRefused(taken)
    member.email, member.email_confirmed = data["n"], True
    try:
        with transaction.atomic():
            member.save(update_fields=["email", "email_confirmed"])
    except IntegrityError:
        raise LinkRefused(taken) from None
    return member
