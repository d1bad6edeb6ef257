"""Issue 12, items 1 and 5: findings that stop a model; targets that cannot train are skipped.

Item 1, as filed: on the default synthetic data the report found the planted NCTR disparity
(Black or Black British patients in Core20 areas, O/E 1.84, 95% CI 1.46-2.31), yet `los train`
printed "gates passed 19/19 -> promoted to champion"; the gate table showed
`calibration_ratio:ethnic_group 1.347, limit 0.80-1.25, pass`; the ethnicity x deprivation
breakdown was not gated; and the report's findings and the gates used two different rules.
Item 5: an extract whose stays never reach 21 days aborted the whole run on the 21-day target,
with advice to change the split dates.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from evaluation.evaluate import TargetEvaluation, evaluate_target, metrics_document
from evaluation.findings import judge
from evaluation.gates import GateResult, gate_evaluation
from evaluation.group_metrics import Breakdown
from evaluation.metrics import overall_metrics
from evaluation.report import ReportContext, findings, render_report, report_view
from los.config import GatesConfig, Settings, TrainingConfig
from los.errors import DataQualityError, ModelNotFoundError
from los.targets import Target, targets_from_config, untrainable
from tests.conftest import fast_config
from training.pipeline import fit_target, train_all
from training.prepare import prepare
from training.promotion import STATUS_TAG, review, version_review

PLANTED = "Black or Black British, Core20"
ONLY_ETHNIC_GROUP = GatesConfig(fairness_attributes=["ethnic_group"])

# --- one rule: the findings and the gates are the same verdict ----------------------------------


@pytest.mark.parametrize(
    ("value", "ci", "evidence", "expected"),
    [
        (1.10, (0.95, 1.27), "interval", "pass"),
        (1.25, (1.10, 1.40), "interval", "pass"),  # on the band's edge: inside
        (1.347, (1.16, 1.56), "interval", "not_conclusive"),  # the "pass" at 1.347
        (1.86, (1.48, 2.34), "interval", "fail"),  # the planted disparity
        (0.60, (0.41, 0.83), "interval", "not_conclusive"),
        (0.60, (0.45, 0.78), "interval", "fail"),
        (1.40, (None, None), "interval", "not_conclusive"),  # no interval: never conclusive
        (1.347, (1.16, 1.56), "estimate", "fail"),
        (None, (None, None), "interval", "pass"),
    ],
)
def test_the_one_rule(
    value: float | None, ci: tuple[float | None, float | None], evidence: str, expected: str
) -> None:
    assert judge(value, ci, (0.8, 1.25), evidence) == expected


def _row(**extra: Any) -> dict[str, Any]:
    """A complete group row (every key the report reads), unremarkable unless overridden."""
    row: dict[str, Any] = {
        "n": 1000, "n_positive": 200, "suppressed": False, "reference": False,
        "prevalence": 0.2, "mean_predicted": 0.2, "observed_to_expected": 1.0,
        "observed_to_expected_ci": [0.9, 1.1], "flag_rate": 0.3, "auroc": 0.8,
        "auroc_ci": [0.77, 0.83], "tpr": 0.7, "fnr": 0.3, "fnr_ci": [0.25, 0.35], "fpr": 0.2,
        "ppv": 0.4, "for": 0.1, "calibration_error": 0.02, "calibration_error_ci": [0.01, 0.03],
        "fnr_ratio": 1.0, "fnr_ratio_ci": [0.9, 1.1], "fnr_ratio_age_adjusted": 1.0,
        "fnr_ratio_age_adjusted_ci": [0.9, 1.1], "calibration_ratio": 1.0,
        "calibration_ratio_ci": [0.9, 1.1], "tpr_ratio": 1.0, "auroc_gap": 0.0,
        "auroc_gap_ci": [-0.02, 0.02],
    }  # fmt: skip
    row.update(extra)
    return row


def _evaluation(group: dict[str, Any], attribute: str = "ethnic_group") -> TargetEvaluation:
    """An NCTR evaluation whose `attribute` has a reference group and one other group."""
    groups = {"White": _row(reference=True), "Black or Black British": group}
    if attribute == "ethnicity_deprivation":
        groups = {"White, not Core20": _row(reference=True), PLANTED: group}
    rng = np.random.default_rng(0)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(float)
    typed = {attribute: Breakdown.from_dict(attribute, groups)}
    return TargetEvaluation(
        "nctr", overall_metrics(y, p, 0.5), groups=typed, extras={"outcome": "NCTR"}
    )


CASES = {  # measure key -> (value, interval) per expected status
    "calibration_ratio": {
        "pass": (1.10, [0.95, 1.27]),
        "not_conclusive": (1.347, [1.16, 1.56]),
        "fail": (1.86, [1.48, 2.34]),
    },
    "fnr_ratio_age_adjusted": {
        "pass": (0.85, [0.7, 1.0]),
        "not_conclusive": (1.5, [1.1, 1.9]),
        "fail": (1.6, [1.3, 1.9]),
    },
    "auroc_gap": {
        "pass": (0.05, [0.0, 0.1]),
        "not_conclusive": (0.15, [0.05, 0.25]),
        "fail": (0.2, [0.15, 0.25]),
    },
    "calibration_error": {
        "pass": (0.05, [0.03, 0.07]),
        "not_conclusive": (0.12, [0.08, 0.16]),
        "fail": (0.15, [0.12, 0.2]),
    },
}
GATE_OF = {
    "calibration_ratio": "calibration_ratio:ethnic_group",
    "fnr_ratio_age_adjusted": "fnr_ratio:ethnic_group",
    "auroc_gap": "auroc_gap:ethnic_group",
    "calibration_error": "group_calibration_error:ethnic_group",
}


@pytest.mark.parametrize("status", ["pass", "not_conclusive", "fail"])
@pytest.mark.parametrize("key", list(CASES))
def test_report_findings_and_gates_never_disagree(key: str, status: str) -> None:
    """Before the fix the report listed a finding (estimate beyond, interval excluding 1) where
    the gate passed: `calibration_ratio:ethnic_group 1.347, limit 0.80-1.25, pass`."""
    value, ci = CASES[key][status]
    ev = _evaluation(_row(**{key: value, f"{key}_ci": ci}))
    gate_evaluation(ev, None, ONLY_ETHNIC_GROUP)
    gates = {g.name: g for g in ev.gates}
    gate = gates[GATE_OF[key]]
    assert gate.status == status, gate.detail
    assert gate.passed == (status != "fail")
    assert gate.to_dict()["status"] == status and gate.to_dict()["passed"] == gate.passed
    reported = [f for f in findings(ev) if f["gate"] == GATE_OF[key]]
    assert [f["status"] for f in reported] == ([] if status == "pass" else [status])
    assert [f["blocking"] for f in reported] == (
        [True] if status == "fail" else [False] * len(reported)
    )
    others = [g for g in ev.gates if g.name != GATE_OF[key] and ":" in g.name]
    assert all(g.status == "pass" for g in others), [g.detail for g in others if g.status != "pass"]


@pytest.mark.parametrize("key", list(CASES))
def test_a_gate_beyond_its_limit_never_reads_as_a_clean_pass(key: str) -> None:
    value, ci = CASES[key]["not_conclusive"]
    ev = _evaluation(_row(**{key: value, f"{key}_ci": ci}))
    gate_evaluation(ev, None, ONLY_ETHNIC_GROUP)
    gate = next(g for g in ev.gates if g.name == GATE_OF[key])
    lo, hi = gate.limit if isinstance(gate.limit, list) else (-np.inf, gate.limit)
    assert gate.value is not None and not lo <= gate.value <= hi
    assert gate.status == "not_conclusive" and "not conclusive" in gate.detail


def test_ethnicity_deprivation_findings_block_by_default() -> None:
    """Before the fix the ethnicity x deprivation breakdown was reported but not gated."""
    assert "ethnicity_deprivation" in GatesConfig().fairness_attributes
    ev = _evaluation(
        _row(calibration_ratio=1.86, calibration_ratio_ci=[1.48, 2.34]), "ethnicity_deprivation"
    )
    gate_evaluation(ev, None, GatesConfig(fairness_attributes=["ethnicity_deprivation"]))
    gate = next(g for g in ev.gates if g.name == "calibration_ratio:ethnicity_deprivation")
    assert gate.status == "fail" and PLANTED in gate.detail
    decision = review(ev.gates, ev.findings, "NCTR")
    assert decision.status == "held"
    assert decision.blocking == [
        "calibration_ratio:ethnicity_deprivation",
        f"calibration_ratio:ethnicity_deprivation:{PLANTED}",
    ]
    assert decision.findings[0]["sentence"] == (
        "Black or Black British patients in the most deprived areas (IMD quintile 1) have 1.86x "
        "the NCTR rate the model expects (relative to White patients outside the most deprived "
        "areas; 95% CI 1.48-2.34; band 0.80-1.25)"
    )
    # the same finding in a breakdown no gate covers is shown, but does not hold the version
    gate_evaluation(ev, None, GatesConfig(fairness_attributes=[]))
    assert [f.status for f in ev.findings] == ["fail"] and not ev.findings[0].blocking
    assert review(ev.gates, ev.findings, "NCTR").status == "passed"


def test_planted_core20_disparity_in_real_group_metrics_holds_the_version() -> None:
    """Labels drawn from the model's probabilities, with NCTR odds doubled for Black patients in
    IMD deciles 1-2 only (as the generator plants it): found and gated, by default settings."""
    rng = np.random.default_rng(12)
    n = 40_000
    admissions = pd.DataFrame(
        {
            "ethnic_category": rng.choice(["A", "A", "A", "A", "H", "M", "N", "Z"], n),
            "sex": rng.choice(["1", "2"], n),
            "age": rng.integers(18, 100, n).astype(float),
            "imd_decile": rng.integers(1, 11, n).astype(float),
        }
    )
    p = rng.beta(1, 12, n)  # an NCTR-like prevalence, about 8%
    planted = admissions["ethnic_category"].isin(["M", "N"]) & (admissions["imd_decile"] <= 2)
    odds = p / (1 - p) * np.where(planted, 2.0, 1.0)
    y = (rng.random(n) < odds / (1 + odds)).astype(float)
    config = TrainingConfig.model_validate({"evaluation": {"n_bootstrap": 80}})
    ev = evaluate_target("nctr", admissions, y, p, 0.2, config, outcome="NCTR")
    gate_evaluation(ev, None, config.gates)
    blocking = [f for f in ev.findings if f.blocking]
    assert [(f.measure.gate, f.group) for f in blocking] == [
        ("calibration_ratio:ethnicity_deprivation", PLANTED)
    ], [f.name for f in blocking]
    failed = {g.name for g in ev.gates if not g.passed}
    assert failed == {f.measure.gate for f in blocking}
    # fair labels: the same gates pass
    fair = (rng.random(n) < p).astype(float)
    ev = evaluate_target("nctr", admissions, fair, p, 0.2, config, outcome="NCTR")
    gate_evaluation(ev, None, config.gates)
    assert all(g.passed for g in ev.gates), [g.detail for g in ev.gates if not g.passed]


def test_report_model_card_and_metrics_json_keep_not_conclusive_apart() -> None:
    from evaluation.model_card import render_model_card
    from evaluation.report import _environment

    ev = _evaluation(
        _row(
            calibration_ratio=1.347,
            calibration_ratio_ci=[1.16, 1.56],
            fnr_ratio_age_adjusted=1.6,
            fnr_ratio_age_adjusted_ci=[1.3, 1.9],
        )
    )
    gate_evaluation(ev, None, ONLY_ETHNIC_GROUP)
    view = report_view({"nctr": ev}, ReportContext(title="t"), with_plots=False)
    html = render_report(view)
    assert 'data-status="not_conclusive"' in html and 'data-status="fail"' in html
    assert 'class="badge unsure">not conclusive</span>' in html
    assert 'id="held-nctr"' in html
    assert "The flag misses 30% of NCTR cases among Black or Black British patients" in html
    card = render_model_card(view, _environment())
    assert "`calibration_ratio:ethnic_group` *not conclusive*" in card
    assert "`fnr_ratio:ethnic_group` **FAILED**" in card
    assert "**Holds this version:** The flag misses 30% of NCTR cases" in card
    doc = json.loads(json.dumps(metrics_document({"nctr": ev})))
    gates = doc["nctr"]["gates"]
    assert gates["calibration_ratio:ethnic_group"] | {"detail": ""} == {
        "value": 1.347, "limit": [0.8, 1.25], "passed": True, "status": "not_conclusive",
        "detail": "",
    }  # fmt: skip
    assert gates["fnr_ratio:ethnic_group"]["status"] == "fail"
    assert gates["min_auroc"]["status"] in ("pass", "fail")
    assert [(f["name"], f["status"], f["blocking"]) for f in doc["nctr"]["findings"]] == [
        ("fnr_ratio:ethnic_group:Black or Black British", "fail", True),
        ("calibration_ratio:ethnic_group:Black or Black British", "not_conclusive", False),
    ]


def test_gate_status_cannot_contradict_passed() -> None:
    with pytest.raises(ValueError, match="contradicts"):
        GateResult("g", 1.0, 1.0, True, status="fail")
    assert GateResult("g", 1.0, 1.0, False).status == "fail"


def test_review_tags_round_trip_as_the_registry_stores_them() -> None:
    from training.promotion import _from_tags

    ev = _evaluation(_row(calibration_ratio=1.86, calibration_ratio_ci=[1.48, 2.34]))
    gate_evaluation(ev, None, ONLY_ETHNIC_GROUP)
    held = review(ev.gates, ev.findings, "NCTR")
    stored = {k: json.dumps(v) for k, v in held.tags().items()}  # as mark_complete writes them
    assert json.loads(stored[STATUS_TAG]) == "held"
    assert _from_tags(stored) == held
    clean = review([GateResult("min_auroc", 0.8, 0.6, True)], [], "NCTR")
    assert clean.status == "passed" and clean.blocking == []


# --- item 5: targets the extract cannot train ----------------------------------------------------

LONG_21 = Target("long_stay_21", "long_stay", 21)
LONG_7 = Target("long_stay", "long_stay", 7)
NCTR = Target("nctr", "nctr")


def _counts(pos: tuple[int, ...], neg: tuple[int, ...] = (900, 200, 150, 200)) -> dict:
    names = ("train", "validation", "calibration", "test")
    return {n: (neg[i], pos[i]) for i, n in enumerate(names)}


@pytest.mark.parametrize(
    ("target", "counts", "expected"),
    [
        (LONG_21, _counts((0, 0, 0, 0)), "holds no stays of 21+ days"),
        (LONG_21, _counts((300, 40, 19, 30)), "holds too few stays of 21+ days"),
        (LONG_21, _counts((300, 40, 19, 30)), "calibration 19"),
        (LONG_21, _counts((0, 0, 0, 0)), "lower the threshold in the config"),
        (LONG_21, _counts((0, 0, 0, 0)), "targets.extra_long_stay_days) or supply more data"),
        (LONG_7, _counts((900,) * 4, (5, 0, 3, 2)), "too few stays shorter than 7 days"),
        (LONG_7, _counts((900,) * 4, (5, 0, 3, 2)), "raise the threshold in the config"),
        (NCTR, _counts((50, 12, 30, 30)), "too few spells with a day of no criteria to reside"),
        (LONG_21, _counts((50, 0, 0, 50), (900, 0, 0, 200)), "change the split dates"),
    ],
)
def test_untrainable_reasons_name_the_cause_and_the_remedy(
    target: Target, counts: dict, expected: str
) -> None:
    reason = untrainable(target, counts, 20)
    assert reason is not None and expected in reason
    assert "\n" not in reason
    if "split" not in expected:  # the wrong advice of the issue
        assert "split dates" not in reason and "widen the data window" not in reason


def test_enough_cases_of_both_classes_train() -> None:
    assert untrainable(LONG_21, _counts((20, 20, 20, 20), (20, 20, 20, 20)), 20) is None


def _capped(admissions: pd.DataFrame, days: float) -> pd.DataFrame:
    """The extract with every stay cut to under `days` days (ready dates kept before discharge)."""
    out = admissions.copy()
    cap = out["admission_datetime"] + pd.Timedelta(days=days) - pd.Timedelta(minutes=1)
    out["discharge_datetime"] = out["discharge_datetime"].where(
        out["discharge_datetime"].isna() | (out["discharge_datetime"] <= cap), cap
    )
    ready = out["discharge_ready_datetime"]
    out["discharge_ready_datetime"] = ready.where(
        ready.isna() | (ready <= out["discharge_datetime"]), out["discharge_datetime"]
    )
    return out


@pytest.fixture(scope="module")
def generated_8k() -> pd.DataFrame:
    from features.generate import generate_admissions

    return generate_admissions(8_000, seed=5).admissions


def test_no_trainable_target_stops_with_every_reason(generated_8k: pd.DataFrame) -> None:
    short = _capped(generated_8k.iloc[:3000], 3)
    config = fast_config(targets={"nctr": False})
    with pytest.raises(DataQualityError) as caught:
        train_all(short, config)
    message = str(caught.value)
    assert "long_stay skipped: the extract holds no stays of 7+ days" in message
    assert "long_stay_21 skipped: the extract holds no stays of 21+ days" in message
    target = targets_from_config(config.targets)[1]
    with pytest.raises(DataQualityError, match="long_stay_21 cannot be trained: the extract"):
        fit_target(prepare(short, config), target, config)


@dataclass(frozen=True)
class CliRun:
    done: subprocess.CompletedProcess[str]
    data_dir: Path
    settings: Settings


@pytest.fixture(scope="module")
def capped_run(tmp_path_factory: pytest.TempPathFactory, generated_8k: pd.DataFrame) -> CliRun:
    """`los train` on an extract whose stays are capped at 14 days, with a calibration band so
    narrow that every trained version has a fairness finding (real registry, real CLI)."""
    from features.load import write_frame

    data_dir = tmp_path_factory.mktemp("capped")
    data = write_frame(_capped(generated_8k, 14), data_dir / "capped.parquet")
    gates = {"min_group_size": 50, "calibration_ratio_band": [0.98, 1.02]}
    config = fast_config(gates={**gates, "fairness_evidence": "estimate"})
    config_path = data_dir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    settings = Settings(los_data_dir=data_dir, mlflow_tracking_uri=None)
    env = {
        **os.environ,
        "LOS_DATA_DIR": str(data_dir),
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
    }
    done = subprocess.run(
        [sys.executable, "-m", "cli", "train", "--data", str(data), "--config", str(config_path)],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    return CliRun(done, data_dir, settings)


def test_untrainable_target_is_skipped_and_the_rest_train(capped_run: CliRun) -> None:
    """Before the fix: exit 1, "long_stay_21: ... 1 class(es); widen the data window or change
    the split dates", and nothing trained."""
    done = capped_run.done
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    skipped = [line for line in lines if line.startswith("long_stay_21 skipped:")]
    assert len(skipped) == 1
    assert "the extract holds no stays of 21+ days" in skipped[0]
    assert "lower the threshold in the config" in skipped[0]
    assert "split dates" not in done.stdout + done.stderr
    assert "trained 2 of 3 targets; skipped: long_stay_21" in lines
    from models import registry

    registry.connect(capped_run.settings.tracking_uri)
    assert registry.resolve("los-long-stay", "challenger").version == "1"
    assert registry.resolve("los-nctr", "challenger").version == "1"
    assert "los-long-stay-21" not in registry.registered_names()
    report = (capped_run.data_dir / "reports" / "latest" / "report.html").read_text()
    assert "Not trained: long_stay_21 skipped: the extract holds no stays of 21+ days" in report


