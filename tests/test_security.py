"""Deployment settings and the headers every response carries, checked on real responses."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import StaffUserFactory, TitleFactory, UserFactory, review

pytestmark = pytest.mark.django_db

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_KEY = "a-production-like-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABC"


def production_environment(**extra):
    """The environment a deployment sets, and nothing the test run added to ours."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"SECURE_SSL_REDIRECT", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}
    }
    return (
        env
        | {
            "DEBUG": "0",
            "SECRET_KEY": PRODUCTION_KEY,
            "ALLOWED_HOSTS": "stepup.example.org",
            "DJANGO_SETTINGS_MODULE": "stepup_site.settings",
        }
        | extra
    )


@pytest.mark.parametrize(
    "backends",
    [{}, {"REDIS_URL": "redis://127.0.0.1:6379/13"}],
    ids=["embedded-default", "with-redis"],
)
def test_production_settings_pass_check_deploy_with_no_warnings(backends):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_ROOT,
        env=production_environment(**backends),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (1 silenced)." in result.stdout


@pytest.fixture
def https(settings):
    """Requests as production receives them: over HTTPS, with the redirect to it on."""
    settings.SECURE_SSL_REDIRECT = True
    return {"secure": True}


def csp_directives(response):
    policy = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


def assert_hardened(response):
    directives = csp_directives(response)
    policy = response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_a_visitors_pages_carry_every_header_fresh_and_from_the_page_cache(client, https):
    title = TitleFactory()
    first = client.get(title.get_absolute_url(), **https)
    again = client.get(title.get_absolute_url(), **https)
    assert (first["X-Page-Cache"], again["X-Page-Cache"]) == ("miss", "hit")
    for response in (first, again, client.get(reverse("films:home"), **https)):
        assert response.status_code == 200
        assert_hardened(response)


def test_a_members_pages_forms_and_answers_to_writes_carry_every_header(client, https):
    title = TitleFactory()
    member = UserFactory()
    client.force_login(member)
    assert_hardened(client.get(title.get_absolute_url(), **https))
    assert_hardened(client.get(reverse("reviews:edit", kwargs={"slug": title.slug}), **https))
    posted = client.post(
        reverse("reviews:edit", kwargs={"slug": title.slug}), {"rating": "8", "body": ""}, **https
    )
    assert posted.status_code == 302
    assert_hardened(posted)


def test_the_admin_carries_every_header_and_works_under_the_policy(client, https):
    """The admin's scripts are files (its inline <script> tags are JSON data, not code)."""
    assert_hardened(client.get(reverse("admin:login"), **https))
    client.force_login(StaffUserFactory(is_superuser=True))
    for url in (
        reverse("admin:index"),
        reverse("admin:films_title_add"),
        reverse("admin:reviews_review_changelist"),
    ):
        response = client.get(url, **https)
        assert response.status_code == 200
        assert_hardened(response)
        assert " style=" not in response.content.decode()


def test_error_pages_and_static_files_carry_every_header(client, https):
    assert_hardened(client.get("/no-such-page/", **https))
    stylesheet = client.get(f"{settings.STATIC_URL}css/site.css", **https)
    # WhiteNoise answers static files in a middleware, below the headers' middleware.
    if stylesheet.status_code == 200:
        assert_hardened(stylesheet)


def test_plain_http_is_sent_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(reverse("films:home"))
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_cookies_are_secure_http_only_and_same_site(client, https):
    member = UserFactory(password="a long password for tests")
    form = client.get(reverse("login"), **https)
    signed_in = client.post(
        reverse("login"),
        {"username": member.username, "password": "a long password for tests"},
        **https,
    )
    assert signed_in.status_code == 302
    cookies = {**form.cookies, **signed_in.cookies}
    assert {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME} <= set(cookies)
    for cookie in cookies.values():
        assert cookie["secure"] is True, cookie.key
        assert cookie["httponly"] is True, cookie.key
        assert cookie["samesite"] == "Lax", cookie.key


def test_the_page_scripts_post_without_reading_the_csrf_cookie(client, https):
    """The CSRF cookie is HttpOnly, so helpful.js must take the token from the form."""
    title = TitleFactory()
    review(title=title, body="A review to vote on")
    voter = Client(enforce_csrf_checks=True)
    voter.force_login(UserFactory())
    page = voter.get(title.get_absolute_url(), **https).content.decode()
    assert 'class="helpful-form' in page and 'name="csrfmiddlewaretoken"' in page
    script = (PROJECT_ROOT / "static/js/helpful.js").read_text()
    assert "document.cookie" not in script and "new FormData(form)" in script
