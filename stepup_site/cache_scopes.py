"""The project's map for the page caches (core.caching, settings.PAGE_CACHE_SCOPES): what
each cached page shows and what each write changes, as *scopes*, and the query parameters
each page reads. The one place that knows the apps' pages and models together, like urls.py.

A page is stored under the versions of its scopes; a write makes new versions of the scopes
that show what it changed, so it costs only those pages. Scope names:

- `title:<pk>`: a title's page (catalog and reviews parts), its review pages, its feeds
- `title-catalog:<pk>`: the catalog part of a title's page alone (facts, cast, returning
  characters, crews, routines, trivia), which a review, vote or comment leaves as it is
- `catalog:person:<pk>`, `catalog:character:<pk>`, `catalog:crew:<pk>`,
  `catalog:routine:<pk>`: those pages (a routine's shows its ratings too)
- `routines`: the routine leaderboard, which shows every routine's rating numbers
- `member:<pk>`: a member's profile and what only they see (their marks)
- `catalog:routine:<pk>`: a routine's page (with the reviews naming it best); `routines`:
  the routine leaderboard (how often reviews name each routine best)
- `home`; `feeds` (the sitewide feeds); `ratings` (the title list, the franchise page and
  the profiles' charts show every title's ratings);
  `lists` (the catalog lists, sitemap, generated posters); `search` (the search page, which
  shows text of every catalog record: any catalog write, and a rebuild of the index);
  `title-names` (the profiles, which name the titles reviewed, and the character pages,
  whose timelines name every title: too many to list for a title's edit);
  `character-timeline` (the characters
  list, which shows every cast credit)
- `site`: every page; what a write to anything not mapped here makes stale.
"""

from core.caching import SITE
from films.selectors import title_pk

# The query parameters each page that may be stored reads, by URL name: only these reach
# the view and the cache key (PageQueryMiddleware). A view that starts reading another one
# must be listed here with it, or the parameter never arrives.
PAGE_QUERY_PARAMETERS = {
    "films:home": (),
    "films:title_list": ("kind", "sort"),
    "films:title_detail": ("sort", "after", "before", "page", "lang"),
    "films:generated_poster": (),
    # ?v= names the image's version for the sites that keep copies: the view reads none.
    "films:share_image": (),
    "films:site_share_image": (),
    "films:person_list": (),
    "films:person_detail": (),
    "films:character_list": ("show",),
    "films:character_detail": (),
    "films:crew_list": (),
    "films:crew_detail": (),
    "films:routine_list": ("title", "crew", "best"),
    "films:routine_detail": (),
    "films:franchise": (),
    "films:search": ("q",),
    "accounts:profile": ("page",),
    "reviews:detail": (),
    "reviews:rss": ("lang",),
    "reviews:atom": ("lang",),
    "reviews:title_rss": ("lang",),
    "reviews:title_atom": ("lang",),
    "sitemap": ("p",),
    "robots": (),
}


def _pk(model, **lookup):
    return model.objects.filter(**lookup).values_list("pk", flat=True).first()


def _record(kind, model, slug):
    pk = _pk(model, slug=slug)
    return (f"catalog:{kind}:{pk}",) if pk else ()