def test_held_versions_are_not_promoted_and_the_console_says_why(capped_run: CliRun) -> None:
    done = capped_run.done
    assert done.returncode == 0, done.stderr[-2000:]
    report = capped_run.data_dir / "reports" / "latest" / "report.html"
    held = [line for line in done.stdout.splitlines() if " held for review: " in line]
    titles = {line.split(" held for review: ")[0] for line in held}
    assert titles == {"Long stay (7+ days)", "NCTR"}, done.stdout
    for line in held:
        words = line.lower()
        assert "the model expects" in words or "the flag misses" in words or "auroc" in words
        assert "band 0.98-1.02" in line or "limit" in line or "band 0.80-1.25" in line
        assert line.endswith(f"Report: {report}")
    assert "-> promoted to champion" not in done.stdout
    assert done.stdout.count("-> NOT promoted (gates failed): held for review") == 2
    from models import registry

    registry.connect(capped_run.settings.tracking_uri)
    for name in ("los-long-stay", "los-nctr"):
        with pytest.raises(ModelNotFoundError):
            registry.resolve(name, "champion")


def test_held_version_lists_what_must_be_accepted(capped_run: CliRun) -> None:
    """From the version's tags, and from its run's metrics.json when the tags are absent."""

    from models import registry

    assert capped_run.done.returncode == 0, capped_run.done.stderr[-2000:]
    registry.connect(capped_run.settings.tracking_uri)
    recorded = version_review("los-nctr", "1")
    assert recorded.status == "held"
    assert recorded.failed_gates and all(":" in g for g in recorded.failed_gates)
    assert recorded.findings and all(f["sentence"] for f in recorded.findings)
    assert {f["gate"] for f in recorded.findings} <= set(recorded.failed_gates)
    assert recorded.blocking == recorded.failed_gates + [f["name"] for f in recorded.findings]
    client = registry.connected().client
    tags = client.get_model_version("los-nctr", "1").tags
    assert json.loads(tags["gates.status"]) == "held"
    assert json.loads(tags["gates.blocking"]) == recorded.blocking
    for key in [k for k in tags if k.startswith("gates.")]:
        client.delete_model_version_tag("los-nctr", "1", key)
    assert version_review("los-nctr", "1") == recorded
    with pytest.raises(ModelNotFoundError):
        version_review("los-nctr", "7")
