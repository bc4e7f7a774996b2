"""The cheap parts of a review card, written in Python.

A title page shows twenty cards, each once made of several templates and five URL
reversals; those per-card costs were most of the page's server time (docs/performance.md).
"""

import functools
from urllib.parse import quote

from django import template
from django.template.defaultfilters import floatformat
from django.urls import get_script_prefix, reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from reviews.forms import current_language, language_name, rating_label

register = template.Library()


@register.simple_tag
def star_rating(rating, stars):
    """A rating shown as stars, with its value in words for screen readers; rating: 1 to
    10 half-stars. Few distinct values, so each is built once per language."""
    return _star_rating(rating, stars, get_language())


@functools.lru_cache(maxsize=512)
def _star_rating(rating, stars, language):
    label = _("%(stars)s out of 5 stars") % {"stars": floatformat(stars, "-1")}
    return format_html(
        '<span class="stars stars-{}" role="img" aria-label="{}"></span>', rating, label
    )


@register.filter
def rating_words(rating):
    """ "3½ stars" for 7 half-stars, as the star input reads a rating."""
    return rating_label(rating)


def grouped(count):
    """A count as the reader's language groups it: "1,234" in English, "1.234" in Spanish
    (USE_THOUSAND_SEPARATOR is off, so Django's localize() would not group it)."""
    return number_format(count, force_grouping=True)


@register.simple_tag
def helpful_count(count):
    """The sentence under a card that counts its helpful votes (empty at none)."""
    if not count:
        return ""
    return ngettext(
        "%(counter)s person found this helpful", "%(counter)s people found this helpful", count
    ) % {"counter": grouped(count)}


@register.simple_tag
def comment_count(count):
    return ngettext("%(counter)s comment", "%(counter)s comments", count) % {
        "counter": grouped(count)
    }


# The vote button's class and pressed state, not marked and marked: the end of its class
# attribute and the whole aria-pressed one (shared cards take either in a slot).
VOTE_STATES = {
    False: mark_safe('btn-outline-dark" aria-pressed="false'),
    True: mark_safe('btn-dark" aria-pressed="true'),
}


@register.simple_tag
def vote_state(review_pk, voted_review_ids=None):
    # A page that does not say which reviews the reader marked gives "" for them.
    return VOTE_STATES[review_pk in (voted_review_ids or ())]


@register.simple_tag
def helpful_label(author_name):
    """The vote button's accessible name: says whose review it is."""
    return _("Helpful: review by %(author)s") % {"author": author_name}


class ReviewUrls:
    """The URLs a card links to, built from one reversal per URL name (per language and
    script prefix) instead of one per link: the same strings reverse() returns."""

    def __init__(self, review):
        self._review = review

    @property
    def detail(self):
        return _pk_url("reviews:detail", self._review.pk)

    @property
    def helpful(self):
        return _pk_url("reviews:helpful", self._review.pk)

    @property
    def report(self):
        return _pk_url("reviews:report", self._review.pk)

    @property
    def author(self):
        username = self._review.author.username
        if not username or "/" in username:
            # reverse() refuses these: keep its behaviour rather than guess.
            return self._review.author.get_absolute_url()
        head, tail = _url_around("accounts:profile", "username", "~marker~")
        return head + quote(username, safe=RFC3986_SUBDELIMS + "/~:@") + tail

    @property
    def best_routine(self):
        slug = self._review.best_routine.slug
        head, tail = _url_around("films:routine_detail", "slug", "routine-marker")
        return head + quote(slug) + tail


@register.simple_tag
def review_urls(review):
    return ReviewUrls(review)


def _pk_url(viewname, pk):
    head, tail = _url_around(viewname, "pk", 987654321)
    return f"{head}{int(pk)}{tail}"


def _url_around(viewname, kwarg, marker):
    return _url_parts(viewname, kwarg, marker, get_script_prefix(), get_language())


@functools.lru_cache(maxsize=64)
def _url_parts(viewname, kwarg, marker, script_prefix, language):
    # script_prefix and language: what reverse() reads besides its arguments.
    head, found, tail = reverse(viewname, kwargs={kwarg: marker}).partition(str(marker))
    assert found and str(marker) not in tail, viewname
    return head, tail


@register.filter(name="language_name")
def language_name_filter(code):
    """ "Español" for "es": a language as its speakers write it."""
    return language_name(code)


@register.simple_tag
def chrome_lang(review):
    """` lang="xx"` for the site's own words on a card (dates, buttons) when the review is
    written in another language than the page: the card carries the review's language,
    and its frame is in the page's."""
    page = _page_language()
    if review.language == page:
        return ""
    return format_html(' lang="{}"', page)


@register.simple_tag
def review_language_badge(review):
    """The review's language, by name, when it is not the page's (an "all languages" list,
    a profile, a review's own page read in another language)."""
    if review.language == _page_language():
        return ""
    return _language_badge(review.language)


@functools.lru_cache(maxsize=32)
def _language_badge(code):
    return format_html(
        '<span class="badge text-bg-light border review-language" lang="{}">{}</span>',
        code,
        language_name(code),
    )


_page_language = current_language
