"""Charts drawn on the server as SVG, so they show with JavaScript off, print, and pass the
site's Content-Security-Policy as it is: no script, no `style` attribute or element (the
policy allows neither); the colours and type come from classes in static/css/site.css
(`chart-*`), the geometry from attributes (x, y, width, height, points). A chart holds
no link: inside role="img" a link is hidden from assistive technology; the table of
figures under each chart carries them.

Every chart is an `<svg role="img">` named by its own `<title>` and `<desc>` (the caller
words them, in the page's language, with the key figures), with a viewBox and width 100%
so it scales to its column: VIEW_WIDTH user units wide, laid out so that at a phone's
360 CSS pixels the labels stay about their CSS size and never overlap (each row's label on
a line of its own above its bars, so a long title name never competes with a bar).

The drawing formats no number: labels and values come in as text the caller formatted
for the page's language (count_text and stars_text below, django.utils.formats), and only
coordinates are written by the drawing, always with a full stop. Each bar and point
carries its raw value (data-value, data-count, data-average) for the tests that check
the drawing against the database.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

VIEW_WIDTH = 400
LABEL_SIZE = 14  # .chart-label's font-size in site.css, in user units
VALUE_SIZE = 13  # .chart-value's, .chart-note's and .chart-axis's
# An average character's advance, in ems, for the layout's estimates: on the generous
# side of the sans-serif fonts the site's stack falls to, so a line never runs over.
CHAR_WIDTH = 0.62
BAR_HEIGHT = 15
BAR_GAP = 3
ROW_GAP = 10


@dataclass(frozen=True)
class Value:
    """One bar: its value (None: no figure, shown as `text` alone, never as a zero bar)
    and the words written after it."""

    value: float | None
    text: str


@dataclass(frozen=True)
class Row:
    label: str
    values: Sequence[Value]


@dataclass(frozen=True)
class Series:
    name: str
    css_class: str = "chart-series-1"


@dataclass(frozen=True)
class Period:
    """One period (a month) of a series over time: how many, their average (None when
    there were none) and the axis label under it ("" for none)."""

    count: int
    average: float | None
    tick: str = ""


@dataclass(frozen=True)
class TableRow:
    heading: str
    cells: Sequence[str]
    href: str = ""


@dataclass(frozen=True)
class Figure:
    """A chart with its figures as a table, for templates/_chart.html: `columns` are the
    table's headings (the row headings' first), `caption` names both."""

    id: str
    caption: str
    svg: SafeString
    columns: Sequence[str]
    rows: Sequence[TableRow]
    table_class: str = ""


def count_text(number):
    """A whole number in the active language, grouped ("1,234", "1.234")."""
    return number_format(number, 0, force_grouping=True)


def stars_text(stars, *, places=1):
    """An average in stars in the active language, with `places` decimals ("3.8", "3,8"),
    rounded half up as the templates' floatformat rounds the same average elsewhere."""
    rounded = Decimal(repr(float(stars))).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return number_format(rounded, places)


@dataclass
class _Canvas:
    parts: list = field(default_factory=list)

    def add(self, template, *args):
        self.parts.append(format_html(template, *args))


def _n(number):
    """A coordinate: at most one decimal, locale-free ("12.5", "3")."""
    text = f"{number:.1f}"
    return text[:-2] if text.endswith(".0") else text


def text_width(text, size):
    return len(text) * size * CHAR_WIDTH


def _fit(text, width, size):
    """`text` cut with an ellipsis to fit `width` (the table beside the chart has it whole)."""
    most = max(1, int(width / (size * CHAR_WIDTH)))
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def _lines(text, width, size, *, most=2):
    """`text` in lines that fit `width`, broken between words, at most `most` of them
    (the last cut with an ellipsis if it still runs over)."""
    lines = []
    for word in text.split():
        if lines and text_width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > most:
        lines = [*lines[: most - 1], " ".join(lines[most - 1 :])]
    return [_fit(line, width, size) for line in lines] or [""]


