"""What a data scientist sees in the registry, read back through `MlflowClient` from the session's
trained registry (trained once, shared): descriptions, the run's name, its dataset input, each
model's own metrics, readable gate tags and table, and the signature."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from los.targets import Target
from models import registry
from tests.conftest import TrainedRegistry
from training.run_record import DIGEST_LENGTH, extract_sha256

TARGETS = {
    "long_stay": Target("long_stay", "long_stay", 7),
    "long_stay_21": Target("long_stay_21", "long_stay", 21),
    "nctr": Target("nctr", "nctr"),
}


@pytest.fixture(scope="module")
def client(trained_registry: TrainedRegistry) -> Iterator[Any]:
    """The trained registry's client; MLflow's fluent calls (runs:/ and models:/ URIs) point at
    it too while this module runs (`registry.fluent_tracking` restores the global URI after)."""
    registry.connect(trained_registry.settings.tracking_uri)
    with registry.fluent_tracking():
        yield registry.connected().client


@pytest.fixture(scope="module")
def outcomes(trained_registry: TrainedRegistry) -> dict[str, Any]:
    summary: Any = trained_registry.summary
    return {o.target: o for o in summary.outcomes}


def _window(trained_registry: TrainedRegistry) -> dict[str, str]:
    summary: Any = trained_registry.summary
    window: dict[str, str] = summary.data_window
    return window


def test_models_and_versions_say_what_they_predict_on_which_data(
    client: Any, outcomes: dict[str, Any], trained_registry: TrainedRegistry
) -> None:
    window = _window(trained_registry)
    for target, outcome in outcomes.items():
        model = client.get_registered_model(outcome.registered_name)
        assert TARGETS[target].description in model.description
        assert f"`{target}`" in model.description
        mv = client.get_model_version(outcome.registered_name, outcome.version)
        text = mv.description
        assert TARGETS[target].description in text
        assert f"{window['data_start'][:10]} to {window['data_end'][:10]}" in text
        assert f"test period {window['test_start'][:10]} to {window['data_end'][:10]}" in text
        assert f"AUROC {outcome.metrics['auroc']:.3g}" in text
        assert "Promotion: champion: every gate passed" in text
        tags = mv.tags
        assert tags["predicts"] == TARGETS[target].description
        assert tags["data_window"] == f"{window['data_start'][:10]} to {window['data_end'][:10]}"
        assert tags["promotion"].startswith("champion: every gate passed")
        assert tags["report"] == f"runs:/{mv.run_id}/reports/report.html"
        assert tags["model_card"] == f"runs:/{mv.run_id}/reports/model_card.md"


def test_run_has_a_readable_name_and_the_extract_as_its_dataset(
    client: Any, trained_registry: TrainedRegistry
) -> None:
    summary: Any = trained_registry.summary
    window = _window(trained_registry)
    run = client.get_run(summary.run_id)
    name = run.info.run_name
    assert name.startswith("long_stay, long_stay_21, nctr | admissions ")
    assert f"{window['data_start'][:10]} to {window['data_end'][:10]}" in name
    assert " | trained 20" in name and name.endswith(" UTC")
    (used,) = run.inputs.dataset_inputs
    sha = extract_sha256(trained_registry.admissions)
    assert used.dataset.digest == sha[:DIGEST_LENGTH]
    tags = {t.key: t.value for t in used.tags}
    assert tags["mlflow.data.context"] == "training"
    assert tags["extract_sha256"] == sha
    assert tags["rows"] == str(len(trained_registry.admissions))
    assert {tags[f"window.{k}"] for k in window} == set(window.values())
    assert json.loads(used.dataset.profile)["num_rows"] == len(trained_registry.admissions)


def test_extract_digest_follows_the_rows() -> None:
    import pandas as pd

    frame = pd.DataFrame({"spell_id": ["a", "b"], "age": [70, 81]})
    assert extract_sha256(frame) == extract_sha256(frame.copy())
    assert extract_sha256(frame) != extract_sha256(frame.assign(age=[70, 82]))
    assert extract_sha256(frame) != extract_sha256(frame.iloc[::-1])


def test_each_model_carries_only_its_own_test_metrics(
    client: Any, outcomes: dict[str, Any], trained_registry: TrainedRegistry
) -> None:
    import mlflow

    for target, outcome in outcomes.items():
        mv = client.get_model_version(outcome.registered_name, outcome.version)
        assert mv.source.startswith("models:/m-")  # MLflow 3: the version's logged model
        logged = mlflow.get_logged_model(mv.source.removeprefix("models:/"))
        keys = {m.key for m in logged.metrics}
        assert f"{target}.test_auroc" in keys
        assert all(k.startswith(f"{target}.test_") for k in keys), sorted(keys)
        auroc = next(m.value for m in logged.metrics if m.key == f"{target}.test_auroc")
        assert auroc == pytest.approx(outcome.metrics["auroc"])
    # the run itself still holds every target's figures
    run = client.get_run(trained_registry.summary.run_id)  # type: ignore[attr-defined]
    assert {f"{t}.test_auroc" for t in outcomes} <= set(run.data.metrics)


def test_gates_are_short_readable_tags_and_a_table(
    client: Any, outcomes: dict[str, Any], trained_registry: TrainedRegistry
) -> None:
    import mlflow

    summary: Any = trained_registry.summary
    for target, outcome in outcomes.items():
        tags = client.get_model_version(outcome.registered_name, outcome.version).tags
        for gate in outcome.gates:
            line = tags[f"gate.{gate.name}"]
            word = {"pass": "pass", "not_conclusive": "not conclusive"}[gate.status]
            assert line.startswith(f"{word}: ") and "(limit " in line and len(line) < 80, line
        assert not {"gates", "test_metrics"} & set(tags)  # the old JSON blobs
        for key in ("data_window", "threshold", "promotion", "predicts"):
            assert not tags[key].startswith(("{", "[", '"')), (key, tags[key])
        table = mlflow.artifacts.load_text(f"runs:/{summary.run_id}/gates/{target}.csv")
        rows = list(csv.DictReader(io.StringIO(table)))
        assert [r["gate"] for r in rows] == [g.name for g in outcome.gates]
        assert [r["status"] for r in rows] == [g.status for g in outcome.gates]
        assert tags["gates_table"] == f"runs:/{summary.run_id}/gates/{target}.csv"


def test_signature_lists_only_model_inputs_and_nullable_ones_are_optional(
    outcomes: dict[str, Any], trained_registry: TrainedRegistry
) -> None:
    import mlflow

    outcome = outcomes["long_stay"]
    uri = f"models:/{outcome.registered_name}/{outcome.version}"
    inputs = {c.name: c for c in mlflow.models.get_model_info(uri).signature.inputs.inputs}
    assert "ethnic_category" not in inputs and "spell_id" not in inputs
    assert "patient_id" not in inputs and "discharge_datetime" not in inputs
    assert {"age", "sex", "admission_datetime", "imd_decile", "frailty_score"} <= set(inputs)
    assert inputs["age"].required and inputs["admission_datetime"].required
    for nullable in ("imd_decile", "frailty_score", "specialty", "prior_admissions_365d"):
        assert not inputs[nullable].required, nullable
    # MLflow's own loader scores rows that leave the optional inputs out
    rows = trained_registry.admissions.head(3)
    required = [name for name, spec in inputs.items() if spec.required]
    scored = mlflow.pyfunc.load_model(uri).predict(rows[required])
    assert len(scored) == 3 and ((scored >= 0) & (scored <= 1)).all()


def test_a_persons_decision_replaces_the_runs_verdict(
    trained_registry: TrainedRegistry, outcomes: dict[str, Any], tmp_path: Any
) -> None:
    """On a copy of the registry database (the artifacts are not touched)."""

    from models.decisions import Decision
    from tests.reliability.fault_helpers import copy_registry
    from training.version_record import note_decision

    outcome = outcomes["nctr"]
    try:
        registry.connect(copy_registry(trained_registry, tmp_path / "copy"))
        client = registry.connected().client
        before = client.get_model_version(outcome.registered_name, outcome.version).description
        decision = Decision(
            outcome.registered_name, outcome.version, "reject", "Dr Ada Lovelace",
            "too many missed patients", datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
        )  # fmt: skip
        note_decision(decision)
        mv = client.get_model_version(outcome.registered_name, outcome.version)
        assert mv.tags["promotion"] == f"decided by a person: {decision.words}"
        kept, _ = before.split(" Promotion: ")
        assert mv.description == f"{kept} Promotion: decided by a person: {decision.words}."
        assert "rejected by Dr Ada Lovelace at 2026-01-05T09:30:00+00:00" in mv.description
    finally:
        registry.connect(trained_registry.settings.tracking_uri)
