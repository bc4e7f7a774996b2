"""The reviews' part of a title page's schema.org data (films.structured_data builds the
rest): its top published reviews as Review items.

Only published reviews with text, as the page lists them by default (the staff pick
first, then the most helpful), and none marked as holding spoilers: a search result would
show its text to anyone. A handful at most: search engines show one or two.
"""

from films.structured_data import rating

from .models import DEFAULT_REVIEW_SORT, REVIEW_SORT_KEYS, Review

TOP_REVIEWS = 5


def _shown(review):
    return review.is_published and review.has_text and not review.contains_spoilers


def top_reviews(title):
    """Up to TOP_REVIEWS of the title's published reviews, as the page orders them: its
    staff pick (title.featured_review, read with the title), then the list. One query."""
    featured = title.featured_review if title.featured_review_id else None
    picked = [featured] if featured is not None and _shown(featured) else []
    reviews = (
        Review.objects.published()
        .filter(title=title, contains_spoilers=False)
        .with_text()
        .exclude(pk__in=[review.pk for review in picked])
        .select_related("author")
    )
    columns, direction = REVIEW_SORT_KEYS[DEFAULT_REVIEW_SORT]
    order = [f"-{column}" if direction == "descending" else column for column in columns]
    return [*picked, *reviews.order_by(*order)[: TOP_REVIEWS - len(picked)]]


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
    }
    if review.headline:
        item["name"] = review.headline
    return item


def title_review_items(request, title):
    """The Review items of the title's schema.org data, best first."""
    return [review_item(request, review) for review in top_reviews(title)]
