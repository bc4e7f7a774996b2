"""What the index holds of each catalog record, in each of the site's languages.

Catalog text may be translated (django-modeltranslation's `<field>_<code>` columns, e.g.
`synopsis_es`): a language's text is that column when it is filled, else the default
language's column, else the field itself, so this reads the catalog the same way before and
after the translated columns exist.
"""

from django.conf import settings
from django.db.models import Prefetch

from films.models import (
    Character,
    Credit,
    Crew,
    CrewMembership,
    Person,
    Routine,
    RoutineDancer,
    Title,
    Trivia,
)
from films.search import normalize_for_search

from .models import SearchEntry

Kind = SearchEntry.Kind

# Marks the snippets' matching words (backends.py); never allowed inside indexed text, so
# catalog text cannot fake a highlight. Private-use characters: no text has them.
MARK_START, MARK_END = "\ue000", "\ue001"


def languages():
    """The site's language codes, the default first."""
    codes = [code for code, _name in settings.LANGUAGES]
    default = settings.LANGUAGE_CODE
    return [default, *(code for code in codes if code != default)]


def translated(obj, field, language):
    """`obj.field` in `language`, falling back to the default language, then the field."""
    for name in (f"{field}_{language}", f"{field}_{settings.LANGUAGE_CODE}", field):
        value = getattr(obj, name, None)
        if value not in (None, ""):
            return _clean(str(value))
    return ""


def _clean(text):
    return text.replace(MARK_START, "").replace(MARK_END, "").replace("\x00", "")


def _join(*parts):
    return "\n".join(part for part in parts if part)


def _titles(titles, language):
    """Titles named in a result's context, in release order: [name, year] pairs."""
    unique = {title.pk: title for title in titles}.values()
    ordered = sorted(unique, key=lambda t: (t.release_year or 9999, t.franchise_position))
    return [[translated(title, "name", language), title.release_year] for title in ordered]


def _unique(names):
    return list(dict.fromkeys(name for name in names if name))


# --- One builder per kind: (querysets with what each document needs, and the document) ----


def _title_rows():
    return Title.objects.all()


def _title_document(title, language):
    return {
        "name": translated(title, "name", language),
        "texts": [
            translated(title, "tagline", language),
            translated(title, "synopsis", language),
        ],
        "related": [str(title.release_year or "")],
        "year": title.release_year,
        "context": {"title_kind": title.kind},
        "slug": title.slug,
    }


def _person_rows():
    return Person.objects.all().prefetch_related(
        Prefetch(
            "credits",
            Credit.objects.cast().select_related("character", "title").order_by("billing"),
            to_attr="cast_credits",
        )
    )


def _person_document(person, language):
    credits = person.cast_credits
    characters = _unique(translated(c.character, "name", language) for c in credits)
    return {
        "name": translated(person, "name", language),
        "texts": [translated(person, "bio", language)],
        "related": characters,
        "year": None,
        "context": {
            "characters": characters,
            "titles": _titles([c.title for c in credits], language),
        },
        "slug": person.slug,
    }


def _character_rows():
    return Character.objects.all().prefetch_related(
        Prefetch(
            "credits",
            Credit.objects.select_related("person", "title").order_by("billing"),
            to_attr="cast_credits",
        )
    )


def _character_document(character, language):
    credits = character.cast_credits
    people = _unique(translated(c.person, "name", language) for c in credits)
    return {
        "name": translated(character, "name", language),
        "texts": [translated(character, "description", language)],
        "related": people,
        "year": None,
        "context": {"people": people, "titles": _titles([c.title for c in credits], language)},
        "slug": character.slug,
    }


def _crew_rows():
    return Crew.objects.all().prefetch_related(
        Prefetch("memberships", CrewMembership.objects.select_related("title"), to_attr="line_ups")
    )


def _crew_document(crew, language):
    return {
        "name": translated(crew, "name", language),
        "texts": [translated(crew, "description", language)],
        "related": [],
        "year": None,
        "context": {"titles": _titles([m.title for m in crew.line_ups], language)},
        "slug": crew.slug,
    }


def _routine_rows():
    return (
        Routine.objects.all()
        .select_related("title")
        .prefetch_related(
            Prefetch(
                "dancers",
                RoutineDancer.objects.select_related("person", "character"),
                to_attr="dancer_rows",
            )
        )
    )


def _routine_document(routine, language):
    dancers = _unique(translated(d.person, "name", language) for d in routine.dancer_rows)
    as_characters = _unique(
        translated(d.character, "name", language) for d in routine.dancer_rows if d.character
    )
    title = translated(routine.title, "name", language)
    return {
        "name": translated(routine, "name", language),
        "texts": [translated(routine, "description", language)],
        "related": [title, *dancers, *as_characters],
        "year": routine.title.release_year,
        "context": {"title": title, "dancers": dancers},
        "slug": routine.slug,
    }


def _trivia_rows():
    return Trivia.objects.all().select_related("title")


def _trivia_document(trivia, language):
    title = translated(trivia.title, "name", language)
    return {
        # Named by nothing of its own: a title's name is a match for the title, not for
        # each of its trivia items, so it is text here.
        "name": "",
        "texts": [translated(trivia, "text", language)],
        "related": [title],
        "year": trivia.title.release_year,
        "context": {"title": title},
        "slug": trivia.title.slug,
    }


BUILDERS = {
    Kind.TITLE: (_title_rows, _title_document),
    Kind.PERSON: (_person_rows, _person_document),
    Kind.CHARACTER: (_character_rows, _character_document),
    Kind.CREW: (_crew_rows, _crew_document),
    Kind.ROUTINE: (_routine_rows, _routine_document),
    Kind.TRIVIA: (_trivia_rows, _trivia_document),
}


def entries(kind, pks=None):
    """Unsaved index rows for the records of `kind` (those in `pks`, or every one), one per
    record and language. A fixed number of queries per kind, whatever the count."""
    rows, document = BUILDERS[kind]
    records = rows() if pks is None else rows().filter(pk__in=pks)
    codes = languages()
    built = []
    for record in records:
        documents = {code: document(record, code) for code in codes}
        names = {doc["name"] for doc in documents.values()} - {""}
        # Folded names ("neyo" for Ne-Yo, "stepupallin"), and the names in other languages.
        keywords = {normalize_for_search(name) for name in names} - {""}
        for code, doc in documents.items():
            others = _join(
                *_unique(
                    text
                    for other, other_doc in documents.items()
                    if other != code
                    for text in (*other_doc["texts"], *other_doc["related"])
                    if text not in (*doc["texts"], *doc["related"])
                )
            )
            built.append(
                SearchEntry(
                    kind=kind,
                    object_id=record.pk,
                    language=code,
                    name=doc["name"],
                    keywords=" ".join(sorted(keywords | (names - {doc["name"]}))),
                    body=_join(*doc["texts"]),
                    related=_join(*doc["related"]),
                    other_languages=others,
                    year=doc["year"],
                    context=doc["context"],
                    slug=doc["slug"],
                )
            )
    return built
