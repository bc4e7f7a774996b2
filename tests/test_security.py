"""Deployment settings and the headers every response carries, checked on real responses."""

import ipaddress
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from core.security import ClientAddressMiddleware
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
@pytest.mark.slow  # manage.py in a process of its own
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


# Powerful browser features no page here uses: refused to the site and anything it embeds.
DENIED_FEATURES = [
    "browsing-topics",
    "camera",
    "geolocation",
    "interest-cohort",
    "microphone",
    "payment",
    "usb",
]
# What the page caches did with a request: for the tests and the benchmark, not the public.
INTERNAL_HEADERS = {"x-page-cache"}


@pytest.fixture(autouse=True)
def cache_headers_as_in_production(settings):
    settings.EXPOSE_CACHE_HEADERS = False


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
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    permissions = dict(
        part.strip().split("=", 1) for part in response["Permissions-Policy"].split(",")
    )
    for feature in DENIED_FEATURES:
        assert permissions[feature] == "()", feature
    assert not INTERNAL_HEADERS & {name.lower() for name in response.headers}


def test_a_visitors_pages_carry_every_header_fresh_and_from_the_page_cache(client, https, settings):
    title = TitleFactory()
    settings.EXPOSE_CACHE_HEADERS = True
    first = client.get(title.get_absolute_url(), **https)
    again = client.get(title.get_absolute_url(), **https)
    assert (first["X-Page-Cache"], again["X-Page-Cache"]) == ("miss", "hit")
    settings.EXPOSE_CACHE_HEADERS = False
    hit = client.get(title.get_absolute_url(), **https)
    assert hit.content == first.content
    for response in (hit, client.get(reverse("films:home"), **https)):
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


def bad_request(client, https):
    return client.get("/", HTTP_HOST="not-this-site.example", **https)


def csrf_failure(client, https):
    return Client(enforce_csrf_checks=True).post(reverse("login"), {}, **https)


def too_large(client, https):
    return client.post(
        reverse("login"), {}, CONTENT_LENGTH=str(settings.MAX_REQUEST_BYTES + 1), **https
    )


def rate_limited(client, https):
    with override_settings(RATE_LIMITS={**settings.RATE_LIMITS, "signup": "0/h"}):
        return client.post(reverse("accounts:signup"), {}, **https)


def locked_out(client, https):
    for _attempt in range(2 * settings.AXES_FAILURE_LIMIT):
        response = client.post(
            reverse("login"), {"username": "someone", "password": "wrong-guess"}, **https
        )
        if response.status_code == 429:
            return response
    raise AssertionError("never locked out")


