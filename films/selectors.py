"""Reads of the catalog that more than one part of the site shares."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Prefetch

from .models import Character, Credit, Person, Routine, Title

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
    titles = list(Title.objects.in_release_order())
    characters = Character.objects.prefetch_related(
        Prefetch("credits", Credit.objects.select_related("person").order_by("billing", "id"))
    )
    rows = [character_row(character, titles) for character in characters]
    rows.sort(
        key=lambda row: (not row.is_returning, row.first_appearance, row.character.name.casefold())
    )
    return titles, rows


def _release_key(title):
    """Where a title stands in release order (as Title.objects.in_release_order sorts)."""
    return (
        title.release_year is None,
        title.release_year or 0,
        title.release_date is None,
        title.release_date or date.min,
        title.franchise_position,
    )


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
    others = Credit.objects.filter(character_id__in=characters).exclude(title=title)
    released = _release_key(title)
    titles_of = {}
    for credit in sorted(
        others.select_related("title"), key=lambda c: (_release_key(c.title), c.pk)
    ):
        if _release_key(credit.title) < released:
            titles_of.setdefault(credit.character_id, {}).setdefault(credit.title_id, credit.title)
    return [
        (character, list(titles_of[pk].values()))
        for pk, character in characters.items()
        if pk in titles_of
    ]


# --- The routine leaderboard --------------------------------------------------------------

# m in the weighted rating: each routine's average is pulled towards the site's average of
# all routine ratings as if it had this many more ratings at that average. At ten, a
# routine's own average counts as much as the site's once ten members have rated it: one or
# two enthusiastic votes move a new routine only a little, while a routine rated by a
# hundred members is ranked almost entirely by its own average.
ROUTINE_PRIOR_VOTES = 10


def weighted_rating(*, votes, rating_sum, prior_votes, site_average):
    """IMDb's weighted rating WR = v/(v+m)·R + m/(v+m)·C, in stars.

    `votes` (v) and `rating_sum` are the routine's stored count and sum of half-stars (so
    v·R is rating_sum / 2), `prior_votes` is m and `site_average` C, in stars.
    """
    return (rating_sum / 2 + prior_votes * site_average) / (votes + prior_votes)


@dataclass(frozen=True)
class RankedRoutine:
    routine: Routine
    rank: int | None  # None: no ratings yet, so unranked
    score: float | None  # the weighted rating, in stars


@dataclass(frozen=True)
class RoutineLeaderboard:
    """Every routine, best first: ranked by weighted rating, then those with no ratings."""

    entries: list
    prior_votes: int  # m
    site_average: float | None  # C, in stars: None before the first routine rating
    total_votes: int

    @property
    def ranked(self):
        return [entry for entry in self.entries if entry.rank is not None]

    def titles(self):
        """The titles with routines, in franchise order (the title filter's choices)."""
        titles = {entry.routine.title_id: entry.routine.title for entry in self.entries}
        return sorted(titles.values(), key=lambda title: title.franchise_position)

    def crews(self):
        """The crews dancing a routine, by name (the crew filter's choices)."""
        crews = {crew.pk: crew for entry in self.entries for crew in entry.routine.crews.all()}
        return sorted(crews.values(), key=lambda crew: crew.name.casefold())

    def filtered(self, *, title="", crew="", best_of_each_title=False):
        """The entries of the title and of the crew (by slug) asked for, or only the best
        ranked routine of each title; ranks stay the franchise-wide ones."""
        entries = self.entries
        if title:
            entries = [entry for entry in entries if entry.routine.title.slug == title]
        if crew:
            entries = [
                entry
                for entry in entries
                if any(each.slug == crew for each in entry.routine.crews.all())
            ]
        if best_of_each_title:
            # A title none of whose routines is rated has no best one yet.
            seen = set()
            best = []
            for entry in entries:
                if entry.rank is not None and entry.routine.title_id not in seen:
                    seen.add(entry.routine.title_id)
                    best.append(entry)
            entries = best
        return entries


def rank_routines(routines, *, prior_votes=ROUTINE_PRIOR_VOTES):
    """The leaderboard of `routines`, which must be all of them: C is their mean rating.

    Routines with ratings come first, by weighted rating; equal scores share a rank, the
    one with more votes listed first, then in franchise order. Routines no one has rated
    follow, unranked, in franchise order: their weighted rating would be C exactly, which
    would place them above every routine rated below the average on no evidence at all.
    """
    routines = list(routines)
    total_votes = sum(routine.rating_count for routine in routines)
    total_half_stars = sum(routine.rating_sum for routine in routines)
    site_average = total_half_stars / total_votes / 2 if total_votes else None

    def franchise_order(routine):
        return (routine.title.franchise_position, routine.order, routine.pk)

    rated = [routine for routine in routines if routine.rating_count]
    scores = {
        routine.pk: weighted_rating(
            votes=routine.rating_count,
            rating_sum=routine.rating_sum,
            prior_votes=prior_votes,
            site_average=site_average,
        )
        for routine in rated
    }
    # Rounded for comparing: equal ratings reached by different sums are the same score.
    compared = {pk: round(score, 9) for pk, score in scores.items()}
    rated.sort(key=lambda r: (-compared[r.pk], -r.rating_count, *franchise_order(r)))
    entries = []
    for position, routine in enumerate(rated, start=1):
        tied = entries and compared[entries[-1].routine.pk] == compared[routine.pk]
        rank = entries[-1].rank if tied else position
        entries.append(RankedRoutine(routine, rank, scores[routine.pk]))
    unrated = sorted((r for r in routines if not r.rating_count), key=franchise_order)
    entries += [RankedRoutine(routine, None, None) for routine in unrated]
    return RoutineLeaderboard(entries, prior_votes, site_average, total_votes)


def routine_leaderboard(*, with_crews=True):
    """Every routine of the franchise ranked (rank_routines): one query for the routines
    with their titles, one for their crews, whatever their number."""
    routines = Routine.objects.select_related("title")
    if with_crews:
        routines = routines.prefetch_related("crews")
    return rank_routines(routines)