def page_scopes(view_name, kwargs):
    """The scopes of a page by its URL name and arguments, or None: never stored whole.
    Read before the view runs, so a page holds data at least as new as its versions."""
    from accounts.models import User
    from films.models import Character, Crew, Person, Routine
    from reviews.models import Review

    if view_name == "films:title_detail":
        pk = title_pk(kwargs["slug"])
        # Both read at once: the page's, and its catalog part's (a fragment of its own).
        return (f"title:{pk}", f"title-catalog:{pk}") if pk else ()
    if view_name in ("reviews:title_rss", "reviews:title_atom"):
        pk = title_pk(kwargs["slug"])
        return (f"title:{pk}",) if pk else ()
    if view_name == "reviews:detail":
        title_id = Review.objects.filter(pk=kwargs["pk"]).values_list("title_id").first()
        return (f"title:{title_id[0]}",) if title_id else ()
    if view_name == "accounts:profile":
        pk = _pk(User, username=kwargs["username"])
        # Not "ratings", though its chart sets the member's ratings beside the whole
        # community's: every rating anywhere would empty every cached profile, for a share
        # one rating moves by a hair. The community side may lag by PAGE_CACHE_SECONDS.
        return (f"member:{pk}", "title-names") if pk else ()
    records = {
        "films:person_detail": ("person", Person),
        "films:character_detail": ("character", Character),
        "films:crew_detail": ("crew", Crew),
        "films:routine_detail": ("routine", Routine),
    }
    if view_name in records:
        scopes = _record(*records[view_name], kwargs["slug"])
        if view_name == "films:character_detail" and scopes:
            scopes += ("title-names",)  # its timeline names every title, in franchise order
        return scopes
    return {
        "films:home": ("home",),
        "films:title_list": ("lists", "ratings"),
        "films:generated_poster": ("lists",),
        "films:person_list": ("lists",),
        "films:character_list": ("lists", "character-timeline"),
        "films:crew_list": ("lists",),
        # Names of routines, titles and crews (lists), and every routine's rating numbers.
        "films:routine_list": ("routines", "lists"),
        # Every title's average and number of ratings (ratings), their names, years and
        # box office (lists: every title's save), the top routines' numbers (routines).
        "films:franchise": ("ratings", "lists", "routines"),
        "films:search": ("search",),
        "sitemap": ("lists",),
        "reviews:rss": ("feeds",),
        "reviews:atom": ("feeds",),
        "robots": (),
        # The share images are never stored whole (their views keep the bytes, keyed by
        # what they draw): their views answer a client's If-None-Match with 304.
    }.get(view_name)


# --- What a write changes --------------------------------------------------------------


def write_scopes(instance, *, created=False, update_fields=None):
    """The scopes a save or deletion of `instance` makes stale (before a deletion, while
    what it is linked to can still be read)."""
    scopes = _write_scopes(instance, created=created, update_fields=update_fields)
    if instance._meta.label in SEARCHED_MODELS:
        # The search index shows text of every record (a trivia item's, who plays whom),
        # rewritten in the same transaction as the write (search.signals).
        scopes = {*scopes, "search"}
    return scopes


# The catalog models whose text or links the site search shows (search.signals).
SEARCHED_MODELS = {
    f"films.{name}"
    for name in (
        "Title",
        "Person",
        "Character",
        "Credit",
        "Crew",
        "CrewMembership",
        "Routine",
        "RoutineDancer",
        "Trivia",
    )
}


