"""The reviews part of a title page, put together in one place (films.views calls it).

It is made of copies cached by what they show, so a write costs only what it changed:

- each review card, by the review's identity and last change (its id, when it was edited,
  its helpful and comment counts, its status) and by whom the card is for: visitors,
  members, or its author. A vote re-renders one card; a review posted anywhere else
  re-renders none of the cards already on the page;
- which reviews a page of the list shows, and its pager, by the title's scope;
- how many reviews the list holds in each language (the language switch), by the
  title's scope: stored counts (TitleLanguageCount), so the miss after each write to the
  title reads a row or two instead of counting the title's reviews again;
- for members, the whole page, rendered once for all of them (member_title_page).

A member's own parts go into the slots of those copies (core.slots), rendered for
each request: their CSRF token, which reviews they marked helpful or reported, their own
review or the form to write one.
"""

import functools
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.html import escape, format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from core.caching import cached_fragment, cached_fragments
from core.i18n import page_links
from core.slots import cut, join, slot

from .charts import title_distribution_figure, title_months_figure
from .forms import ReviewForm, current_language, language_name
from .models import Review, review_language_codes
from .selectors import (
    ReaderMarks,
    listed_language_counts,
    listed_review_page,
    reader_marks,
    review_sort,
)
from .templatetags.review_cards import VOTE_STATES, ReviewUrls

REVIEW_SORTS = [
    ("helpful", gettext_lazy("Most helpful")),
    ("newest", gettext_lazy("Newest")),
    ("highest", gettext_lazy("Highest rating")),
    ("lowest", gettext_lazy("Lowest rating")),
]


