"""Small SVG charts drawn directly: panels with nice ticks, lines, dots, intervals, bars, legends.

The report's line, interval and bar charts are drawn here rather than with matplotlib: there a
chart took 0.1-0.5 s, nearly all of it laying out and rasterising text; here one takes a few
milliseconds, stays sharp at any zoom and is a few kB. Sizes are CSS pixels; fonts and line widths
match the matplotlib charts (points at 110 dpi) so the two kinds sit well side by side. A chart
is returned as a `data:image/svg+xml;base64,...` URI: no script and no external reference.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from matplotlib.font_manager import FontProperties, findfont, get_font

INK, MUTED, ACCENT, WARN, GOOD = "#1f2933", "#7b8794", "#005eb8", "#d5281b", "#007f3b"
GRID = "#b0b0b0"
FONT = "'DejaVu Sans', Verdana, Arial, sans-serif"
DPI = 110  # of the matplotlib charts; chart sizes are given in inches at this resolution
PT = DPI / 72  # px per point
TICK_FONT, NOTE_FONT, LABEL_FONT = 8 * PT, 7 * PT, 10 * PT
TICK_LEN = TICK_PAD = 3.5 * PT
TITLE_SPACE = 26.0  # px above a panel with a title
XLABEL_SPACE = 50.0  # px below a panel with tick labels and an axis label
X_SPACING, Y_SPACING = 45.0, 45.0  # px per tick, about
RIGHT, GAP = 14.0, 10.0  # px: right margin of a chart, gap between stacked panels
Values = Sequence[float] | np.ndarray


@lru_cache(maxsize=4096)
def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in px of `text` at `size` px in DejaVu Sans (matplotlib's own copy), the first of
    the fonts `FONT` lists."""
    prop = FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal")
    font = get_font(findfont(prop))
    font.set_size(size, 72)
    font.set_text(text, 0.0)
    return float(font.get_width_height()[0]) / 64


def y_label_space(labels: Sequence[str], axis_label: bool, size: float = TICK_FONT) -> float:
    """Px left of a panel for its y tick labels (and rotated axis label), with 5% to spare for a
    fallback font a little wider than DejaVu Sans."""
    widest = 1.05 * max((text_width(s, size) for s in labels), default=0.0)
    return TICK_LEN + TICK_PAD + widest + (LABEL_FONT + 10 if axis_label else 0.0) + 6


def axis_ticks(
    lo: float, hi: float, length: float, spacing: float, most: int = 6, across: bool = False
) -> np.ndarray:
    """Ticks for an axis `length` px long: about one per `spacing` px, at most `most` steps; for
    labels written across the axis (an x axis), fewer steps while the labels would crowd."""
    for bins in range(int(np.clip(length / spacing, 2, most)), 0, -1):
        ticks = nice_ticks(lo, hi, bins)
        crowd = sum(text_width(s, TICK_FONT) + 12 for s in tick_labels(ticks)) if across else 0
        if crowd <= length or bins == 1:
            break
    return ticks


def nice_ticks(lo: float, hi: float, bins: int = 6) -> np.ndarray:
    """Round tick positions within [lo, hi]: the finest step of 1, 2, 2.5 or 5 x 10^k that gives
    at most `bins` + 1 ticks (as matplotlib's MaxNLocator)."""
    lo, hi = min(lo, hi), max(lo, hi)
    if not hi > lo:
        return np.array([lo])
    mag = 10 ** np.floor(np.log10((hi - lo) / max(bins, 1)))
    for step in (m * mag for m in (0.5, 1, 2, 2.5, 5, 10, 20)):
        first, last = np.ceil(lo / step - 1e-9), np.floor(hi / step + 1e-9)
        if last - first + 1 <= bins + 1:
            break
    return np.arange(first, last + 1) * step


def tick_labels(ticks: np.ndarray) -> list[str]:
    """Labels with the fewest decimals that show every tick exactly (minus sign U+2212)."""
    step = float(np.min(np.diff(ticks))) if len(ticks) > 1 else 1.0
    decimals = next(
        (d for d in range(7) if np.allclose(np.round(ticks, d), ticks, atol=step * 1e-6)), 6
    )
    return [f"{t + 0.0:.{decimals}f}".replace("-", "−") for t in ticks]