def _write_scopes(instance, *, created=False, update_fields=None):
    from accounts.models import User
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
    from reviews.models import (
        Comment,
        HelpfulVote,
        ModerationAction,
        Report,
        Review,
        RoutineRating,
        TitleMonth,
    )

    if isinstance(instance, Review):
        scopes = {*_review_scopes(instance.title_id, instance.author_id, instance.best_routine_id)}
        if created or update_fields is None or {"rating", "status"} & set(update_fields):
            scopes.add("ratings")  # the title list shows every title's average
        return scopes | _best_routine_scopes(instance, created=created, update_fields=update_fields)
    if isinstance(instance, (HelpfulVote, Comment)):
        review = instance._state.fields_cache.get("review")
        if review is None:
            review = (
                Review.objects.filter(pk=instance.review_id)
                .only("title", "author", "best_routine")
                .first()
            )
        writer = instance.voter_id if isinstance(instance, HelpfulVote) else instance.author_id
        about = (
            _review_scopes(review.title_id, review.author_id, review.best_routine_id)
            if review
            else ("home",)
        )
        return {*about, f"member:{writer}"}
    if isinstance(instance, RoutineRating):
        return {*routine_rating_scopes(instance.routine_id), f"member:{instance.member_id}"}
    if isinstance(instance, TitleMonth):
        # Its title's chart of months; kept by reviews.counts without a signal, so this
        # is only for a write from elsewhere (a title's deletion, a repair).
        return {f"title:{instance.title_id}"}
    if isinstance(instance, Report):
        return {f"member:{instance.reporter_id}"}  # their "reported" marks, nobody else's
    if isinstance(instance, ModerationAction):
        return set()  # shown in the admin only
    if isinstance(instance, User):
        scopes = {f"member:{instance.pk}"}
        loaded = getattr(instance, "_loaded_username", None)  # the name read from the database
        if not created and loaded is not None and loaded != instance.username:
            scopes.add(SITE)  # a new name shows on every card they wrote
        return scopes
    kinds = {Title: "title", Person: "person", Character: "character", Crew: "crew"}
    if type(instance) in kinds:
        kind = kinds[type(instance)]
        scopes = {_scope(kind, instance.pk), "lists", *shown_with(kind, instance.pk)}
        if kind == "title":
            scopes |= {"home", "feeds", "title-names"}
            # Its name and place in release order show in the returning characters of the
            # titles it shares a character with.
            scopes |= _returning_sections(character__credits__title_id=instance.pk)
        return _with_catalog_parts(scopes | ({"home"} if kind == "crew" else set()))
    if isinstance(instance, Routine):  # named in search, the leaderboard and the home page
        return _with_catalog_parts(
            {
                "lists",
                *routine_rating_scopes(instance.pk),
                *_link_scopes(instance),
                *shown_with("routine", instance.pk),
            }
        ) | _named_best_in_scopes(instance)
    if isinstance(instance, Credit) and instance.character_id:
        # Who plays whom shows on the timeline, and who returns where on the title pages
        # of every title with this character, earlier and later ones alike.
        return _with_catalog_parts(
            {
                *_link_scopes(instance),
                "character-timeline",
                *_returning_sections(character_id=instance.character_id),
            }
        )
    if isinstance(instance, RoutineDancer):  # on the routine's page and the dancer's
        return _with_catalog_parts({*_link_scopes(instance), *_routine_title(instance)})
    if isinstance(instance, (Credit, CrewMembership, Trivia)):
        return _with_catalog_parts(
            {*_link_scopes(instance), *(("home",) if isinstance(instance, Trivia) else ())}
        )
    return {SITE}


def _returning_sections(**credits):
    """The catalog parts of the title pages whose returning characters a write may change:
    those of the titles of the `credits` selected (one character's, or those of every
    character in a title's cast)."""
    from films.models import Credit

    titles = Credit.objects.filter(**credits).values_list("title_id", flat=True).distinct()
    return {f"title-catalog:{pk}" for pk in titles}


def _with_catalog_parts(scopes):
    """A catalog write also makes the catalog part of each title page it reaches stale."""
    return scopes | {
        f"title-catalog:{s[len('title:') :]}" for s in scopes if s.startswith("title:")
    }


def m2m_scopes(instance, model, pk_set):
    """A routine's crews or choreographers changed (from either side): its page, its
    title's, theirs, and the leaderboard (which names the crews)."""
    from films.models import Routine

    if isinstance(instance, Routine):
        routines, others = [instance.pk], (_scope(_kind_of(model), pk) for pk in pk_set or ())
    else:
        routines, others = list(pk_set or ()), [_scope(_kind_of(type(instance)), instance.pk)]
    titles = Routine.objects.filter(pk__in=routines).values_list("title_id", flat=True)
    scopes = {*others, *(f"title:{pk}" for pk in titles), "routines"}
    for pk in routines:
        scopes |= {_scope("routine", pk), *shown_with("routine", pk)}
    return _with_catalog_parts(scopes)


