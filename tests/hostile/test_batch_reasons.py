"""Issue 17 goal 2: `/v1/score/batch` explains only the rows a target flags, unless asked for all.

Reasons cost exact tree SHAP; a batch explains, by default, a target's reasons only where that
target flags the row (`?reasons=flagged`), and every row with `?reasons=all`. Flagged-only
reasons must be exactly the all-rows reasons for those rows; unflagged rows carry an empty list;
probabilities, bands and flags do not depend on the option. `/v1/score` keeps reasons for every
target. A bad value is a 422 naming the field, without echoing it. Concurrent requests asking
for different options are scored together by the one scoring thread and each still gets what it
asked for.

Real parts: a registry trained in the session, `los serve` on 127.0.0.1, the real scoring thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from models import registry
from models.scorer import Scorer
from serving.holder import ModelSet
from serving.inputs import RequestInputs
from serving.schemas import Admission, admission_row
from serving.worker import ScoringWorker
from tests.conftest import TrainedRegistry
from tests.integration.test_service_server import Server, json_rows, running_server, server_env


@pytest.fixture(scope="module")
def server(
    trained_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("batch") / "server.log"
    with running_server(server_env(trained_registry.env), log) as running:
        yield running


@pytest.fixture(scope="module")
def rows(trained_registry: TrainedRegistry) -> list[dict[str, Any]]:
    return json_rows(trained_registry.admissions.sample(120, random_state=3), extra=())


def _post(server: Server, rows: list[dict[str, Any]], query: str = "") -> list[dict[str, Any]]:
    with server.client() as c:
        response = c.post(f"/v1/score/batch{query}", json=rows)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def test_flagged_rows_get_the_same_reasons_as_with_all_and_the_others_none(
    server: Server, rows: list[dict[str, Any]]
) -> None:
    default = _post(server, rows)
    flagged = _post(server, rows, "?reasons=flagged")
    every = _post(server, rows, "?reasons=all")
    assert default == flagged  # flagged is the default
    seen = {"flagged": 0, "not": 0}
    for one, full in zip(flagged, every, strict=True):
        assert one["spell_id"] == full["spell_id"]
        for target, s in one["scores"].items():
            f = full["scores"][target]
            # the same probability whichever rows are explained (a flag at the threshold too)
            assert (s["probability"], s["flagged"], s["risk_band"]) == (
                f["probability"],
                f["flagged"],
                f["risk_band"],
            )
            assert f["reasons"], "with reasons=all every row is explained"
            if s["flagged"]:
                assert s["reasons"] == f["reasons"]
                seen["flagged"] += 1
            else:
                assert s["reasons"] == []
                seen["not"] += 1
    assert seen["flagged"] and seen["not"]  # both kinds of row were checked


def test_single_admission_keeps_reasons_for_every_target(
    server: Server, rows: list[dict[str, Any]]
) -> None:
    with server.client() as c:
        answers = [c.post("/v1/score", json=r).json() for r in rows[:20]]
    unflagged = [s for a in answers for s in a["scores"].values() if not s["flagged"]]
    assert unflagged  # the check below covers rows no target flags
    assert all(s["reasons"] for a in answers for s in a["scores"].values())


@pytest.mark.parametrize("value", ["everything", "ALL", ""])
def test_a_bad_option_is_a_422_naming_the_field_not_its_value(
    server: Server, rows: list[dict[str, Any]], value: str
) -> None:
    with server.client() as c:
        response = c.post("/v1/score/batch", params={"reasons": value}, json=rows[:2])
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert [e["loc"] for e in errors] == [["query", "reasons"]]
    if value:
        assert value not in response.text


def test_single_admission_takes_no_reasons_option(
    server: Server, rows: list[dict[str, Any]]
) -> None:
    with server.client() as c:
        response = c.post("/v1/score", params={"reasons": "flagged"}, json=rows[0])
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["query", "reasons"]]


def test_requests_scored_together_each_get_their_own_option(
    trained_registry: TrainedRegistry, rows: list[dict[str, Any]]
) -> None:
    registry.connect(trained_registry.settings.tracking_uri)
    scorer = Scorer(registry.load_models("champion"))
    models = ModelSet(scorer, datetime.now(UTC), RequestInputs(scorer.extra_inputs, None))
    batches: list[int] = []
    worker = ScoringWorker(
        current=lambda: models, history=lambda: None, on_scored=lambda ids, s: batches.append(1)
    )
    request = [admission_row(Admission.model_validate(r)) for r in rows[:30]]
    # queued before the thread starts: the thread takes all three in one round
    everything = worker.submit_rows(request[:1], "all")
    flagged = worker.submit_rows(request, "flagged")
    also_all = worker.submit_rows(request[1:2], "all")
    worker.start()
    try:
        one, many, two = (f.result(timeout=60) for f in (everything, flagged, also_all))
    finally:
        worker.stop()
    assert len(batches) == 2  # one scoring call per option, not one per request
    for answer in (one[0], two[0]):
        assert all(s["reasons"] for s in answer["scores"].values())
    assert all(not s["reasons"] for r in many for s in r["scores"].values() if not s["flagged"])
    assert [r["spell_id"] for r in many] == [r["spell_id"] for r in rows[:30]]
    assert one[0]["scores"].keys() == many[0]["scores"].keys()
    for target, s in one[0]["scores"].items():
        assert abs(s["probability"] - many[0]["scores"][target]["probability"]) <= 1e-6


def test_risk_list_explains_flagged_patients_exactly_and_no_others(
    trained_registry: TrainedRegistry,
) -> None:
    from los.schema import LABEL_COLUMNS
    from models.risk_list import build_risk_list

    registry.connect(trained_registry.settings.tracking_uri)
    scorer = Scorer(registry.load_models("champion"))
    spells = trained_registry.admissions.sort_values("admission_datetime", ignore_index=True)
    current = spells.index >= len(spells) - 300  # the latest 300 are still in hospital
    spells.loc[current, [c for c in LABEL_COLUMNS if c in spells]] = None
    flagged = build_risk_list(scorer, spells)
    every = build_risk_list(scorer, spells, reasons_for="all")
    assert [r.spell_id for r in flagged.rows] == [r.spell_id for r in every.rows]
    kinds = {"explained": 0, "not": 0}
    for one, full in zip(flagged.rows, every.rows, strict=True):
        assert one.probabilities == full.probabilities
        assert one.model_flags == full.model_flags and one.flagged == full.flagged
        by_model = any(one.model_flags.values())
        for t, reasons in one.reasons.items():
            assert full.reasons[t]  # with reasons_for="all" every patient is explained
            if one.model_flags[t] or (one.flagged and not by_model):
                assert reasons == full.reasons[t]
                kinds["explained"] += 1
            else:
                assert reasons == []
                kinds["not"] += 1
    assert kinds["explained"] and kinds["not"]
    # everyone flagged for review (capacity for all): those no model flags get every target's
    everyone = build_risk_list(scorer, spells, capacity=len(spells))
    unflagged = [r for r in everyone.rows if not any(r.model_flags.values())]
    assert unflagged
    full_by_spell = {r.spell_id: r.reasons for r in every.rows}
    for row in unflagged:
        assert row.flagged and row.reasons == full_by_spell[row.spell_id]
