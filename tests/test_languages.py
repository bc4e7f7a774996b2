"""English and Spanish addresses, how a visitor reaches their language, and how a member's
choice is kept (core/i18n.py, accounts.views.language_switch, accounts.views.SignIn)."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import User
from reviews import moderation
from reviews.models import Status
from tests.factories import TitleFactory, UserFactory, review

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-password"


@pytest.fixture
def title():
    return TitleFactory(name="Step Up: All In", slug="step-up-all-in")


def html_lang(response):
    return re.search(r'<html lang="([^"]+)"', response.content.decode())[1]


def link_tags(response):
    """{rel or hreflang: href} of the page's canonical and language alternates."""
    found = {}
    for tag in re.findall(r"<link [^>]*>", response.content.decode()):
        rel = re.search(r'rel="([^"]+)"', tag)[1]
        href = re.search(r'href="([^"]+)"', tag)[1]
        if rel == "canonical":
            found["canonical"] = href
        elif (
            rel == "alternate"
            and "type=" not in tag
            and (hreflang := re.search(r'hreflang="([^"]+)"', tag))
        ):
            found[hreflang[1]] = href
    return found


def test_english_addresses_stay_as_they_were_and_spanish_ones_are_under_es(client, title):
    english = client.get("/titles/step-up-all-in/")
    spanish = client.get("/es/titles/step-up-all-in/")
    assert english.status_code == spanish.status_code == 200
    assert html_lang(english) == "en" and html_lang(spanish) == "es"
    assert english["Content-Language"] == "en" and spanish["Content-Language"] == "es"
    assert reverse("films:title_detail", kwargs={"slug": "x"}) == "/titles/x/"


@pytest.mark.parametrize(
    "path",
    ["/", "/titles/", "/people/", "/characters/", "/crews/", "/routines/", "/accounts/login/"],
)
def test_every_page_has_a_spanish_twin(client, path):
    assert client.get(path).status_code == 200
    assert client.get(f"/es{path}").status_code == 200


def test_a_first_visit_goes_to_the_language_the_browser_asks_for(client, title):
    response = client.get(
        "/titles/step-up-all-in/?sort=newest", HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9,en;q=0.5"
    )
    assert response.status_code == 302
    assert response["Location"] == "/es/titles/step-up-all-in/?sort=newest"
    assert "Accept-Language" in response["Vary"] and "Cookie" in response["Vary"]


def test_a_browser_asking_for_english_or_another_language_stays_on_english_pages(client, title):
    for asked in ("en-US,en;q=0.9", "fr-FR,fr;q=0.9", "", "*", "x" * 300, "es;q=nope"):
        response = client.get("/titles/step-up-all-in/", HTTP_ACCEPT_LANGUAGE=asked)
        assert response.status_code == 200, asked
        assert html_lang(response) == "en"


def test_addresses_outside_the_pages_are_never_redirected(client):
    for path in ("/healthz", "/robots.txt", "/sitemap.xml", "/favicon.ico"):
        assert client.get(path, HTTP_ACCEPT_LANGUAGE="es").status_code in (200, 301), path


def test_a_spanish_address_is_spanish_whatever_the_browser_asks(client, title):
    response = client.get("/es/titles/step-up-all-in/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and html_lang(response) == "es"


def test_the_switch_remembers_a_visitors_choice_over_the_browsers(title):
    # Visitors' pages carry no CSRF token (so they can be cached): the switch needs none.
    visitor = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="es")
    response = visitor.post(
        reverse("set_language"),
        {"language": "en", "next": "/es/titles/step-up-all-in/?sort=newest"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/titles/step-up-all-in/?sort=newest"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en" and cookie["max-age"] == settings.LANGUAGE_COOKIE_AGE
    # The browser still says Spanish; the visitor's choice wins from now on.
    assert visitor.get("/titles/step-up-all-in/").status_code == 200
    visitor.post(reverse("set_language"), {"language": "es", "next": "/titles/"})
    assert visitor.get("/titles/")["Location"] == "/es/titles/"


def test_the_switch_is_in_the_header_of_every_page_as_a_form_that_needs_no_script(client, title):
    html = client.get("/es/titles/step-up-all-in/").content.decode()
    form = re.search(r'<form class="language-switch[^"]*"[^>]*>(.*?)</form>', html, re.S)
    assert form and 'method="post"' in form[0] and 'action="/i18n/setlang/"' in form[0]
    assert 'name="next" value="/es/titles/step-up-all-in/"' in form[1]
    assert re.search(r'<button[^>]*type="submit"[^>]*value="en"[^>]*lang="en"', form[1])
    assert "csrfmiddlewaretoken" not in form[1]


@pytest.mark.parametrize("language", ["", "xx", "es\x00", "ES", "e" * 500])
def test_switching_to_a_language_the_site_has_not_is_a_bad_request(client, language):
    response = client.post(reverse("set_language"), {"language": language, "next": "/"})
    assert response.status_code == 400
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "welcome", ""])
def test_the_switch_never_sends_anyone_off_the_site(client, next_url):
    response = client.post(reverse("set_language"), {"language": "es", "next": next_url})
    assert response.status_code == 302 and response["Location"] == "/es/"