class AnyMember:
    """Whom the copies shared by members are rendered for: signed in, the author of
    nothing (so they hold vote forms and report links, never edit links), and named by
    slots."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    pk = None
    id = None

    @property
    def username(self):
        return slot("member-name")

    def get_absolute_url(self):
        return slot("member-url")

    def has_perm(self, perm, obj=None):
        return False


# ?lang=all lists every language; ?lang=es one; without it, the page's language.
ALL_LANGUAGES = "all"


class ReviewLanguages(NamedTuple):
    """Which reviews a title page lists by language, from the request and the counts."""

    shown: str | None  # the language listed, or None: every language
    asked: str | None  # a valid ?lang= of the request, kept by the sort and pager links
    missing: str | None  # the language wanted, when the title has no review in it
    counts: dict  # listed reviews by language

    @classmethod
    def of(cls, request, counts, *, featured=None):
        asked = request.GET.get("lang")
        if asked != ALL_LANGUAGES and asked not in review_language_codes():
            asked = None  # anything else: the default, as if it were not there
        wanted = asked or current_language()
        if wanted == ALL_LANGUAGES or not counts:
            return cls(None, asked, None, counts)  # no review at all: nothing is missing
        if not counts.get(wanted):
            return cls(None, asked, wanted, counts)
        if featured is not None and featured.language == wanted and counts[wanted] == 1:
            # Its one review is the staff pick, shown above the list: list the others.
            return cls(None, asked, None, counts)
        return cls(wanted, asked, None, counts)

    def links(self, sort):
        """The language switch: the page's language first, then the other languages that
        have reviews, then every language; each with its count, as links that keep the
        sort (and start again from the first page)."""
        page = current_language()
        codes = [page, *(c for c in review_language_codes() if c != page and self.counts.get(c))]
        choices = [
            (code, language_name(code), self.counts.get(code, 0), code == self.shown)
            for code in codes
        ]
        choices.append(
            (ALL_LANGUAGES, _("All languages"), sum(self.counts.values()), self.shown is None)
        )
        return [
            {
                "code": code,
                "name": name,
                "count": count,
                "active": active,
                "lang": code if code != ALL_LANGUAGES else "",
                "href": "?" + urlencode({"sort": sort, "lang": code}),
            }
            for code, name, count, active in choices
        ]

    def query(self):
        """The parameters the sort and pager links keep."""
        return {"lang": self.asked} if self.asked else {}


class TitleReviews:
    """The reviews part of one title page, as the request asks for it (sort, cursor,
    language)."""

    def __init__(self, request, title):
        self.request = request
        self.title = title
        featured = title.featured_review
        if featured is not None and not (featured.is_published and featured.has_text):
            featured = None  # a staff pick with no text is a rating: no card to show
        if featured is not None:
            featured.title = title
        self.featured = featured
        self._loaded = {}  # the reviews this request read from the database, by id
        counts = cached_fragment(
            request,
            ("title-review-languages", title.pk),
            lambda: listed_language_counts(title),
            scopes=[f"title:{title.pk}"],
        )
        self.languages = ReviewLanguages.of(request, counts, featured=featured)
        self._page = cached_fragment(
            request,
            (
                "title-reviews",
                title.pk,
                request.get_full_path(),
                get_language(),
                self.languages.shown,
            ),
            self._render_page,
            scopes=[f"title:{title.pk}"],
        )

    def _render_page(self):
        page = listed_review_page(
            self.request,
            self.title,
            featured=self.featured,
            language=self.languages.shown,
            counts=self.languages.counts,
            query=self.languages.query(),
        )
        pager = render_to_string(
            "reviews/_cursor_pagination.html", {"page": page, "anchor": "#reviews"}
        )
        # What names each card, not the reviews: a model instance costs far more to
        # unpickle, and the cards are cached themselves. Kept for the request that read them.
        self._loaded.update((review.pk, review) for review in page)
        return {"cards": [_Card.of(review) for review in page], "pager_html": pager}

    def context(self, reader):
        """What films/title_detail.html shows of the reviews, for `reader`."""
        return {**self._page_context(), **self.parts_for(reader)}

    def _page_context(self):
        sort = review_sort(self.request)
        missing = self.languages.missing
        distribution_html, months_html = cached_fragment(
            self.request,
            ("title-charts", self.title.pk, get_language()),
            self._render_charts,
            scopes=[f"title:{self.title.pk}"],
        )
        return {
            "review_sort": sort,
            "review_sorts": REVIEW_SORTS,
            "listed_any": bool(self._page["cards"]),
            "review_languages": self.languages.links(sort) if self.languages.counts else [],
            "review_language_missing": language_name(missing) if missing else "",
            # The sort links keep the language asked for.
            "review_sort_query": urlencode(self.languages.query()),
            "rating_distribution_html": distribution_html,
            "rating_months_html": months_html,
        }

    def _render_charts(self):
        """The title's charts of ratings, the same whatever the sort or page: from its
        stored histogram and its stored months (one query, and none before a rating)."""
        if not self.title.rating_count:
            return "", ""
        months = title_months_figure(self.title)
        return (
            render_to_string("_chart.html", {"figure": title_distribution_figure(self.title)}),
            render_to_string("_chart.html", {"figure": months}) if months else "",
        )

    def parts_for(self, reader):
        """The parts of the page that depend on the reader, as HTML."""
        listed = self._page["cards"]
        marks = ReaderMarks()
        if reader.is_authenticated:
            featured_pk = self.featured.pk if self.featured else None
            review_ids = [card.pk for card in listed]
            marks = reader_marks(reader, title=self.title, review_ids=[*review_ids, featured_pk])
        own = marks.own_review
        featured = self.featured
        if featured is not None and own is not None and own.pk == featured.pk:
            featured = None  # the reader's own review, already at the top
        featured_html = ""
        if featured is not None:
            (card,) = self._cards([_Card.of(featured)], reader, marks, card_id="featured-review")
            featured_html = format_html(
                '<h3 class="h5 mt-4">{}</h3>{}', _("Staff pick"), mark_safe(card)
            )
        return {
            "reviews_listing_html": mark_safe(
                "".join(self._cards(listed, reader, marks)) + self._page["pager_html"]
            ),
            "featured_card_html": featured_html,
            "your_review_html": self._your_review(reader, own),
            "your_review_link": _("Your review") if own else _("Rate or review"),
        }

    def _cards(self, cards, reader, marks, *, card_id=None):
        """The HTML of each card for `reader`; the reader's own review, already at the top
        of the page, becomes a pointer to it."""
        audience = "member" if reader.is_authenticated else "visitor"
        own_pk = marks.own_review.pk if marks.own_review else None
        shown = {card: (*card, audience, card_id, get_language()) for card in cards}
        shown.pop(next((card for card in cards if card.pk == own_pk), None), None)
        fragments = dict(
            zip(
                shown,
                cached_fragments(
                    self.request,
                    shown,
                    lambda missing: self._render_cards(missing, audience, card_id),
                ),
                strict=True,
            )
        )
        if audience == "member":
            values = {"csrf": get_token(self.request), "here": escape(self.request.get_full_path())}
        html = []
        for card in cards:
            if card.pk == own_pk:
                html.append(self._pointer_to_own_review(own_pk))
            elif audience == "member":
                fragment = fragments[card]
                html.append(
                    join(
                        fragment["pieces"],
                        {
                            **values,
                            "vote": VOTE_STATES[card.pk in marks.voted],
                            "report": fragment["report"][card.pk in marks.reported],
                        },
                    )
                )
            else:
                html.append(fragments[card])
        return html

    def _render_cards(self, cards, audience, card_id):
        known = dict(self._loaded)
        if self.featured is not None:
            known[self.featured.pk] = self.featured
        if missing := [card.pk for card in cards if card.pk not in known]:
            # Cards dropped from the cache while their list was kept: read them again.
            reviews = Review.objects.select_related("author", "best_routine")
            for review in reviews.filter(pk__in=missing):
                review.title = self.title
                known[review.pk] = review
        return [_render_card(known[card.pk], audience, card_id=card_id) for card in cards]

    @staticmethod
    def _pointer_to_own_review(own_pk):
        return format_html(
            '<p class="review-card-pointer" id="review-{}"><a href="#your-review">{}</a></p>',
            own_pk,
            _("Your review: shown at the top of this page."),
        )

    def _your_review(self, reader, own_review):
        context = {"title": self.title, "user": reader, "request": self.request}
        if own_review is not None:
            # The card of one's own review holds no form and no vote.
            card = _Card.of(own_review)
            (context["own_card_html"],) = cached_fragments(
                self.request,
                {card: (*card, "author", get_language())},
                lambda _missing: [_render_card(own_review, "author", card_id="own-review")],
            )
        elif reader.is_authenticated:
            form = cached_fragment(
                self.request,
                ("review-form", self.title.pk, get_language()),
                lambda: cut(
                    render_to_string(
                        "reviews/_review_form.html",
                        {
                            "form": ReviewForm(title=self.title),
                            "title": self.title,
                            "csrf_token": slot("csrf"),
                        },
                    )
                ),
                # The form names the title (its address) and offers its routines: a
                # catalog edit may change them.
                scopes=[f"title-catalog:{self.title.pk}"],
            )
            context["review_form_html"] = mark_safe(join(form, {"csrf": get_token(self.request)}))
        return render_to_string("reviews/_your_review.html", {**context, "own_review": own_review})


class _Card(NamedTuple):
    """What a card shows: the review's identity and last change. (Member names are in
    the "site" scope every cached key holds: a rename changes them all.)"""

    pk: int
    updated_at: str
    helpful_count: int
    comment_count: int
    status: str
    is_featured: bool
    moderation_reason: str
    # What the card shows of the routine it names, which the review's last change does
    # not date: the routine renamed, or deleted (its reviews then name none).
    best_routine: tuple | None

    @classmethod
    def of(cls, review):
        routine = review.best_routine if review.best_routine_id else None
        return cls(
            review.pk,
            review.updated_at.isoformat(),
            review.helpful_count,
            review.comment_count,
            review.status,
            review.is_featured,
            review.moderation_reason,
            (routine.pk, routine.name, routine.slug) if routine else None,
        )


def _render_card(review, audience, *, card_id=None):
    context = {"review": review, "card_id": card_id}
    if audience == "visitor":
        return render_to_string("reviews/_review_card.html", {**context, "user": AnonymousUser()})
    if audience == "author":
        return render_to_string("reviews/_review_card.html", {**context, "user": review.author})
    html = render_to_string(
        "reviews/_review_card.html",
        {
            **context,
            "user": AnyMember(),
            "csrf_token": slot("csrf"),
            "here": slot("here"),
            "vote_slot": slot("vote"),
            "report_slot": slot("report"),
        },
    )
    report_url = {"report-url": escape(ReviewUrls(review).report)}
    return {
        "pieces": cut(html),
        "report": tuple(
            join(_report_link(reported, get_language(), settings.SECRET_KEY), report_url)
            for reported in (False, True)
        ),
    }


@functools.lru_cache(maxsize=32)
def _report_link(reported, language, secret_key):
    """The report link, reported or not, with a slot for its address: the one template
    rendered twice per language, not twice per card (a page of cards took 40 renders)."""
    return cut(
        render_to_string(
            "reviews/_report_link.html", {"report_url": slot("report-url"), "reported": reported}
        )
    )


def title_page_context(request, title):
    """The reviews part of the title page for the request's reader."""
    return TitleReviews(request, title).context(request.user)


