"""The site speaks English and Spanish: every visible text of a template is marked for
translation, the Spanish catalog translates every entry, and the compiled catalog that is
committed (a fresh clone has no gettext to compile it) says what the .po file says."""

import datetime
import gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.apps import apps
from django.conf import settings
from django.template.base import Lexer, TokenType
from django.urls import reverse
from django.utils import translation

from films.models import Title
from reviews.templatetags.local_time import local_time
from reviews.templatetags.review_cards import comment_count, helpful_count

BASE_DIR = Path(settings.BASE_DIR)


def _template_dirs():
    """The project's templates/ and those of its own apps (not of installed packages)."""
    dirs = [Path(folder) for engine in settings.TEMPLATES for folder in engine.get("DIRS", [])]
    for app in apps.get_app_configs():
        folder = Path(app.path) / "templates"
        if folder.is_dir() and folder.is_relative_to(BASE_DIR) and ".venv" not in folder.parts:
            dirs.append(folder)
    return dirs


TEMPLATE_DIRS = _template_dirs()
LOCALE_DIR = BASE_DIR / "locale"
SPANISH_PO = LOCALE_DIR / "es" / "LC_MESSAGES" / "django.po"

# Stands for a {{ variable }} or a {% tag %} in the text handed to the HTML parser: no letter,
# so it never reads as words, and not a space, so it never joins two words.
PLACEHOLDER = "\ufffc"

# Blocks whose text is not shown to a reader in need of a translation: blocktranslate's is
# the translated text itself; comment's is for developers; verbatim's is code.
SKIPPED_BLOCKS = {
    "blocktranslate": "endblocktranslate",
    "blocktrans": "endblocktrans",
    "comment": "endcomment",
    "verbatim": "endverbatim",
}

# Attributes a reader (or a screen reader) is given as text.
TEXT_ATTRIBUTES = {"alt", "title", "aria-label", "placeholder"}

# Words that are no language, so nothing to translate. Keep this list short.
NOT_LANGUAGE = {
    "Step",  # "Step Up", the franchise's name
    "Up",
    "RSS",  # feed formats
    "Atom",
    "JSON",
}

# Files that are not read by people: robots.txt is for crawlers, in their protocol's words.
NOT_FOR_READERS = {"robots.txt"}

LETTERS = re.compile(r"[^\W\d_]+")
URL = re.compile(r"\b(?:https?://|mailto:)\S+")


