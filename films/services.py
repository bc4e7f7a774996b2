"""Writes to the catalog that touch several rows at once."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.db import transaction

from .models import (
    CatalogSeedRecord,
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
from .translation import translated_fields

CATALOG_FILE = Path(__file__).resolve().parent / "catalog" / "catalog.json"

TITLE_FIELDS = [
    "name",
    "kind",
    "franchise_position",
    "release_year",
    "release_date",
    "runtime_minutes",
    "seasons",
    "tagline",
    "synopsis",
    "box_office_domestic_usd",
    "box_office_international_usd",
]
BLANK_TEXT_FIELDS = {"tagline", "synopsis"}
# The file's translated texts sit beside the English ones, as "<field>_es" (catalog.json).
SPANISH = "es"


class CatalogError(Exception):
    """The catalog file cannot be loaded; the message says where and why."""


@dataclass
class CatalogLoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    # Entries given Spanish texts (new ones and ones loaded before the file had them).
    translated: dict[str, int] = field(default_factory=dict)

    def count(self, model, outcome):
        tally = {"created": self.created, "translated": self.translated}.get(outcome, self.updated)
        label = str(model._meta.verbose_name_plural)
        tally[label] = tally.get(label, 0) + 1


class _Loader:
    """One load of the catalog file into the database, inside one transaction."""

    def __init__(self, *, overwrite):
        self.overwrite = overwrite
        self.report = CatalogLoadReport()
        self.seeded = set(CatalogSeedRecord.objects.values_list("key", flat=True))

    def upsert(self, model, *, key, lookup, defaults, entry=None):
        """The row for a catalog entry: created the first time the entry is loaded.

        Afterwards it is left as staff keep it (edited, or deleted: then None), unless
        `overwrite` asks to put the file's values back. The file's texts are English: a
        translated field is written to its `<field>_en` column, whatever language is active.
        With `entry` (the file's entry), its Spanish texts are loaded too (`translate`).
        """
        english = set(translated_fields(model))
        lookup = {f"{name}_en" if name in english else name: v for name, v in lookup.items()}
        defaults = {f"{name}_en" if name in english else name: v for name, v in defaults.items()}
        instance = model.objects.filter(**lookup).first()
        if entry is not None and instance is not None:
            self.translate(instance, key=key, entry=entry)
        if key in self.seeded and not self.overwrite:
            return instance, False
        if instance is None:
            instance = model(**lookup, **defaults)
            instance.save()
            self.report.count(model, "created")
            created = True
        else:
            created = False
            changed = [name for name, value in defaults.items() if getattr(instance, name) != value]
            if self.overwrite and changed:
                for name in changed:
                    setattr(instance, name, defaults[name])
                instance.save()
                self.report.count(model, "updated")
        self.record(key)
        if entry is not None and created:
            self.translate(instance, key=key, entry=entry)
        return instance, created

    def record(self, key):
        if key not in self.seeded:
            CatalogSeedRecord.objects.create(key=key)
            self.seeded.add(key)

    def translate(self, instance, *, key, entry):
        """The entry's Spanish texts from the file, each loaded once, as its English was.

        Each text is its own seed record (`<entry key>:<field>_es`), so the file can gain a
        translation for an entry loaded long before, and it reaches the database on the next
        load. It goes only into a blank field: a Spanish text an editor wrote first stays;
        once recorded, what editors do with it (reword it, clear it) stays too. And only
        beside the English text it translates: where an editor changed the English one, the
        file's Spanish would say something else, and the English is shown until an editor
        writes the Spanish. `overwrite` puts the file's texts back, English and Spanish; a
        Spanish text the file lacks is left as it is.
        """
        changed = []
        for name in translated_fields(type(instance)):
            column = f"{name}_{SPANISH}"
            text = entry.get(column) or ""
            text_key = f"{key}:{column}"
            if not text or (text_key in self.seeded and not self.overwrite):
                continue
            if not self.overwrite and getattr(instance, f"{name}_en") != entry.get(name):
                continue  # not recorded: it loads if the English is put back as the file has it
            current = getattr(instance, column)
            if (not current or self.overwrite) and current != text:
                setattr(instance, column, text)
                changed.append(column)
            self.record(text_key)
        if changed:
            instance.save(update_fields=changed)
            self.report.count(type(instance), "translated")

    def named_entries(self, model, entries, text_field):
        return {
            entry["slug"]: self.upsert(
                model,
                key=f"{model._meta.model_name}:{entry['slug']}",
                lookup={"slug": entry["slug"]},
                defaults={"name": entry["name"], text_field: entry.get(text_field, "")},
                entry=entry,
            )[0]
            for entry in entries
        }


def _read_catalog(path):
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise CatalogError(f"cannot read {path}: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise CatalogError(f"{path} is not valid JSON: {error}") from error
    known = {
        kind: {entry["slug"] for entry in data.get(kind, [])}
        for kind in ("people", "characters", "crews")
    }
    problems = []
    for title in data.get("titles", []):
        where = f"title {title.get('slug')!r}"
        for credit in title.get("credits", []):
            if credit.get("person") not in known["people"]:
                problems.append(f"{where}: credit names unknown person {credit.get('person')!r}")
            if "character" in credit and credit["character"] not in known["characters"]:
                problems.append(f"{where}: credit names unknown character {credit['character']!r}")
        for crew, members in title.get("crews", {}).items():
            if crew not in known["crews"]:
                problems.append(f"{where}: unknown crew {crew!r}")
            problems += [
                f"{where}: {crew} member is unknown person {member.get('person')!r}"
                for member in members
                if member.get("person") not in known["people"]
            ]
        for routine in title.get("routines", []):
            problems += [
                f"{where}: routine {routine['slug']!r} names unknown crew {slug!r}"
                for slug in routine.get("crews", [])
                if slug not in known["crews"]
            ]
            problems += [
                f"{where}: routine {routine['slug']!r} names unknown choreographer {slug!r}"
                for slug in routine.get("choreographers", [])
                if slug not in known["people"]
            ]
            problems += _dancer_problems(where, routine, known)
    if problems:
        raise CatalogError("; ".join(problems))
    return data


def _dancer_problems(where, routine, known):
    problems, seen = [], set()
    for dancer in routine.get("dancers", []):
        person = dancer.get("person")
        named = f"{where}: routine {routine['slug']!r}"
        if person not in known["people"]:
            problems.append(f"{named} names unknown dancer {person!r}")
        if "character" in dancer and dancer["character"] not in known["characters"]:
            problems.append(f"{named} names unknown character {dancer['character']!r}")
        if person in seen:  # one row per dancer of a routine (a database constraint)
            problems.append(f"{named} names dancer {person!r} twice")
        seen.add(person)
    return problems


@transaction.atomic
def catalog_load(*, path: Path = CATALOG_FILE, overwrite: bool = False) -> CatalogLoadReport:
    """Load the franchise catalog from its JSON file; safe to run any number of times.

    The first load creates everything. Later loads add only entries the file has gained
    since; `overwrite` resets every entry to the file (undoing admin edits).
    """
    data = _read_catalog(path)
    loader = _Loader(overwrite=overwrite)
    people = loader.named_entries(Person, data["people"], "bio")
    characters = loader.named_entries(Character, data["characters"], "description")
    crews = loader.named_entries(Crew, data["crews"], "description")
    sources = data.get("sources", {})

    for entry in data["titles"]:
        defaults = {
            name: entry.get(name, "" if name in BLANK_TEXT_FIELDS else None)
            for name in TITLE_FIELDS
        }
        if defaults["release_date"]:
            defaults["release_date"] = date.fromisoformat(defaults["release_date"])
        title, _ = loader.upsert(
            Title,
            key=f"title:{entry['slug']}",
            lookup={"slug": entry["slug"]},
            defaults=defaults,
            entry=entry,
        )
        if title is None:
            continue  # staff deleted the title: its credits and the rest go with it

        for billing, credit in enumerate(entry.get("credits", []), start=1):
            person = people[credit["person"]]
            character = characters.get(credit.get("character"))
            if person is None or ("character" in credit and character is None):
                continue
            loader.upsert(
                Credit,
                key=":".join(
                    ["credit", title.slug, person.slug, credit["role"], credit.get("character", "")]
                ),
                lookup={
                    "title": title,
                    "person": person,
                    "role": credit["role"],
                    "character": character,
                },
                defaults={"billing": billing * 10},
            )

        for crew_slug, members in entry.get("crews", {}).items():
            crew = crews[crew_slug]
            for member in members:
                person = people[member["person"]]
                if crew is None or person is None:
                    continue
                loader.upsert(
                    CrewMembership,
                    key=f"crewmembership:{crew.slug}:{title.slug}:{person.slug}",
                    lookup={"crew": crew, "title": title, "person": person},
                    defaults={"character": characters.get(member.get("character"))},
                )

        for order, routine_data in enumerate(entry.get("routines", []), start=1):
            routine, created = loader.upsert(
                Routine,
                key=f"routine:{title.slug}:{routine_data['slug']}",
                lookup={"title": title, "slug": routine_data["slug"]},
                defaults={
                    "name": routine_data["name"],
                    "order": order * 10,
                    "description": routine_data.get("description", ""),
                },
                entry=routine_data,
            )
            if routine is None:
                continue  # staff deleted the routine: its dancers went with it
            if created or overwrite:
                routine.crews.set(filter(None, (crews[s] for s in routine_data.get("crews", []))))
                routine.choreographers.set(
                    filter(None, (people[s] for s in routine_data.get("choreographers", [])))
                )
            # Rows of their own, like credits: a dancer the file gains is added to a routine
            # loaded before, and one staff edited or deleted stays as they left it.
            for place, dancer in enumerate(routine_data.get("dancers", []), start=1):
                person = people[dancer["person"]]
                character = characters.get(dancer.get("character"))
                if person is None or ("character" in dancer and character is None):
                    continue  # staff deleted the person, or the character they dance as
                loader.upsert(
                    RoutineDancer,
                    key=f"routinedancer:{routine_data['slug']}:{dancer['person']}",
                    lookup={"routine": routine, "person": person},
                    defaults={"character": character, "order": place * 10},
                )

        for order, trivia in enumerate(entry.get("trivia", []), start=1):
            text_hash = hashlib.sha256(trivia["text"].encode()).hexdigest()[:16]
            loader.upsert(
                Trivia,
                key=f"trivia:{title.slug}:{text_hash}",
                lookup={"title": title, "text": trivia["text"]},
                defaults={
                    "order": order * 10,
                    "source": sources.get(trivia.get("source"), trivia.get("source", "")),
                },
                entry=trivia,
            )
    return loader.report
