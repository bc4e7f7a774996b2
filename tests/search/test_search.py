"""The site search (search app) on whichever database the suite runs on: SQLite's FTS5 in
the default pass, PostgreSQL's full-text search with DATABASE_URL set. Same tests, same
answers: the page must not depend on the engine."""

import html as html_module
import re

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from search.backends import query_terms
from search.documents import entries
from search.models import SearchEntry
from search.selectors import catalog_search
from tests.factories import (
    CastCreditFactory,
    PersonFactory,
    RoutineDancerFactory,
    RoutineFactory,
    TitleFactory,
    TriviaFactory,
)

URL = reverse("films:search")


def search(query, language="en"):
    return catalog_search(query, language=language)


def names(query, kind=None, language="en"):
    return [
        html_module.unescape(re.sub(r"</?mark>", "", r.name_html))
        for r in search(query, language).results
        if kind is None or r.kind == kind
    ]


def page(client, query):
    response = client.get(URL, {"q": query})
    assert response.status_code == 200
    return response.content.decode()


# --- The examples, on the real catalog -----------------------------------------


@pytest.mark.usefixtures("catalog")
class TestTheCatalog:
    def test_words_across_fields_all_must_match(self):
        # Moose is in the character's name, Sevani in who plays him.
        assert "Moose" in names("moose sevani", "character")
        assert "Adam Sevani" in names("moose sevani", "person")
        # Every word must match: no record has both of these.
        assert names("moose frankenstein") == []

    def test_the_last_word_matches_as_a_prefix(self):
        assert "Adam Sevani" in names("sevan", "person")
        assert "Moose" in names("moose sevan", "character")

    def test_names_rank_above_text(self):
        results = search("moose sevani").results
        # The person and the character named by the words come before a trivia item or
        # routine that merely mentions them.
        assert [r.kind for r in results[:2]] in (["person", "character"], ["character", "person"])
        assert {r.kind for r in results[2:]} <= {"trivia", "routine"}

    def test_results_show_their_kind_role_year_and_link(self, client):
        html = page(client, "moose sevani")
        assert "Played by Adam Sevani in Step Up 2: The Streets (2008)" in html
        assert 'href="/characters/moose/"' in html and 'href="/people/adam-sevani/"' in html
        assert "#trivia" in html  # the trivia item links to its title's page
        assert ">Character</span>" in html and ">Trivia</span>" in html

    def test_routines_are_found_and_name_their_title(self, client):
        html = page(client, "frankenstein")
        assert 'href="/routines/frankenstein-lab-audition/"' in html
        assert "A routine of Step Up: All In (2014)" in html

    def test_folded_names_and_phone_apostrophes(self):
        assert names("neyo", "person") == ["Ne-Yo"]
        assert names("de’shawn", "person") == ["De'Shawn Washington"]
        assert "Step Up: All In" in names("stepup", "title")

    def test_the_snippet_marks_the_matching_words(self):
        trivia = [r for r in search("moose sevani").results if r.kind == "trivia"]
        assert "<mark>Sevani</mark>" in trivia[0].snippet_html
        assert "<mark>Moose</mark>" in trivia[0].snippet_html


# --- Accents, ranking and snippets on records made here --------------------------------


def test_accents_are_optional_both_ways(db):
    TitleFactory(name="Night one", synopsis="Una coreografía bajo la lluvia.")
    TitleFactory(name="Night two", synopsis="A coreografia without its accent.")
    assert sorted(names("coreografia")) == ["Night one", "Night two"]
    assert sorted(names("Coreografía")) == ["Night one", "Night two"]
    assert names("CORÉOGRAFIA") == names("coreografia")
    PersonFactory(name="Zoë Saldaña")
    for query in ("zoe saldana", "ZOË SALDAÑA", "Saldana", "ZOE"):
        assert names(query, "person") == ["Zoë Saldaña"], query


def test_a_name_match_ranks_above_many_text_matches(db):
    TitleFactory(name="Flashmob", synopsis="Plain text.")
    for n in range(3):
        TitleFactory(name=f"Other {n}", synopsis="flashmob " * 20)
    assert names("flashmob")[0] == "Flashmob"
    assert len(names("flashmob")) == 4


def test_snippets_and_names_are_escaped_around_the_marks(db):
    TitleFactory(
        name="<b>Bold</b> mob",
        synopsis='The <script>alert("x")</script> mob & friends dance <mark>fake</mark>.',
    )
    (result,) = search("mob").results
    assert result.name_html == "&lt;b&gt;Bold&lt;/b&gt; <mark>mob</mark>"
    assert "<mark>mob</mark>" in result.snippet_html
    # The catalog's tags are text, never markup (PostgreSQL's headline drops tag-like
    # words altogether; FTS5 keeps them, escaped).
    assert "<script>" not in result.snippet_html and "<mark>fake" not in result.snippet_html
    assert "&amp;" in result.snippet_html
    assert re.sub(r"</?mark>", "", result.snippet_html).count("<") == 0