class _VisibleText(HTMLParser):
    """Collects the text a reader sees: character data outside <script> and <style>, the
    attributes read out as text, and the description a search engine shows."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks = []
        self._hidden_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style"}:
            self._hidden_depth += 1
        attributes = dict(attrs)
        for name, value in attrs:
            if name in TEXT_ATTRIBUTES and value:
                self.chunks.append(value)
        if tag == "meta" and attributes.get("name") == "description":
            self.chunks.append(attributes.get("content") or "")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in {"script", "style"}:
            self._hidden_depth -= 1

    def handle_endtag(self, tag):
        if tag in {"script", "style"} and self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data):
        if not self._hidden_depth:
            self.chunks.append(data)


def unmarked_words(source):
    """The words of a template's source that a reader would see untranslated: text outside
    {% translate %} and {% blocktranslate %}, with the HTML's tags taken away but the text of
    alt, title, aria-label, placeholder and <meta name=description> kept."""
    pieces = []
    closing = None
    for token in Lexer(source).tokenize():
        if closing:
            if token.token_type == TokenType.BLOCK and token.split_contents()[0] == closing:
                closing = None
            pieces.append(PLACEHOLDER)
            continue
        if token.token_type == TokenType.TEXT:
            pieces.append(token.contents)
            continue
        if token.token_type == TokenType.BLOCK:
            bits = token.split_contents()
            closing = SKIPPED_BLOCKS.get(bits[0])
            # {% block submit_class %}btn-danger{% endblock %}: CSS classes that the parent
            # template puts into a class attribute, not text.
            if bits[0] == "block" and len(bits) > 1 and bits[1].endswith("_class"):
                closing = "endblock"
        pieces.append(PLACEHOLDER)
    parser = _VisibleText()
    parser.feed("".join(pieces))
    parser.close()
    words = []
    for chunk in parser.chunks:
        for word in LETTERS.findall(URL.sub(" ", chunk)):
            if word not in NOT_LANGUAGE:
                words.append(word)
    return words


def template_files():
    for directory in TEMPLATE_DIRS:
        for path in sorted(directory.rglob("*")):
            if path.suffix in {".html", ".txt"} and path.name not in NOT_FOR_READERS:
                yield path


@pytest.mark.parametrize("path", list(template_files()), ids=lambda path: str(path.name))
def test_template_text_is_marked_for_translation(path):
    assert unmarked_words(path.read_text()) == [], f"{path.relative_to(BASE_DIR)}"


def test_unmarked_text_is_caught():
    """The check above would see a forgotten string, in text and in attributes, and only
    there: marked text, tags, variables, comments and the allowed names pass."""
    assert unmarked_words("<p>Hello {{ name }}</p>") == ["Hello"]
    assert unmarked_words('<img src="a.png" alt="A poster">') == ["A", "poster"]
    assert unmarked_words('<input placeholder="Search" aria-label="Find">') == ["Search", "Find"]
    assert unmarked_words('<meta name="description" content="All films">') == ["All", "films"]
    assert unmarked_words("{% if x %}Yes{% endif %}") == ["Yes"]
    assert unmarked_words("Dear {{ name }},\n\nThanks.") == ["Dear", "Thanks"]
    marked = (
        "{% load i18n %}<p class=\"lead text-end\" data-x='word'>"
        '{% translate "Hello" %} {{ name }} · Step Up © 2026</p>'
        "{% blocktranslate %}Hi {{ name }}{% endblocktranslate %}"
        "{# a note #}{% comment %}a longer note{% endcomment %}"
        "<script>const words = 1;</script>"
        '<a href="https://example.org/path" title="{% translate "Go" %}">RSS</a>'
        '<meta name="robots" content="noindex">'
    )
    assert unmarked_words(marked) == []


# --- The Spanish catalog ------------------------------------------------------------------

# %(name)s, %s, %d, %%: what Python's % operator fills in.
PLACEHOLDER_RE = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[sdifr%]")


# The HTML inside a translation (<strong>, <a href="%(url)s">): the same tags as the original's.
TAG_RE = re.compile(r"</?[a-z][^>]*>")


def placeholders(text):
    return sorted(PLACEHOLDER_RE.findall(text))


def tags(text):
    return sorted(TAG_RE.findall(text))


def catalog_problems(po):
    """What keeps a catalog from being complete: untranslated, fuzzy or obsolete entries,
    and translations whose placeholders are not the original's."""
    problems = []
    for entry in po:
        name = f"{entry.msgctxt + ' | ' if entry.msgctxt else ''}{entry.msgid!r}"
        if entry.obsolete:
            problems.append(f"obsolete: {name}")
            continue
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {name}")
        if entry.msgid_plural:
            pairs = [(entry.msgid, entry.msgstr_plural.get(0, ""))]
            pairs += [
                (entry.msgid_plural, text)
                for form, text in sorted(entry.msgstr_plural.items())
                if form > 0
            ]
            if len(entry.msgstr_plural) != 2:
                problems.append(f"not 2 plural forms: {name}")
        else:
            pairs = [(entry.msgid, entry.msgstr)]
        for original, translated in pairs:
            if not translated.strip():
                problems.append(f"untranslated: {name}")
            elif placeholders(original) != placeholders(translated):
                problems.append(
                    f"placeholders {placeholders(translated)} instead of "
                    f"{placeholders(original)}: {name}"
                )
            elif tags(original) != tags(translated):
                problems.append(f"tags {tags(translated)} instead of {tags(original)}: {name}")
    return problems


def test_spanish_catalog_is_complete():
    po = polib.pofile(str(SPANISH_PO))
    assert po.metadata["Plural-Forms"] == "nplurals=2; plural=(n != 1);"
    assert not po.metadata_is_fuzzy
    assert len(po) > 500  # the whole site, not a stub
    assert catalog_problems(po) == []


def test_catalog_check_catches_what_it_should():
    po = polib.pofile(
        """
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "Sign in"
msgstr ""

#, fuzzy
msgid "Sign out"
msgstr "Cerrar sesión"

msgid "Reviews of %(name)s"
msgstr "Reseñas de %(nombre)s"

msgid "%(counter)s rating"
msgid_plural "%(counter)s ratings"
msgstr[0] "%(counter)s valoración"
msgstr[1] "valoraciones"

msgid "Make <strong>%(email)s</strong> yours"
msgstr "Haz tuya <b>%(email)s</b>"

msgid "Fine"
msgstr "Bien"

#~ msgid "Gone"
#~ msgstr "Ido"
"""
    )
    assert catalog_problems(po) == [
        "untranslated: 'Sign in'",
        "fuzzy: 'Sign out'",
        "placeholders ['%(nombre)s'] instead of ['%(name)s']: 'Reviews of %(name)s'",
        "placeholders [] instead of ['%(counter)s']: '%(counter)s rating'",
        "tags ['</b>', '<b>'] instead of ['</strong>', '<strong>']: "
        "'Make <strong>%(email)s</strong> yours'",
        "obsolete: 'Gone'",
    ]


# --- The compiled catalogs ----------------------------------------------------------------


def compiled_entries(po):
    """What gettext reads from the .mo file compiled from `po`, keyed as
    gettext.GNUTranslations keys its catalog: "context\x04msgid", and (msgid, form) for plurals."""
    entries = {}
    for entry in po.translated_entries():
        msgid = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        if entry.msgid_plural:
            for form, text in entry.msgstr_plural.items():
                entries[(msgid, int(form))] = text
        else:
            entries[msgid] = entry.msgstr
    return entries


def committed_catalogs():
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))


