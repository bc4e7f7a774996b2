import re
from typing import NamedTuple

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from films.models import Title

from .forms import current_language, rating_label
from .models import Review, review_language_codes

FEED_LENGTH = 30

# What XML 1.0 cannot carry: most control characters, U+FFFE and U+FFFF. The forms accept
# them (they refuse only NUL), and Django refuses to write a feed holding a control
# character (U+FFFE would make it ill-formed): one stray character in one review would
# take the whole feed down for everyone.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text):
    """Text as a feed can carry it: the characters XML cannot hold left out."""
    return NOT_XML.sub("", text)


def _xml_safe(value):
    if isinstance(value, str):
        return xml_text(value)
    if isinstance(value, list | tuple):
        return type(value)(_xml_safe(part) for part in value)
    return value


class FeedAbout(NamedTuple):
    """What a feed shows: the reviews of one title (or of every title, None), written in
    `language` (or in every language, None)."""

    title: Title | None
    language: str | None


def feed_language(request):
    """The language of a feed's reviews: the active one (the address's, /es/ for Spanish)
    by default, ?lang=xx for another of the site's, ?lang=all for every language (None).
    Anything else is the default, never an error."""
    asked = request.GET.get("lang")
    if asked == "all":
        return None
    return asked if asked in review_language_codes() else current_language()


class LatestReviewsFeed(Feed):
    title = _("Step Up Community: latest reviews")
    description = _("The newest fan reviews of the Step Up films and series.")

    def get_object(self, request):
        return FeedAbout(None, feed_language(request))

    def link(self):
        return reverse("films:home")

    def get_feed(self, obj, request):
        # Every field, the feed's and each item's, whoever typed it: members' reviews, and
        # the names editors give titles in the admin, which accepts control characters.
        feed = super().get_feed(obj, request)
        # <language> (RSS) or xml:lang (Atom): the reviews' language; with every language,
        # the feed's own words, in the active language.
        feed.feed["language"] = obj.language or current_language()
        feed.feed = {key: _xml_safe(value) for key, value in feed.feed.items()}
        feed.items = [{key: _xml_safe(value) for key, value in item.items()} for item in feed.items]
        return feed

    def items(self, about):
        reviews = Review.objects.published()
        if about.title is not None:
            reviews = reviews.filter(title=about.title)
        if about.language is not None:
            reviews = reviews.filter(language=about.language)
        return reviews.select_related("author", "title").order_by("-created_at", "-id")[
            :FEED_LENGTH
        ]

    def item_title(self, review):
        return _("%(title)s: %(rating)s by %(author)s") % {
            "title": review.title.name,
            "rating": rating_label(review.rating),
            "author": review.author.username,
        }

    def item_description(self, review):
        # Escaped first, then line breaks as <br>: readers render the description as HTML,
        # and nothing a member typed may become markup.
        parts = [review.headline, review.body]
        if review.contains_spoilers:
            parts = [str(_("Contains spoilers: open the review to read it."))]
        text = "\n\n".join(part for part in parts if part) or str(rating_label(review.rating))
        return linebreaksbr(escape(text))

    def item_author_name(self, review):
        return review.author.username

    def item_pubdate(self, review):
        return review.created_at

    def item_updateddate(self, review):
        return review.updated_at


class LatestReviewsAtomFeed(LatestReviewsFeed):
    feed_type = Atom1Feed
    subtitle = LatestReviewsFeed.description


class TitleReviewsFeed(LatestReviewsFeed):
    def get_object(self, request, slug):
        return FeedAbout(get_object_or_404(Title, slug=slug), feed_language(request))

    def title(self, about):
        return _("Step Up Community: reviews of %(title)s") % {"title": about.title.name}

    def description(self, about):
        return _("The newest fan reviews of %(title)s.") % {"title": about.title.name}

    def link(self, about):
        return about.title.get_absolute_url()


class TitleReviewsAtomFeed(TitleReviewsFeed):
    feed_type = Atom1Feed

    def subtitle(self, about):
        return self.description(about)