def routine_rating_scopes(routine_id):
    """What a change to a routine's rating numbers makes stale (its stored count, sum, or
    best-routine count): its page, the leaderboard and the home page's top routines."""
    return {_scope("routine", routine_id), "routines", "home"}


def _routine_title(link):
    """The title page of a row's routine (read while the row can still be followed)."""
    routine = link._state.fields_cache.get("routine")
    if routine is not None:
        return {_scope("title", routine.title_id)}
    from films.models import Routine

    title_id = Routine.objects.filter(pk=link.routine_id).values_list("title_id", flat=True)
    return {_scope("title", pk) for pk in title_id}


def _review_scopes(title_id, author_id, best_routine_id=None):
    scopes = (f"title:{title_id}", f"member:{author_id}", "home", "feeds")
    # The page of the routine it names shows it among the reviews naming that routine.
    return (*scopes, f"catalog:routine:{best_routine_id}") if best_routine_id else scopes


def _named_best_in_scopes(routine):
    """The pages beyond its title's that show the cards of reviews naming `routine` best
    (their authors' profiles, the home page's latest reviews): a routine renamed or deleted
    changes the name or link on each card. One query."""
    from reviews.models import Review

    authors = set(Review.objects.filter(best_routine=routine).values_list("author_id", flat=True))
    return {f"member:{pk}" for pk in authors} | ({"home"} if authors else set())


def _best_routine_scopes(review, *, created, update_fields):
    """What a review's naming of its title's best routine changes, beyond _review_scopes:
    the page of the routine it named before this write, and the leaderboard ("routines",
    which shows how many published reviews name each routine) when the routine named, or
    whether the naming counts (the review's status), may have changed."""
    before = getattr(review, "_loaded_best_routine_id", None)
    named = {review.best_routine_id, before} - {None}
    if not named:
        return set()
    scopes = {f"catalog:routine:{pk}" for pk in named}
    if (
        created
        or update_fields is None  # a deletion, or a save of every field
        or "status" in update_fields
        or review.best_routine_id != before
    ):
        scopes.add("routines")
    return scopes


def _scope(kind, pk):
    return f"title:{pk}" if kind == "title" else f"catalog:{kind}:{pk}"


def _kind_of(model):
    return model._meta.model_name


def _link_scopes(link):
    """A row linking catalog records (a credit, a line-up, a routine, a routine's dancer):
    each record it names."""
    return {
        _scope(kind, getattr(link, f"{kind}_id"))
        for kind in ("title", "person", "character", "crew", "routine")
        if getattr(link, f"{kind}_id", None)
    }


def _links():
    """The tables that link catalog records, with the column that names each kind."""
    from films.models import Credit, CrewMembership, Routine, RoutineDancer

    kinds = {"title": "title_id", "person": "person_id", "character": "character_id"}
    via_routine = {"title": "routine__title_id", "routine": "routine_id"}
    return [
        (Credit, kinds),
        (CrewMembership, {**kinds, "crew": "crew_id"}),
        (Routine, {"title": "title_id", "routine": "id"}),  # a routine's page names its title
        (Routine.crews.through, {**via_routine, "crew": "crew_id"}),
        (Routine.choreographers.through, {**via_routine, "person": "person_id"}),
        (RoutineDancer, {**via_routine, "person": "person_id", "character": "character_id"}),
    ]


def shown_with(kind, pk):
    """The pages of the records shown with record `pk` of `kind` (a person's titles,
    characters and crews; a title's cast; ...): one query per table that links them."""
    scopes = set()
    for model, columns in _links():
        if kind not in columns:
            continue
        others = [(o, column) for o, column in columns.items() if o != kind]
        rows = model.objects.filter(**{columns[kind]: pk}).values_list(
            *(column for _other, column in others)
        )
        for row in rows:
            scopes |= {
                _scope(other, value)
                for (other, _column), value in zip(others, row, strict=True)
                if value
            }
    return scopes
