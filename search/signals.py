"""Keeps the index current: every save or deletion of a catalog record rewrites the index
rows it changes, in the same transaction as the write (so no page can show the catalog
changed and the search not yet)."""

from django.db.models.signals import post_delete, post_save, pre_delete

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

from . import services

MODELS = (Title, Person, Character, Credit, Crew, CrewMembership, Routine, RoutineDancer, Trivia)

# The fields whose values the index holds, by model (a translated copy, `synopsis_es`,
# counts as its field). A save of other fields alone (a title's featured review, stored
# rating counts) leaves the index as it is.
INDEXED_FIELDS = {
    Title: {"name", "slug", "kind", "tagline", "synopsis", "release_year", "franchise_position"},
    Person: {"name", "slug", "bio"},
    Character: {"name", "slug", "description"},
    Crew: {"name", "slug", "description"},
    Routine: {"name", "slug", "description", "title"},
}


def _indexed_change(instance, update_fields):
    fields = INDEXED_FIELDS.get(type(instance))
    if update_fields is None or fields is None:
        return True
    return any(name.rsplit("_", 1)[0] in fields or name in fields for name in update_fields)


def _on_save(sender, instance, update_fields=None, raw=False, **kwargs):
    if raw or not _indexed_change(instance, update_fields):
        return  # fixtures load rows with their index rows alongside
    services.search_index_update(changed=services.affected_by(instance))


def _before_delete(sender, instance, **kwargs):
    # What it reaches can only be read while it is still there.
    instance._search_affected = services.affected_by(instance)


def _on_delete(sender, instance, **kwargs):
    affected = getattr(instance, "_search_affected", None) or services.affected_by(instance)
    services.search_index_update(changed=affected)


def connect():
    for model in MODELS:
        uid = f"search-index:{model._meta.label}"
        post_save.connect(_on_save, sender=model, dispatch_uid=f"{uid}:save")
        pre_delete.connect(_before_delete, sender=model, dispatch_uid=f"{uid}:pre-delete")
        post_delete.connect(_on_delete, sender=model, dispatch_uid=f"{uid}:delete")
