"""Typed fairness results (issue 16, item 2): the same metrics.json as the dict-based code wrote,
round trips of the group dataclasses, and gate names derived from the gates' fields."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.evaluate import TargetEvaluation
from evaluation.fairness_gates import fairness_gates
from evaluation.findings import measures
from evaluation.gates import GateResult, gate_name
from evaluation.group_metrics import Breakdown, GroupMetrics, groups_from_dict, groups_to_dict
from evaluation.metrics import OverallMetrics
from tests.factories import CONTRACT_GROUP_KEYS
from tests.fairness_sample import FIXTURE, sample_config, sample_document
from tests.fairness_sample import differences as _same

ROW_KEYS = [
    "n", "n_positive", "prevalence", "mean_predicted", "observed_to_expected",
    "observed_to_expected_ci", "flag_rate", "auroc", "auroc_ci", "tpr", "fnr", "fnr_ci", "fpr",
    "ppv", "for", "calibration_error", "calibration_error_ci", "suppressed", "reference",
    "fnr_ratio", "fnr_ratio_ci", "fnr_ratio_age_adjusted", "fnr_ratio_age_adjusted_ci",
    "calibration_ratio", "calibration_ratio_ci", "tpr_ratio", "auroc_gap", "auroc_gap_ci",
]  # fmt: skip


@pytest.fixture(scope="module")
def before() -> dict[str, Any]:
    """metrics.json of the sample as the code at dd9cb7f (dict group rows) wrote it."""
    document: dict[str, Any] = json.loads(FIXTURE.read_text())
    return document


def test_metrics_json_is_the_same_as_before_typed_results(before: dict[str, Any]) -> None:
    after = sample_document()
    assert _same(before, after) == []
    # every part of the document is exercised: suppressed and reported groups, all statuses
    rows = [r for block in after.values() for t in block["groups"].values() for r in t.values()]
    assert {r["suppressed"] for r in rows} == {True, False}
    assert all(list(r) == ROW_KEYS for r in rows)
    statuses = {g["status"] for block in after.values() for g in block["gates"].values()}
    assert statuses == {"pass", "not_conclusive", "fail"}
    assert after["nctr"]["findings"] and after["nctr"]["findings"][0]["sentence"]


def test_the_comparison_catches_a_changed_value(before: dict[str, Any]) -> None:
    changed = json.loads(json.dumps(before))
    changed["nctr"]["groups"]["sex"]["Female"]["fnr"] *= 1.001
    changed["nctr"]["gates"]["fnr_ratio:sex"]["detail"] += "."
    assert _same(before, changed) == [
        "/nctr/groups/sex/Female/fnr",
        f"/nctr/gates/fnr_ratio:sex/detail: {before['nctr']['gates']['fnr_ratio:sex']['detail']!r}",
    ]


def test_groups_read_back_from_metrics_json_round_trip(before: dict[str, Any]) -> None:
    for block in before.values():
        typed = groups_from_dict(block["groups"])
        assert all(isinstance(b, Breakdown) and b.attribute == a for a, b in typed.items())
        assert groups_to_dict(typed) == block["groups"]


def test_gates_rerun_on_a_saved_metrics_file_are_the_gates_it_holds(
    before: dict[str, Any],
) -> None:
    """Gates read only the groups block, so a saved metrics.json gives the same verdicts."""
    config = sample_config().gates
    for target, block in before.items():
        overall = OverallMetrics(**block["overall"])
        saved = TargetEvaluation(target, overall, groups=groups_from_dict(block["groups"]))
        rerun = {g.name: g.to_dict() for g in fairness_gates(saved, config)}
        assert rerun == {name: g for name, g in block["gates"].items() if ":" in name}


_maybe_float = st.none() | st.floats(allow_nan=False, allow_infinity=False, width=64)


def _strategy(name: str) -> st.SearchStrategy[Any]:
    if name.endswith("_ci"):
        return st.tuples(_maybe_float, _maybe_float)
    if name in ("suppressed", "reference"):
        return st.booleans()
    if name == "n":
        return st.integers(0, 10**7)
    if name == "n_positive":
        return st.none() | st.integers(0, 10**7)
    return _maybe_float


group_rows = st.builds(GroupMetrics, **{f.name: _strategy(f.name) for f in fields(GroupMetrics)})


@given(group_rows)
def test_group_metrics_round_trip_through_json(row: GroupMetrics) -> None:
    written = row.to_dict()
    assert list(written) == ROW_KEYS and set(written) >= CONTRACT_GROUP_KEYS
    assert all(isinstance(written[k], list) for k in ROW_KEYS if k.endswith("_ci"))
    assert written["for"] == row.for_
    read = GroupMetrics.from_dict(json.loads(json.dumps(written)))
    assert read == row


@settings(max_examples=40)
@given(st.dictionaries(st.text(min_size=1, max_size=12), group_rows, max_size=4), st.text())
def test_breakdown_round_trip_keeps_group_order(rows: dict[str, GroupMetrics], name: str) -> None:
    breakdown = Breakdown(name, rows)
    assert Breakdown.from_dict(name, breakdown.to_dict()) == breakdown
    assert list(breakdown) == list(rows) and len(breakdown) == len(rows)
    marked = [g for g, r in rows.items() if r.reference]
    assert breakdown.reference == (marked[0] if marked else None)


def test_a_row_read_back_needs_its_size_and_known_keys() -> None:
    assert GroupMetrics.from_dict({"n": 4, "suppressed": True}) == GroupMetrics(4, suppressed=True)
    with pytest.raises(ValueError, match="unknown group metric"):
        GroupMetrics.from_dict({"n": 4, "fnr_ration": 1.0})
    with pytest.raises(ValueError, match="needs its size"):
        GroupMetrics.from_dict({"fnr": 0.2})


def test_estimate_pairs_each_metric_with_its_own_interval() -> None:
    values = {f"{k}": float(i) for i, k in enumerate(ROW_KEYS) if not k.endswith("_ci")}
    values |= {k: [float(i), float(i) + 0.5] for i, k in enumerate(ROW_KEYS) if k.endswith("_ci")}
    row = GroupMetrics.from_dict({**values, "n": 9, "suppressed": False, "reference": False})
    for key in (
        "observed_to_expected", "auroc", "fnr", "calibration_error", "fnr_ratio",
        "fnr_ratio_age_adjusted", "calibration_ratio", "auroc_gap",
    ):  # fmt: skip
        value, ci = row.estimate(key)  # type: ignore[arg-type]
        assert value == values[key] and list(ci) == values[f"{key}_ci"], key


@given(
    st.sampled_from(["min_auroc", "fnr_ratio", "group_calibration_error", "fairness"]),
    st.none() | st.sampled_from(["sex", "ethnic_group", "ethnicity_deprivation"]),
    st.none() | st.text(min_size=1, max_size=20),
)
def test_gate_name_is_derived_from_kind_and_attribute(
    kind: str, attribute: str | None, group: str | None
) -> None:
    gate = GateResult(kind, 1.0, 1.25, True, "d", attribute=attribute, group=group)
    assert gate.name == (kind if attribute is None else f"{kind}:{attribute}")
    assert gate.name == gate_name(kind, attribute)
    assert gate.to_dict() == {
        "value": 1.0, "limit": 1.25, "passed": True, "detail": "d", "status": "pass"
    }  # fmt: skip


def test_fairness_gates_name_their_breakdown_and_worst_group(before: dict[str, Any]) -> None:
    config = sample_config().gates
    block = before["nctr"]
    saved = TargetEvaluation(
        "nctr", OverallMetrics(**block["overall"]), groups=groups_from_dict(block["groups"])
    )
    gates = fairness_gates(saved, config)
    carried = {
        m.gate: m for a in config.fairness_attributes for m in measures(a, config) if m.gated
    }
    assert [g.name for g in gates] == list(carried)
    for gate in gates:
        measure = carried[gate.name]
        assert (gate.kind, gate.attribute) == (measure.gate_kind, measure.attribute)
        assert gate.group is not None, gate.name  # every breakdown here has judged groups
        assert gate.value == saved.groups[measure.attribute][gate.group].estimate(measure.key)[0]
    failed = next(g for g in gates if g.name == "calibration_ratio:ethnic_group")
    assert (failed.status, failed.group) == ("fail", "Black or Black British")


def test_a_breakdown_without_groups_fails_with_a_fairness_gate() -> None:
    empty = TargetEvaluation("t", None, groups={})  # type: ignore[arg-type]
    (gate,) = fairness_gates(empty, sample_config().gates.model_copy(
        update={"fairness_attributes": ["sex"]}
    ))  # fmt: skip
    assert (gate.kind, gate.attribute, gate.group, gate.name) == ("fairness", "sex", None,
                                                                 "fairness:sex")  # fmt: skip
    assert not gate.passed and gate.status == "fail"
