"""Every email the site sends leaves from here, through the task queue.

A request only queues the mail (after its transaction commits); the worker,
`manage.py db_worker`, sends it. So a slow or unreachable mail server never slows a page,
and how long a request takes says nothing about whom it mailed.
"""

from functools import partial

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import translation
from django_tasks import task


def enqueue_on_commit(queued_task, **kwargs):
    """Queue the task once the current transaction commits (at once outside one): a write
    rolled back leaves nothing to send."""
    transaction.on_commit(partial(queued_task.enqueue, **kwargs))


def queue_email(*, subject, body, recipients, html="", from_email=""):
    """One email, queued to leave after the transaction commits. Texts are rendered
    already (in the reader's language): the queue stores plain strings."""
    enqueue_on_commit(
        send_email,
        subject="".join(str(subject).splitlines()),
        body=str(body),
        recipients=[str(address) for address in recipients],
        html=str(html),
        from_email=str(from_email),
    )


@task()
def send_email(*, subject, body, recipients, html="", from_email=""):
    # An error is not silenced: the worker records the task as failed, with its traceback.
    message = EmailMultiAlternatives(subject, body, from_email or None, recipients)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


@task()
def send_password_reset(*, email, domain, use_https, language):
    """Finds the accounts using the address and sends each its link: done here rather than
    in the request, so asking for a known and an unknown address take the same time."""
    from .forms import PasswordResetMailer

    with translation.override(language):
        form = PasswordResetMailer({"email": email})
        if form.is_valid():
            form.save(domain_override=domain, use_https=use_https)


@task()
def send_signup_confirmation(*, email, site_url, language):
    """A new confirmation link for the account waiting on this address, if one is."""
    from .models import User
    from .services import signup_confirmation_mail

    with translation.override(language):
        for member in User.objects.with_email(email).filter(email_confirmed=False):
            message = signup_confirmation_mail(member=member, site_url=site_url, next_url="")
            send_email.call(**message)