def uploaded_file(client, https):
    folder = Path(settings.MEDIA_ROOT) / "posters"
    folder.mkdir(parents=True)
    (folder / "poster.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return client.get("/media/posters/poster.png", **https)


def page_from_the_cache(client, https):
    url = TitleFactory().get_absolute_url()
    client.get(url, **https)
    return client.get(url, **https)


def members_page(client, https):
    client.force_login(UserFactory())
    return client.get(TitleFactory().get_absolute_url(), **https)


@pytest.mark.parametrize(
    ("ask", "status"),
    [
        (lambda client, https: client.get(reverse("films:home"), **https), 200),
        (page_from_the_cache, 200),
        (members_page, 200),
        (bad_request, 400),
        (lambda client, https: client.get("/forbidden/", **https), 403),
        (csrf_failure, 403),
        (lambda client, https: client.get("/no-such-page/", **https), 404),
        (lambda client, https: client.post(reverse("films:home"), **https), 405),
        (too_large, 413),
        (rate_limited, 429),
        (locked_out, 429),
        (lambda client, https: client.get("/broken/", **https), 500),
        (lambda client, https: client.get("/database-down/", **https), 503),
        (lambda client, https: client.get(f"{settings.STATIC_URL}css/site.css", **https), 200),
        (uploaded_file, 200),
    ],
    ids=[
        "page",
        "cached-page",
        "members-page",
        "400",
        "403",
        "403-csrf",
        "404",
        "405",
        "413",
        "429-rate-limit",
        "429-sign-in-lockout",
        "500",
        "503",
        "static-file",
        "media-file",
    ],
)
def test_every_kind_of_response_carries_every_security_header(client, https, settings, ask, status):
    settings.ROOT_URLCONF = "tests.response_kinds_urls"
    client.raise_request_exception = False
    response = ask(client, https)
    assert response.status_code == status
    assert_hardened(response)


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


# --- Private pages ---------------------------------------------------------------------


def assert_private(response):
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    assert {"private", "no-store"} <= directives, response.get("Cache-Control")
    assert "public" not in directives


def test_every_page_a_member_is_shown_is_private_and_never_stored(client, settings):
    settings.EXPOSE_CACHE_HEADERS = True
    member = UserFactory(username="mira")
    title = TitleFactory()
    review(title=title, author=member, body="My own words")
    client.force_login(member)
    for url in (
        reverse("films:home"),
        title.get_absolute_url(),
        member.get_absolute_url(),
        reverse("accounts:export_json"),
        reverse("accounts:export_csv"),
        reverse("accounts:delete"),
        reverse("password_change"),
        reverse("reviews:edit", kwargs={"slug": title.slug}),
    ):
        first, again = client.get(url), client.get(url)
        assert first.status_code == again.status_code == 200, url
        assert_private(first)
        assert_private(again)  # the title page from the copy shared by members too


def test_the_account_pages_are_never_stored_for_visitors_either(client):
    for url in (reverse("login"), reverse("accounts:signup"), reverse("password_reset")):
        response = client.get(url)
        assert response.status_code == 200
        assert_private(response)


def test_visitors_public_pages_keep_their_caching_policy(client):
    title = TitleFactory()
    for url in (reverse("films:home"), title.get_absolute_url(), reverse("reviews:rss")):
        assert "Cache-Control" not in client.get(url), url
    poster = client.get(title.generated_poster_url)
    assert poster["Cache-Control"] == "public, max-age=86400"


# --- Behind a proxy --------------------------------------------------------------------


def scheme_seen(settings, *, behind_proxy, remote):
    settings.BEHIND_PROXY = behind_proxy
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.2")]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_PROTO="https")
    return ClientAddressMiddleware(lambda request: request.is_secure())(request)


@pytest.mark.parametrize(
    ("behind_proxy", "remote", "secure"),
    [
        (True, "10.0.0.2", True),  # the proxy's word
        (True, "198.51.100.9", False),  # straight to gunicorn: a forgery
        (False, "10.0.0.2", False),  # no proxy configured: nobody's word
    ],
)
def test_x_forwarded_proto_is_only_believed_from_the_trusted_proxy(
    settings, behind_proxy, remote, secure
):
    assert scheme_seen(settings, behind_proxy=behind_proxy, remote=remote) is secure


def test_a_forged_x_forwarded_proto_is_still_sent_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.BEHIND_PROXY = True
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.2")]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    forged = client.get(
        reverse("films:home"), REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_PROTO="https"
    )
    assert forged.status_code == 301 and forged["Location"].startswith("https://")
    proxied = client.get(
        reverse("films:home"),
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.7",
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert proxied.status_code == 200


def gunicorn_config(monkeypatch, **environment):
    for name in ("BEHIND_PROXY", "TRUSTED_PROXIES", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    namespace = runpy.run_path(str(PROJECT_ROOT / "stepup_site/gunicorn.conf.py"))
    return namespace["forwarded_allow_ips"], namespace["secure_scheme_headers"]


def test_gunicorn_believes_no_forwarded_header_unless_behind_the_proxy(monkeypatch):
    assert gunicorn_config(monkeypatch) == ("", {})
    assert gunicorn_config(monkeypatch, BEHIND_PROXY="0") == ("", {})


def test_behind_the_proxy_gunicorn_believes_only_the_trusted_proxies_scheme(monkeypatch):
    allowed, headers = gunicorn_config(monkeypatch, BEHIND_PROXY="1")
    assert allowed == "127.0.0.1/32,::1/128"
    assert headers == {"X-FORWARDED-PROTO": "https"}
    allowed, _headers = gunicorn_config(
        monkeypatch, BEHIND_PROXY="on", TRUSTED_PROXIES="10.0.0.2,192.168.5.0/24"
    )
    assert allowed == "10.0.0.2/32,192.168.5.0/24"


def test_gunicorn_accepts_the_forwarded_settings(monkeypatch):
    from gunicorn.config import Config

    for environment, believed in (
        ({}, []),
        ({"BEHIND_PROXY": "1", "TRUSTED_PROXIES": "10.0.0.0/24"}, ["10.0.0.0/24"]),
    ):
        allowed, headers = gunicorn_config(monkeypatch, **environment)
        config = Config()
        config.set("forwarded_allow_ips", allowed)
        config.set("secure_scheme_headers", headers)
        assert config.forwarded_allow_ips == believed
        assert config.secure_scheme_headers == headers


# --- Load balancers ----------------------------------------------------------------------


def test_the_health_check_answers_over_plain_http(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(reverse("healthz"))
    assert response.status_code == 200 and response.content == b"ok"
    assert client.get(reverse("films:home")).status_code == 301
    assert client.get("/healthzz").status_code == 301
