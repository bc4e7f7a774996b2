import hashlib

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from core.caching import cached_fragment, caching_enabled, page_scopes, scope_versions
from reviews.routine_section import routine_page_context
from reviews.selectors import latest_written_reviews, written_staff_picks
from reviews.structured_data import title_review_items
from reviews.title_section import member_title_page, title_page_context

from . import share, structured_data
from .charts import box_office_figure, ratings_figure, routines_figure
from .forms import RoutineFilterForm, TitleFilterForm
from .models import Character, Credit, Crew, Person, Routine, Title, Trivia
from .posters import render_generated_poster
from .selectors import (
    character_row,
    character_timeline,
    forget_title_slug,
    returning_characters,
    routine_leaderboard,
    title_pk,
)
from .share_image import DRAWN_FIELDS, site_share_png, title_share_png

SHARE_IMAGE_CACHE_SECONDS = 60 * 60
HOME_LATEST_REVIEWS = 4
HOME_STAFF_PICKS = 2
HOME_TOP_ROUTINES = 5
GENERATED_POSTER_CACHE_SECONDS = 7 * 24 * 60 * 60


@require_safe
def home(request):
    titles = Title.objects.in_franchise_order()
    did_you_know = Trivia.objects.select_related("title")[:4]
    crews = Crew.objects.all()
    return render(
        request,
        "films/home.html",
        {
            "titles": titles,
            "did_you_know": did_you_know,
            "crews": crews,
            "latest_reviews": latest_written_reviews()[:HOME_LATEST_REVIEWS],
            "staff_picks": written_staff_picks()[:HOME_STAFF_PICKS],
            "top_routines": routine_leaderboard(with_crews=False).ranked[:HOME_TOP_ROUTINES],
            "share": share.home_share(request),
            "structured_data": structured_data.home_page_data(request),
        },
    )


def _list_page(request, url_name):
    """What every list page adds for machines: its card and its trail."""
    return {
        "share": share.list_share(request, url_name),
        "structured_data": structured_data.list_page_data(request, url_name),
    }


@require_safe
def title_list(request):
    form = TitleFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        # An unknown filter (an old or hand-edited link) quietly shows the default list.
        form = TitleFilterForm()
    titles = form.filter(Title.objects.all())
    return render(
        request,
        "films/title_list.html",
        {"form": form, "titles": titles, **_list_page(request, "films:title_list")},
    )


def _title(request, slug):
    """The title by its slug; its row (stored aggregates, the staff pick) from the cache
    while its scope has not changed."""
    titles = Title.objects.select_related(
        "featured_review__author", "featured_review__best_routine"
    )
    pk = title_pk(slug) if caching_enabled() else None
    title = None
    if pk is not None:
        scope_versions(request, page_scopes(request) or ())  # every part's, in one read
        title = cached_fragment(
            request, ("title", pk), lambda: titles.filter(pk=pk).first(), scopes=[f"title:{pk}"]
        )
    if title is None or title.slug != slug:
        # Not cached, or the slug went to another title: ask the database, keep nothing.
        if pk is not None:
            forget_title_slug(slug)
            request._page_storable = False
        title = get_object_or_404(titles, slug=slug)
    return title


@require_safe
def title_detail(request, slug):
    title = _title(request, slug)
    facts_html, sections_html = cached_fragment(
        request,
        ("title-catalog", title.pk),
        lambda: render_title_catalog(title),
        # Its own scope: the reviews written all day long leave it as it is.
        scopes=[f"title-catalog:{title.pk}"],
    )
    catalog = {
        "title": title,
        "title_facts_html": facts_html,
        "title_sections_html": sections_html,
        "share": share.title_share(request, title),
        "structured_data": cached_fragment(
            request,
            ("title-structured-data", title.pk, request.build_absolute_uri("/"), get_language()),
            lambda: structured_data.title_page_data(
                request, title, reviews=title_review_items(request, title)
            ),
            # Its average and top reviews change with the reviews (title:), its credits
            # and facts with the catalog (title-catalog:).
            scopes=[f"title:{title.pk}", f"title-catalog:{title.pk}"],
        ),
    }
    # Visitors get whole pages from AnonymousPageCacheMiddleware. Members get one copy
    # shared by all of them, with their own parts in its slots, unless the page has
    # something only for them that the copy has no slot for (a message after a post).
    if request.user.is_authenticated and caching_enabled() and not get_messages(request):
        return member_title_page(request, title, catalog)
    return render(
        request, "films/title_detail.html", {**catalog, **title_page_context(request, title)}
    )


def render_title_catalog(title):
    """The parts of a title page every reader sees alike: its facts, cast, returning
    characters, crews, routines and trivia (fetched only when the cached copy is stale)."""
    prefetch_related_objects([title], *Title.objects.detail_prefetches())
    credits = list(title.credits.all())
    people_by_job = {
        role: [credit.person for credit in credits if credit.role == role]
        for role in Credit.Role
        if role != Credit.Role.CAST
    }
    cast_credits = [credit for credit in credits if credit.role == Credit.Role.CAST]
    context = {
        "title": title,
        "jobs": [
            (Credit.job_heading(role, len(people)), people)
            for role, people in people_by_job.items()
            if people
        ],
        "cast_credits": cast_credits,
        "returning_characters": returning_characters(title, cast_credits),
        "crews_without_line_up": crews_without_line_up(title),
    }
    return (
        render_to_string("films/_title_facts.html", context),
        render_to_string("films/_title_sections.html", context),
    )


