"""The catalog's texts in English and Spanish (films/translation.py): a Spanish page shows the
Spanish text, or the English one marked lang="en" where none is written yet, never a text in
the wrong language from a cache (films.templatetags.translated_text, core.caching)."""

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from films.models import Title
from tests.factories import (
    CrewFactory,
    PersonFactory,
    RoutineFactory,
    StaffUserFactory,
    TitleFactory,
    TriviaFactory,
)
from tests.html import parse, text_of

pytestmark = pytest.mark.django_db

SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def in_spanish(path_of):
    """The Spanish address of a page (under /es/ once the URLs carry the language)."""
    with translation.override("es"):
        return path_of()


def get_spanish(client, path_of):
    # Both the /es/ address and Accept-Language: whichever the site's URLs go by.
    return client.get(in_spanish(path_of), **SPANISH)


def get_english(client, path_of):
    with translation.override("en"):
        path = path_of()
    return client.get(path, **ENGLISH)


def elements_with_text(page, text):
    """The innermost elements of the body whose own visible text contains `text` (the
    head's JSON-LD carries catalog texts too, as data)."""
    return [
        node
        for node in parse(page).find("body").iter()
        if isinstance(node.tag, str) and text in (node.text or "")
    ]


def lang_of(page, text):
    """The lang attribute on the element holding `text` (None when it has none)."""
    found = elements_with_text(page, text)
    assert found, f"{text!r} is not on the page"
    return found[0].get("lang")


def langs_in_body(page):
    """The lang attributes in the page's body, but for the language switch's own button
    (its label, "Español", is in the language it offers)."""
    body = parse(page).find("body")
    switch = {
        id(node)
        for form in body.iter("form")
        if "language-switch" in form.get("class", "")
        for node in form.iter()
    }
    return {node.get("lang") for node in body.iter() if node.get("lang") and id(node) not in switch}


@pytest.fixture
def all_in():
    title = TitleFactory(
        name="Step Up: All In",
        slug="step-up-all-in",
        tagline_en="The tagline in English.",
        synopsis_en="Sean teams up with Moose to build LMNTRIX.",
        synopsis_es="Sean se une a Moose para formar LMNTRIX.",
    )
    TriviaFactory(title=title, text_en="A fact in English.", text_es="Un dato en español.")
    TriviaFactory(title=title, text_en="A fact only in English.")
    RoutineFactory(
        title=title,
        name="Las Vegas finale",
        description_en="The final battle of The Vortex.",
    )
    return title


def test_a_spanish_page_shows_the_spanish_synopsis_with_no_lang_attribute(client, all_in):
    page = get_spanish(client, all_in.get_absolute_url)
    assert page.status_code == 200
    assert lang_of(page, "Sean se une a Moose para formar LMNTRIX.") is None
    assert "Sean teams up with Moose" not in text_of(parse(page).find("body"))
    assert lang_of(page, "Un dato en español.") is None


def test_a_missing_spanish_text_is_the_english_one_marked_lang_en(client, all_in):
    page = get_spanish(client, all_in.get_absolute_url)
    # The tagline, a trivia item and a routine's description have no Spanish yet.
    for english in (
        "The tagline in English.",
        "A fact only in English.",
        "The final battle of The Vortex.",
    ):
        assert lang_of(page, english) == "en"
    # The meta description is Spanish text only: where the synopsis has no Spanish, the
    # page's own sentence stands in, never English text in a Spanish page's attribute.
    meta = parse(page).find(".//meta[@name='description']").get("content")
    assert meta.startswith("Sean se une a Moose")
    all_in.synopsis_es = ""
    all_in.save()
    page = get_spanish(client, all_in.get_absolute_url)
    assert lang_of(page, "Sean teams up with Moose to build LMNTRIX.") == "en"
    meta = parse(page).find(".//meta[@name='description']").get("content")
    assert "Sean teams up" not in meta and "Step Up: All In" in meta


def test_english_pages_never_carry_spanish_text_or_a_lang_attribute(client, all_in):
    person = PersonFactory(bio_en="A dancer.", bio_es="Una bailarina.")
    crew = CrewFactory(description_en="A crew.", description_es="Una crew.")
    for path_of in (
        all_in.get_absolute_url,
        person.get_absolute_url,
        crew.get_absolute_url,
        lambda: reverse("films:home"),
        lambda: reverse("films:crew_list"),
        lambda: reverse("films:title_list"),
    ):
        page = get_english(client, path_of)
        assert page.status_code == 200
        body = text_of(parse(page).find("body"))
        assert "Sean se une" not in body and "Una bailarina" not in body
        assert "Un dato en español" not in body and "Una crew" not in body
        assert not langs_in_body(page), path_of()