def test_the_query_is_escaped_on_the_page(client, db):
    TitleFactory(name="Scripted")
    html = page(client, '<script>alert(1)</script> scripted"')
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- Bad input: never a 500, always a handled page -------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "AND",
        "moose AND",
        '"',
        '"moose',
        "*",
        "moose*",
        "NEAR(moose sevani)",
        "NEAR(",
        "-moose",
        "moose -sevani",
        "moose OR",
        "NOT moose",
        "col:moose",
        "{name}: moose",
        "^moose",
        "moose & | ! :* ()",
        "'; DROP TABLE search_searchentry; --",
        "🕺💃 dance",
        "🕺💃🕺",
        "رقص الشارع",
        "מוז",
        "a" * 10_000,
        "moose " * 30,
        "x y z w v u t s r q p o n m l",
    ],
)
def test_odd_queries_get_a_page_never_an_error(client, catalog, query):
    response = client.get(URL, {"q": query})
    assert response.status_code in (200, 400), query
    assert b"Server error" not in response.content


def test_operator_words_are_plain_words(catalog):
    # "AND" and quotes are text to find, never the engines' syntax.
    assert "Moose" in names('"moose"', "character")
    assert names("-moose") == names("moose")
    assert names("NEAR(moose") == names("moose near")


def test_empty_punctuation_and_too_long_queries_say_why(client, db):
    assert "Type a name to search for." in page(client, "")
    assert "at least 2 letters or digits" in page(client, "!?*-")
    assert "at least 2 letters or digits" in page(client, "🕺💃")
    assert "at least 2 characters" in page(client, "a")
    assert "at most 100 characters" in page(client, "a" * 101)


def test_a_nul_character_is_refused_before_the_view(client, db):
    response = client.get(URL, {"q": "moo\x00se"})
    assert response.status_code == 400
    assert "\x00" not in response.content.decode()


def test_nothing_found_says_so(client, catalog):
    html = page(client, "zzzzqqq")
    assert "No results for “zzzzqqq”" in html


def test_query_terms_are_words_only():
    assert query_terms('NEAR("moose" -Sevani*) AND 🕺') == ["near", "moose", "sevani", "and"]
    assert query_terms("\x00") == []
    assert len(query_terms("w " * 100)) == 1
    assert len(query_terms(" ".join(f"w{n}" for n in range(100)))) == 8


# --- The index follows the catalog ------------------------------------------------------


def test_an_edited_synopsis_is_found_by_its_new_word(catalog):
    from films.models import Title

    assert names("zanzibarflash") == []
    title = Title.objects.get(slug="step-up-3d")
    title.synopsis += " Zanzibarflash!"
    title.save()
    assert names("zanzibarflash") == ["Step Up 3D"]


