"""Signing up never says whether an email address has an account; the emailed link does the rest."""

import re
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import User
from tests.factories import UserFactory
from tests.html import assert_valid_accessible_page

pytestmark = pytest.mark.django_db

PASSWORD = "battle-in-vegas-2014"


@pytest.fixture
def sign_up(django_capture_on_commit_callbacks):
    """POST the sign-up form as a browser would, committing what the request queued."""

    def post(client, username="newfan", email="newfan@example.org", next_url="", **extra):
        data = {
            "username": username,
            "email": email,
            "password1": PASSWORD,
            "password2": PASSWORD,
            "next": next_url,
        }
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("accounts:signup"), data | extra, follow=True)

    return post


def link_in(message):
    return re.search(r"http://testserver(/\S+)", message.body).group(1)


def queued_mail():
    return DBTaskResult.objects.filter(status="READY", task_path="accounts.tasks.send_email")


def test_a_taken_and_a_free_address_get_the_same_answer_and_no_second_account(
    sign_up, run_queued_tasks
):
    owner = UserFactory(username="owner", email="Taken@Example.org")
    answers = {}
    for username, address in (("newfan", "free@example.org"), ("otherfan", "taken@example.org")):
        response = sign_up(Client(), username=username, email=address, next_url="/titles/")
        answers[address] = (
            response.redirect_chain,
            response.status_code,
            response.content.decode().replace(address, "ADDRESS"),
            queued_mail().count(),
        )
        run_queued_tasks()
    assert answers["free@example.org"] == answers["taken@example.org"]
    chain, status, html, queued = answers["free@example.org"]
    assert (chain, status, queued) == ([(reverse("accounts:signup_done"), 302)], 200, 1)
    assert "Check your inbox" in html and "ADDRESS" in html
    assert_valid_accessible_page(html)

    # One new account, waiting for its address; for the taken address a placeholder that
    # holds the username (and the password, as any sign-up does; no address, so it can never
    # be confirmed) until it is pruned.
    assert list(User.objects.values_list("username", "email", "email_confirmed")) == [
        ("newfan", "free@example.org", False),
        ("otherfan", "", False),
        ("owner", "Taken@Example.org", True),
    ]
    assert User.objects.get(username="otherfan").check_password(PASSWORD)
    confirm, tried = mail.outbox
    assert confirm.to == ["free@example.org"]
    assert "/accounts/signup/confirm/" in confirm.body
    assert tried.to == [owner.email]
    assert "Someone tried to sign up" in tried.subject
    assert "/accounts/signup/confirm/" not in tried.body
    assert "http://testserver/accounts/password_reset/" in tried.body