@pytest.mark.parametrize(
    ("factory", "field", "english", "spanish"),
    [
        (PersonFactory, "bio", "Director of Step Up: All In.", "Directora de Step Up: All In."),
        (CrewFactory, "description", "Sean's crew.", "La crew de Sean."),
    ],
)
def test_people_and_crews_pages_show_their_text_in_spanish_or_marked_english(
    client, factory, field, english, spanish
):
    entry = factory(**{f"{field}_en": english, f"{field}_es": spanish})
    page = get_spanish(client, entry.get_absolute_url)
    assert lang_of(page, spanish) is None
    assert english not in text_of(parse(page).find("body"))
    setattr(entry, f"{field}_es", "")
    entry.save()
    assert lang_of(get_spanish(client, entry.get_absolute_url), english) == "en"


def test_a_routines_page_and_the_home_page_show_the_spanish_texts(client, all_in):
    routine = all_in.routines.get()
    routine.description_es = "La batalla final de The Vortex."
    routine.save()
    page = get_spanish(client, routine.get_absolute_url)
    assert lang_of(page, "La batalla final de The Vortex.") is None
    home = get_spanish(client, lambda: reverse("films:home"))
    # The title card's synopsis and tagline.
    assert lang_of(home, "Sean se une a Moose para formar LMNTRIX.") is None
    assert lang_of(home, "The tagline in English.") == "en"


def test_the_cached_catalog_part_of_a_title_page_is_kept_per_language(client, all_in, settings):
    """Caching on, as in production: the title page's catalog part is one fragment cached
    until the catalog changes. The English one must never be served on the Spanish page, nor
    the Spanish one on the English page, for visitors and for members alike."""
    assert settings.PAGE_CACHE_SECONDS > 0
    english = get_english(client, all_in.get_absolute_url)
    assert "Sean teams up with Moose" in text_of(parse(english).find("body"))
    spanish = get_spanish(client, all_in.get_absolute_url)
    assert lang_of(spanish, "Sean se une a Moose para formar LMNTRIX.") is None
    assert "Sean teams up with Moose" not in text_of(parse(spanish).find("body"))
    # Both again, now from the caches.
    again = get_english(client, all_in.get_absolute_url)
    assert again["X-Page-Cache"] == "hit"
    assert "Sean se une" not in text_of(parse(again).find("body"))
    assert "Sean se une" in text_of(
        parse(get_spanish(client, all_in.get_absolute_url)).find("body")
    )
    # Members' pages are never stored whole: only the fragments are shared.
    member = Client()
    member.force_login(StaffUserFactory())
    assert "Sean teams up" in text_of(
        parse(get_english(member, all_in.get_absolute_url)).find("body")
    )
    page = get_spanish(member, all_in.get_absolute_url)
    assert lang_of(page, "Sean se une a Moose para formar LMNTRIX.") is None
    assert "Sean teams up" not in text_of(parse(page).find("body"))


# --- The tag itself --------------------------------------------------------------------


def render(source, **context):
    return Template("{% load translated_text %}" + source).render(Context(context))


def test_the_tag_marks_only_text_shown_in_another_language():
    title = Title(name_en="A", synopsis_en="In English.", synopsis_es="En español.")
    tag = '{% translated_text title "synopsis" tag="p" class="lead" %}'
    with translation.override("es"):
        assert render(tag, title=title) == '<p class="lead">En español.</p>'
        title.synopsis_es = ""
        assert render(tag, title=title) == '<p class="lead" lang="en">In English.</p>'
        # tag="" (an attribute): only text in the page's language.
        assert render('{% translated_text title "synopsis" tag="" %}', title=title) == ""
    with translation.override("en"):
        assert render(tag, title=title) == '<p class="lead">In English.</p>'
        title.synopsis_en = ""
        assert render(tag, title=title) == ""  # no text, no empty element


def test_the_tag_escapes_truncates_and_breaks_lines():
    title = Title(name_en="A", synopsis_en="<b>One</b> two three four\nfive")
    with translation.override("en"):
        assert render('{% translated_text title "synopsis" truncatewords=2 %}', title=title) == (
            "<span>&lt;b&gt;One&lt;/b&gt; two …</span>"
        )
        assert render(
            '{% translated_text title "synopsis" tag="div" linebreaks=True %}', title=title
        ) == ("<div>&lt;b&gt;One&lt;/b&gt; two three four<br>five</div>")
        with pytest.raises(TemplateSyntaxError):
            render('{% translated_text title "synopsis" tag="script" %}', title=title)


def test_the_tag_shows_a_field_kept_in_one_language_as_it_is():
    person = PersonFactory.build(name="Ne-Yo")
    with translation.override("es"):
        assert render('{% translated_text person "name" %}', person=person) == "<span>Ne-Yo</span>"
