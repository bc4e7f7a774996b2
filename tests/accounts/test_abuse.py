"""Throttled sign-ins, rate-limited writes, the sign-up honeypot and the client's address."""

import ipaddress
import re
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.models import User
from core.security import ClientAddressMiddleware
from reviews.models import Comment, HelpfulVote, Report, Review
from tests.factories import TitleFactory, UserFactory, review
from tests.html import assert_valid_accessible_page

pytestmark = pytest.mark.django_db

PASSWORD = "battle-in-vegas-2014"


def sign_in(username, password, address="198.51.100.1", **headers):
    client = Client(REMOTE_ADDR=address, **headers)
    response = client.post(reverse("login"), {"username": username, "password": password})
    return client, response


def signed_in(response):
    return response.status_code == 302


# --- Failed sign-ins ---------------------------------------------------------------


def sign_in_to_admin(username, password, address):
    client = Client(REMOTE_ADDR=address)
    response = client.post(
        reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"}
    )
    return client, response


def pass_time(minutes):
    """As if the failures so far had been made that many minutes earlier."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=minutes))


def test_five_failures_for_an_account_pause_it_from_that_address_only():
    member = UserFactory(username="target", password=PASSWORD)
    answers = [
        sign_in("target", "wrong-guess", address="203.0.113.5")[1].status_code for _ in range(5)
    ]
    # The form again, with its message, four times; the fifth failure starts the pause.
    assert answers == [200, 200, 200, 200, 429]
    _, locked = sign_in("target", PASSWORD, address="203.0.113.5")
    assert locked.status_code == 429
    assert "Sign-in paused" in locked.content.decode()
    assert int(locked["Retry-After"]) == 15 * 60
    # Another member at that address is not affected, nor the member anywhere else.
    UserFactory(username="bystander", password=PASSWORD)
    assert signed_in(sign_in("bystander", PASSWORD, address="203.0.113.5")[1])
    assert signed_in(sign_in("target", PASSWORD, address="192.0.2.77")[1])
    member.refresh_from_db()
    assert member.last_login is not None


def test_an_attacker_cannot_keep_an_admin_from_signing_in_from_elsewhere():
    """Failures from one address, on the site's sign-in page and the admin's alike, never
    pause the owner signing in from their own address."""
    UserFactory(username="admin", password=PASSWORD, is_staff=True, is_superuser=True)
    attacker = "203.0.113.66"
    answers = [sign_in("admin", f"guess-{n}", address=attacker)[1].status_code for n in range(3)]
    answers += [
        sign_in_to_admin("admin", f"guess-{n}", address=attacker)[1].status_code for n in range(5)
    ]
    assert answers[4:] == [429, 429, 429, 429]
    assert sign_in("admin", PASSWORD, address=attacker)[1].status_code == 429
    assert signed_in(sign_in("admin", PASSWORD, address="198.51.100.40")[1])
    _, admin_answer = sign_in_to_admin("admin", PASSWORD, address="198.51.100.40")
    assert admin_answer.status_code == 302 and admin_answer["Location"] == "/admin/"


def test_failures_during_a_pause_do_not_lengthen_it():
    UserFactory(username="patient", password=PASSWORD)
    for _ in range(5):
        sign_in("patient", "wrong-guess")
    pass_time(10)
    for _ in range(3):
        assert sign_in("patient", "still-guessing")[1].status_code == 429
    pass_time(6)  # 16 minutes after the fifth failure
    assert signed_in(sign_in("patient", PASSWORD)[1])


def test_the_pause_page_says_the_time_actually_left():
    UserFactory(username="waiting", password=PASSWORD)
    for _ in range(5):
        sign_in("waiting", "wrong-guess")
    pass_time(10)
    _, locked = sign_in("waiting", PASSWORD)
    assert locked.status_code == 429
    assert 4 * 60 < int(locked["Retry-After"]) <= 5 * 60
    assert "try again in 5 minutes" in locked.content.decode()
    pass_time(4)
    _, locked = sign_in("waiting", PASSWORD)
    assert 0 < int(locked["Retry-After"]) <= 60
    assert "try again in 1 minute." in locked.content.decode()


def test_a_paused_owner_can_reset_their_password_and_then_sign_in():
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    owner = UserFactory(username="forgot", email="forgot@example.org", password=PASSWORD)
    address = "198.51.100.61"
    for _ in range(5):
        sign_in("forgot", "what-was-it", address=address)
    client = Client(REMOTE_ADDR=address)
    requested = client.post(reverse("password_reset"), {"email": "forgot@example.org"})
    assert requested["Location"] == reverse("password_reset_done")
    uid = urlsafe_base64_encode(force_bytes(owner.pk))
    token = default_token_generator.make_token(owner)
    form_page = client.get(
        reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token}), follow=True
    )
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-password-at-last", "new_password2": "a-new-password-at-last"},
    )
    assert done["Location"] == reverse("password_reset_complete")
    assert signed_in(sign_in("forgot", "a-new-password-at-last", address=address)[1])


def test_signing_in_between_guesses_does_not_wipe_the_count():
    """An attacker alternating guesses at someone else's password with sign-ins to their
    own account is still paused at the fifth guess at that account."""
    UserFactory(username="attacker", password=PASSWORD)
    UserFactory(username="victim", password=PASSWORD)
    address = "203.0.113.80"
    for _ in range(2):
        for _ in range(2):
            assert sign_in("victim", "a-guess", address=address)[1].status_code == 200
        assert signed_in(sign_in("attacker", PASSWORD, address=address)[1])
    assert sign_in("victim", "a-guess", address=address)[1].status_code == 429  # the fifth
    assert sign_in("victim", PASSWORD, address=address)[1].status_code == 429


def test_the_right_password_after_a_few_failures_still_signs_in():
    forgetful = UserFactory(username="forgetful", password=PASSWORD)
    for _ in range(4):
        assert not signed_in(sign_in("forgetful", "wrong-guess")[1])
    client, response = sign_in("forgetful", PASSWORD)
    assert signed_in(response)
    assert client.session["_auth_user_id"] == str(forgetful.pk)


def test_the_pause_ends_after_the_cool_off():
    UserFactory(username="patient", password=PASSWORD)
    for _ in range(5):
        sign_in("patient", "wrong-guess")
    assert sign_in("patient", PASSWORD)[1].status_code == 429
    pass_time(16)
    assert signed_in(sign_in("patient", PASSWORD)[1])


def test_the_locked_out_page_is_in_the_sites_look():
    for _ in range(5):
        sign_in("nobody-in-particular", "wrong-guess")
    _, locked = sign_in("nobody-in-particular", "wrong-guess")
    html = locked.content.decode()
    assert locked.status_code == 429
    assert_valid_accessible_page(html)
    assert "Step Up Community" in html and "try again in 15 minutes" in html
    assert reverse("password_reset") in html


# --- The client's address ----------------------------------------------------------


def address_seen(settings, behind_proxy, remote, forwarded=None):
    settings.BEHIND_PROXY = behind_proxy
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    request = RequestFactory().get("/", REMOTE_ADDR=remote, **headers)
    ClientAddressMiddleware(lambda request: None)(request)
    return request.META["REMOTE_ADDR"]


@pytest.mark.parametrize(
    ("behind_proxy", "remote", "forwarded", "expected"),
    [
        # On the open internet the header is the client's own words: ignored.
        (False, "203.0.113.7", "10.0.0.1", "203.0.113.7"),
        # Behind the proxy: the entry it appended, whatever the client put before it.
        (True, "10.0.0.2", "203.0.113.7", "203.0.113.7"),
        (True, "10.0.0.2", "1.2.3.4, 203.0.113.7", "203.0.113.7"),
        (True, "10.0.0.2", "1.2.3.4,2001:db8::1", "2001:db8::1"),
        (True, "10.0.0.2", "1.2.3.4, 203.0.113.7:51234", "203.0.113.7"),
        (True, "10.0.0.2", "1.2.3.4, [2001:db8::1]:443", "2001:db8::1"),
        # Nothing usable from the proxy: the connection's own address.
        (True, "10.0.0.2", "not-an-address", "10.0.0.2"),
        (True, "10.0.0.2", None, "10.0.0.2"),
        # Straight to gunicorn, not through the proxy: the header is a forgery, ignored.
        (True, "198.51.100.9", "203.0.113.7", "198.51.100.9"),
    ],
)
def test_the_client_address_is_only_what_the_trusted_proxy_saw(
    settings, behind_proxy, remote, forwarded, expected
):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]
    assert address_seen(settings, behind_proxy, remote, forwarded) == expected


def test_an_ipv6_client_cannot_step_through_its_network_to_escape_the_pause(settings):
    for number in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        UserFactory(username=f"v6target{number}", password=PASSWORD)
        sign_in(f"v6target{number}", "wrong-guess", address=f"2001:db8:1:2::{number + 1}")
    UserFactory(username="v6next", password=PASSWORD)
    _, locked = sign_in("v6next", PASSWORD, address="2001:db8:1:2::ffff")
    assert locked.status_code == 429
    assert signed_in(sign_in("v6next", PASSWORD, address="2001:db8:1:3::1")[1])


def test_a_forged_forwarded_for_header_does_not_escape_the_address_pause(settings):
    """Behind the proxy, an attacker rotating what they send in X-Forwarded-For is still
    paused: the proxy appends their real address, and only that is read."""
    settings.BEHIND_PROXY = True
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.2")]
    for attempt in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        UserFactory(username=f"victim{attempt}", password=PASSWORD)
        sign_in(
            f"victim{attempt}",
            "wrong-guess",
            address="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}, 203.0.113.66",
        )
    UserFactory(username="next-victim", password=PASSWORD)
    _, locked = sign_in(
        "next-victim", PASSWORD, address="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.66"
    )
    assert locked.status_code == 429
    # Someone else behind the same proxy is not paused.
    assert signed_in(
        sign_in("next-victim", PASSWORD, address="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.5")[1]
    )


# --- Rate limits on writes ---------------------------------------------------------


def member_client():
    client = Client(REMOTE_ADDR="198.51.100.30")
    member = UserFactory()
    client.force_login(member)
    return client, member


def limited(response):
    return response.status_code == 429


WRITES = {
    "review": (
        lambda ctx: ("reviews:edit", {"slug": ctx["title"].slug}, {"rating": "8", "body": ""}),
        lambda: Review.objects.count(),
    ),
    "comment": (
        lambda ctx: ("reviews:comment_create", {"pk": ctx["review"].pk}, {"body": "So true"}),
        lambda: Comment.objects.count(),
    ),
    "vote": (
        lambda ctx: ("reviews:helpful", {"pk": ctx["review"].pk}, {}),
        lambda: HelpfulVote.objects.count(),
    ),
    "report": (
        lambda ctx: ("reviews:report", {"pk": ctx["review"].pk}, {"reason": "spam", "note": ""}),
        lambda: Report.objects.count(),
    ),
}


@pytest.mark.parametrize("group", WRITES)
def test_each_kind_of_write_is_limited_per_member_with_a_429_page(settings, group):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, group: "2/h"}
    title = TitleFactory()
    context = {"title": title, "review": review(title=title, body="Worth a read")}
    make_request, count_rows = WRITES[group]
    client, _ = member_client()
    name, kwargs, data = make_request(context)
    url = reverse(name, kwargs=kwargs)
    answers = [client.post(url, data).status_code for _ in range(2)]
    assert 429 not in answers
    rows = count_rows()
    refused = client.post(url, data)
    assert limited(refused)
    assert count_rows() == rows  # nothing written past the limit
    assert 0 < int(refused["Retry-After"]) <= 3600
    html = refused.content.decode()
    assert_valid_accessible_page(html)
    assert "Slow down a little" in html and "Step Up Community" in html
    # Reading is never limited, and another member still writes.
    assert client.get(title.get_absolute_url()).status_code == 200
    other, _ = member_client()
    assert not limited(other.post(url, data))


def test_limits_hold_across_every_form_of_a_group_and_show_the_form_freely(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "review": "1/h"}
    client, _ = member_client()
    first, second = TitleFactory(), TitleFactory()
    assert not limited(
        client.post(reverse("reviews:edit", kwargs={"slug": first.slug}), {"rating": "6"})
    )
    assert client.get(reverse("reviews:edit", kwargs={"slug": second.slug})).status_code == 200
    assert limited(
        client.post(reverse("reviews:edit", kwargs={"slug": second.slug}), {"rating": "6"})
    )
    assert limited(client.post(reverse("reviews:delete", kwargs={"slug": first.slug})))
    assert Review.objects.count() == 1


def sign_up(client, username, **extra):
    return client.post(
        reverse("accounts:signup"),
        {
            "username": username,
            "email": f"{username}@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
        }
        | extra,
    )


def test_sign_ups_are_limited_per_address(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "signup": "2/h"}
    for number in range(2):
        assert sign_up(Client(REMOTE_ADDR="203.0.113.40"), f"fan{number}").status_code == 302
    assert limited(sign_up(Client(REMOTE_ADDR="203.0.113.40"), "fan2"))
    assert sign_up(Client(REMOTE_ADDR="203.0.113.41"), "fan3").status_code == 302
    assert sorted(User.objects.values_list("username", flat=True)) == ["fan0", "fan1", "fan3"]


def test_sign_ups_for_one_email_address_are_limited_whoever_sends_them(settings):
    """Each sign-up mails the address (a link, or "someone tried"): no flooding an inbox."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset_email": "2/h"}
    for number in range(2):
        response = sign_up(
            Client(REMOTE_ADDR=f"203.0.113.{60 + number}"),
            f"fan{number}",
            email="inbox@example.org",
        )
        assert response.status_code == 302
    assert limited(sign_up(Client(REMOTE_ADDR="203.0.113.62"), "fan2", email=" INBOX@example.org"))
    assert sign_up(Client(REMOTE_ADDR="203.0.113.62"), "fan3").status_code == 302


