"""Charts drawn on the server as inline SVG: the geometry here, the drawing in `_charts.html`.

No charting library and no script: a chart is a `Plot` of plain shapes (grid lines, texts, bars,
lines, points) in SVG user units; the template writes them out and the stylesheet sizes the
drawing to the page. Colours are presentation attributes, not CSS (the staff site's CSP forbids
inline styles); texts and grid lines use `currentColor`, so they follow the page's text colour.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# Mid-tone colours with at least 3:1 contrast against both a white and a near-black background,
# so that a series reads the same in a light and a dark theme. Blue and orange stay apart for
# the common forms of colour blindness; a dashed line tells lines apart without colour at all.
BLUE = "#3b7dd8"
ORANGE = "#c25e00"
TEAL = "#0f8a8a"
PINK = "#cf4f8f"

# The drawing's size in SVG user units; the stylesheet scales it to the page's width.
WIDTH = 720
HEIGHT = 240
LEFT = 64  # room for the value axis' labels
RIGHT = 12
TOP = 12
BOTTOM = 28  # room for the bucket labels
# At most this many bucket labels under a chart, so that they never overlap.
MAX_X_LABELS = 8
# Horizontal bar charts: one row per label.
ROW = 30
BAR = 18
LABEL_WIDTH = 240
NUMBER_WIDTH = 80
LABEL_CHARS = 32

Format = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    """One thing a chart counts: its key, its label in the legend, its colour, its line style."""

    key: str
    label: str
    colour: str
    dash: str | None = None


@dataclass(frozen=True)
class Segment:
    """A straight line (grid lines and axes)."""

    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Text:
    """A label at a point, anchored at its start, middle or end."""

    x: float
    y: float
    text: str
    anchor: str = "start"


@dataclass(frozen=True)
class Rect:
    """A bar, or a part of a stacked bar, with the words a pointer hovering over it shows."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Line:
    """A run of points joined by a line (a series with gaps is drawn as several runs)."""

    points: str
    colour: str
    dash: str | None


@dataclass(frozen=True)
class Dot:
    """One data point of a line chart."""

    cx: float
    cy: float
    colour: str
    title: str


@dataclass
class Plot:
    """Everything one chart draws, in SVG user units."""

    width: int
    height: int
    series: list[Series]
    grid: list[Segment] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)


def nice_step(value: float) -> float:
    """The smallest of 1, 2 or 5 times a power of ten that is at least `value` (> 0)."""
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if factor * power >= value:
            return float(factor * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def value_axis(highest: float, *, whole: bool) -> list[float]:
    """Round tick values from 0 to at least `highest`, about four steps apart."""
    step = nice_step(highest / 4) if highest > 0 else 1.0
    if whole:
        # Counts have no halves: a chart of 0 to 3 gets ticks 0, 1, 2, 3.
        step = max(1.0, step)
    count = max(1, math.ceil(highest / step - 1e-9))
    return [i * step for i in range(count + 1)]


def _x_labels(labels: Sequence[str], centre: Callable[[int], float]) -> list[Text]:
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    bottom = HEIGHT - BOTTOM + 18
    return [
        Text(round(centre(i), 2), bottom, label, "middle")
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def _frame(
    labels: Sequence[str], series: Sequence[Series], highest: float, fmt: Format, whole: bool
) -> tuple[Plot, Callable[[float], float], Callable[[int], float], float]:
    # The plot area, the value axis with its grid, and the bucket labels; returns the plot and
    # the functions that place a value (y) and a bucket's centre (x), and a bucket's width.
    ticks = value_axis(highest, whole=whole)
    top_value = ticks[-1] or 1.0
    bottom = HEIGHT - BOTTOM
    span = bottom - TOP
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))

    def y(value: float) -> float:
        return round(bottom - span * value / top_value, 2)

    def centre(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    plot = Plot(WIDTH, HEIGHT, list(series))
    for tick in ticks:
        plot.grid.append(Segment(LEFT, y(tick), WIDTH - RIGHT, y(tick)))
        plot.texts.append(Text(LEFT - 6, y(tick) + 4, fmt(tick), "end"))
    plot.texts.extend(_x_labels(labels, centre))
    return plot, y, centre, slot


def columns(
    labels: Sequence[str],
    series: Sequence[Series],
    values: Sequence[Sequence[float]],
    fmt: Format,
    *,
    whole: bool = True,
) -> Plot:
    """Stacked columns, one per bucket: `values[s][i]` is series `s` in bucket `i`.

    Only parts with a value are drawn, so a bucket with nothing has no bar at all.
    """
    totals = [sum(column) for column in zip(*values, strict=True)] if values else []
    plot, y, centre, slot = _frame(labels, series, max(totals, default=0), fmt, whole)
    width = round(slot * 0.7, 2)
    for i, label in enumerate(labels):
        below = 0.0
        for s, line in zip(series, values, strict=True):
            value = line[i]
            if not value:
                continue
            top = y(below + value)
            title = f"{label}: {s.label} {fmt(value)}"
            plot.rects.append(
                Rect(round(centre(i) - width / 2, 2), top, width, y(below) - top, s.colour, title)
            )
            below += value
    return plot


def lines(
    labels: Sequence[str],
    series: Sequence[Series],
    values: Sequence[Sequence[float | None]],
    fmt: Format,
    *,
    whole: bool = True,
) -> Plot:
    """A line per series over the buckets, with a point per value; None leaves a gap."""
    highest = max((v for line in values for v in line if v is not None), default=0)
    plot, y, centre, _ = _frame(labels, series, highest, fmt, whole)
    for s, line in zip(series, values, strict=True):
        run: list[str] = []
        for i, value in enumerate([*line, None]):
            if value is None:
                if len(run) > 1:
                    plot.lines.append(Line(" ".join(run), s.colour, s.dash))
                run = []
                continue
            x, top = round(centre(i), 2), y(value)
            run.append(f"{x},{top}")
            plot.dots.append(Dot(x, top, s.colour, f"{labels[i]}: {s.label} {fmt(value)}"))
    return plot


def bars(labels: Sequence[str], values: Sequence[float], series: Series, fmt: Format) -> Plot:
    """Horizontal bars, one row per label, as long as its value, the value written after it."""
    longest = max(values, default=0) or 1
    span = WIDTH - LABEL_WIDTH - NUMBER_WIDTH
    plot = Plot(WIDTH, max(1, len(labels)) * ROW, [series])
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        top = i * ROW + (ROW - BAR) / 2
        length = round(span * value / longest, 2)
        # A long e-mail address is shortened in the drawing; the table beside it has it whole.
        short = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        plot.texts.append(Text(LABEL_WIDTH - 8, top + BAR - 4, short, "end"))
        if value:
            title = f"{label}: {fmt(value)}"
            plot.rects.append(Rect(LABEL_WIDTH, top, length, BAR, series.colour, title))
        plot.texts.append(Text(LABEL_WIDTH + length + 6, top + BAR - 4, fmt(value)))
    return plot
