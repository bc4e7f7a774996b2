"""Writes to the catalog that touch several rows at once."""

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.db import transaction

from .models import Character, Credit, Crew, CrewMembership, Person, Routine, Title, Trivia

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


@dataclass
class CatalogLoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, model, *, created: bool, updated: bool = False):
        label = model._meta.verbose_name_plural
        if created:
            self.created[label] = self.created.get(label, 0) + 1
        elif updated:
            self.updated[label] = self.updated.get(label, 0) + 1


def _upsert(model, report, *, lookup, defaults, overwrite):
    """Create the row if missing; change an existing one only when asked to.

    By default a row staff may have edited in the admin is left exactly as it is,
    so loading the catalog again never undoes their curation.
    """
    instance = model.objects.filter(**lookup).first()
    if instance is None:
        instance = model(**lookup, **defaults)
        instance.save()
        report.count(model, created=True)
        return instance, True
    changed = [name for name, value in defaults.items() if getattr(instance, name) != value]
    if overwrite and changed:
        for name in changed:
            setattr(instance, name, defaults[name])
        instance.save()
        report.count(model, created=False, updated=True)
    return instance, False


@transaction.atomic
def catalog_load(*, path: Path = CATALOG_FILE, overwrite: bool = False) -> CatalogLoadReport:
    """Load the franchise catalog from its JSON file; safe to run any number of times."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    report = CatalogLoadReport()

    people = {
        entry["slug"]: _upsert(
            Person,
            report,
            lookup={"slug": entry["slug"]},
            defaults={"name": entry["name"], "bio": entry.get("bio", "")},
            overwrite=overwrite,
        )[0]
        for entry in data["people"]
    }
    characters = {
        entry["slug"]: _upsert(
            Character,
            report,
            lookup={"slug": entry["slug"]},
            defaults={"name": entry["name"], "description": entry.get("description", "")},
            overwrite=overwrite,
        )[0]
        for entry in data["characters"]
    }
    crews = {
        entry["slug"]: _upsert(
            Crew,
            report,
            lookup={"slug": entry["slug"]},
            defaults={"name": entry["name"], "description": entry.get("description", "")},
            overwrite=overwrite,
        )[0]
        for entry in data["crews"]
    }
    sources = data.get("sources", {})

    for entry in data["titles"]:
        defaults = {
            name: entry.get(name, "" if name in BLANK_TEXT_FIELDS else None)
            for name in TITLE_FIELDS
        }
        if defaults["release_date"]:
            defaults["release_date"] = date.fromisoformat(defaults["release_date"])
        title, _ = _upsert(
            Title, report, lookup={"slug": entry["slug"]}, defaults=defaults, overwrite=overwrite
        )

        for billing, credit in enumerate(entry.get("credits", []), start=1):
            _upsert(
                Credit,
                report,
                lookup={
                    "title": title,
                    "person": people[credit["person"]],
                    "role": credit["role"],
                    "character": characters.get(credit.get("character")),
                },
                defaults={"billing": billing * 10},
                overwrite=overwrite,
            )

        for crew_slug, members in entry.get("crews", {}).items():
            for member in members:
                _upsert(
                    CrewMembership,
                    report,
                    lookup={
                        "crew": crews[crew_slug],
                        "title": title,
                        "person": people[member["person"]],
                    },
                    defaults={"character": characters.get(member.get("character"))},
                    overwrite=overwrite,
                )

        for order, routine_data in enumerate(entry.get("routines", []), start=1):
            routine, created = _upsert(
                Routine,
                report,
                lookup={"title": title, "slug": routine_data["slug"]},
                defaults={
                    "name": routine_data["name"],
                    "order": order * 10,
                    "description": routine_data.get("description", ""),
                },
                overwrite=overwrite,
            )
            if created or overwrite:
                routine.crews.set([crews[slug] for slug in routine_data.get("crews", [])])
                routine.choreographers.set(
                    [people[slug] for slug in routine_data.get("choreographers", [])]
                )

        for order, trivia in enumerate(entry.get("trivia", []), start=1):
            _upsert(
                Trivia,
                report,
                lookup={"title": title, "text": trivia["text"]},
                defaults={
                    "order": order * 10,
                    "source": sources.get(trivia.get("source"), trivia.get("source", "")),
                },
                overwrite=overwrite,
            )
    return report
