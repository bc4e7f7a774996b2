"""Where a `next` may send a visitor, and the NUL characters no request may carry."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse

from core.request_guards import safe_next_url
from reviews.models import HelpfulVote, Review
from tests.factories import StaffUserFactory, UserFactory, review

pytestmark = pytest.mark.django_db

PASSWORD = "battle-in-vegas-2014"
# Text that is not a path: Django's redirect() would look each up as a view name.
NOT_A_PATH = ["welcome", "-1", "films:home", "99999999999999999999", "titles/", "é́"]


# --- next -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        *NOT_A_PATH,
        "",
        "//evil.example/",
        "/\\evil.example/",
        "https://evil.example/",
        "http://testserver/titles/",  # this site, but not a path
        "javascript:alert(1)",
    ],
)
def test_a_next_that_is_not_a_path_on_this_site_gives_the_default(target):
    request = RequestFactory().get("/", {"next": target})
    assert safe_next_url(request, "/fallback/") == "/fallback/"


@pytest.mark.parametrize("target", ["/", "/titles/step-up/?sort=newest#reviews", "/members/bob/"])
def test_a_next_that_is_a_path_here_is_kept_posted_first(target):
    request = RequestFactory().post("/?next=/from-the-query/", {"next": target})
    assert safe_next_url(request, "/fallback/") == target
    assert safe_next_url(RequestFactory().get("/", {"next": target}), "/x/") == target


def sign_up(client, next_url, username="newfan"):
    return client.post(
        f"{reverse('accounts:signup')}?next={next_url}",
        {
            "username": username,
            "email": f"{username}@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "next": next_url,
        },
    )


@pytest.mark.parametrize("next_url", NOT_A_PATH)
def test_signing_up_with_a_next_that_is_not_a_path_lands_signed_in_on_the_home_page(
    client, next_url, django_capture_on_commit_callbacks, run_queued_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up(client, next_url)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:signup_done")
    run_queued_tasks()
    [confirmation] = mail.outbox
    link = re.search(r"http://testserver(/\S+)", confirmation.body).group(1)
    # The emailed link carries the `next` given at sign-up; the password and its button
    # sign in.
    response = client.post(link, {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("films:home")
    member = get_user_model().objects.get(username="newfan")
    assert client.session["_auth_user_id"] == str(member.pk)
    assert "Welcome, newfan!" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("next_url", NOT_A_PATH)
def test_the_sign_up_page_sends_a_signed_in_member_home_for_a_next_that_is_not_a_path(
    client, next_url
):
    client.force_login(UserFactory())
    response = client.get(reverse("accounts:signup"), {"next": next_url})
    assert response.status_code == 302 and response["Location"] == reverse("films:home")


def test_the_sign_up_page_links_on_no_next_that_is_not_a_path(client):
    html = client.get(reverse("accounts:signup"), {"next": "welcome"}).content.decode()
    assert 'href="/accounts/login/"' in html
    # The language switch returns to this very page, query and all: not a link onwards.
    html = re.sub(r'<form class="language-switch.*?</form>', "", html, flags=re.S)
    assert "welcome" not in html.replace("Welcome", "")


@pytest.mark.parametrize("next_url", NOT_A_PATH)
def test_a_helpful_vote_with_a_next_that_is_not_a_path_goes_back_to_the_review(client, next_url):
    target = review(body="Sharp moves.")
    client.force_login(UserFactory())
    response = client.post(reverse("reviews:helpful", kwargs={"pk": target.pk}), {"next": next_url})
    assert response.status_code == 302 and response["Location"] == target.get_absolute_url()
    assert HelpfulVote.objects.filter(review=target).count() == 1


# --- NUL --------------------------------------------------------------------------------------


def assert_bad_request_page(response):
    assert response.status_code == 400
    assert "<h1>Bad request</h1>" in response.content.decode()


def test_a_nul_in_a_members_address_is_a_bad_request_not_a_database_error():
    UserFactory(username="bob")
    assert_bad_request_page(Client(raise_request_exception=False).get("/members/%00/"))
    assert_bad_request_page(Client(raise_request_exception=False).get("/members/bob%00/"))


@pytest.mark.parametrize("query", ["status=%00", "q=%00", "status__exact=a%00b", "%00=1"])
def test_a_nul_in_an_admin_list_filter_is_a_bad_request(query):
    client = Client(raise_request_exception=False)
    client.force_login(StaffUserFactory())
    assert_bad_request_page(client.get(f"{reverse('admin:reviews_review_changelist')}?{query}"))


def test_a_nul_in_the_session_cookie_is_a_bad_request():
    client = Client(raise_request_exception=False, headers={"cookie": 'sessionid="\\000abcdefgh"'})
    assert_bad_request_page(client.get(reverse("films:home")))


def test_a_nul_in_any_posted_field_is_a_bad_request_and_stores_nothing():
    target = review(body="Sharp moves.")
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory())
    url = reverse("reviews:comment_create", kwargs={"pk": target.pk})
    assert_bad_request_page(client.post(url, {"body": "Fine", "next": "/\x00"}))
    assert_bad_request_page(client.post(url, {"body": "Fi\x00ne"}))
    assert not Review.objects.get(pk=target.pk).comments.exists()
    assert client.post(url, {"body": "Fine"}).status_code == 302


# --- Values out of range, in code that is not ours --------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        # Django's date hierarchy turns the year into a date: OverflowError past 64 bits.
        "/admin/reviews/review/?created_at__year=99999999999999999999",
        "/admin/axes/accessattempt/?attempt_time__year=9223372036854775808",
        # A many-to-many filter has no range check: SQLite cannot bind 2**63 (PostgreSQL
        # compares it as a numeric and finds nothing).
        pytest.param(
            "/admin/films/routine/?crews=9223372036854775808",
            marks=pytest.mark.database("sqlite"),
        ),
    ],
)
def test_a_value_out_of_the_databases_range_in_the_admin_is_a_bad_request(url):
    client = Client(raise_request_exception=False)
    client.force_login(StaffUserFactory())
    assert_bad_request_page(client.get(url))
