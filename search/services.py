"""Writes to the search index: the whole of it again, or the rows of some records."""

import contextlib
import contextvars

from django.db import connection, transaction

from core.caching import content_changed
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

from .backends import backend
from .documents import BUILDERS, entries
from .models import SearchEntry

Kind = SearchEntry.Kind

_paused = contextvars.ContextVar("search_index_paused", default=False)


@contextlib.contextmanager
def search_index_paused():
    """Writes inside leave the index alone (a bulk load, which rebuilds it after: one
    rebuild instead of one update per row written)."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


@transaction.atomic
def search_index_rebuild():
    """Every index row written again from the catalog; returns how many there are."""
    SearchEntry.objects.all().delete()
    rows = [entry for kind in BUILDERS for entry in entries(kind)]
    SearchEntry.objects.bulk_create(rows, batch_size=500)
    with connection.cursor() as cursor:
        backend().rebuilt(cursor)
    content_changed("search")  # the scope of the search page (stepup_site/cache_scopes.py)
    return len(rows)


def search_index_update(*, changed):
    """Write again the index rows of the records in `changed` ({kind: primary keys}); a
    record that no longer exists loses its rows."""
    if _paused.get():
        return
    changed = {kind: set(pks) - {None} for kind, pks in changed.items()}
    changed = {kind: pks for kind, pks in changed.items() if pks}
    if not changed:
        return
    with transaction.atomic():
        for kind, pks in changed.items():
            SearchEntry.objects.filter(kind=kind, object_id__in=pks).delete()
            SearchEntry.objects.bulk_create(entries(kind, pks))


def _pks(queryset, column):
    return set(queryset.values_list(column, flat=True))


def affected_by(instance):
    """{kind: primary keys} of the records whose index rows show something of `instance`:
    itself, and the records whose text or context names it (a person's name is in the
    rows of the characters they play and the routines they dance)."""
    pk = instance.pk
    if isinstance(instance, Title):
        return {
            Kind.TITLE: {pk},
            Kind.ROUTINE: _pks(Routine.objects.filter(title_id=pk), "pk"),
            Kind.TRIVIA: _pks(Trivia.objects.filter(title_id=pk), "pk"),
            Kind.CHARACTER: _pks(Credit.objects.filter(title_id=pk), "character_id"),
            Kind.PERSON: _pks(Credit.objects.filter(title_id=pk), "person_id"),
            Kind.CREW: _pks(CrewMembership.objects.filter(title_id=pk), "crew_id"),
        }
    if isinstance(instance, Person):
        return {
            Kind.PERSON: {pk},
            Kind.CHARACTER: _pks(Credit.objects.filter(person_id=pk), "character_id"),
            Kind.ROUTINE: _pks(RoutineDancer.objects.filter(person_id=pk), "routine_id"),
        }
    if isinstance(instance, Character):
        return {
            Kind.CHARACTER: {pk},
            Kind.PERSON: _pks(Credit.objects.filter(character_id=pk), "person_id"),
            Kind.ROUTINE: _pks(RoutineDancer.objects.filter(character_id=pk), "routine_id"),
        }
    if isinstance(instance, Credit):
        return {Kind.PERSON: {instance.person_id}, Kind.CHARACTER: {instance.character_id}}
    if isinstance(instance, Crew):
        return {Kind.CREW: {pk}}
    if isinstance(instance, CrewMembership):
        return {Kind.CREW: {instance.crew_id}}
    if isinstance(instance, Routine):
        return {Kind.ROUTINE: {pk}}
    if isinstance(instance, RoutineDancer):
        return {Kind.ROUTINE: {instance.routine_id}}
    if isinstance(instance, Trivia):
        return {Kind.TRIVIA: {pk}}
    return {}