def padded(values: Values, margin: float = 0.05) -> tuple[float, float]:
    """Limits around the finite `values` with a margin each side (as matplotlib autoscales)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return 0.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0) * 0.5
    return lo - margin * span, hi + margin * span


def _n(v: float) -> str:
    """A coordinate with one decimal, trailing zeros dropped (keeps the SVG small)."""
    return f"{v:.1f}".rstrip("0").rstrip(".")


@dataclass
class Panel:
    """A plotting area (px box) with linear data scales; `ylim` may run downwards (table rows).
    Its data elements are clipped to the box."""

    left: float
    top: float
    width: float
    height: float
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    parts: list[str] = field(default_factory=list)

    def px(self, x: Any) -> np.ndarray:
        """Data x to px."""
        lo, hi = self.xlim
        return self.left + (np.asarray(x, dtype=float) - lo) / ((hi - lo) or 1.0) * self.width

    def py(self, y: Any) -> np.ndarray:
        """Data y to px (up the page as y grows, unless `ylim` is reversed)."""
        lo, hi = self.ylim
        span = (hi - lo) or 1.0
        return self.top + self.height - (np.asarray(y, dtype=float) - lo) / span * self.height

    def line(
        self, xs: Values, ys: Values, colour: str, width: float = 1.5 * PT, dash: str = "",
        marker: float = 0.0,
    ) -> None:  # fmt: skip
        """A polyline on a half-pixel grid (no more vertices than the eye can see), optionally
        with dot markers."""
        x, y = self.px(xs), self.py(ys)
        ok = np.isfinite(x) & np.isfinite(y)
        pts = np.round(np.column_stack([x[ok], y[ok]]) * 2) / 2
        if len(pts) > 2:  # drop repeats ...
            pts = pts[np.r_[True, np.any(np.diff(pts, axis=0) != 0, axis=1)]]
        if len(pts) > 2:  # ... and the middle points of straight runs
            step = np.diff(pts, axis=0)
            pts = pts[np.r_[True, np.any(step[1:] != step[:-1], axis=1), True]]
        if len(pts):
            d = "M" + "L".join(f"{_n(a)} {_n(b)}" for a, b in pts)
            self.parts.append(
                f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width:.2f}" '
                f'stroke-linejoin="round"{_dash(dash)}/>'
            )
        if marker:
            self.dots(np.asarray(xs)[ok], np.asarray(ys)[ok], colour, marker)

    def dots(self, xs: Values, ys: Values, colour: str | Sequence[str], r: float) -> None:
        """Filled circles of radius `r` px; `colour` one for all or one per dot."""
        colours = [colour] * len(xs) if isinstance(colour, str) else list(colour)
        for x, y, c in zip(self.px(xs), self.py(ys), colours, strict=True):
            if np.isfinite(x) and np.isfinite(y):
                self.parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{r:.1f}" fill="{c}"/>')

    def points(self, xs: Values, ys: Values, colour: str, r: float, opacity: float) -> None:
        """A cloud of small translucent dots (overlaps darken, showing density)."""
        x, y = self.px(xs), self.py(ys)
        ok = np.isfinite(x) & np.isfinite(y)
        dots = "".join(
            f'<circle cx="{_n(a)}" cy="{_n(b)}" r="{r}"/>'
            for a, b in zip(x[ok], y[ok], strict=True)
        )
        self.parts.append(f'<g fill="{colour}" fill-opacity="{opacity}">{dots}</g>')

    def segments(
        self, x0: Values, y0: Values, x1: Values, y1: Values, colour: str, width: float,
        opacity: float = 1.0, dash: str = "",
    ) -> None:  # fmt: skip
        """Straight segments (x0, y0)-(x1, y1) in data coordinates, as one path."""
        ends = zip(self.px(x0), self.py(y0), self.px(x1), self.py(y1), strict=True)
        d = "".join(
            f"M{_n(a)} {_n(b)}L{_n(c)} {_n(e)}"
            for a, b, c, e in ends
            if np.isfinite([a, b, c, e]).all()
        )
        if d:
            self.parts.append(
                f'<path d="{d}" stroke="{colour}" stroke-width="{width:.2f}" '
                f'stroke-opacity="{opacity}"{_dash(dash)}/>'
            )

    def vline(self, x: float, colour: str, width: float, dash: str = "") -> None:
        """A vertical line across the panel at data `x`."""
        self.segments([x], [self.ylim[0]], [x], [self.ylim[1]], colour, width, dash=dash)

    def hline(self, y: float, colour: str, width: float, dash: str = "") -> None:
        """A horizontal line across the panel at data `y`."""
        self.segments([self.xlim[0]], [y], [self.xlim[1]], [y], colour, width, dash=dash)

    def rects(
        self, x0: Values, x1: Values, y0: Values, y1: Values, colour: str, opacity: float = 1.0,
        edge: str = "",
    ) -> None:  # fmt: skip
        """Filled rectangles between data coordinates (bars, bands, boxes), optionally edged."""
        stroke = f' stroke="{edge}" stroke-width="{PT:.2f}"' if edge else ""
        for a, b, c, d in zip(self.px(x0), self.px(x1), self.py(y0), self.py(y1), strict=True):
            self.parts.append(
                f'<rect x="{_n(min(a, b))}" y="{_n(min(c, d))}" width="{_n(abs(b - a))}" '
                f'height="{_n(abs(d - c))}" fill="{colour}" fill-opacity="{opacity}"{stroke}/>'
            )


def _dash(dash: str) -> str:
    return f' stroke-dasharray="{dash}"' if dash else ""


@dataclass
class Chart:
    """An SVG canvas: grid lines behind, each panel's clipped data, then axes and text."""

    width: float
    height: float
    panels: list[Panel] = field(default_factory=list)
    back: list[str] = field(default_factory=list)
    front: list[str] = field(default_factory=list)

    def panel(
        self,
        box: tuple[float, float, float, float],
        xlim: tuple[float, float],
        ylim: tuple[float, float],
    ) -> Panel:
        """A panel at `box` = (left, top, width, height) in px."""
        p = Panel(*box, xlim=xlim, ylim=ylim)
        self.panels.append(p)
        return p

    def text(
        self, x: float, y: float, s: str, size: float = TICK_FONT, anchor: str = "start",
        **attrs: Any,
    ) -> None:  # fmt: skip
        """Text with its baseline at (x, y) px; extra attributes as keywords (`font_weight`)."""
        extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
        self.front.append(
            f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size:.1f}" text-anchor="{anchor}"{extra}>'
            f"{html.escape(s)}</text>"
        )

    def axes(
        self,
        p: Panel,
        title: str = "",
        xlabel: str = "",
        ylabel: str = "",
        yticks: Values | None = None,
        ylabels: Sequence[str] | None = None,
        xlabels: bool = True,
        ygrid: bool = True,
        xbins: int = 6,
        ysize: float = TICK_FONT,
    ) -> None:
        """Left and bottom spines, ticks, grid, tick labels, axis labels, a left-aligned title.

        The title and axis labels carry `class="title"`, `"x-label"` and `"y-label"`, so a test
        (or a reader of the SVG) can find them."""
        bottom, right = p.top + p.height, p.left + p.width
        xt = axis_ticks(*p.xlim, p.width, X_SPACING, xbins, across=True)
        yt = (
            axis_ticks(*p.ylim, p.height, Y_SPACING)
            if yticks is None
            else np.asarray(yticks, dtype=float)
        )
        grid = [f"M{_n(x)} {_n(p.top)}V{_n(bottom)}" for x in p.px(xt)]
        grid += [f"M{_n(p.left)} {_n(y)}H{_n(right)}" for y in p.py(yt)] if ygrid else []
        marks = [f"M{_n(x)} {_n(bottom)}v{TICK_LEN:.1f}" for x in p.px(xt)]
        marks += [f"M{_n(p.left)} {_n(y)}h{-TICK_LEN:.1f}" for y in p.py(yt)]
        self.back.append(
            f'<path d="{"".join(grid)}" stroke="{GRID}" stroke-opacity="0.25" stroke-width="0.9"/>'
        )
        self.front.append(
            f'<path d="M{_n(p.left)} {_n(p.top)}V{_n(bottom)}H{_n(right)}" stroke="{INK}" '
            f'stroke-width="1.2" fill="none"/>'
            f'<path d="{"".join(marks)}" stroke="{INK}" stroke-width="1.2"/>'
        )
        if xlabels:
            for x, s in zip(p.px(xt), tick_labels(xt), strict=True):
                self.text(x, bottom + TICK_LEN + TICK_PAD + TICK_FONT * 0.8, s, anchor="middle")
        labels = list(ylabels) if ylabels is not None else tick_labels(yt)
        for y, s in zip(p.py(yt), labels, strict=True):
            self.text(p.left - TICK_LEN - TICK_PAD, y + ysize * 0.35, s, ysize, anchor="end")
        if title:  # left-aligned on the panel, moved left only if it would leave the canvas
            x = min(p.left, self.width - 4 - text_width(title, LABEL_FONT, bold=True))
            self.text(x, p.top - 9, title, LABEL_FONT, font_weight="bold", **{"class": "title"})
        if xlabel:  # centred under the panel, kept inside the canvas
            half = text_width(xlabel, LABEL_FONT) / 2
            x = float(np.clip(p.left + p.width / 2, half + 4, self.width - half - 4))
            self.text(x, bottom + 40, xlabel, LABEL_FONT, "middle", **{"class": "x-label"})
        if ylabel:
            x = p.left - y_label_space(labels, False, ysize) - 4
            y = p.top + p.height / 2
            turn = f"rotate(-90 {_n(x)} {_n(y)})"
            self.text(x, y, ylabel, LABEL_FONT, "middle", transform=turn, **{"class": "y-label"})

    def note(self, p: Panel, y: float, s: str) -> None:
        """A small muted note at the left of the panel, at data `y` (e.g. a suppressed group)."""
        self.text(p.left + 4, float(p.py(y)) + NOTE_FONT * 0.35, s, NOTE_FONT, fill=MUTED)

    def legend(
        self, p: Panel, items: Sequence[tuple[str, str, str]], loc: str = "upper left",
        size: float = TICK_FONT,
    ) -> None:  # fmt: skip
        """A frameless legend inside the panel. Items are (label, kind, colour), kind one of
        line, thick, dashed, dot, marker-line, vline."""
        row = size * 1.5
        width = 38 + max(text_width(label, size) for label, _, _ in items)
        x = p.left + 10 if loc.endswith("left") else p.left + p.width - width - 6
        y = p.top + 6 if loc.startswith("upper") else p.top + p.height - 6 - row * len(items)
        for i, (label, kind, colour) in enumerate(items):
            cy = y + row * (i + 0.5)
            stroke = {"line": 1.8, "marker-line": 1.8, "thick": 3.4, "dashed": 1.2}.get(kind)
            if stroke:
                dash = _dash("4.5 2" if kind == "dashed" else "")
                self.front.append(
                    f'<path d="M{_n(x)} {_n(cy)}h30" stroke="{colour}" '
                    f'stroke-width="{stroke}"{dash}/>'
                )
            if kind in ("dot", "marker-line"):
                r = 4.6 if kind == "dot" else 3.2
                self.front.append(
                    f'<circle cx="{_n(x + 15)}" cy="{_n(cy)}" r="{r}" fill="{colour}"/>'
                )
            if kind == "vline":
                self.front.append(
                    f'<path d="M{_n(x + 15)} {_n(cy - 7)}v14" stroke="{colour}" '
                    'stroke-width="1.5"/>'
                )
            self.text(x + 38, cy + size * 0.35, label, size=size)

    def to_data_uri(self) -> str:
        """The chart as a base64 `data:image/svg+xml` URI."""
        clips, data = [], []
        for i, p in enumerate(self.panels):
            clips.append(
                f'<clipPath id="c{i}"><rect x="{_n(p.left)}" y="{_n(p.top)}" '
                f'width="{_n(p.width)}" height="{_n(p.height)}"/></clipPath>'
            )
            data.append(f'<g clip-path="url(#c{i})">{"".join(p.parts)}</g>')
        w, h = _n(self.width), _n(self.height)
        svg = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            f'viewBox="0 0 {w} {h}" font-family="{FONT}" fill="{INK}">'
            f'<rect width="100%" height="100%" fill="#fff"/><defs>{"".join(clips)}</defs>'
            f"{''.join(self.back)}{''.join(data)}{''.join(self.front)}</svg>"
        )
        return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
