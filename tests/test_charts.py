"""The charts (issue 17): the franchise page, a title's distribution and months, a member's
distribution against the community's. Each drawing is read back (its bars' lengths and
heights, its dots, its <title>/<desc>, its table) and compared with what the database
holds, counted here afresh: a chart drawing the wrong numbers fails."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from unittest import mock

import html5lib
import pytest
from django.apps import apps
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import translation

from films.models import Routine, Title
from films.selectors import routine_leaderboard
from reviews import counts, moderation, services
from reviews.models import Review, Status, TitleMonth
from tests.factories import RoutineFactory, TitleFactory, UserFactory, review, routine_rating

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"
# A script element that would run: not a file, and not a data block such as JSON-LD (which
# the browser never runs, and CSP does not apply to).
SCRIPT_RUN_INLINE = r'<script(?![^>]*\b(?:src=|type="application/ld\+json"))'

# The policy as settings.CONTENT_SECURITY_POLICY states it: the charts loosen nothing.
EXPECTED_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "form-action": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
}


def csp_of(response):
    """The policy header as {directive: sources} (django-csp writes them in any order)."""
    return {
        name: values
        for name, *values in (
            part.split() for part in response["Content-Security-Policy"].split(";")
        )
    }


def svg_of(html, chart_id):
    """The chart's <svg> element, parsed as XML (so it must be well formed)."""
    match = re.search(rf'<svg [^>]*id="{chart_id}".*?</svg>', html, re.S)
    assert match, f"no chart {chart_id}"
    return ET.fromstring(match.group())


def words(svg):
    return svg.find(f"{SVG}title").text, svg.find(f"{SVG}desc").text


def bars(svg):
    """The bars in drawing order: (class, width, data-value)."""
    return [
        (rect.get("class"), float(rect.get("width")), float(rect.get("data-value")))
        for rect in svg.iter(f"{SVG}rect")
        if rect.get("data-value") is not None
    ]


def assert_proportional(lengths_and_values, *, maximum=None):
    """Each bar's length over the longest possible is its value over the scale's top."""
    lengths = [length for length, _value in lengths_and_values]
    values = [value for _length, value in lengths_and_values]
    top = maximum if maximum is not None else max(values)
    # The longest bar's length, per unit of value, sets the scale the others must keep.
    per_unit = max(lengths) / max(values)
    for length, value in lengths_and_values:
        assert length == pytest.approx(value * per_unit, abs=0.01)
    assert max(values) <= top


def table_rows(html, figure_id):
    """The figure's table: [[row heading, cell, ...], ...]."""
    document = html5lib.parse(html, namespaceHTMLElements=False)
    figure = document.find(f".//figure[@id='{figure_id}']")
    assert figure is not None, figure_id
    assert figure.find(".//details/summary") is not None  # one click away
    return [
        ["".join(cell.itertext()).strip() for cell in row]
        for row in figure.find(".//table/tbody").iter("tr")
    ]


