"""The charts of ratings: a title's distribution and its months (the title page), a
member's distribution against the community's (the profile). Drawn by core.svg_charts
from stored aggregates only: the title's stored histogram, its TitleMonth rows, and the
sum of every title's stored histogram. Words and numbers in the active language."""

from datetime import date

from django.db.models import Sum
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.svg_charts import (
    Figure,
    Period,
    Row,
    Series,
    TableRow,
    Value,
    bar_chart,
    count_text,
    period_chart,
    stars_text,
)
from films.models import RATING_VALUES, Title

from .models import TitleMonth

# Up to this many months, every month is labelled on the time axis; beyond, each January.
MONTH_TICKS_UP_TO = 18


def half_stars_text(value):
    """A rating of `value` half-stars as the histogram's row says it: "4.5 ★", "5 ★"."""
    stars = count_text(value // 2) if value % 2 == 0 else stars_text(value / 2)
    return _("%(stars)s ★") % {"stars": stars}


def ratings_text(count):
    return ngettext("%(count)s rating", "%(count)s ratings", count) % {"count": count_text(count)}


def percent_text(part, whole):
    share = 100 * part / whole if whole else 0
    return _("%(percent)s%%") % {"percent": stars_text(share, places=0)}


# --- A title's distribution ----------------------------------------------------------------


def distribution_figure(*, chart_id, caption, buckets):
    """The ten half-star ratings, five stars at the top, as bars of their counts; `buckets`
    are half_star_histogram's (value, count) dicts, lowest first."""
    total = sum(bucket["count"] for bucket in buckets)
    ordered = list(reversed(buckets))
    rows = [
        Row(half_stars_text(b["value"]), [Value(b["count"], count_text(b["count"]))])
        for b in ordered
    ]
    words = "; ".join(
        _("%(rating)s: %(ratings)s")
        % {"rating": half_stars_text(b["value"]), "ratings": ratings_text(b["count"])}
        for b in ordered
    )
    desc = _("%(ratings)s in all. %(each)s.") % {"ratings": ratings_text(total), "each": words}
    return Figure(
        id=chart_id,
        caption=caption,
        svg=bar_chart(chart_id=f"{chart_id}-svg", title=caption, desc=desc, rows=rows),
        columns=[_("Rating"), _("Share"), _("Ratings")],
        rows=[
            TableRow(
                half_stars_text(b["value"]),
                [percent_text(b["count"], total), count_text(b["count"])],
            )
            for b in ordered
        ],
        table_class="histogram",
    )


def title_distribution_figure(title):
    return distribution_figure(
        chart_id="rating-distribution",
        caption=_("Ratings of %(title)s by stars") % {"title": title.name},
        buckets=title.rating_histogram,
    )


# --- A title's months ----------------------------------------------------------------------


def _next_month(month):
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_periods(months):
    """`months` (TitleMonth rows with ratings, oldest first) as one Period per calendar
    month from the first to the last, months without ratings included (as gaps), so the
    time axis is even. With their tick labels: every month's short name when there are
    few, else each January's year (or the first month's, when no January is shown)."""
    if not months:
        return []
    stored = {row.month: row for row in months}
    calendar = [months[0].month]
    while calendar[-1] < months[-1].month:
        calendar.append(_next_month(calendar[-1]))
    few = len(calendar) <= MONTH_TICKS_UP_TO
    any_january = any(month.month == 1 for month in calendar)
    periods = []
    for index, month in enumerate(calendar):
        if few:
            shown = "M Y" if index == 0 or month.month == 1 else "M"
            tick = date_format(month, shown)
        elif month.month == 1 or (index == 0 and not any_january):
            tick = str(month.year)
        else:
            tick = ""
        row = stored.get(month)
        periods.append(
            Period(row.rating_count if row else 0, row.rating_average if row else None, tick)
        )
    return periods


def month_name(month):
    return date_format(month, "YEAR_MONTH_FORMAT")


def title_months_figure(title, months=None):
    """The title's average rating and number of ratings by month, from its stored
    TitleMonth rows (one query), or None before its first rating."""
    if months is None:
        months = list(TitleMonth.objects.series(title.pk))
    if not months:
        return None
    caption = _("Ratings of %(title)s by month") % {"title": title.name}
    busiest = max(months, key=lambda row: (row.rating_count, row.month))
    averages = [row.rating_average for row in months]
    desc = _(
        "From %(first)s to %(last)s, ratings in %(months)s months. The most ratings in a "
        "month: %(ratings)s in %(busiest)s. The average by month went from %(low)s to "
        "%(high)s out of 5; in %(latest)s it was %(latest_average)s out of 5 from "
        "%(latest_ratings)s."
    ) % {
        "first": month_name(months[0].month),
        "last": month_name(months[-1].month),
        "months": count_text(len(months)),
        "ratings": ratings_text(busiest.rating_count),
        "busiest": month_name(busiest.month),
        "low": stars_text(min(averages)),
        "high": stars_text(max(averages)),
        "latest": month_name(months[-1].month),
        "latest_average": stars_text(averages[-1]),
        "latest_ratings": ratings_text(months[-1].rating_count),
    }
    svg = period_chart(
        chart_id="rating-months-svg",
        title=caption,
        desc=desc,
        periods=month_periods(months),
        average_label=_("Average rating by month (stars)"),
        count_label=_("Number of ratings by month"),
        count_text=count_text,
    )
    return Figure(
        id="rating-months",
        caption=caption,
        svg=svg,
        columns=[_("Month"), _("Average (stars)"), _("Ratings")],
        rows=[
            TableRow(
                month_name(row.month),
                [stars_text(row.rating_average, places=2), count_text(row.rating_count)],
            )
            for row in months
        ],
    )


# --- A member's distribution against the community's ------------------------------------------


def community_histogram():
    """How many published ratings of each half-star value the whole site holds: the sum
    of every title's stored histogram, one query over the titles (never the reviews)."""
    sums = Title.objects.aggregate(
        **{f"ratings_{value}": Sum(f"ratings_{value}", default=0) for value in RATING_VALUES}
    )
    return {value: sums[f"ratings_{value}"] for value in RATING_VALUES}


def member_distribution_figure(member, buckets, community):
    """The share of the member's ratings at each half-star value beside the community's
    (`buckets`: member_rating_stats' histogram; `community`: {value: count})."""
    mine = {bucket["value"]: bucket["count"] for bucket in buckets}
    my_total, all_total = sum(mine.values()), sum(community.values())
    caption = _("Ratings by %(member)s and by the whole community, by stars") % {
        "member": member.username
    }
    series = [
        Series(member.username, "chart-series-1"),
        Series(_("Community"), "chart-series-2"),
    ]

    def share(part, whole):
        return 100 * part / whole if whole else 0

    values = list(reversed(RATING_VALUES))
    rows = [
        Row(
            half_stars_text(value),
            [
                Value(
                    share(mine.get(value, 0), my_total), percent_text(mine.get(value, 0), my_total)
                ),
                Value(
                    share(community.get(value, 0), all_total),
                    percent_text(community.get(value, 0), all_total),
                ),
            ],
        )
        for value in values
    ]
    desc = _("Share of %(member)s's %(ratings)s and of the community's %(all)s. %(each)s.") % {
        "member": member.username,
        "ratings": ratings_text(my_total),
        "all": ratings_text(all_total),
        "each": "; ".join(
            _("%(rating)s: %(mine)s against %(community)s")
            % {
                "rating": half_stars_text(value),
                "mine": percent_text(mine.get(value, 0), my_total),
                "community": percent_text(community.get(value, 0), all_total),
            }
            for value in values
        ),
    }
    return Figure(
        id="member-distribution",
        caption=caption,
        svg=bar_chart(
            chart_id="member-distribution-svg",
            title=caption,
            desc=desc,
            rows=rows,
            series=series,
        ),
        columns=[
            _("Rating"),
            member.username,
            _("Share"),
            _("Community"),
            _("Share"),
        ],
        rows=[
            TableRow(
                half_stars_text(value),
                [
                    count_text(mine.get(value, 0)),
                    percent_text(mine.get(value, 0), my_total),
                    count_text(community.get(value, 0)),
                    percent_text(community.get(value, 0), all_total),
                ],
            )
            for value in values
        ],
    )
