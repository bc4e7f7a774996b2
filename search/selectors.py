"""The search page's read: the hits of a query with what each result shows."""

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from films.models import Title

from .backends import backend, query_terms
from .models import SearchEntry

SEARCH_RESULTS_LIMIT = 50

PAGES = {
    SearchEntry.Kind.TITLE: "films:title_detail",
    SearchEntry.Kind.PERSON: "films:person_detail",
    SearchEntry.Kind.CHARACTER: "films:character_detail",
    SearchEntry.Kind.CREW: "films:crew_detail",
    SearchEntry.Kind.ROUTINE: "films:routine_detail",
    SearchEntry.Kind.TRIVIA: "films:title_detail",
}


@dataclass
class Result:
    kind: str
    kind_label: str
    name_html: str  # the name with the matching words in <mark>, the rest escaped
    snippet_html: str  # the same for the text around the matches
    year: int | None
    role: str  # plain text: "Played by Adam Sevani in Step Up 2: The Streets (2008)"
    url: str


@dataclass
class SearchResults:
    results: list
    total: int

    def by_kind(self):
        """(kind label, results) in the order the kinds first appear (best first)."""
        groups = {}
        for result in self.results:
            groups.setdefault(result.kind_label, []).append(result)
        return list(groups.items())


def search_language(language):
    """The index's language for the active one ("es-mx" reads "es"), else the default."""
    codes = [code for code, _name in settings.LANGUAGES]
    for code in (language, (language or "").split("-")[0]):
        if code in codes:
            return code
    return settings.LANGUAGE_CODE


def catalog_search(query, *, language, limit=SEARCH_RESULTS_LIMIT):
    """The best `limit` results for `query` in `language` and how many match in all:
    one SQL query, whatever the number of results."""
    hits, total = backend().search(
        query_terms(query), language=search_language(language), limit=limit
    )
    return SearchResults([_result(hit) for hit in hits], total)


def _titles(pairs):
    return get_text_list([f"{name} ({year})" if year else name for name, year in pairs], _("and"))


def _role(hit):
    context = hit.context
    titles = context.get("titles") or []
    if hit.kind == SearchEntry.Kind.TITLE:
        kind = context.get("title_kind")
        label = Title.Kind(kind).label if kind in Title.Kind.values else ""
        return f"{label}, {hit.year}" if hit.year else str(label)
    if hit.kind == SearchEntry.Kind.PERSON and context.get("characters"):
        return _("Plays %(characters)s in %(titles)s") % {
            "characters": get_text_list(context["characters"], _("and")),
            "titles": _titles(titles),
        }
    if hit.kind == SearchEntry.Kind.CHARACTER and context.get("people"):
        return _("Played by %(people)s in %(titles)s") % {
            "people": get_text_list(context["people"], _("and")),
            "titles": _titles(titles),
        }
    if hit.kind == SearchEntry.Kind.CREW and titles:
        return _("Dances in %(titles)s") % {"titles": _titles(titles)}
    if hit.kind == SearchEntry.Kind.ROUTINE:
        role = _("A routine of %(title)s") % {"title": _titles([[context.get("title"), hit.year]])}
        if context.get("dancers"):
            role += " · " + _("danced by %(dancers)s") % {
                "dancers": get_text_list(context["dancers"], _("and"))
            }
        return role
    if hit.kind == SearchEntry.Kind.TRIVIA:
        return pgettext("search result", "About %(title)s") % {
            "title": _titles([[context.get("title"), hit.year]])
        }
    return ""


def _result(hit):
    url = reverse(PAGES[hit.kind], kwargs={"slug": hit.slug})
    if hit.kind == SearchEntry.Kind.TRIVIA:
        url += "#trivia"
    return Result(
        kind=hit.kind,
        kind_label=str(SearchEntry.Kind(hit.kind).label),
        name_html=hit.name_html,
        snippet_html=hit.snippet_html,
        year=hit.year,
        role=_role(hit),
        url=url,
    )