def _svg(chart_id, title, desc, height, body, css_class):
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg {}" role="img" '
        'aria-labelledby="{}-title {}-desc" viewBox="0 0 {} {}" width="100%" '
        'preserveAspectRatio="xMinYMin meet" id="{}">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        css_class,
        chart_id,
        chart_id,
        VIEW_WIDTH,
        _n(height),
        chart_id,
        chart_id,
        title,
        chart_id,
        desc,
        mark_safe("".join(body)),
    )


def _legend(canvas, series, y):
    """The series' names with their colour, on one line, or one per line when too long."""
    x = 0
    for item in series:
        width = 14 + text_width(item.name, VALUE_SIZE) + 14
        if x and x + width > VIEW_WIDTH:
            x, y = 0, y + VALUE_SIZE + 6
        canvas.add(
            '<rect class="{}" x="{}" y="{}" width="10" height="10" rx="2"></rect>'
            '<text class="chart-value" x="{}" y="{}">{}</text>',
            item.css_class,
            _n(x),
            _n(y + 1),
            _n(x + 14),
            _n(y + 10),
            item.name,
        )
        x += width
    return y + VALUE_SIZE + 10


def bar_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[Row],
    series: Sequence[Series] = (Series(""),),
    maximum: float | None = None,
) -> SafeString:
    """Horizontal bars, one per series in each row (grouped when there are several), all
    on one scale from zero to `maximum` (the largest value when None), each bar's text
    right after its end; a value of None is its text alone, without a bar. Each row's
    label is on its own line above its bars, or, when every label is short, in a column
    left of them."""
    values = [v.value for row in rows for v in row.values if v.value is not None]
    top = maximum if maximum is not None else max(values, default=0)
    texts = [v.text for row in rows for v in row.values]
    # Short labels ("4.5 ★") go in a column left of the bars, on the bars' line; longer
    # ones (titles, routines) on a line of their own above them, the whole width.
    widest_label = max((text_width(row.label, LABEL_SIZE) for row in rows), default=0)
    start = widest_label + 8 if widest_label <= VIEW_WIDTH * 0.25 else 0
    # Room after the longest bar for the longest value text.
    reserve = min(max((text_width(t, VALUE_SIZE) for t in texts), default=0) + 8, VIEW_WIDTH / 2)
    length = VIEW_WIDTH - start - reserve
    canvas = _Canvas()
    y = 0
    if len(series) > 1:
        y = _legend(canvas, series, y)
    for row in rows:
        if start:
            canvas.add(
                '<text class="chart-label" x="0" y="{}">{}</text>',
                _n(y + BAR_HEIGHT - 2),
                row.label,
            )
        else:
            for line in _lines(row.label, VIEW_WIDTH, LABEL_SIZE):
                canvas.add(
                    '<text class="chart-label" x="0" y="{}">{}</text>', _n(y + LABEL_SIZE), line
                )
                y += LABEL_SIZE + 3
            y += 2
        notes = {v.text for v in row.values if v.value is None}
        if len(row.values) > 1 and len(notes) == 1 and all(v.value is None for v in row.values):
            # "No figure" for every series: said once.
            canvas.add(
                '<text class="chart-note" x="{}" y="{}">{}</text>',
                _n(start),
                _n(y + BAR_HEIGHT - 3),
                notes.pop(),
            )
            y += BAR_HEIGHT + BAR_GAP + ROW_GAP
            continue
        for item, value in zip(series, row.values, strict=True):
            if value.value is None:
                canvas.add(
                    '<text class="chart-note" x="{}" y="{}">{}</text>',
                    _n(start),
                    _n(y + BAR_HEIGHT - 3),
                    value.text,
                )
            else:
                width = length * value.value / top if top else 0
                canvas.add(
                    '<rect class="chart-bar {}" x="{}" y="{}" width="{}" height="{}" rx="2" '
                    'data-value="{}"></rect>'
                    '<text class="chart-value" x="{}" y="{}">{}</text>',
                    item.css_class,
                    _n(start),
                    _n(y),
                    f"{width:.3f}",
                    BAR_HEIGHT,
                    repr(float(value.value)),
                    _n(start + width + 4),
                    _n(y + BAR_HEIGHT - 3),
                    value.text,
                )
            y += BAR_HEIGHT + BAR_GAP
        y += ROW_GAP if not start or len(series) > 1 else 2
    return _svg(chart_id, title, desc, max(y, 1), canvas.parts, "chart-bars")