def test_the_emailed_link_confirms_the_address_once_and_signs_the_member_in(
    sign_up, run_queued_tasks
):
    browser = Client()
    sign_up(browser, next_url="/titles/step-up/")
    assert "_auth_user_id" not in browser.session
    run_queued_tasks()
    link = link_in(mail.outbox[0])

    page = browser.get(link)
    assert page.status_code == 200
    assert "newfan@example.org" in page.content.decode()
    assert_valid_accessible_page(page.content.decode())
    member = User.objects.get(username="newfan")
    assert not member.email_confirmed  # opening the link (a mail scanner, say) changes nothing

    response = browser.post(link, {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/titles/step-up/"
    assert browser.session["_auth_user_id"] == str(member.pk)
    member.refresh_from_db()
    assert member.email_confirmed

    # Once only: the link cannot sign anyone in again.
    again = Client().post(link, {"password": PASSWORD})
    assert again.status_code == 400
    assert "confirmed already" in again.content.decode()


def test_an_outside_next_url_is_not_followed_after_confirming(sign_up, run_queued_tasks):
    browser = Client()
    sign_up(browser, next_url="https://evil.example/")
    run_queued_tasks()
    assert browser.post(link_in(mail.outbox[0]), {"password": PASSWORD})["Location"] == "/"


def test_a_forged_or_expired_link_is_a_clear_400(sign_up, run_queued_tasks):
    sign_up(Client())
    run_queued_tasks()
    link = link_in(mail.outbox[0])
    forged = Client().get(link[:-3] + "abc/")
    assert forged.status_code == 400
    assert "not valid or has expired" in forged.content.decode()
    four_days_on = time.time() + timedelta(days=4).total_seconds()
    with mock.patch("django.core.signing.time.time", return_value=four_days_on):
        expired = Client().post(link, {"password": PASSWORD})
    assert expired.status_code == 400
    assert "not valid or has expired" in expired.content.decode()
    assert not User.objects.get(username="newfan").email_confirmed


def test_an_unconfirmed_account_cannot_sign_in_and_is_shown_how_to_get_a_new_link(sign_up, client):
    sign_up(Client())
    wrong = client.post(reverse("login"), {"username": "newfan", "password": "not-it"})
    assert "Please enter a correct username and password" in wrong.content.decode()
    assert "confirm" not in wrong.content.decode().lower()
    right = client.post(reverse("login"), {"username": "newfan", "password": PASSWORD})
    assert right.status_code == 200
    html = right.content.decode()
    assert "Confirm your email address first" in html
    assert f'href="{reverse("accounts:signup_resend")}"' in html
    assert "_auth_user_id" not in client.session


def test_a_new_link_is_sent_on_request_and_the_answer_never_says_to_whom(
    sign_up, run_queued_tasks, django_capture_on_commit_callbacks
):
    sign_up(Client())
    UserFactory(email="confirmed@example.org")
    run_queued_tasks()
    mail.outbox.clear()
    answers = []
    for address in ("newfan@example.org", "nobody@example.org", "confirmed@example.org"):
        with django_capture_on_commit_callbacks(execute=True):
            response = Client().post(
                reverse("accounts:signup_resend"), {"email": address}, follow=True
            )
        answers.append(
            (
                response.redirect_chain,
                response.content.decode().replace(address, "ADDRESS"),
                DBTaskResult.objects.filter(status="READY").count(),
            )
        )
        run_queued_tasks()
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][2] == 1
    [message] = mail.outbox
    assert message.to == ["newfan@example.org"] and "/accounts/signup/confirm/" in message.body


def test_an_account_left_unconfirmed_gives_its_username_and_address_back(sign_up, run_queued_tasks):
    sign_up(Client())
    User.objects.filter(username="newfan").update(date_joined=timezone.now() - timedelta(days=4))
    sign_up(Client())
    run_queued_tasks()
    member = User.objects.get(username="newfan")
    assert member.date_joined > timezone.now() - timedelta(minutes=1)
    assert [message.to for message in mail.outbox] == [["newfan@example.org"]] * 2


def test_an_unconfirmed_account_has_no_public_profile(sign_up, client, run_queued_tasks):
    sign_up(Client())
    assert client.get("/members/newfan/").status_code == 404
    # The same address answers once the member has confirmed.
    run_queued_tasks()
    assert Client().post(link_in(mail.outbox[0]), {"password": PASSWORD}).status_code == 302
    assert client.get("/members/newfan/").status_code == 200


def test_trying_the_same_username_again_does_not_tell_whether_the_address_was_taken(
    sign_up, run_queued_tasks
):
    UserFactory(username="owner", email="taken@example.org")
    answers = {}
    for probe, address in (
        ("probe-free", "free@example.org"),
        ("probe-taken", "taken@example.org"),
    ):
        sign_up(Client(), username=probe, email=address)
        again = sign_up(Client(), username=probe, email=f"another-{probe}@example.org")
        html = again.content.decode().replace(probe, "PROBE")
        answers[address] = (again.status_code, re.sub(r'value="[^"]*"', "", html))
    assert answers["free@example.org"] == answers["taken@example.org"]
    assert answers["free@example.org"][0] == 400
    run_queued_tasks()


def test_the_placeholder_of_a_taken_address_can_never_sign_in_or_be_confirmed(
    sign_up, run_queued_tasks
):
    UserFactory(username="owner", email="taken@example.org")
    sign_up(Client(), username="squatter", email="taken@example.org")
    run_queued_tasks()
    visitor = Client()
    visitor.post(reverse("login"), {"username": "squatter", "password": PASSWORD})
    assert "_auth_user_id" not in visitor.session
    assert all("/accounts/signup/confirm/" not in message.body for message in mail.outbox)


ATTACKER_PASSWORD = "the-attackers-own-1234"


def test_signing_in_before_confirming_answers_alike_for_a_taken_and_a_free_address(
    sign_up, run_queued_tasks
):
    """The placeholder a taken address gets holds the chosen password, as a real sign-up
    does: the right password is answered "confirm first" for both, never "wrong password"."""
    UserFactory(username="owner", email="taken@example.org")
    sign_up(Client(), username="probe-free", email="free@example.org")
    sign_up(Client(), username="probe-taken", email="taken@example.org")
    run_queued_tasks()
    answers = {}
    for probe in ("probe-free", "probe-taken"):
        response = Client().post(reverse("login"), {"username": probe, "password": PASSWORD})
        html = re.sub(
            r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode()
        ).replace(probe, "PROBE")
        answers[probe] = (response.status_code, html)
    assert answers["probe-free"] == answers["probe-taken"]
    assert "Confirm your email address first" in answers["probe-free"][1]


def test_a_sign_up_replaces_an_unconfirmed_account_holding_the_address(sign_up, run_queued_tasks):
    """Someone who signed up first with another's address gets nothing: the owner's own
    sign-up replaces that account, with the same answer and work as any sign-up."""
    sign_up(
        Client(),
        username="attacker",
        email="victim@example.org",
        password1=ATTACKER_PASSWORD,
        password2=ATTACKER_PASSWORD,
    )
    run_queued_tasks()
    mail.outbox.clear()
    victim = Client()
    response = sign_up(victim, username="victim", email="victim@example.org")
    assert response.redirect_chain == [(reverse("accounts:signup_done"), 302)]
    assert queued_mail().count() == 1
    run_queued_tasks()
    assert not User.objects.filter(username="attacker").exists()
    [message] = mail.outbox
    assert message.to == ["victim@example.org"]
    victim.post(link_in(message), {"password": PASSWORD})
    member = User.objects.get(username="victim")
    assert victim.session["_auth_user_id"] == str(member.pk)
    assert (member.email, member.email_confirmed) == ("victim@example.org", True)
    attacker = Client()
    attacker.post(reverse("login"), {"username": "attacker", "password": ATTACKER_PASSWORD})
    assert "_auth_user_id" not in attacker.session


def test_confirming_a_sign_up_needs_the_accounts_password(
    sign_up, run_queued_tasks, django_capture_on_commit_callbacks
):
    """A link to an account someone else made with your address (sent again by "resend")
    cannot sign you in to it: the page asks for that account's password."""
    sign_up(
        Client(),
        username="attacker",
        email="victim@example.org",
        password1=ATTACKER_PASSWORD,
        password2=ATTACKER_PASSWORD,
    )
    run_queued_tasks()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(reverse("accounts:signup_resend"), {"email": "victim@example.org"})
    run_queued_tasks()
    link = link_in(mail.outbox[0])

    victim = Client()
    page = victim.get(link)
    assert page.status_code == 200
    assert 'type="password"' in page.content.decode()
    assert_valid_accessible_page(page.content.decode())
    for data in ({}, {"password": PASSWORD}):
        refused = victim.post(link, data)
        assert refused.status_code == 400
        assert "_auth_user_id" not in victim.session
    assert "That is not the password of this account." in refused.content.decode()
    assert not User.objects.get(username="attacker").email_confirmed

    owner = Client()
    confirmed = owner.post(link, {"password": ATTACKER_PASSWORD})
    assert confirmed.status_code == 302
    assert owner.session["_auth_user_id"] == str(User.objects.get(username="attacker").pk)


def test_password_guesses_on_the_confirmation_page_are_limited(settings, sign_up, run_queued_tasks):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_check": "2/h"}
    sign_up(Client())
    run_queued_tasks()
    link = link_in(mail.outbox[0])
    guesser = Client()
    answers = [guesser.post(link, {"password": "guess"}).status_code for _ in range(3)]
    assert answers == [400, 400, 429]
    assert not User.objects.get(username="newfan").email_confirmed


def test_an_address_too_long_for_the_column_is_a_form_error(sign_up):
    overlong = "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".org"
    assert 254 < len(overlong) <= 320
    response = sign_up(Client(), email=overlong)
    assert response.status_code == 400
    assert "at most 254 characters" in response.content.decode()
    assert not User.objects.exists()
