"""The reviews' part of a title page's schema.org data (films.structured_data builds the
rest): its top published reviews as Review items.

Only published reviews with text, as the page lists them by default (the staff pick
first, then the most helpful in the page's language, then in the others), and none marked
as holding spoilers: a search result would
show its text to anyone. A handful at most: search engines show one or two.
"""

from django.conf import settings
from django.utils.translation import get_language

from films.structured_data import rating

from .models import DEFAULT_REVIEW_SORT, REVIEW_SORT_KEYS, Review

TOP_REVIEWS = 5


def _shown(review):
    return review.is_published and review.has_text and not review.contains_spoilers


def top_reviews(title, *, language):
    """Up to TOP_REVIEWS of the title's published reviews, as the page orders them: its
    staff pick (title.featured_review, read with the title), then the reviews in the
    page's language, then the others, each by the default sort. One query (two when the
    page's language has too few; none when the title has none), each an index seek
    (review_lang_helpful_seek), never a sort of all the title's reviews."""
    featured = title.featured_review if title.featured_review_id else None
    picked = [featured] if featured is not None and _shown(featured) else []
    written = title.text_review_count  # stored: reviews with text, published
    if written <= len(picked):
        return picked  # no query for a title with no other review to show
    reviews = (
        Review.objects.published()
        .filter(title=title, contains_spoilers=False)
        .with_text()
        .exclude(pk__in=[review.pk for review in picked])
        .select_related("author")
    )
    columns, direction = REVIEW_SORT_KEYS[DEFAULT_REVIEW_SORT]
    order = [f"-{column}" if direction == "descending" else column for column in columns]
    found = [*picked, *reviews.filter(language=language).order_by(*order)[:TOP_REVIEWS]]
    if len(found) < min(TOP_REVIEWS, written):
        others = reviews.exclude(language=language).order_by(*order)
        found += others[: TOP_REVIEWS - len(found)]
    return found[:TOP_REVIEWS]


def review_item(request, review):
    item = {
        "@type": "Review",
        "url": request.build_absolute_uri(review.get_absolute_url()),
        "author": {
            "@type": "Person",
            "name": review.author.username,
            "url": request.build_absolute_uri(review.author.get_absolute_url()),
        },
        "datePublished": review.created_at.date().isoformat(),
        "reviewBody": review.body,
        "reviewRating": rating(review.rating / 2),
        "inLanguage": review.language,
    }
    if review.headline:
        item["name"] = review.headline
    return item


def title_review_items(request, title):
    """The Review items of the title's schema.org data, best first."""
    language = get_language() or settings.LANGUAGE_CODE
    return [review_item(request, review) for review in top_reviews(title, language=language)]
