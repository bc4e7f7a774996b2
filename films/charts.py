"""The franchise page's charts (films:franchise): each title's community average in
release order, the box office at home and abroad, the routine leaderboard's top ten.
From stored figures only (the titles' rating count and sum, the catalog's box office,
the routines' stored ratings): two queries for the whole page. Words and numbers in the
active language."""

from django.contrib.humanize.templatetags.humanize import intword
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.svg_charts import (
    Figure,
    Row,
    Series,
    TableRow,
    Value,
    bar_chart,
    count_text,
    stars_text,
)

TOP_ROUTINES = 10


def _ratings(count):
    return ngettext("%(count)s rating", "%(count)s ratings", count) % {"count": count_text(count)}


def _votes(count):
    return ngettext("%(count)s vote", "%(count)s votes", count) % {"count": count_text(count)}


def _out_of_five(stars):
    return _("%(stars)s out of 5") % {"stars": stars_text(stars)}


def _title_name(title):
    return _("%(title)s (%(year)s)") % {"title": title.name, "year": title.release_year}


def ratings_figure(titles):
    """Each title's community average (its stored count and sum), in the order given
    (release order), on a scale of 0 to 5 stars, with its number of ratings."""
    caption = _("Community average rating of each title, in release order")
    no_ratings = _("no ratings yet")
    rows, words = [], []
    for title in titles:
        if title.rating_count:
            text = _("%(stars)s ★ · %(ratings)s") % {
                "stars": stars_text(title.rating_average),
                "ratings": _ratings(title.rating_count),
            }
            value = Value(title.rating_average, text)
            said = _("%(average)s from %(ratings)s") % {
                "average": _out_of_five(title.rating_average),
                "ratings": _ratings(title.rating_count),
            }
        else:
            value, said = Value(None, no_ratings), no_ratings
        rows.append(Row(_title_name(title), [value]))
        words.append(_("%(title)s: %(said)s") % {"title": _title_name(title), "said": said})
    return Figure(
        id="franchise-ratings",
        caption=caption,
        svg=bar_chart(
            chart_id="franchise-ratings-svg",
            title=caption,
            desc="; ".join(words) + ".",
            rows=rows,
            maximum=5,
        ),
        columns=[_("Title"), _("Average (stars)"), _("Ratings")],
        rows=[
            TableRow(
                _title_name(title),
                [
                    stars_text(title.rating_average, places=2) if title.rating_count else "–",
                    count_text(title.rating_count),
                ],
                href=title.get_absolute_url(),
            )
            for title in titles
        ],
    )


def usd_text(amount):
    """A box-office figure as the title page's facts say it: "US$14.9 million"."""
    return _("US$%(amount)s") % {
        "amount": intword(amount) if amount >= 1_000_000 else count_text(amount)
    }


def box_office_figure(titles):
    """Each title's box office in the United States and in the rest of the world, as the
    catalog holds them: a figure it does not hold is "no figure", never a zero bar."""
    caption = _("Box office of each title: the United States and the rest of the world")
    no_figure = _("no figure")
    home, abroad = _("United States"), _("Rest of the world")

    def value(amount):
        return Value(None, no_figure) if amount is None else Value(amount, usd_text(amount))

    rows, known, unknown = [], [], []
    for title in titles:
        domestic, international = title.box_office_domestic_usd, title.box_office_international_usd
        rows.append(Row(_title_name(title), [value(domestic), value(international)]))
        if domestic is None and international is None:
            unknown.append(_title_name(title))
            continue
        known.append(
            _("%(title)s: %(home)s in the United States and %(abroad)s in the rest of the world")
            % {
                "title": _title_name(title),
                "home": no_figure if domestic is None else usd_text(domestic),
                "abroad": no_figure if international is None else usd_text(international),
            }
        )
    words = [*known]
    if unknown:
        words.append(_("no figure for %(titles)s") % {"titles": ", ".join(unknown)})
    return Figure(
        id="franchise-box-office",
        caption=caption,
        svg=bar_chart(
            chart_id="franchise-box-office-svg",
            title=caption,
            desc="; ".join(words) + ".",
            rows=rows,
            series=[Series(home, "chart-series-1"), Series(abroad, "chart-series-2")],
        ),
        columns=[_("Title"), home, abroad],
        rows=[
            TableRow(
                _title_name(title),
                [
                    no_figure if amount is None else usd_text(amount)
                    for amount in (
                        title.box_office_domestic_usd,
                        title.box_office_international_usd,
                    )
                ],
                href=title.get_absolute_url(),
            )
            for title in titles
        ],
    )


def _routine_name(entry):
    return _("%(rank)s. %(routine)s (%(title)s)") % {
        "rank": entry.rank,
        "routine": entry.routine.name,
        "title": entry.routine.title.name,
    }


def routines_figure(ranked):
    """The routine leaderboard's first ten (rank_routines' ranked entries): their
    weighted scores, 0 to 5 stars, with their numbers of votes."""
    entries = ranked[:TOP_ROUTINES]
    caption = _("The ten best-rated routines, by weighted score")
    rows = [
        Row(
            _routine_name(entry),
            [
                Value(
                    entry.score,
                    _("%(score)s · %(votes)s")
                    % {
                        "score": stars_text(entry.score, places=2),
                        "votes": _votes(entry.routine.rating_count),
                    },
                )
            ],
        )
        for entry in entries
    ]
    desc = "; ".join(
        _("%(routine)s: weighted score %(score)s out of 5 from %(votes)s")
        % {
            "routine": _routine_name(entry),
            "score": stars_text(entry.score, places=2),
            "votes": _votes(entry.routine.rating_count),
        }
        for entry in entries
    )
    return Figure(
        id="franchise-routines",
        caption=caption,
        svg=bar_chart(
            chart_id="franchise-routines-svg",
            title=caption,
            desc=(desc + ".") if entries else _("No one has rated a routine yet."),
            rows=rows,
            maximum=5,
        ),
        columns=[_("Routine"), _("Title"), _("Weighted score"), _("Votes")],
        rows=[
            TableRow(
                _routine_name(entry),
                [
                    entry.routine.title.name,
                    stars_text(entry.score, places=2),
                    count_text(entry.routine.rating_count),
                ],
                href=entry.routine.get_absolute_url(),
            )
            for entry in entries
        ],
    )