def test_an_admin_edit_reaches_the_index(admin_client, catalog):
    from films.models import Trivia

    trivia = Trivia.objects.first()
    url = reverse("admin:films_trivia_change", args=[trivia.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {**{k: v for k, v in form.initial.items() if v is not None}, "title": trivia.title_id}
    data["text_en"] = "Edited in the admin: quokkadance."
    assert admin_client.post(url, data).status_code == 302
    (result,) = search("quokkadance").results
    assert result.kind == "trivia" and result.url.endswith("#trivia")


def test_renaming_a_person_updates_the_characters_they_play(db):
    credit = CastCreditFactory(person__name="Old Name", character__name="Moosey")
    assert names("moosey old", "character") == ["Moosey"]
    credit.person.name = "Brandnew Person"
    credit.person.save()
    assert names("moosey brandnew", "character") == ["Moosey"]
    assert names("moosey old", "character") == []


def test_deletions_leave_the_index(db):
    trivia = TriviaFactory(text="Wombatwaltz happened.")
    routine = RoutineFactory(name="Wombat routine")
    RoutineDancerFactory(routine=routine, person__name="Dancing Wombatson")
    assert len(names("wombatwaltz")) == 1
    assert names("wombatson", "routine") == ["Wombat routine"]
    trivia.delete()
    assert names("wombatwaltz") == []
    routine.title.delete()  # its routine goes with it
    assert names("wombat", "routine") == []
    assert not SearchEntry.objects.filter(kind="routine", object_id=routine.pk).exists()


def test_rebuild_command_matches_the_updates(catalog):
    before = sorted(SearchEntry.objects.values_list("kind", "object_id", "language", "body"))
    SearchEntry.objects.all().delete()
    assert names("moose") == []
    call_command("rebuild_search_index", verbosity=0)
    after = sorted(SearchEntry.objects.values_list("kind", "object_id", "language", "body"))
    assert after == before and after
    assert "Moose" in names("moose", "character")


def test_load_catalog_fills_the_index(db):
    call_command("load_catalog", verbosity=0)
    assert "Moose" in names("moose sevani", "character")


# --- Query count, caching, languages ----------------------------------------------------


def test_the_page_takes_the_same_queries_however_many_results(
    client, db, django_assert_num_queries, no_page_cache
):
    # One SQL query finds, ranks, counts, highlights and cuts the snippets of every
    # result: more results must never mean more queries.
    for count in (1, 40):
        PersonFactory.create_batch(count, name=f"Queryfan {count}", bio="A queryfan bio.")
        with django_assert_num_queries(1):
            html = page(client, f"queryfan {count}")
        assert html.count('class="mb-3"') == count


def test_the_cached_page_changes_when_the_catalog_does(
    client, db, django_capture_on_commit_callbacks
):
    # With the page cache on. A trivia item is on no catalog list: only the page's own
    # scope, "search", makes its search page stale. (Where the versions live in the
    # database they change at the commit, hence the callbacks run here.)
    with django_capture_on_commit_callbacks(execute=True):
        title = TitleFactory(name="Cached", synopsis="Nothing special.")
    assert "No results" in page(client, "quasarjump")
    assert client.get(URL, {"q": "quasarjump"})["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        trivia = TriviaFactory(title=title, text="A quasarjump.")
    assert "1 result for" in page(client, "quasarjump")
    with django_capture_on_commit_callbacks(execute=True):
        trivia.text = "Nothing."
        trivia.save()
    assert "No results" in page(client, "quasarjump")
    with django_capture_on_commit_callbacks(execute=True):
        SearchEntry.objects.all().delete()
        call_command("rebuild_search_index", verbosity=0)  # a rebuild counts as a change
    assert client.get(URL, {"q": "quasarjump"})["X-Page-Cache"] == "miss"


SPANISH = [("en", "English"), ("es", "Spanish")]


@override_settings(LANGUAGES=SPANISH)
def test_each_language_has_its_text_and_falls_back_to_english(db):
    title = TitleFactory(name="Bilingual", synopsis="English words only.")
    # As django-modeltranslation will add it: synopsis_es beside synopsis_en.
    title.synopsis_en, title.synopsis_es = "A dance battle.", "Una batalla de baile."
    (en, es) = sorted(entries("title", [title.pk]), key=lambda e: e.language)
    assert en.language == "en" and en.body == "English words only."  # no column yet: field
    assert es.body == "English words only."  # a row read from the database has no _es

    from search.documents import translated

    assert translated(title, "synopsis", "es") == "Una batalla de baile."
    assert translated(title, "synopsis", "en") == "A dance battle."
    title.synopsis_es = ""
    assert translated(title, "synopsis", "es") == "A dance battle."  # English fallback


@override_settings(LANGUAGES=SPANISH)
def test_spanish_pages_search_the_spanish_rows(client, db):
    call_command("rebuild_search_index", verbosity=0)
    TitleFactory(name="Ola", synopsis="Una coreografía.")
    assert SearchEntry.objects.filter(language="es").count() == 1
    SearchEntry.objects.filter(language="es").update(body="Solo en español: bailongo.")
    assert names("bailongo", language="es") == ["Ola"]
    assert names("bailongo", language="en") == []
    assert names("bailongo", language="es-mx") == ["Ola"]  # "es-mx" reads the "es" rows


@override_settings(LANGUAGES=SPANISH)
def test_the_spanish_page_shows_the_spanish_rows(client, db):
    TitleFactory(name="Ola", synopsis="English text.")
    SearchEntry.objects.filter(language="es").update(body="Texto en español: bailongo.")
    with translation.override("es"):
        response = client.get(reverse("films:search"), {"q": "ola"})
    assert response.status_code == 200 and response.request["PATH_INFO"].startswith("/es/")
    assert "Texto en español" in response.content.decode()


def test_every_page_has_the_header_search_box(client, catalog):
    from tests.films.test_views import PUBLIC_PAGES

    for name, kwargs, _expected in PUBLIC_PAGES:
        html = client.get(reverse(name, kwargs=kwargs)).content.decode()
        form = re.search(r'<form[^>]*role="search"[^>]*>.*?</form>', html, re.S)
        assert form, name
        assert f'action="{URL}"' in form.group(0), name
        assert 'name="q"' in form.group(0), name