def crews_without_line_up(title):
    """Crews that dance a routine in the title but whose members there are not recorded."""
    with_line_up = {membership.crew_id for membership in title.crew_memberships.all()}
    crews = {crew.pk: crew for routine in title.routines.all() for crew in routine.crews.all()}
    return sorted(
        (crew for pk, crew in crews.items() if pk not in with_line_up), key=lambda c: c.name
    )


@require_safe
def generated_poster(request, slug):
    """The Pillow-drawn poster a title shows until staff upload a real one."""
    title = get_object_or_404(
        Title.objects.only("name", "slug", "release_year", "franchise_position"), slug=slug
    )
    # The key hashes everything drawn, so a renamed title gets a new poster at once.
    drawn = f"{title.franchise_position}\n{title.name}\n{title.release_year}"
    cache_key = f"generated-poster:v1:{hashlib.sha256(drawn.encode()).hexdigest()}"
    png = cache.get(cache_key)
    if png is None:
        png = render_generated_poster(
            name=title.name, year=title.release_year, colour_index=title.franchise_position
        )
        cache.set(cache_key, png, timeout=GENERATED_POSTER_CACHE_SECONDS)
    response = HttpResponse(png, content_type="image/png")
    patch_cache_control(response, public=True, max_age=24 * 60 * 60)
    return response


def _png_response(request, png, etag):
    """The image, or 304 Not Modified for a client that holds this very one."""
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = HttpResponse(png, content_type="image/png")
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=SHARE_IMAGE_CACHE_SECONDS)
    return response


@require_safe
def share_image(request, slug):
    """The title's image for social cards (og:image), in the page's language."""
    title = get_object_or_404(Title.objects.only(*DRAWN_FIELDS), slug=slug)
    return _png_response(request, *title_share_png(title, language=get_language()))


@require_safe
def site_share_image(request):
    """The site's card, for the pages with no image of their own."""
    return _png_response(request, *site_share_png(language=get_language()))


@require_safe
def person_list(request):
    return render(
        request,
        "films/person_list.html",
        {"people": Person.objects.all(), **_list_page(request, "films:person_list")},
    )


@require_safe
def person_detail(request, slug):
    person = get_object_or_404(Person.objects.with_career(), slug=slug)
    return render(
        request,
        "films/person_detail.html",
        {
            "person": person,
            "share": share.person_share(request, person),
            "structured_data": structured_data.person_page_data(request, person),
        },
    )


@require_safe
def character_list(request):
    """The crossover timeline: every character across every title."""
    titles, rows = character_timeline()
    returning = [row for row in rows if row.is_returning]
    # Any other value of `show` (an old or hand-edited link) shows everyone.
    returning_only = request.GET.get("show") == "returning"
    return render(
        request,
        "films/character_list.html",
        {
            "titles": titles,
            "returning_rows": returning,
            "other_rows": [] if returning_only else rows[len(returning) :],
            "returning_only": returning_only,
            "character_count": len(rows),
            **_list_page(request, "films:character_list"),
        },
    )


@require_safe
def character_detail(request, slug):
    character = get_object_or_404(Character.objects.with_appearances(), slug=slug)
    titles = Title.objects.in_release_order()
    return render(
        request,
        "films/character_detail.html",
        {
            "character": character,
            "timeline": character_row(character, titles),
            "share": share.character_share(request, character),
            "structured_data": structured_data.character_page_data(request, character),
        },
    )


@require_safe
def crew_list(request):
    return render(
        request,
        "films/crew_list.html",
        {"crews": Crew.objects.all(), **_list_page(request, "films:crew_list")},
    )


@require_safe
def crew_detail(request, slug):
    crew = get_object_or_404(Crew.objects.with_line_ups(), slug=slug)
    return render(
        request,
        "films/crew_detail.html",
        {
            "crew": crew,
            "share": share.crew_share(request, crew),
            "structured_data": structured_data.crew_page_data(request, crew),
        },
    )


@require_safe
def routine_list(request):
    """The franchise's routines ranked by weighted rating, filtered by the query string."""
    board = routine_leaderboard()
    form = RoutineFilterForm(request.GET or None, titles=board.titles(), crews=board.crews())
    return render(
        request,
        "films/routine_list.html",
        {
            "board": board,
            "form": form,
            "entries": board.filtered(**form.filters()),
            **_list_page(request, "films:routine_list"),
        },
    )


@require_safe
def franchise(request):
    """The franchise in figures: charts of the titles' averages, their box office and the
    routine leaderboard's top ten. Two queries whatever the catalog's size: the titles
    (stored averages and the catalog's box office), the routines with their titles."""
    titles = list(Title.objects.in_release_order())
    ranked = routine_leaderboard(with_crews=False).ranked
    return render(
        request,
        "films/franchise.html",
        {
            "figures": [
                ("ratings", _("How the community rates each title"), ratings_figure(titles)),
                ("box-office", _("Box office"), box_office_figure(titles)),
                ("routines", _("Top ten routines"), routines_figure(ranked)),
            ],
        },
    )


@require_safe
def routine_detail(request, slug):
    routine = get_object_or_404(
        Routine.objects.with_page_parts().prefetch_related("choreographers"), slug=slug
    )
    return render(
        request,
        "films/routine_detail.html",
        {
            "routine": routine,
            **routine_page_context(request, routine),
            "share": share.routine_share(request, routine),
            "structured_data": structured_data.routine_page_data(request, routine),
        },
    )
