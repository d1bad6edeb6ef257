"""SVG charts of the report: round ticks, exact tick labels, well-formed self-contained SVG."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from evaluation import svg

NS = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("lo", "hi", "bins", "expected"),
    [
        (0, 1.02, 6, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]),
        (-1.9, 1.3, 6, ["−1.5", "−1.0", "−0.5", "0.0", "0.5", "1.0"]),
        (0, 2415, 2, ["0", "1000", "2000"]),
        (0.78, 0.845, 6, ["0.78", "0.79", "0.80", "0.81", "0.82", "0.83", "0.84"]),
        (5, 5, 3, ["5"]),
    ],
)
def test_ticks_are_round_and_labelled_exactly(
    lo: float, hi: float, bins: int, expected: list[str]
) -> None:
    assert svg.tick_labels(svg.nice_ticks(lo, hi, bins)) == expected


def test_crowded_axis_gets_fewer_ticks() -> None:
    wide = svg.axis_ticks(0.23, 0.38, 600, svg.X_SPACING, across=True)
    narrow = svg.axis_ticks(0.23, 0.38, 120, svg.X_SPACING, across=True)
    assert len(narrow) < len(wide)
    labels = svg.tick_labels(narrow)
    assert sum(svg.text_width(s, svg.TICK_FONT) + 12 for s in labels) <= 120


def _decode(uri: str) -> ET.Element:
    prefix = "data:image/svg+xml;base64,"
    assert uri.startswith(prefix)
    return ET.fromstring(base64.b64decode(uri[len(prefix) :]))


def test_chart_is_well_formed_escaped_and_clipped() -> None:
    chart = svg.Chart(400, 300)
    panel = chart.panel((60, 30, 320, 220), (0, 1), (0, 1))
    panel.line(np.linspace(0, 1, 5000), np.linspace(0, 1, 5000) ** 2, svg.ACCENT)
    panel.dots([0.5, np.nan], [0.5, 0.2], svg.WARN, 4)
    chart.axes(panel, "A <title> & more", "x", "y")
    chart.legend(panel, [("Black & minority <ethnic>", "dot", svg.WARN)])
    root = _decode(chart.to_data_uri())
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "A <title> & more" in texts and "Black & minority <ethnic>" in texts
    assert len(list(root.iter(f"{NS}circle"))) == 2  # the NaN dot is skipped; one in the legend
    curve = next(p for p in root.iter(f"{NS}path") if p.get("stroke") == svg.ACCENT)
    assert curve.get("d", "").count("L") < 1200  # 5000 points on a half-pixel grid
    assert root.find(f".//{NS}g[@clip-path='url(#c0)']") is not None
    assert float(root.get("width", 0)) == 400


def test_padded_limits() -> None:
    assert svg.padded([0.2, 0.4]) == pytest.approx((0.19, 0.41))
    assert svg.padded([None, np.nan]) == (0.0, 1.0)  # type: ignore[list-item]
    lo, hi = svg.padded([3.0])
    assert lo < 3 < hi
