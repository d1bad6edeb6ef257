"""A target's definition travels with its model (issue 16, item 1).

Changing `long_stay_days` and training into the same registry must not compare the new version
with, or let it replace, a champion that counts something else; a bundle keeps its definition
through a save and load; `los evaluate` labels each model by its own definition whatever the
config says now, and names what it leaves out; the risk list reads the days from the model.
Real parts throughout: generated spells, a real SQLite MLflow registry, real `los promote`
decisions.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from los.config import Settings, TargetsConfig
from los.targets import Target, definition_conflict, label, targets_from_config
from models.bundle import BUNDLE_FILE, ModelBundle
from models.decisions import DecisionError
from models.registry import LoadedModel, ModelIdentity
from tests.conftest import fast_config

ROWS = 8_000
ONLY_LONG_STAY = {"extra_long_stay_days": [], "nctr": False}
NO_FAIRNESS_GATES = {"min_group_size": 50, "fairness_attributes": []}
WHO = "Dr Ada Lovelace, clinical safety officer"


@pytest.fixture(scope="module")
def admissions() -> pd.DataFrame:
    from features.generate import generate_admissions

    return generate_admissions(ROWS, seed=11).admissions


@pytest.fixture(scope="module")
def ten_day_bundle(admissions: pd.DataFrame) -> ModelBundle:
    """A `long_stay` model trained with `long_stay_days: 10`."""
    from training.pipeline import train_all

    config = fast_config(targets={**ONLY_LONG_STAY, "long_stay_days": 10})
    return train_all(admissions, config).targets[0].bundle


def test_definition_holds_every_rule_of_the_label() -> None:
    default = {t.name: t for t in targets_from_config(TargetsConfig())}
    assert default["long_stay"].definition == {
        "kind": "long_stay",
        "days": 7,
        "exclude_deaths": False,
    }
    assert default["nctr"].definition["proxy_pathways"] == [2, 3]
    changed = {
        t.name: t
        for t in targets_from_config(
            TargetsConfig(
                long_stay_days=10, exclude_deaths_from_long_stay=True, nctr_proxy="destination"
            )
        )
    }
    assert changed["long_stay"].registered_name == "los-long-stay"  # same name, other label
    assert changed["long_stay"].definition != default["long_stay"].definition
    assert changed["long_stay"].fingerprint != default["long_stay"].fingerprint
    assert changed["long_stay_21"].definition["exclude_deaths"] is True
    assert changed["nctr"].definition["proxy"] == "destination"
    assert changed["nctr"].fingerprint != default["nctr"].fingerprint
    for target in (*default.values(), *changed.values()):
        again = Target.from_definition(target.name, json.loads(target.definition_json))
        assert again.definition == target.definition
        assert again.fingerprint == target.fingerprint
    reason = definition_conflict(default["long_stay"], changed["long_stay"])
    assert reason is not None and "\n" not in reason
    assert "7+ day stays (deaths kept)" in reason and "10+ day stays (deaths excluded)" in reason
    assert "register it under its own name or retire the champion" in reason
    assert definition_conflict(default["nctr"], targets_from_config(TargetsConfig())[-1]) is None


def test_label_needs_only_the_target(admissions: pd.DataFrame) -> None:
    seven, ten = Target("long_stay", "long_stay", 7), Target("long_stay", "long_stay", 10)
    y7, y10 = label(admissions, seven), label(admissions, ten)
    assert y7.notna().equals(y10.notna())
    assert y10.sum() < y7.sum()  # fewer stays reach 10 days than 7
    no_ready_dates = admissions.drop(columns="discharge_ready_datetime")  # the proxy decides
    by_pathway = label(no_ready_dates, Target("nctr", "nctr"))
    by_destination = label(no_ready_dates, Target("nctr", "nctr", proxy="destination"))
    assert by_pathway.notna().sum() > 0 and not by_pathway.equals(by_destination)


def test_bundle_round_trip_keeps_the_definition(
    ten_day_bundle: ModelBundle, tmp_path: Path
) -> None:
    assert ten_day_bundle.label_target.days == 10
    loaded = ModelBundle.load(ten_day_bundle.save(tmp_path / "new"))
    assert loaded.definition_recorded
    assert loaded.label_target.definition == ten_day_bundle.label_target.definition
    assert loaded.label_target.fingerprint == ten_day_bundle.label_target.fingerprint
    # a bundle saved before definitions were recorded: derived as then, and it says so
    old_dir = ten_day_bundle.save(tmp_path / "old")
    state = json.loads((old_dir / BUNDLE_FILE).read_text())
    del state["definition"]
    (old_dir / BUNDLE_FILE).write_text(json.dumps(state))
    old = ModelBundle.load(old_dir)
    assert not old.definition_recorded
    assert old.metadata["description"] == "length of stay of 10 days or more"
    assert old.label_target.days == 10  # from the description, as the list read it then
    state["metadata"].pop("description")
    (old_dir / BUNDLE_FILE).write_text(json.dumps(state))
    assert ModelBundle.load(old_dir).label_target.days == 7  # the default threshold


def test_changed_threshold_never_meets_the_old_champion_silently(
    admissions: pd.DataFrame, tmp_path: Path
) -> None:
    """`long_stay_days` 7 -> 10 into the same registry: the new version is registered but held
    by a failed `target_definition` gate naming both definitions (no AUROC comparison), the
    7-day champion stays, and `los promote` refuses it whatever is accepted until the champion
    is retired."""

    from models import registry
    from training.decide import DecisionRequest, decide
    from training.register import train_and_register

    settings = Settings(los_data_dir=tmp_path, mlflow_tracking_uri=None)  # type: ignore[arg-type]
    seven = fast_config(targets=ONLY_LONG_STAY, gates=NO_FAIRNESS_GATES)
    first = train_and_register(admissions, seven, settings, tmp_path / "r1").outcomes[0]
    if not first.promoted:  # the test is about what follows a champion, not its gates
        registry.promote(first.registered_name, first.version)
    ten = fast_config(targets={**ONLY_LONG_STAY, "long_stay_days": 10}, gates=NO_FAIRNESS_GATES)
    second = train_and_register(admissions, ten, settings, tmp_path / "r2").outcomes[0]

    assert second.registered_name == first.registered_name == "los-long-stay"
    assert not second.promoted
    gates = {g.name: g for g in second.gates}
    assert "auroc_vs_champion" not in gates  # nothing compared across definitions
    refused = gates["target_definition"]
    assert not refused.passed
    assert "the champion counts 7+ day stays" in refused.detail
    assert "this version 10+ day stays" in refused.detail
    assert "register it under its own name or retire the champion" in refused.detail
    assert second.review is not None and "target_definition" in second.review.blocking
    assert registry.resolve("los-long-stay", registry.CHAMPION).version == first.version
    tags = registry.connected().client.get_model_version("los-long-stay", second.version).tags
    assert tags["target_definition"].startswith("10+ day stays (deaths kept) [")
    bundle, _ = registry.load_bundle("los-long-stay", second.version)
    assert bundle.label_target.days == 10 and bundle.definition_recorded

    promote = DecisionRequest(
        "los-long-stay", second.version, WHO, "we now plan from day 10", accept_all=True
    )
    with pytest.raises(DecisionError, match="10\\+ day stays") as refusal:
        decide(promote, settings)
    assert "7+ day stays" in str(refusal.value) and "nothing changed" in str(refusal.value)
    assert registry.resolve("los-long-stay", registry.CHAMPION).version == first.version

    retire = DecisionRequest(
        "los-long-stay", first.version, WHO, "the 7-day threshold is retired", reject=True
    )
    assert decide(retire, settings).champion_moved
    assert decide(promote, settings).champion_moved  # a person's decision, with nothing to meet
    assert registry.resolve("los-long-stay", registry.CHAMPION).version == second.version


def test_evaluate_labels_each_model_by_its_own_definition(
    admissions: pd.DataFrame, ten_day_bundle: ModelBundle, tmp_path: Path
) -> None:
    from evaluation.assess import evaluate_models

    model = LoadedModel(ten_day_bundle, ModelIdentity("los-long-stay", "3", "champion"))
    config = fast_config()  # says 7 days, 21 days and NCTR
    result = evaluate_models(admissions, {"long_stay": model}, config, tmp_path, period="all")
    ev = result.evaluations["long_stay"]
    ten = label(admissions, ten_day_bundle.label_target)
    seven = label(admissions, Target("long_stay", "long_stay", 7))
    assert ev.overall.n == int(ten.notna().sum())
    assert ev.overall.prevalence == pytest.approx(float(ten.mean()))
    assert ev.overall.prevalence < float(seven.mean()) - 0.02  # not the config's 7 days
    line = result.scope
    assert "\n" not in line
    assert "los-long-stay version 3 (10+ day stays" in line
    assert "the config now says 7+ day stays" in line
    assert set(result.skipped) == {"long_stay_21", "nctr"}
    assert "long_stay_21 (configured, but no registered model was loaded for it)" in line
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["long_stay"]["overall"]["n"] == ev.overall.n


def test_list_days_come_from_the_bundle(admissions: pd.DataFrame, tmp_path: Path) -> None:
    """A 10-day model whose name and description say nothing of its days (the old regex would
    have fallen back to "a long stay"): the page and the roll-ups say 10 days."""
    from models.list_render import render_risk_list
    from models.risk_list import build_risk_list
    from models.scorer import Scorer
    from training.pipeline import train_all

    config = fast_config(targets={**ONLY_LONG_STAY, "long_stay_days": 10})
    bundle = train_all(admissions, config).targets[0].bundle
    bundle.metadata.pop("description")
    loaded = ModelBundle.load(bundle.save(tmp_path / "bundle"))
    model = LoadedModel(loaded, ModelIdentity("los-long-stay", "1", "champion"))
    frame = admissions.copy()
    inpatients = frame.index[-40:]
    frame.loc[inpatients, "discharge_datetime"] = pd.NaT
    on = pd.Timestamp(frame.loc[inpatients, "admission_datetime"].max()).date()
    result = build_risk_list(Scorer({"long_stay": model}), frame, on=on, today=date(2030, 1, 1))
    assert result.definitions["long_stay"].days == 10
    page = render_risk_list(result)
    assert "Chance of staying 10+ days" in page
    assert "Chance of staying 7+ days" not in page and "Chance of a long stay" not in page
    assert np.isfinite([r.probabilities["long_stay"] for r in result.rows]).all()