def member_title_page(request, title, catalog):
    """The title page for a signed-in member: a copy of the page rendered once for every
    member (AnyMember), with this member's parts in its slots."""
    section = TitleReviews(request, title)
    reader_parts = (
        "reviews_listing_html",
        "featured_card_html",
        "your_review_html",
        "your_review_link",
    )

    def render_for_any_member():
        reader = AnyMember()
        context = {
            **catalog,
            **section._page_context(),
            **{name: slot(name.replace("_", "-")) for name in reader_parts},
            # What the context processors would add, for a reader who is nobody yet.
            "request": request,
            "user": reader,
            "messages": (),
            "csrf_token": slot("csrf"),
            # The same for every member at this address (it is in the key).
            **page_links(request),
        }
        return cut(render_to_string("films/title_detail.html", context))

    page = cached_fragment(
        request,
        ("title-page-for-members", title.pk, request.get_full_path(), get_language()),
        render_for_any_member,
        scopes=[f"title:{title.pk}", f"title-catalog:{title.pk}"],
    )
    reader = request.user
    parts = section.parts_for(reader)
    values = {name.replace("_", "-"): parts[name] for name in reader_parts}
    values |= {
        "csrf": get_token(request),
        "member-name": escape(reader.username),
        "member-url": escape(reader.get_absolute_url()),
    }
    return HttpResponse(join(page, values))
