"""Reports of a real training run: metrics.json layout, self-contained HTML (checked in headless
Chromium), model card, and their logging as MLflow artifacts."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from evaluation.groups import ORDER
from tests.chromium import chromium_or_skip, headless_command
from tests.conftest import TrainedRegistry
from tests.factories import CONTRACT_GROUP_KEYS, CONTRACT_OVERALL_KEYS

TARGETS = ("long_stay", "long_stay_21", "nctr")
EXTERNAL = [
    re.compile(
        r"""\b(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.I
    ),
    re.compile(r"@import", re.I),
    re.compile(r"""url\(\s*["']?\s*(?!data:|#)[^)'"\s]""", re.I),  # url(#id): same document
    re.compile(r"""\b(?:src|href)\s*=\s*["']?\s*(?!data:|#)[^\s"'>]""", re.I),
]


def external_references(html: str) -> list[str]:
    """Anything in the page a browser would fetch from elsewhere (network or another file)."""
    return [m.group(0) for pattern in EXTERNAL for m in pattern.finditer(html)]


@pytest.fixture(scope="module")
def reports(trained_registry: TrainedRegistry) -> Path:
    out = trained_registry.summary.report_dir  # type: ignore[attr-defined]
    assert out is not None
    return Path(out)


def test_metrics_json_follows_the_contract(reports: Path) -> None:
    doc = json.loads((reports / "metrics.json").read_text())
    assert set(TARGETS) <= set(doc)
    for target in TARGETS:
        block = doc[target]
        assert set(block["overall"]) >= CONTRACT_OVERALL_KEYS
        groups = block["groups"]
        assert list(groups["ethnic_group"]) == list(ORDER["ethnic_group"])  # Z and 99 kept
        assert list(groups["ethnic_category"]) == list(ORDER["ethnic_category"])
        assert {"sex", "age_band", "imd_quintile"} <= set(groups)
        for attribute, table in groups.items():
            for group, row in table.items():
                assert set(row) >= CONTRACT_GROUP_KEYS, (target, attribute, group)
                assert isinstance(row["suppressed"], bool)
                assert len(row["auroc_ci"]) == 2
                if row["suppressed"]:
                    assert row["auroc"] is None and row["fnr"] is None
                else:
                    assert row["n"] >= 50 and 0 <= row["prevalence"] <= 1
        gates = block["gates"]
        for name in ("min_auroc", "fnr_ratio:ethnic_group", "calibration_ratio:sex"):
            assert set(gates[name]) >= {"value", "limit", "passed"}, name
        assert "fnr_ratio:age_band" not in gates and "auroc_gap:age_band" in gates
        assert gates["fnr_ratio:ethnic_group"]["limit"] == [0.8, 1.25]


def test_reports_are_logged_as_mlflow_artifacts(trained_registry: TrainedRegistry) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(trained_registry.settings.tracking_uri)
    run_id = trained_registry.summary.run_id  # type: ignore[attr-defined]
    logged = {Path(a.path).name for a in client.list_artifacts(run_id, "reports")}
    assert {"metrics.json", "report.html", "model_card.md", "explanations.json"} <= logged


def test_report_html_has_no_external_references(reports: Path) -> None:
    html = (reports / "report.html").read_text()
    assert external_references(html) == []
    images = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert len(images) >= 3 * 8
    for src in images:  # inline PNG, or inline SVG that itself fetches nothing and runs nothing
        kind, _, payload = src.partition(";base64,")
        assert kind in ("data:image/png", "data:image/svg+xml"), src[:40]
        if kind == "data:image/svg+xml":
            svg = base64.b64decode(payload).decode("utf-8")
            assert "<script" not in svg and "<image" not in svg and "href" not in svg
            assert external_references(svg) == []
    # the checker itself catches what it should
    bad = [
        '<script src="https://cdn.example.org/x.js"></script>',
        '<link rel="stylesheet" href="//fonts.example.com/css">',
        "<style>@import 'theme.css';</style>",
        '<div style="background: url(http://x/y.png)"></div>',
        '<img src="plot.png">',
        '<rect fill="url(https://x/y.svg#p)"/>',
    ]
    assert all(external_references(b) for b in bad)


def test_model_card_sections(reports: Path) -> None:
    card = (reports / "model_card.md").read_text()
    for heading in (
        "## Intended use",
        "## Data",
        "## Metrics",
        "## Fairness findings",
        "## Limitations",
    ):
        assert heading in card
    assert "Not for:** decisions about any individual's care" in card
    assert "Ethnicity is not a model input" in card
    for target in TARGETS:
        assert f"| `{target}` |" in card


class _Tables(HTMLParser):
    """Rows per table id, and the text of the page, from Chromium's serialised DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, int] = {}
        self.current: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.current = dict(attrs).get("id")
            if self.current:
                self.rows[self.current] = 0
        elif tag == "tr" and self.current:
            self.rows[self.current] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.current = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.browser
def test_report_renders_in_headless_chromium(reports: Path, tmp_path: Path) -> None:
    common = headless_command(chromium_or_skip(), tmp_path / "profile")
    url = (reports / "report.html").resolve().as_uri()
    dom = subprocess.run(
        [*common, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    parsed = _Tables()
    parsed.feed(dom)
    for target in TARGETS:
        # header row + the seven NHS ethnic groups, Not stated and Not known included
        assert parsed.rows[f"fairness-{target}-ethnic_group"] == 1 + 7
        assert parsed.rows[f"fairness-{target}-ethnic_category"] == 1 + 18
        assert parsed.rows[f"gates-{target}"] > 10
    text = " ".join(parsed.text)
    assert "assistive intervention" in text and "Not stated" in text
    shot = tmp_path / "report.png"
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1280,2000", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2000)
    assert image.getpixel((20, 20)) == (0, 94, 184)  # the NHS-blue banner rendered
    assert len(set(image.resize((160, 250)).getdata())) > 200  # text and charts, not blank