def test_the_switch_is_refused_a_get(client):
    assert client.get(reverse("set_language"), {"language": "es"}).status_code == 405


def test_a_members_choice_is_stored_on_their_account_and_needs_their_csrf_token(title):
    member = UserFactory()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)
    forged = browser.post(reverse("set_language"), {"language": "es", "next": "/"})
    assert forged.status_code == 403
    member.refresh_from_db()
    assert member.language == ""
    page = browser.get("/titles/step-up-all-in/").content.decode()
    form = re.search(r'<form class="language-switch.*?</form>', page, re.S)[0]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
    response = browser.post(
        reverse("set_language"),
        {"language": "es", "next": "/titles/", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302 and response["Location"] == "/es/titles/"
    member.refresh_from_db()
    assert member.language == "es"


def test_signing_in_goes_on_in_the_members_language(client, title):
    UserFactory(username="lucia", language="es")
    response = client.post(
        "/accounts/login/?next=/titles/step-up-all-in/",
        {"username": "lucia", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/es/titles/step-up-all-in/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"


def test_a_choice_made_on_this_browser_before_signing_in_is_stored_on_the_account(title):
    member = UserFactory(username="tomas", language="en")
    browser = Client()
    browser.post(reverse("set_language"), {"language": "es", "next": "/"})
    response = browser.post(
        "/es/accounts/login/?next=/es/titles/step-up-all-in/",
        {"username": "tomas", "password": PASSWORD},
    )
    assert response["Location"] == "/es/titles/step-up-all-in/"
    member.refresh_from_db()
    assert member.language == "es"


def test_an_account_that_never_chose_takes_the_language_it_signed_in_on(client, title):
    member = UserFactory(username="ines")
    assert member.language == ""
    response = client.post(
        "/es/accounts/login/?next=/es/titles/step-up-all-in/",
        {"username": "ines", "password": PASSWORD},
    )
    assert response["Location"] == "/es/titles/step-up-all-in/"
    member.refresh_from_db()
    assert member.language == "es"


def test_a_sign_up_keeps_the_language_of_the_page_it_was_made_on(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/es/accounts/signup/",
            {
                "username": "marisol",
                "email": "marisol@example.com",
                "password1": "a-long-enough-password-1",
                "password2": "a-long-enough-password-1",
            },
        )
    assert response.status_code == 302
    assert User.objects.get(username="marisol").language == "es"


def test_a_members_language_is_a_database_invariant():
    from django.db import IntegrityError, transaction

    member = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=member.pk).update(language="fr")


def test_a_password_reset_email_is_in_the_accounts_language_whatever_page_asked(
    client, django_capture_on_commit_callbacks, run_queued_tasks, mailoutbox
):
    UserFactory(username="lucia", email="lucia@example.com", language="es")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password_reset/", {"email": "lucia@example.com"})
    run_queued_tasks()
    (mail,) = mailoutbox
    assert "/es/accounts/reset/" in mail.body


def test_each_page_names_its_twin_in_each_language_and_a_canonical_without_sorts(client, title):
    links = link_tags(client.get("/es/titles/step-up-all-in/?sort=newest&page=2"))
    assert links == {
        "canonical": "http://testserver/es/titles/step-up-all-in/?page=2",
        "en": "http://testserver/titles/step-up-all-in/?page=2",
        "es": "http://testserver/es/titles/step-up-all-in/?page=2",
        "x-default": "http://testserver/titles/step-up-all-in/?page=2",
    }
    first_page = link_tags(client.get("/titles/step-up-all-in/?sort=helpful&page=1"))
    assert first_page["canonical"] == "http://testserver/titles/step-up-all-in/"
    assert first_page["x-default"] == "http://testserver/titles/step-up-all-in/"


@pytest.mark.parametrize("page", ["0", "-1", "２", "9" * 40, "1e3", "x\x00"])
def test_a_canonical_ignores_a_page_number_that_is_not_one(client, title, page):
    response = client.get("/titles/step-up-all-in/", {"page": page})
    if response.status_code == 200:
        assert link_tags(response)["canonical"] == "http://testserver/titles/step-up-all-in/"
    else:
        assert response.status_code in (400, 404)


def test_a_cached_english_page_never_answers_a_visitor_who_prefers_spanish(client, settings):
    settings.PAGE_CACHE_SECONDS = 600
    TitleFactory(name="Step Up Revolution", slug="step-up-revolution")
    assert client.get("/titles/step-up-revolution/").status_code == 200
    assert client.get("/titles/step-up-revolution/")["X-Page-Cache"] == "hit"
    spanish_visitor = Client(HTTP_ACCEPT_LANGUAGE="es")
    response = spanish_visitor.get("/titles/step-up-revolution/")
    assert response.status_code == 302
    spanish = spanish_visitor.get(response["Location"])
    assert spanish["X-Page-Cache"] == "miss" and html_lang(spanish) == "es"
    assert spanish_visitor.get(response["Location"])["X-Page-Cache"] == "hit"
    assert html_lang(client.get("/titles/step-up-revolution/")) == "en"


@pytest.mark.parametrize(
    "path", ["/es/accounts/login/", "/es/accounts/signup/", "/es/admin/login/"]
)
def test_spanish_account_and_admin_pages_are_private_as_the_english_ones(client, settings, path):
    settings.PAGE_CACHE_SECONDS = 600
    for _ in range(2):
        response = client.get(path)
        assert response.status_code == 200
        assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
        assert response.get("X-Page-Cache") != "hit"


def test_the_spanish_sign_in_link_returns_to_the_spanish_page(client, title):
    html = client.get("/es/titles/step-up-all-in/").content.decode()
    assert 'href="/es/accounts/login/?next=/es/titles/step-up-all-in/"' in html
    sign_in = client.get("/es/accounts/login/?next=/es/titles/step-up-all-in/").content.decode()
    # On an account page "Sign in" keeps the page's own next, not the account page.
    assert "next=/es/accounts/" not in sign_in


def test_one_cached_copy_of_a_spanish_page_serves_every_visitor_whatever_they_prefer(settings):
    settings.PAGE_CACHE_SECONDS = 600
    TitleFactory(name="Step Up 3D", slug="step-up-3d")
    first = Client(HTTP_ACCEPT_LANGUAGE="es").get("/es/titles/step-up-3d/")
    assert first["X-Page-Cache"] == "miss"
    for asked in ("en", "fr", "es-MX"):
        again = Client(HTTP_ACCEPT_LANGUAGE=asked).get("/es/titles/step-up-3d/")
        assert again["X-Page-Cache"] == "hit", asked


def test_a_removal_notice_is_in_the_members_language(
    django_capture_on_commit_callbacks, run_queued_tasks, mailoutbox
):
    author = UserFactory(language="es")
    removed = review(author=author, body="Una reseña.")
    with django_capture_on_commit_callbacks(execute=True):
        moderation.content_moderate(
            item=removed, status=Status.REMOVED, moderator=UserFactory(is_staff=True), reason="x"
        )
    run_queued_tasks()
    (mail,) = mailoutbox
    assert "reseña" in mail.subject.lower() and "review" not in mail.subject.lower()


def test_a_members_title_page_names_its_twins_and_canonical_as_a_visitors_does(client, title):
    visitor = link_tags(client.get("/es/titles/step-up-all-in/"))
    client.force_login(UserFactory())
    member = link_tags(client.get("/es/titles/step-up-all-in/"))
    assert member == visitor and member["canonical"].endswith("/es/titles/step-up-all-in/")
