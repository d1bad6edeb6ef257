"""The scoring routes' cheaper request path gives the same answers as the old one.

- answers awaited on the event loop (`ScoringWorker.submit_rows_async`) equal the thread futures
  of `submit_rows` for the same rows, and one scoring call hands all of its answers back to
  their loop in one callback (with `asyncio.wrap_future`, one per request);
- a request whose client has gone before its turn is not scored;
- the audit trail queues one item per scoring call (its targets' batches together), written as
  the same rows;
- the scoring routes resolve each dependency once (every node of FastAPI's dependency tree costs
  a cache-key computation per request).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from los.config import Settings
from los.errors import NotReadyError
from models import registry
from models.registry import ModelIdentity
from models.scorer import Scorer
from serving.app import create_app
from serving.audit import AuditWriter, score_audit
from serving.holder import ModelSet
from serving.inputs import RequestInputs
from serving.metrics import ServiceMetrics
from serving.schemas import Admission, admission_row
from serving.worker import ScoringWorker
from tests.conftest import TrainedRegistry
from tests.integration.test_service_server import json_rows


@pytest.fixture(scope="module")
def models(trained_registry: TrainedRegistry) -> ModelSet:
    registry.connect(trained_registry.settings.tracking_uri)
    scorer = Scorer(registry.load_models("champion"))
    return ModelSet(scorer, datetime.now(UTC), RequestInputs(scorer.extra_inputs, None))


@pytest.fixture(scope="module")
def request_rows(trained_registry: TrainedRegistry) -> list[dict[str, Any]]:
    sample = trained_registry.admissions.sample(12, random_state=8)
    return [admission_row(Admission.model_validate(r)) for r in json_rows(sample, extra=())]


def _counting(loop: asyncio.AbstractEventLoop) -> list[int]:
    """Count the callbacks other threads hand to `loop` (the real loop's own method runs)."""
    calls: list[int] = []
    original: Callable[..., Any] = loop.call_soon_threadsafe

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
    return calls


def test_loop_answers_equal_the_thread_futures_in_one_callback(
    models: ModelSet, request_rows: list[dict[str, Any]]
) -> None:
    scored: list[int] = []
    worker = ScoringWorker(
        current=lambda: models, history=lambda: None, on_scored=lambda ids, s: scored.append(1)
    )
    parts = [request_rows[:1], request_rows[1:5], request_rows[5:6], request_rows[6:]]

    async def both() -> tuple[list[Any], list[Any], int]:
        calls = _counting(asyncio.get_running_loop())
        # queued before the thread starts: one scoring call takes all four requests
        waiters = [worker.submit_rows_async(p, "all") for p in parts]
        worker.start()
        try:
            new = list(await asyncio.gather(*waiters))
        finally:
            worker.stop()
        callbacks = len(calls)
        futures = [worker.submit_rows(p, "all") for p in parts]  # the old path, same rows
        worker.start()
        try:
            old = [f.result(timeout=60) for f in futures]
        finally:
            worker.stop()
        return new, old, callbacks

    new, old, callbacks = asyncio.run(both())
    assert scored == [1, 1]  # one scoring call each time
    assert callbacks == 1  # four answers, one hand-over to the loop
    assert new == old  # every probability, flag, reason and stay figure
    assert [len(a) for a in new] == [len(p) for p in parts]


def test_loop_answers_carry_the_errors_of_the_thread_futures() -> None:
    worker = ScoringWorker(current=lambda: None, history=lambda: None, on_scored=lambda *a: None)

    async def run() -> tuple[list[BaseException | Any], int]:
        calls = _counting(asyncio.get_running_loop())
        waiters = [worker.submit_rows_async([{"spell_id": str(i)}]) for i in range(3)]
        worker.start()
        try:
            outcomes = await asyncio.gather(*waiters, return_exceptions=True)
        finally:
            worker.stop()
        return outcomes, len(calls)

    outcomes, callbacks = asyncio.run(run())
    assert all(isinstance(o, NotReadyError) for o in outcomes)
    assert callbacks == 1


def test_a_request_whose_client_has_gone_is_not_scored(
    models: ModelSet, request_rows: list[dict[str, Any]]
) -> None:
    scored: list[list[str]] = []
    worker = ScoringWorker(
        current=lambda: models, history=lambda: None, on_scored=lambda ids, s: scored.append(ids)
    )

    async def run() -> list[dict[str, Any]]:
        gone = worker.submit_rows_async(request_rows[:1])
        kept = worker.submit_rows_async(request_rows[1:2])
        gone.cancel()
        await asyncio.sleep(0)  # the cancellation reaches the job
        worker.start()
        try:
            answer: list[dict[str, Any]] = await kept
        finally:
            worker.stop()
        return answer

    answer = asyncio.run(run())
    assert scored == [[str(request_rows[1]["spell_id"])]]
    assert [a["spell_id"] for a in answer] == [str(request_rows[1]["spell_id"])]


def test_the_audit_trail_queues_one_item_per_scoring_call(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    writer = AuditWriter(url, ServiceMetrics(), linger=0.01)
    ids = ["S1", "S2", "S3"]
    rng = np.random.default_rng(4)
    scored = [
        (ModelIdentity(name, "3", "champion"), rng.random(3), rng.random(3) > 0.5)
        for name in ("los-long-stay", "los-long-stay-21", "los-nctr")
    ]
    writer.record_scores(ids, scored)
    first = scored[0]
    writer.record_scores(ids[:1], [(first[0], first[1][:1], first[2][:1])])
    assert writer._queue.qsize() == 2  # one per call, not one per target
    writer.start()
    writer.stop()
    assert writer.rows_written == 10 and writer.healthy
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = [tuple(r)[2:] for r in conn.execute(sa.select(score_audit).order_by("id"))]
    engine.dispose()
    expected = [
        (identity.name, "3", s, float(p), bool(f))
        for identity, probability, flagged in scored
        for s, p, f in zip(ids, probability, flagged, strict=True)
    ]
    expected.append((first[0].name, "3", "S1", float(first[1][0]), bool(first[2][0])))
    assert stored == expected


def test_the_scoring_routes_resolve_each_dependency_once(tmp_path: Path) -> None:
    app = create_app(Settings(los_data_dir=tmp_path, los_allow_no_keys=True))
    from serving.errors import _api_routes

    routes = {getattr(r, "path_format", r.path): r for r in _api_routes(app)}
    for path in ("/v1/score", "/v1/score/batch"):
        calls: list[Any] = []
        stack = list(routes[path].dependant.dependencies)
        while stack:
            dependant = stack.pop()
            calls.append(dependant.call)
            stack.extend(dependant.dependencies)
        names = [getattr(c, "__name__", type(c).__name__) for c in calls]
        assert len(names) == len(set(map(id, calls))), (path, names)