def get(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return response, response.content.decode()


# --- The franchise page -------------------------------------------------------------------


@pytest.fixture
def rated(catalog):
    """Every title rated except one, and some routines rated."""
    titles = list(Title.objects.in_release_order())
    for index, title in enumerate(titles[:-1]):
        for rating in range(1 + index % 3, 11, 2 + index % 2):
            review(title=title, rating=rating)
    for index, routine in enumerate(Routine.objects.order_by("pk")[:12]):
        for rating in (10 - index % 5, 6 + index % 4):
            routine_rating(routine=routine, rating=rating)
    return titles


def test_the_franchise_page_is_linked_from_the_header_and_the_home_page(client, catalog):
    _response, html = get(client, "/")
    assert html.count('href="/franchise/"') == 2
    _response, html = get(client, "/es/")
    assert html.count('href="/es/franchise/"') == 2


@pytest.mark.parametrize("prefix", ["", "/es"])
def test_the_average_of_each_title_is_drawn_from_the_database(client, rated, prefix):
    _response, html = get(client, f"{prefix}/franchise/")
    svg = svg_of(html, "franchise-ratings-svg")
    fresh = dict(
        Review.objects.published()
        .values("title")
        .annotate(count=Count("id"), total=Sum("rating"))
        .values_list("title", "count")
    )
    sums = dict(
        Review.objects.published()
        .values("title")
        .annotate(t=Sum("rating"))
        .values_list("title", "t")
    )
    rated_titles = [title for title in rated if title.pk in fresh]
    averages = [sums[title.pk] / fresh[title.pk] / 2 for title in rated_titles]
    drawn = bars(svg)
    # One bar per rated title, in release order, with its average; none for the unrated.
    assert [value for _class, _width, value in drawn] == pytest.approx(averages)
    assert_proportional([(width, value) for _class, width, value in drawn], maximum=5)
    # Scaled to five stars, not to the best average: a bar of 5 would span the room left.
    title, desc = words(svg)
    assert title == (
        "Valoración promedio de la comunidad para cada título, en orden de estreno"
        if prefix
        else "Community average rating of each title, in release order"
    )
    decimal = "," if prefix else "."
    for each, average in zip(rated_titles, averages, strict=True):
        stars = f"{average:.1f}".replace(".", decimal)
        # The same rounding as the page's other averages (half up), in the language's format.
        assert f"{each.name} ({each.release_year}): " in desc
        assert stars in desc or f"{average + 1e-9:.1f}".replace(".", decimal) in desc
    unrated = rated[-1]
    no_ratings = "todavía sin valoraciones" if prefix else "no ratings yet"
    assert f"{unrated.name} ({unrated.release_year}): {no_ratings}" in desc
    rows = table_rows(html, "franchise-ratings")
    assert [row[0] for row in rows] == [f"{t.name} ({t.release_year})" for t in rated]
    counted = [int(row[2].replace(",", "").replace(".", "")) for row in rows]
    assert counted == [fresh.get(t.pk, 0) for t in rated]


def test_the_box_office_shows_the_catalogs_figures_only_and_no_zero_bars(client, catalog):
    _response, html = get(client, "/franchise/")
    svg = svg_of(html, "franchise-box-office-svg")
    with_figures = Title.objects.filter(box_office_domestic_usd__isnull=False)
    drawn = bars(svg)
    expected = []
    for title in Title.objects.in_release_order():
        for field, css in (
            ("box_office_domestic_usd", "chart-series-1"),
            ("box_office_international_usd", "chart-series-2"),
        ):
            if getattr(title, field) is not None:
                expected.append((css, float(getattr(title, field))))
    assert [(css.split()[-1], value) for css, _width, value in drawn] == expected
    assert_proportional([(width, value) for _css, width, value in drawn])
    assert all(value > 0 for _css, _width, value in drawn)  # never a zero for "unknown"
    _title, desc = words(svg)
    all_in = Title.objects.get(slug="step-up-all-in")
    assert list(with_figures) == [all_in]
    assert "Step Up: All In (2014): US$14.9 million in the United States" in desc
    assert "US$71.0 million in the rest of the world" in desc
    assert "no figure for Step Up (2006)" in desc
    rows = {row[0]: row[1:] for row in table_rows(html, "franchise-box-office")}
    assert rows["Step Up: All In (2014)"] == ["US$14.9 million", "US$71.0 million"]
    assert rows["Step Up (2006)"] == ["no figure", "no figure"]


def test_the_box_office_in_spanish_uses_spanish_number_formats(client, catalog):
    _response, html = get(client, "/es/franchise/")
    _title, desc = words(svg_of(html, "franchise-box-office-svg"))
    assert "14,9" in desc and "71,0" in desc and "14.9" not in desc


def test_the_top_ten_routines_are_the_leaderboards(client, rated):
    _response, html = get(client, "/franchise/")
    svg = svg_of(html, "franchise-routines-svg")
    ranked = routine_leaderboard(with_crews=False).ranked[:10]
    assert len(ranked) == 10
    drawn = bars(svg)
    assert [value for _c, _w, value in drawn] == pytest.approx([e.score for e in ranked])
    assert_proportional([(width, value) for _c, width, value in drawn], maximum=5)
    rows = table_rows(html, "franchise-routines")
    assert [row[0] for row in rows] == [
        f"{e.rank}. {e.routine.name} ({e.routine.title.name})" for e in ranked
    ]
    assert [int(row[3]) for row in rows] == [
        Routine.objects.get(pk=e.routine.pk).ratings.count() for e in ranked
    ]


def test_the_franchise_page_query_count_does_not_grow_with_the_catalog(
    client, rated, django_assert_num_queries, no_page_cache
):
    # The titles (stored averages and box office), then the routines with their titles:
    # two queries however many titles, routines and ratings there are.
    with django_assert_num_queries(2):
        get(client, "/franchise/")
    for position in range(60, 65):
        title = TitleFactory(franchise_position=position)
        review(title=title, rating=position % 10 + 1)
        routine_rating(routine=RoutineFactory(title=title), rating=7)
    with django_assert_num_queries(2):
        get(client, "/franchise/")


def test_the_charts_keep_the_content_security_policy_and_use_no_inline_style(client, rated):
    member = Review.objects.first().author
    for path in ("/franchise/", "/titles/step-up-all-in/", member.get_absolute_url()):
        response, html = get(client, path)
        assert csp_of(response) == EXPECTED_CSP
        assert " style=" not in html and "<style" not in html, path
        assert "<svg" in html and re.search(SCRIPT_RUN_INLINE, html) is None, path


# Real commits: on PostgreSQL the scopes' versions change when the write commits.
@pytest.mark.django_db(transaction=True)
def test_the_franchise_page_is_cached_until_a_rating_changes(client, rated, settings):
    settings.PAGE_CACHE_SECONDS = 600
    _response, before = get(client, "/franchise/")
    with_no_reviews = rated[-1]
    review(title=with_no_reviews, rating=9)
    _response, after = get(client, "/franchise/")
    assert before != after
    desc = words(svg_of(after, "franchise-ratings-svg"))[1]
    assert f"{with_no_reviews.name} ({with_no_reviews.release_year}): 4.5 out of 5" in desc


# --- A title's charts ---------------------------------------------------------------------


def posted(when, **fields):
    with mock.patch("django.utils.timezone.now", return_value=when):
        return review(**fields)


@pytest.fixture
def months_of_reviews(catalog):
    title = Title.objects.get(slug="step-up-all-in")
    moments = [
        datetime(2024, 1, 31, 23, 59, tzinfo=UTC),
        datetime(2024, 2, 1, 0, 0, tzinfo=UTC),
        datetime(2024, 2, 15, tzinfo=UTC),
        datetime(2024, 5, 3, tzinfo=UTC),
        datetime(2025, 1, 9, tzinfo=UTC),
    ]
    reviews = [
        posted(moment, title=title, rating=rating)
        for moment, rating in zip(
            moments * 3, [3, 10, 7, 8, 1, 9, 4, 6, 2, 5, 8, 8, 10, 1, 6], strict=True
        )
    ]
    # Only published reviews count: one held, one removed, one edited, one deleted.
    moderation.content_moderate(item=reviews[0], status=Status.PENDING, moderator=None)
    moderation.content_moderate(
        item=reviews[6], status=Status.REMOVED, moderator=None, reason="Spam"
    )
    services.review_submit(title=title, author=reviews[2].author, rating=1)
    services.review_delete(review=reviews[3])
    return title


def fresh_months(title):
    """The months counted here from the reviews table, independently of reviews.counts."""
    result = {}
    for created, rating in (
        Review.objects.published().filter(title=title).values_list("created_at", "rating")
    ):
        month = date(created.year, created.month, 1)
        count, total = result.get(month, (0, 0))
        result[month] = (count + 1, total + rating)
    return dict(sorted(result.items()))


def test_the_stored_months_equal_a_fresh_count_after_edits_and_moderation(months_of_reviews):
    expected = fresh_months(months_of_reviews)
    assert counts.title_months_stored(months_of_reviews) == expected
    assert counts.title_months_recount(months_of_reviews) == expected
    assert list(expected) == [
        date(2024, 1, 1),
        date(2024, 2, 1),
        date(2024, 5, 1),
        date(2025, 1, 1),
    ]


def test_the_migration_fills_the_months_from_the_reviews_already_written(months_of_reviews):
    expected = counts.title_months_stored(months_of_reviews)
    TitleMonth.objects.all().delete()
    migration = __import__("reviews.migrations.0014_title_month", fromlist=["fill_from_reviews"])
    migration.fill_from_reviews(apps, None)
    assert counts.title_months_stored(months_of_reviews) == expected


@pytest.mark.parametrize("prefix", ["", "/es"])
def test_the_title_page_draws_its_months_and_distribution_from_the_database(
    client, months_of_reviews, prefix
):
    title = months_of_reviews
    _response, html = get(client, f"{prefix}{title.get_absolute_url()}")
    svg = svg_of(html, "rating-months-svg")
    expected = fresh_months(title)
    # Every calendar month from the first to the last: the months without ratings are gaps.
    heights = [
        (float(rect.get("height")), int(rect.get("data-count")))
        for rect in svg.iter(f"{SVG}rect")
        if rect.get("data-count") is not None
    ]
    assert len(heights) == 13  # January 2024 to January 2025
    drawn_counts = [count for _height, count in heights]
    assert [c for c in drawn_counts if c] == [count for count, _total in expected.values()]
    assert_proportional(heights)
    dots = [float(dot.get("data-average")) for dot in svg.iter(f"{SVG}circle")]
    assert dots == pytest.approx([total / count / 2 for count, total in expected.values()])
    # Each dot's height is its average on the 0-to-5 scale of the panel's grid.
    ys = [float(dot.get("cy")) for dot in svg.iter(f"{SVG}circle")]
    top, bottom = 22, 22 + 96
    for y, average in zip(ys, dots, strict=True):
        assert y == pytest.approx(bottom - (bottom - top) * average / 5, abs=0.01)
    title_text, desc = words(svg)
    assert title.name in title_text
    busiest = max(expected.values())[0]
    assert (f"{busiest} valoraciones" if prefix else f"{busiest} ratings") in desc
    rows = table_rows(html, "rating-months")
    assert [int(row[2]) for row in rows] == [count for count, _total in expected.values()]
    decimal = "," if prefix else "."
    assert [row[1] for row in rows] == [
        f"{total / count / 2:.2f}".replace(".", decimal) for count, total in expected.values()
    ]

    # The distribution: the stored histogram, drawn and tabled, five stars first.
    per_rating = dict(
        Review.objects.published()
        .filter(title=title)
        .values("rating")
        .annotate(n=Count("id"))
        .values_list("rating", "n")
    )
    svg = svg_of(html, "rating-distribution-svg")
    drawn = bars(svg)
    assert [value for _c, _w, value in drawn] == [per_rating.get(v, 0) for v in range(10, 0, -1)]
    assert_proportional([(width, value) for _c, width, value in drawn])
    rows = table_rows(html, "rating-distribution")
    assert [int(row[-1]) for row in rows] == [per_rating.get(v, 0) for v in range(10, 0, -1)]
    in_all = "valoraciones en total" if prefix else "ratings in all"
    assert f"{sum(per_rating.values())} {in_all}" in words(svg)[1]


def test_a_title_without_ratings_has_no_charts(client, catalog):
    _response, html = get(client, "/titles/step-up/")
    assert "<svg" not in html.split('id="reviews"')[1]


@pytest.mark.django_db(transaction=True)  # real commits, as above
def test_the_title_charts_follow_a_new_rating_with_the_page_cache_on(
    client, months_of_reviews, settings
):
    settings.PAGE_CACHE_SECONDS = 600
    title = months_of_reviews
    get(client, title.get_absolute_url())
    posted(datetime(2025, 3, 2, tzinfo=UTC), title=title, rating=10)
    _response, html = get(client, title.get_absolute_url())
    rows = table_rows(html, "rating-months")
    assert rows[-1][2] == "1" and rows[-1][1] == "5.00"


# --- A member's profile -------------------------------------------------------------------


def test_the_profile_sets_the_members_ratings_beside_the_communitys(
    client, rated, django_assert_max_num_queries
):
    member = UserFactory(username="charted")
    titles = rated[:3]
    for title, rating in zip(titles, (10, 10, 3), strict=True):
        review(title=title, author=member, rating=rating)
    _response, html = get(client, member.get_absolute_url())
    svg = svg_of(html, "member-distribution-svg")
    everyone = dict(
        Review.objects.published()
        .values("rating")
        .annotate(n=Count("id"))
        .values_list("rating", "n")
    )
    mine = {10: 2, 3: 1}
    all_total = sum(everyone.values())
    drawn = bars(svg)
    expected = []
    for value in range(10, 0, -1):
        expected.append(("chart-series-1", 100 * mine.get(value, 0) / 3))
        expected.append(("chart-series-2", 100 * everyone.get(value, 0) / all_total))
    assert [(css.split()[-1], value) for css, _w, value in drawn] == [
        (css, pytest.approx(value)) for css, value in expected
    ]
    assert_proportional([(width, value) for _c, width, value in drawn])
    rows = table_rows(html, "member-distribution")
    assert rows[0][:4] == ["5 ★", "2", "67%", str(everyone.get(10, 0))]
    assert [int(row[3]) for row in rows] == [everyone.get(v, 0) for v in range(10, 0, -1)]
    desc = words(svg)[1]
    assert "Share of charted's 3 ratings" in desc and f"{all_total} ratings" in desc


def test_the_community_distribution_reads_the_titles_not_the_reviews(rated):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reviews.charts import community_histogram

    with CaptureQueriesContext(connection) as queries:
        histogram = community_histogram()
    assert len(queries) == 1 and Review._meta.db_table not in queries[0]["sql"]
    fresh = dict(
        Review.objects.published()
        .values("rating")
        .annotate(n=Count("id"))
        .values_list("rating", "n")
    )
    assert histogram == {value: fresh.get(value, 0) for value in range(1, 11)}


def test_the_charts_words_follow_the_language(rated):
    from reviews.charts import half_stars_text

    with translation.override("es"):
        assert half_stars_text(9) == "4,5 ★"
    with translation.override("en"):
        assert half_stars_text(9) == "4.5 ★"
        assert half_stars_text(10) == "5 ★"


def test_the_franchise_url_name_is_cached_with_its_scopes():
    from stepup_site.cache_scopes import PAGE_QUERY_PARAMETERS, page_scopes

    assert PAGE_QUERY_PARAMETERS["films:franchise"] == ()
    assert set(page_scopes("films:franchise", {})) == {"ratings", "lists", "routines"}
    assert reverse("films:franchise") == "/franchise/"


def test_a_rating_elsewhere_leaves_cached_profiles_cached(client, settings):
    """The community's side of a profile chart may lag: emptying every cached profile on
    every rating anywhere would leave none cached on a busy site."""
    settings.PAGE_CACHE_SECONDS = 600
    member, other = UserFactory(username="cachedfan"), UserFactory(username="someone-else")
    title = TitleFactory(name="Rated by both")
    review(author=member, title=title, rating=8)
    url = member.get_absolute_url()
    assert client.get(url)["X-Page-Cache"] == "miss"
    review(author=other, title=title, rating=3)
    assert client.get(url)["X-Page-Cache"] == "hit"
    review(author=member, title=TitleFactory(name="Another"), rating=6)
    assert client.get(url)["X-Page-Cache"] == "miss"