def test_there_is_a_spanish_catalog():
    assert SPANISH_PO in committed_catalogs()


@pytest.mark.parametrize("po_path", committed_catalogs(), ids=lambda path: path.parts[-3])
def test_compiled_catalog_is_current(po_path):
    """A fresh clone has no gettext to compile the .po files, so the .mo files are
    committed: each must say exactly what its .po says (`make messages` recompiles)."""
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} is missing: run `make messages`"
    with mo_path.open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    expected = compiled_entries(polib.pofile(str(po_path)))
    read = {key: text for key, text in compiled._catalog.items() if key != ""}
    assert read == expected, f"{mo_path} is stale: run `make messages`"
    assert compiled.info()["plural-forms"] == polib.pofile(str(po_path)).metadata["Plural-Forms"]


# --- Pages in Spanish ---------------------------------------------------------------------


def spanish_url(name, **kwargs):
    """The address of a page in Spanish: under /es/ once the site's URLs carry the language,
    the same address otherwise (the request's Accept-Language then chooses Spanish)."""
    with translation.override("es"):
        return reverse(name, kwargs=kwargs)


def get_in(client, language, url):
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language)


# Each page: Spanish it must show, and the English it shows in English and must not in Spanish.
SPANISH_PAGES = [
    (
        "films:home",
        {},
        ["Iniciar sesión", "Registrarse", "La franquicia en orden", "Títulos"],
        ["Sign in", "Create account", "The franchise in order"],
    ),
    (
        "films:title_detail",
        {"slug": "step-up-all-in"},
        [
            "Elenco",
            "Coreografías",
            "Curiosidades",
            "Inicia sesión para valorar y escribir una reseña",
        ],
        ["Cast", "Dance routines", "Trivia", "Sign in to rate and review"],
    ),
    (
        "login",
        {},
        ["Iniciar sesión", "Contraseña", "¿Olvidaste tu contraseña?"],
        ["Sign in", "Password", "Forgotten your password?"],
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "kwargs", "spanish", "english"), SPANISH_PAGES)
def test_pages_in_spanish(client, catalog, name, kwargs, spanish, english):
    in_english = get_in(client, "en", reverse(name, kwargs=kwargs))
    assert in_english.status_code == 200
    text = in_english.content.decode()
    assert all(phrase in text for phrase in english), [p for p in english if p not in text]

    in_spanish = get_in(client, "es", spanish_url(name, **kwargs))
    assert in_spanish.status_code == 200
    text = in_spanish.content.decode()
    assert [phrase for phrase in spanish if phrase not in text] == []
    assert [phrase for phrase in english if re.search(rf">\s*{re.escape(phrase)}\b", text)] == []


@pytest.mark.django_db
def test_not_found_page_in_spanish(client):
    url = spanish_url("films:home") + "no-such-page/"
    response = get_in(client, "es", url)
    assert response.status_code == 404
    text = response.content.decode()
    assert "Página no encontrada" in text
    assert "Explorar los títulos" in text
    assert "Page not found" not in text
    assert "Browse the titles" not in text


# --- Counts and dates in the reader's language -------------------------------------------


@pytest.mark.django_db
def test_counts_and_dates_on_a_title_page_follow_the_language(client, catalog):
    """1,234 ratings and November 21, 2026 in English; 1.234 valoraciones and 21 de
    noviembre de 2026 in Spanish: grouped counts, months in words, the language's order."""
    Title.objects.filter(slug="step-up-all-in").update(
        release_year=2026,
        release_date=datetime.date(2026, 11, 21),
        rating_count=1234,
        rating_sum=1234 * 9,
        ratings_9=1234,
    )
    english = get_in(client, "en", reverse("films:title_detail", kwargs={"slug": "step-up-all-in"}))
    text = english.content.decode()
    assert "1,234 ratings" in text
    assert "November 21, 2026" in text
    assert ">4.5<" in text  # the average

    spanish = get_in(client, "es", spanish_url("films:title_detail", slug="step-up-all-in"))
    text = spanish.content.decode()
    assert "1.234 valoraciones" in text
    assert "21 de noviembre de 2026" in text
    assert ">4,5<" in text
    assert "1,234" not in text
    assert "November" not in text
    # Identifiers are never grouped: the title's id in its links stays plain digits.
    assert 'data-count="1234"' in text


def test_count_and_date_helpers_follow_the_language():
    moment = datetime.datetime(2026, 11, 21, 15, 30, tzinfo=datetime.UTC)
    with translation.override("en"):
        assert helpful_count(1234) == "1,234 people found this helpful"
        assert comment_count(1) == "1 comment"
        assert ">November 21, 2026</time>" in local_time(moment)
    with translation.override("es"):
        assert helpful_count(1234) == "A 1.234 personas les resultó útil"
        assert comment_count(1) == "1 comentario"
        assert comment_count(2000) == "2.000 comentarios"
        assert ">21 de noviembre de 2026</time>" in local_time(moment)
        assert "21 de noviembre de 2026 a las 15:30 UTC" in local_time(moment, with_time=True)
