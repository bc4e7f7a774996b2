"""sitemap.xml: every public catalog page in every language, with hreflang alternates."""

import xml.etree.ElementTree as ET

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

pytestmark = pytest.mark.django_db

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "xhtml": "http://www.w3.org/1999/xhtml"}
PAGES = [
    ("films:home", {}),
    ("films:title_list", {}),
    ("films:title_detail", {"slug": "step-up-all-in"}),
    ("films:title_detail", {"slug": "step-up-high-water"}),
    ("films:person_list", {}),
    ("films:person_detail", {"slug": "trish-sie"}),
    ("films:character_list", {}),
    ("films:character_detail", {"slug": "moose"}),
    ("films:crew_list", {}),
    ("films:crew_detail", {"slug": "lmntrix"}),
    ("films:routine_list", {}),
    ("films:routine_detail", {"slug": "las-vegas-finale"}),
]
LANGUAGES = [code for code, _name in settings.LANGUAGES]


def url_in(language, name, kwargs):
    with translation.override(language):
        return f"http://testserver{reverse(name, kwargs=kwargs)}"


@pytest.fixture
def entries(client, catalog):
    """Each <url> of the sitemap: its <loc> and its alternates by hreflang."""
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    return {
        url.findtext("s:loc", namespaces=NS): {
            link.get("hreflang"): link.get("href")
            for link in url.findall("xhtml:link", NS)
            if link.get("rel") == "alternate"
        }
        for url in root.findall("s:url", NS)
    }


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_every_public_page_is_listed_in_every_language_with_its_alternates(entries, name, kwargs):
    expected = {language: url_in(language, name, kwargs) for language in LANGUAGES}
    expected["x-default"] = url_in(settings.LANGUAGE_CODE, name, kwargs)
    for language in LANGUAGES:
        assert entries[url_in(language, name, kwargs)] == expected


def test_spanish_pages_live_under_es_when_the_site_speaks_spanish(entries):
    if "es" not in LANGUAGES:
        pytest.skip("Spanish is not among settings.LANGUAGES yet (the lead's i18n commit)")
    assert "http://testserver/es/titles/step-up-all-in/" in entries
    assert entries["http://testserver/titles/step-up-all-in/"]["es"] == (
        "http://testserver/es/titles/step-up-all-in/"
    )


def test_no_review_page_and_no_search_page_is_listed(client, catalog):
    from films.models import Title
    from tests.factories import review

    written = review(title=Title.objects.get(slug="step-up-all-in"), rating=8, body="Listed?")
    sitemap = client.get("/sitemap.xml").content.decode()
    assert "/titles/step-up-all-in/" in sitemap
    assert written.get_absolute_url() not in sitemap
    assert "/reviews/" not in sitemap and "/search/" not in sitemap


def test_the_sitemap_counts_every_catalog_record_once_per_language(entries):
    from films.models import Character, Crew, Person, Routine, Title

    records = sum(model.objects.count() for model in (Title, Person, Character, Crew, Routine))
    assert len(entries) == (records + 6) * len(LANGUAGES)