def period_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    periods: Sequence[Period],
    average_label: str,
    count_label: str,
    count_text: Callable[[int], str],
    average_max: float = 5,
) -> SafeString:
    """A series over time in two panels sharing the time axis: the average as a line
    (0 to `average_max`, broken where a period has none, a dot on each period that has
    one) above, the number in each period as bars below (0 to the largest), the ticks'
    labels under both (one dropped where it would overlap the one before)."""
    left, right = 26, 6
    plot = VIEW_WIDTH - left - right
    step = plot / max(len(periods), 1)
    line_top, line_height = 22, 96
    bars_top, bars_height = line_top + line_height + 32, 72
    axis_y = bars_top + bars_height
    canvas = _Canvas()
    canvas.add('<text class="chart-label" x="0" y="{}">{}</text>', LABEL_SIZE, average_label)
    for star in range(int(average_max) + 1):
        y = line_top + line_height * (1 - star / average_max)
        canvas.add(
            '<line class="chart-grid" x1="{}" y1="{}" x2="{}" y2="{}"></line>'
            '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>',
            left,
            _n(y),
            VIEW_WIDTH - right,
            _n(y),
            left - 4,
            _n(y + 4),
            star,
        )

    def x_of(index):
        return left + step * (index + 0.5)

    segment = []
    segments = [segment]
    for index, period in enumerate(periods):
        if period.average is None:
            segment = []
            segments.append(segment)
            continue
        segment.append((x_of(index), line_top + line_height * (1 - period.average / average_max)))
    for points in segments:
        if len(points) > 1:
            canvas.add(
                '<polyline class="chart-line" points="{}"></polyline>',
                " ".join(f"{_n(x)},{_n(y)}" for x, y in points),
            )
    dot = min(3, max(1.2, step / 3))
    for index, period in enumerate(periods):
        if period.average is not None:
            canvas.add(
                '<circle class="chart-dot" cx="{}" cy="{}" r="{}" data-average="{}"></circle>',
                _n(x_of(index)),
                f"{line_top + line_height * (1 - period.average / average_max):.3f}",
                _n(dot),
                repr(float(period.average)),
            )
    most = max((period.count for period in periods), default=0)
    canvas.add('<text class="chart-label" x="0" y="{}">{}</text>', bars_top - 18, count_label)
    canvas.add(
        '<line class="chart-grid" x1="{}" y1="{}" x2="{}" y2="{}"></line>'
        '<text class="chart-axis" x="{}" y="{}">{}</text>',
        left,
        bars_top,
        VIEW_WIDTH - right,
        bars_top,
        left,
        bars_top - 3,
        count_text(most),
    )
    width = min(max(step * 0.7, 0.6), 24)  # a lone month is a bar, not a wall
    for index, period in enumerate(periods):
        height = bars_height * period.count / most if most else 0
        canvas.add(
            '<rect class="chart-bar chart-series-2" x="{}" y="{}" width="{}" height="{}" '
            'data-count="{}"></rect>',
            _n(x_of(index) - width / 2),
            f"{axis_y - height:.3f}",
            f"{width:.2f}",
            f"{height:.3f}",
            period.count,
        )
    canvas.add(
        '<line class="chart-axis-line" x1="{}" y1="{}" x2="{}" y2="{}"></line>',
        left,
        axis_y,
        VIEW_WIDTH - right,
        axis_y,
    )
    free_from = 0
    for index, period in enumerate(periods):
        if not period.tick:
            continue
        half = text_width(period.tick, VALUE_SIZE) / 2
        x = min(max(x_of(index), half), VIEW_WIDTH - half)
        if x - half < free_from:
            continue  # would overlap the label before it
        canvas.add(
            '<line class="chart-axis-line" x1="{}" y1="{}" x2="{}" y2="{}"></line>'
            '<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{}</text>',
            _n(x_of(index)),
            axis_y,
            _n(x_of(index)),
            axis_y + 4,
            _n(x),
            axis_y + 17,
            period.tick,
        )
        free_from = x + half + 6
    return _svg(chart_id, title, desc, axis_y + 22, canvas.parts, "chart-periods")
