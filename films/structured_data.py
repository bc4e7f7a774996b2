"""schema.org data for search engines (JSON-LD), built here for every public page:

- a title: a Movie (the series: a TVSeries) with its directors or creators, its cast, its
  poster, its average rating when it has ratings, and its top reviews (reviews' part,
  reviews.structured_data, passed in by the view: the catalog does not read reviews);
- a person: a Person, with only what the catalog holds;
- every page: a BreadcrumbList that matches the trail the page shows
  (templates/films/_breadcrumb.html); pages without one show the site's own place.

What the page shows goes in as it is shown: nothing is inferred (a blank field beats a
wrong one).
"""

import json

from django.urls import reverse
from django.utils.html import _json_script_escapes
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext

from .models import Credit

SCHEMA = "https://schema.org"
# The site's scale, half a star to five stars (1 to 10 stored half-stars).
BEST_RATING = 5
WORST_RATING = 0.5


def json_ld(*items):
    """<script type="application/ld+json"> elements for `items`, escaped as json_script
    escapes: a name holding "</script>" or "<!--" cannot end the element."""
    scripts = (
        '<script type="application/ld+json">'
        + json.dumps(item, ensure_ascii=False, separators=(",", ":")).translate(
            _json_script_escapes
        )
        + "</script>"
        for item in items
        if item
    )
    return mark_safe("\n".join(scripts))


def breadcrumb_list(request, trail):
    """A BreadcrumbList of `trail`: (name, path) pairs, the page itself last."""
    return {
        "@context": SCHEMA,
        "@type": "BreadcrumbList",
        "itemListElement": [
            {
                "@type": "ListItem",
                "position": position,
                "name": str(name),
                "item": request.build_absolute_uri(path),
            }
            for position, (name, path) in enumerate(trail, start=1)
        ],
    }


def entry_breadcrumb(request, list_name, list_label, entry):
    """The trail an entry's page shows: its list, then the entry."""
    return breadcrumb_list(
        request, [(list_label, reverse(list_name)), (entry.name, entry.get_absolute_url())]
    )


def home_trail():
    return (gettext("Step Up Community"), reverse("films:home"))


def list_breadcrumb(request, url_name, label):
    """A list page shows no trail: its place under the home page, as the menu has it."""
    return breadcrumb_list(request, [home_trail(), (label, reverse(url_name))])


def person_ref(request, person):
    return {
        "@type": "Person",
        "name": person.name,
        "url": request.build_absolute_uri(person.get_absolute_url()),
    }


def rating(value):
    """A Rating in stars on the site's scale; `value` in stars (0.5 to 5)."""
    return {
        "@type": "Rating",
        "ratingValue": value,
        "bestRating": BEST_RATING,
        "worstRating": WORST_RATING,
    }


def aggregate_rating(title):
    """The title's average from its stored counts; None before its first rating (an
    aggregateRating with no ratings is an error for search engines)."""
    if not title.rating_count:
        return None
    return {
        "@type": "AggregateRating",
        "ratingValue": round(title.rating_average, 2),
        "bestRating": BEST_RATING,
        "worstRating": WORST_RATING,
        "ratingCount": title.rating_count,
        "reviewCount": title.text_review_count,
    }


def title_data(request, title, *, reviews=()):
    """The title as a Movie or TVSeries; `reviews`: its Review items, best first."""
    credits = sorted(_credits(title), key=lambda credit: (credit.billing, credit.pk))

    def people(role):
        seen = {}
        for credit in credits:
            if credit.role == role:
                seen.setdefault(credit.person.pk, person_ref(request, credit.person))
        return list(seen.values())

    data = {
        "@context": SCHEMA,
        "@type": "TVSeries" if title.is_series else "Movie",
        "name": title.name,
        "url": request.build_absolute_uri(title.get_absolute_url()),
        # The resized copy the title page shows, never the upload itself (megabytes).
        "image": request.build_absolute_uri(title.poster_large_url),
    }
    if title.release_date:
        data["datePublished"] = title.release_date.isoformat()
    else:
        data["datePublished"] = str(title.release_year)  # an ISO 8601 year
    if title.is_series:
        data["startDate"] = data["datePublished"]
        if title.seasons:
            data["numberOfSeasons"] = title.seasons
    elif title.runtime_minutes:
        data["duration"] = f"PT{title.runtime_minutes}M"
    if title.synopsis:
        data["description"] = title.synopsis
    if directors := people(Credit.Role.DIRECTOR):
        data["director"] = directors
    if creators := people(Credit.Role.CREATOR):
        data["creator"] = creators
    if actors := people(Credit.Role.CAST):
        data["actor"] = actors
    if aggregate := aggregate_rating(title):
        data["aggregateRating"] = aggregate
    if reviews:
        data["review"] = list(reviews)
    return data


def _credits(title):
    """The title's credits with their people: those the catalog part of its page has just
    read, when it was rendered in this request too (no query), or one query."""
    prefetched = getattr(title, "_prefetched_objects_cache", {}).get("credits")
    if prefetched is not None:
        return list(prefetched)
    return list(title.credits.select_related("person"))


def title_page_data(request, title, *, reviews=()):
    """The title page's JSON-LD (its Movie or TVSeries and its trail), as HTML."""
    return json_ld(
        title_data(request, title, reviews=reviews),
        entry_breadcrumb(request, "films:title_list", gettext("Titles"), title),
    )


def person_page_data(request, person):
    data = {
        "@context": SCHEMA,
        **person_ref(request, person),
    }
    if person.bio:
        data["description"] = person.bio
    return json_ld(data, entry_breadcrumb(request, "films:person_list", gettext("People"), person))


def character_page_data(request, character):
    # A character is nobody real: schema.org's Person would claim one. The trail alone.
    return json_ld(
        entry_breadcrumb(request, "films:character_list", gettext("Characters"), character)
    )


def crew_page_data(request, crew):
    # The crews dance in the stories (LMNTRIX, The Mob): no real DanceGroup. The trail alone.
    return json_ld(entry_breadcrumb(request, "films:crew_list", gettext("Dance crews"), crew))


def routine_page_data(request, routine):
    return json_ld(
        breadcrumb_list(
            request,
            [
                (gettext("Routines"), reverse("films:routine_list")),
                (routine.name, routine.get_absolute_url()),
            ],
        )
    )


# The lists by the label the trails of their entries' pages give them.
LIST_LABELS = {
    "films:title_list": lambda: gettext("Titles"),
    "films:person_list": lambda: gettext("People"),
    "films:character_list": lambda: gettext("Characters"),
    "films:crew_list": lambda: gettext("Dance crews"),
    "films:routine_list": lambda: gettext("Routines"),
    "films:search": lambda: gettext("Search"),
}


def list_page_data(request, url_name):
    return json_ld(list_breadcrumb(request, url_name, LIST_LABELS[url_name]()))


def home_page_data(request):
    website = {
        "@context": SCHEMA,
        "@type": "WebSite",
        "name": gettext("Step Up Community"),
        "url": request.build_absolute_uri(reverse("films:home")),
        "inLanguage": get_language() or "en",
    }
    return json_ld(website, breadcrumb_list(request, [home_trail()]))
