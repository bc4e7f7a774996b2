"""Mail leaves from the task queue after the response, never inside a request."""

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from reviews import moderation
from reviews.models import Status
from tests.factories import UserFactory, review

pytestmark = pytest.mark.django_db

UNREACHABLE = "tests.accounts.test_mail.UnreachableMailServer"


class UnreachableMailServer(BaseEmailBackend):
    """A mail server that never answers: any request that waits for it fails the test."""

    def send_messages(self, email_messages):
        raise AssertionError("mail was sent inside the request")


def queued():
    return list(DBTaskResult.objects.filter(status="READY").values_list("task_path", flat=True))


def test_a_reset_request_returns_before_the_mail_is_sent_and_the_worker_sends_it(
    client, settings, django_capture_on_commit_callbacks, run_queued_tasks
):
    UserFactory(username="moosefan", email="moose@example.org")
    settings.EMAIL_BACKEND = UNREACHABLE
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "moose@example.org"})
    assert response.status_code == 302
    assert mail.outbox == []
    assert len(queued()) == 1

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run_queued_tasks()
    assert queued() == []
    [message] = mail.outbox
    assert message.to == ["moose@example.org"]
    assert "Reset your Step Up Community password" in message.subject
    assert "http://testserver/accounts/reset/" in message.body


def test_a_known_and_an_unknown_address_get_the_same_answer_and_queue_the_same_work(
    client, django_capture_on_commit_callbacks, run_queued_tasks
):
    UserFactory(email="known@example.org")
    answers = []
    for address in ("known@example.org", "unknown@example.org"):
        sent_before = len(mail.outbox)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("password_reset"), {"email": address}, follow=True)
        sent_by_the_request = len(mail.outbox) - sent_before
        answers.append((response.redirect_chain, response.content, queued(), sent_by_the_request))
        run_queued_tasks()
    known, unknown = answers
    assert known == unknown
    assert known[2:] == (["accounts.tasks.send_password_reset"], 0)
    # The worker found the account for one of them only.
    assert [message.to for message in mail.outbox] == [["known@example.org"]]


def test_a_removal_notice_waits_for_the_worker(
    django_capture_on_commit_callbacks, run_queued_tasks
):
    target = review(rating=2, body="Rude words", author=UserFactory(email="a@example.org"))
    moderator = UserFactory(is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        moderation.content_moderate(
            item=target, status=Status.REMOVED, moderator=moderator, reason="Rude"
        )
    assert mail.outbox == []
    assert queued() == ["accounts.tasks.send_email"]
    run_queued_tasks()
    [message] = mail.outbox
    assert message.to == ["a@example.org"] and "The reason given: Rude" in message.body


def test_a_write_rolled_back_queues_no_mail(django_capture_on_commit_callbacks):
    target = review(rating=2, body="Rude words", author=UserFactory(email="a@example.org"))
    moderator = UserFactory(is_staff=True)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        moderation.content_moderate(
            item=target, status=Status.REMOVED, moderator=moderator, reason="Rude"
        )
        transaction.set_rollback(True)
    assert callbacks == [] and queued() == []
