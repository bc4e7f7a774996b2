"""The account settings page: the email address, changed through a link sent to the new one."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from accounts.models import User
from tests.factories import UserFactory
from tests.html import assert_valid_accessible_page

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-password"  # the factory's


@pytest.fixture
def member(client):
    account = UserFactory(username="moosefan", email="moose@example.org")
    client.force_login(account)
    return account


@pytest.fixture
def change_email(client, django_capture_on_commit_callbacks):
    def post(address, password=PASSWORD):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                reverse("accounts:email_change"), {"email": address, "password": password}
            )

    return post


def mail_to(address):
    return [message for message in mail.outbox if message.to == [address]]


def confirmation_path(message):
    return re.search(r"http://testserver(/accounts/settings/email/\S+)", message.body).group(1)


def test_settings_gather_the_account_in_sections_linked_from_profile_and_header(client, member):
    page = client.get(reverse("accounts:settings"))
    html = page.content.decode()
    assert page.status_code == 200
    assert_valid_accessible_page(html)
    for heading in ("Email address", "Password", "Your reviews", "Delete your account"):
        assert re.search(rf'<h2 id="settings-[a-z]+" class="[^"]*">{heading}</h2>', html)
    assert "Your address is <strong>moose@example.org</strong>" in html
    for name in (
        "password_change",
        "accounts:export_csv",
        "accounts:export_json",
        "accounts:delete",
    ):
        assert f'href="{reverse(name)}"' in html
    settings_link = f'href="{reverse("accounts:settings")}"'
    assert settings_link in client.get(member.get_absolute_url()).content.decode()
    assert settings_link in client.get("/titles/").content.decode()  # the header
    client.post(reverse("logout"))
    assert client.get(reverse("accounts:settings"))["Location"].startswith(reverse("login"))


def test_a_new_address_takes_effect_only_through_the_link_sent_to_it(
    client, member, change_email, run_queued_tasks
):
    wrong = change_email("new@example.org", password="not-it")
    assert wrong.status_code == 400 and "That is not your password." in wrong.content.decode()

    response = change_email("new@example.org")
    assert response["Location"] == reverse("accounts:settings")
    member.refresh_from_db()
    assert member.email == "moose@example.org"  # not yet
    run_queued_tasks()
    [confirm] = mail_to("new@example.org")
    [notice] = mail_to("moose@example.org")
    assert "new@example.org" in notice.body and "/accounts/settings/email/" not in notice.body

    link = confirmation_path(confirm)
    assert client.post(link)["Location"] == reverse("accounts:settings")
    member.refresh_from_db()
    assert member.email == "new@example.org"
    html = client.get(reverse("accounts:settings")).content.decode()
    assert "Your email address is now new@example.org." in html
    assert "Your address is <strong>new@example.org</strong>" in html

    # Used once: after a later change, the old link changes nothing back.
    change_email("third@example.org")
    run_queued_tasks()
    client.post(confirmation_path(mail_to("third@example.org")[0]))
    refused = client.post(link)
    assert refused.status_code == 400
    assert "not valid any more" in refused.content.decode()
    member.refresh_from_db()
    assert member.email == "third@example.org"


def test_a_taken_new_address_gets_the_same_answer_and_its_holder_is_not_revealed(
    client, member, change_email, run_queued_tasks
):
    holder = UserFactory(username="holder", email="taken@example.org")
    answers = []
    for address in ("free@example.org", "TAKEN@example.org"):
        response = change_email(address)
        page = client.get(response["Location"]).content.decode()
        answers.append(
            (
                response.status_code,
                response["Location"],
                re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page).replace(
                    address, "ADDRESS"
                ),
                DBTaskResult.objects.filter(status="READY").count(),
            )
        )
        run_queued_tasks()
    assert answers[0] == answers[1]
    assert answers[0][3] == 2  # the new address and the current one, told
    [to_holder] = mail_to("TAKEN@example.org")
    assert "/accounts/settings/email/" not in to_holder.body
    assert "moosefan" not in to_holder.body and "moose@example.org" not in to_holder.body
    assert "holder" not in "".join(message.body for message in mail_to("moose@example.org"))
    holder.refresh_from_db()
    member.refresh_from_db()
    assert (holder.email, member.email) == ("taken@example.org", "moose@example.org")


def test_a_link_is_refused_once_its_address_has_become_another_accounts(
    client, member, change_email, run_queued_tasks
):
    change_email("new@example.org")
    run_queued_tasks()
    UserFactory(email="New@Example.org")
    refused = client.post(confirmation_path(mail_to("new@example.org")[0]))
    assert refused.status_code == 400
    assert "belongs to another account" in refused.content.decode()
    assert User.objects.get(pk=member.pk).email == "moose@example.org"


def test_the_same_address_or_a_forged_link_is_a_clear_message(client, member, change_email):
    same = change_email("Moose@Example.org")
    assert same.status_code == 400 and "That is your address already." in same.content.decode()
    forged = client.get(reverse("accounts:email_change_confirm", kwargs={"token": "forged"}))
    assert forged.status_code == 400
    assert "not valid or has expired" in forged.content.decode()


def test_password_guesses_on_the_email_form_are_limited(settings, member, change_email):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_check": "2/h"}
    answers = [change_email("new@example.org", password="guess").status_code for _ in range(3)]
    assert answers == [400, 400, 429]


def test_opening_the_link_changes_nothing_until_the_change_is_confirmed_with_the_button(
    client, member, change_email, run_queued_tasks
):
    """A mail scanner following links, or someone who got the link by a mistyped address,
    opens it: that alone must not move the account to the address."""
    change_email("new@example.org")
    run_queued_tasks()
    link = confirmation_path(mail_to("new@example.org")[0])
    for visitor in (Client(), client):
        page = visitor.get(link)
        assert page.status_code == 200
        html = page.content.decode()
        assert_valid_accessible_page(html)
        assert re.search(r'<form method="post"[^>]*>', html)
        assert re.search(r'<button type="submit"[^>]*>Confirm the change</button>', html)
        assert "new@example.org" in html
    assert User.objects.get(pk=member.pk).email == "moose@example.org"
    assert client.post(link)["Location"] == reverse("accounts:settings")
    assert User.objects.get(pk=member.pk).email == "new@example.org"


def test_a_link_is_refused_once_the_password_has_changed(
    client, member, change_email, run_queued_tasks
):
    """Whoever took over the account asked for the move; the owner changing the password
    (or resetting it) takes the account back, and the link with it."""
    change_email("new@example.org")
    run_queued_tasks()
    link = confirmation_path(mail_to("new@example.org")[0])
    changed = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "the-owner-is-back-2024",
            "new_password2": "the-owner-is-back-2024",
        },
    )
    assert changed.status_code == 302
    refused = client.post(link)
    assert refused.status_code == 400
    assert "password changed after this link was sent" in refused.content.decode()
    assert User.objects.get(pk=member.pk).email == "moose@example.org"


def test_a_link_is_refused_once_the_password_has_been_reset(member, change_email, run_queued_tasks):
    change_email("new@example.org")
    run_queued_tasks()
    link = confirmation_path(mail_to("new@example.org")[0])
    member.set_password("reset-by-the-owner-2024")
    member.save()
    assert Client().post(link).status_code == 400
    assert User.objects.get(pk=member.pk).email == "moose@example.org"


def test_an_address_too_long_for_the_column_is_a_form_error(member, change_email):
    overlong = "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".org"
    assert 254 < len(overlong) <= 320
    response = change_email(overlong)
    assert response.status_code == 400
    assert "at most 254 characters" in response.content.decode()
    assert not mail.outbox


def test_asking_for_a_change_queues_both_mails_or_neither(
    member, django_capture_on_commit_callbacks, monkeypatch
):
    from accounts import services

    made = services._mail

    def notice_fails(template, context, **kwargs):
        if template == "email_change_notice":
            raise RuntimeError("the notice could not be made")
        return made(template, context, **kwargs)

    monkeypatch.setattr(services, "_mail", notice_fails)
    with django_capture_on_commit_callbacks() as queued, pytest.raises(RuntimeError):
        services.email_change_request(
            member=member, new_email="new@example.org", site_url="http://testserver"
        )
    assert queued == []