def test_password_reset_requests_are_limited_per_address(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset": "2/h"}
    client = Client(REMOTE_ADDR="203.0.113.50")
    for _ in range(2):
        response = client.post(reverse("password_reset"), {"email": "a@example.org"})
        assert response.status_code == 302
    assert limited(client.post(reverse("password_reset"), {"email": "a@example.org"}))


def test_the_default_limits_leave_room_for_an_eager_member():
    """Ten reviews, ten comments and fifty votes in a row are a keen fan, not abuse."""
    client, member = member_client()
    titles = [TitleFactory() for _ in range(10)]
    target = review(title=titles[0], body="Worth a read")
    for title in titles:
        url = reverse("reviews:edit", kwargs={"slug": title.slug})
        assert client.post(url, {"rating": "7"}).status_code == 302
    assert Review.objects.filter(author=member).count() == 10
    comment_url = reverse("reviews:comment_create", kwargs={"pk": target.pk})
    for number in range(10):
        assert client.post(comment_url, {"body": f"Point {number}"}).status_code == 302
    assert Comment.objects.filter(author=member).count() == 10
    vote_url = reverse("reviews:helpful", kwargs={"pk": target.pk})
    for number in range(50):
        assert client.post(vote_url).status_code == 302
        # Each one counted: the mark is on after every odd vote and off after every even one.
        voted = HelpfulVote.objects.filter(review=target, voter=member).exists()
        assert voted == (number % 2 == 0), number


# --- The sign-up honeypot ----------------------------------------------------------


def test_a_bot_filling_the_hidden_field_gets_no_account():
    response = sign_up(Client(), "botty", extra_details="http://spam.example")
    assert response.status_code == 400
    assert "could not be created" in response.content.decode()
    assert not User.objects.filter(username="botty").exists()


def test_the_honeypot_is_out_of_reach_for_people():
    """Skipped by Tab, never autofilled, and moved off screen by the site's stylesheet."""
    html = Client().get(reverse("accounts:signup")).content.decode()
    honeypot = re.search(r"<input[^>]*name=\"extra_details\"[^>]*>", html).group(0)
    assert 'tabindex="-1"' in honeypot and 'autocomplete="off"' in honeypot
    assert 'id="div_id_extra_details"' in html
    stylesheet = (Path(__file__).resolve().parents[2] / "static/css/site.css").read_text()
    rule = stylesheet[stylesheet.index("#div_id_extra_details") :].split("}")[0]
    assert "position: absolute" in rule and "left: -10000px" in rule
    assert sign_up(Client(), "realfan").status_code == 302


# --- Every write is limited ---------------------------------------------------------

# Views that never write, and writes guarded otherwise; anything else must be rate-limited.
READ_ONLY = {
    "healthz", "sitemap", "robots", "password_change_done", "password_reset_done",
    "password_reset_complete", "accounts:export_csv", "accounts:export_json",
    "accounts:profile", "reviews:title_rss", "reviews:title_atom", "reviews:detail",
    "reviews:rss", "reviews:atom", "films:home", "films:title_list", "films:title_detail",
    "films:generated_poster", "films:share_image", "films:site_share_image",
    "films:person_list", "films:person_detail",
    "films:character_list", "films:character_detail", "films:crew_list", "films:crew_detail",
    "films:search", "accounts:signup_done", "accounts:settings",
    "films:routine_list", "films:routine_detail", "films:franchise",
    "favicon",
}  # fmt: skip
GUARDED_OTHERWISE = {
    "login": "django-axes pauses an account at an address, or an address, after failures",
    "logout": "ends the member's own session only",
    "password_reset_confirm": "needs the emailed single-use token",
    "accounts:email_change_confirm": "needs the emailed signed, single-use link",
    "set_language": "sets the visitor's own cookie; a member's own language, CSRF-checked",
}


def site_views():
    """(name, view) of each URL outside the admin, first match only, as requests resolve."""
    from django.urls import URLResolver, get_resolver

    seen = set()

    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.app_name != "admin":
                    yield from walk(pattern.url_patterns, pattern.namespace or namespace)
                continue
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            if name not in seen:
                seen.add(name)
                yield name, pattern.callback

    return list(walk(get_resolver().url_patterns))


def test_every_view_that_writes_is_rate_limited():
    """A new view must be classed here: read-only, guarded otherwise, or rate-limited."""
    unlimited = [
        name
        for name, view in site_views()
        if name not in READ_ONLY
        and name not in GUARDED_OTHERWISE
        and not getattr(view, "rate_limits", ())
    ]
    assert unlimited == []
    limited = {name: set(getattr(view, "rate_limits", ())) for name, view in site_views()}
    assert limited["password_change"] == {"password_check"}
    assert limited["accounts:delete"] == {"password_check"}
    assert limited["password_reset"] == {"password_reset", "password_reset_email"}
    assert limited["accounts:email_change"] == {"password_check"}
    assert limited["accounts:signup_resend"] == {"signup", "password_reset_email"}
    assert limited["accounts:signup"] == {"signup", "password_reset_email"}
    assert limited["accounts:signup_confirm"] == {"password_check"}
    assert limited["reviews:routine_rate"] == {"vote"}
    assert limited["reviews:routine_rating_remove"] == {"vote"}


def test_password_guesses_from_a_signed_in_session_are_limited(settings):
    """A stolen session cannot try passwords on the change or delete forms for ever."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_check": "3/h"}
    client, member = member_client()
    answers = [
        client.post(
            reverse("password_change"),
            {"old_password": "guess", "new_password1": "x", "new_password2": "x"},
        ).status_code
        for _ in range(2)
    ]
    answers.append(client.post(reverse("accounts:delete"), {"password": "guess"}).status_code)
    assert 429 not in answers
    assert limited(client.post(reverse("accounts:delete"), {"password": "guess"}))
    assert User.objects.filter(pk=member.pk).exists()


def test_one_inbox_cannot_be_flooded_with_reset_emails_from_many_addresses(
    settings, django_capture_on_commit_callbacks, run_queued_tasks
):
    UserFactory(email="target@example.org")
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset_email": "2/h"}
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            Client(REMOTE_ADDR=f"203.0.113.{n}")
            .post(reverse("password_reset"), {"email": "Target@Example.org "})
            .status_code
            for n in range(3)
        ]
    assert answers == [302, 302, 429]
    run_queued_tasks()
    from django.core import mail

    assert len(mail.outbox) == 2


def test_the_honeypot_comes_back_empty_so_a_person_can_send_again():
    person = Client()
    response = sign_up(person, "autofilled", extra_details="filled by the browser")
    assert response.status_code == 400
    assert not User.objects.filter(username="autofilled").exists()
    honeypot = re.search(r"<input[^>]*name=\"extra_details\"[^>]*>", response.content.decode())
    assert "value=" not in honeypot.group(0)
    # Sending the form again as it came back (the honeypot empty) makes the account.
    assert sign_up(person, "autofilled", extra_details="").status_code == 302
    assert User.objects.filter(username="autofilled").exists()


def test_the_vote_script_is_told_about_a_limit_in_json_and_does_not_post_again(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "vote": "1/h"}
    target = review(title=TitleFactory(), body="Worth a read")
    client, _ = member_client()
    url = reverse("reviews:helpful", kwargs={"pk": target.pk})
    assert client.post(url, HTTP_ACCEPT="application/json").status_code == 200
    refused = client.post(url, HTTP_ACCEPT="application/json")
    assert refused.status_code == 429
    assert refused.json()["error"].startswith("Slow down a little: try again in about")
    assert int(refused["Retry-After"]) > 0
    script = (Path(__file__).resolve().parents[2] / "static/js/helpful.js").read_text()
    assert "response.status === 429" in script
