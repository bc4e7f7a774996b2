"""Reads of the catalog that more than one part of the site shares."""

from dataclasses import dataclass

from django.db.models import Prefetch

from .models import Character, Credit, Person, Title

_title_pks = {}


def title_pk(slug):
    """A title's id by its slug, from this process's memory after the first time (a title
    page asks on every member visit). A slug given to another title is caught by the
    caller, which checks the slug of the title it loads: forget_title_slug, then ask again."""
    pk = _title_pks.get(slug)
    if pk is None:
        pk = Title.objects.filter(slug=slug).values_list("pk", flat=True).first()
        if pk is not None:
            _title_pks[slug] = pk  # found slugs only: no memory for made-up ones
    return pk


def forget_title_slug(slug):
    _title_pks.pop(slug, None)


# --- Characters across the franchise ---------------------------------------------------


@dataclass(frozen=True)
class TimelineRow:
    """A character's row of the crossover timeline: for each title in release order, the
    people who play them in it (none: not in that title)."""

    character: Character
    cells: list[tuple[Title, list[Person]]]

    @property
    def title_count(self):
        return sum(1 for _title, people in self.cells if people)

    @property
    def is_returning(self):
        """In two or more titles."""
        return self.title_count >= 2

    @property
    def first_appearance(self):
        """The index of the first title they are in; after every title when in none."""
        return next((i for i, (_title, people) in enumerate(self.cells) if people), len(self.cells))


def character_timeline():
    """The titles in release order and every character's row across them, from the cast
    credits: returning characters first, then the others, each group in order of first
    appearance, then by name. Three queries whatever the number of characters."""
    titles = list(Title.objects.in_franchise_order())
    characters = Character.objects.prefetch_related(
        Prefetch("credits", Credit.objects.select_related("person").order_by("billing", "id"))
    )
    rows = [character_row(character, titles) for character in characters]
    rows.sort(
        key=lambda row: (not row.is_returning, row.first_appearance, row.character.name.casefold())
    )
    return titles, rows


def character_row(character, titles):
    """A character's row across `titles` (their credits prefetched, with their people)."""
    people = {}
    for credit in character.credits.all():
        people.setdefault(credit.title_id, []).append(credit.person)
    return TimelineRow(character, [(title, people.get(title.pk, [])) for title in titles])


def returning_characters(title, cast_credits):
    """The characters of `title`'s cast who appear in earlier titles (earlier in release
    order), in the cast's billing order, each with those titles in release order:
    [(character, [title, ...])]. One query, none when the cast is empty."""
    characters = {}
    for credit in cast_credits:
        characters.setdefault(credit.character_id, credit.character)
    if not characters:
        return []
    earlier = (
        Credit.objects.filter(
            character_id__in=characters,
            title__franchise_position__lt=title.franchise_position,
        )
        .select_related("title")
        .order_by("title__franchise_position", "id")
    )
    titles_of = {}
    for credit in earlier:
        titles_of.setdefault(credit.character_id, {}).setdefault(credit.title_id, credit.title)
    return [
        (character, list(titles_of[pk].values()))
        for pk, character in characters.items()
        if pk in titles_of
    ]
