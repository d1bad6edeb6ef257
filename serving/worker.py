"""The scoring thread: request rows -> typed columns -> `Scorer.score`, concurrent requests batched.

One thread owns all model work. It takes every request waiting in its queue (up to `max_rows`
rows) and scores them in one `Scorer.score` call, so each call's fixed cost is shared. A request
alone is scored at once (no waiting for company); under load, requests share calls and
throughput rises instead of latency queueing up. A batch that fails is scored again request by
request, so one bad request does not fail the others.

Requests from the event loop (`submit_rows_async`) get their answers back in one callback per
scoring call and loop, not one per request: each hand-over wakes the loop's thread, which then
takes the GIL from this one (with `asyncio.wrap_future`, a call batching four requests woke the
loop four times).

The rows become columns with their history in `serving.request_rows`; the scores become response
bodies in `serving.responses`.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from los.errors import NotReadyError
from models.history_index import HistoryIndex
from models.scorer import Derived, TargetScores
from serving.request_rows import rows_to_columns, with_request_history
from serving.responses import result_rows

if TYPE_CHECKING:
    from serving.holder import ModelSet

Scored = Callable[[list[str], dict[str, TargetScores]], None]
# which rows get reasons (exact tree SHAP): every row, or the rows each target flags
ReasonsFor = Literal["all", "flagged"]


@dataclass
class _Job:
    future: Future[Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    call: Callable[[ModelSet], Any] | None = None
    reasons_for: ReasonsFor = "all"
    # set for a job submitted from an event loop: gets `future`'s outcome on that loop
    waiter: asyncio.Future[Any] | None = None


class ScoringWorker:
    """The one thread that runs the models; see the module doc."""

    def __init__(
        self,
        current: Callable[[], ModelSet | None],
        history: Callable[[], HistoryIndex | None],
        on_scored: Scored,
        max_rows: int = 2000,
        metrics: Any = None,
    ) -> None:
        self._current = current
        self._history = history
        self._on_scored = on_scored
        self._metrics = metrics
        self.max_rows = max_rows
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self._run, name="los-scoring", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish queued work, then stop."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def submit_rows(
        self, rows: list[dict[str, Any]], reasons_for: ReasonsFor = "all"
    ) -> Future[list[dict[str, Any]]]:
        """Score rows; the future gets one response body per row, in order. With
        `reasons_for="flagged"` a row gets reasons for the targets that flag it only (empty
        lists for the others)."""
        job = _Job(Future(), rows=rows, reasons_for=reasons_for)
        self._queue.put(job)
        return job.future

    def submit_rows_async(
        self, rows: list[dict[str, Any]], reasons_for: ReasonsFor = "all"
    ) -> asyncio.Future[list[dict[str, Any]]]:
        """As `submit_rows`, awaited on the running event loop: the answers of one scoring call
        reach their loop in one callback (module doc). Cancelling the returned future (a client
        gone) cancels the job if it has not started, as `asyncio.wrap_future` does."""
        waiter: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        job = _Job(Future(), rows=rows, reasons_for=reasons_for, waiter=waiter)
        waiter.add_done_callback(lambda w: job.future.cancel() if w.cancelled() else None)
        self._queue.put(job)
        return waiter

    def submit_call(self, call: Callable[[ModelSet], Any]) -> Future[Any]:
        """Run `call(model_set)` on the scoring thread (e.g. the risk list)."""
        job = _Job(Future(), call=call)
        self._queue.put(job)
        return job.future

    def _run(self) -> None:
        carry: deque[_Job | None] = deque()
        while True:
            job = carry.popleft() if carry else self._queue.get()
            if job is None:
                return
            if job.call is not None:
                self._run_call(job)
                continue
            batch, n = [job], len(job.rows)
            while n < self.max_rows:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None or nxt.call is not None:
                    carry.append(nxt)
                    break
                batch.append(nxt)
                n += len(nxt.rows)
            self._score(batch)

    def _models(self, running: list[_Job]) -> ModelSet | None:
        """The model set now; None (each job failed with `NotReadyError`) when there is none,
        e.g. retired between a request's check and its turn here. The jobs are running already
        (a future set running twice raises, which once ended this thread)."""
        models = self._current()
        if models is None:
            for j in running:
                j.future.set_exception(NotReadyError())
        return models

    def _run_call(self, job: _Job) -> None:
        if not job.future.set_running_or_notify_cancel():
            return
        models = self._models([job])
        if models is None or job.call is None:
            return
        try:
            job.future.set_result(job.call(models))
        except Exception as exc:
            job.future.set_exception(exc)

    def _score(self, batch: list[_Job]) -> None:
        live = [j for j in batch if j.future.set_running_or_notify_cancel()]
        try:
            models = self._models(live) if live else None
            if models is None:
                return
            for mode in ("all", "flagged"):
                same = [j for j in live if j.reasons_for == mode]
                if same:
                    self._score_together(models, same, mode)
        finally:
            _hand_back([j for j in live if j.waiter is not None])

    def _score_together(self, models: ModelSet, live: list[_Job], mode: ReasonsFor) -> None:
        rows = [r for j in live for r in j.rows]
        try:
            results = self.score_rows(models, rows, mode)
        except Exception as exc:
            if len(live) == 1:
                live[0].future.set_exception(exc)
                return
            for j in live:  # isolate the failing request; the others still get answers
                try:
                    j.future.set_result(self.score_rows(models, j.rows, mode))
                except Exception as single:
                    j.future.set_exception(single)
            return
        start = 0
        for j in live:
            j.future.set_result(results[start : start + len(j.rows)])
            start += len(j.rows)

    def score_rows(
        self, models: ModelSet, rows: list[dict[str, Any]], reasons_for: ReasonsFor = "all"
    ) -> list[dict[str, Any]]:
        """Score rows with `models` and report them to `on_scored` (audit, metrics)."""
        extras = models.scorer.extra_inputs
        columns = with_request_history(rows_to_columns(rows, extras), rows, self._history())
        derived: Derived = {}  # the rows' features, derived once for the flags and the stay
        scores = models.scorer.score(
            columns, reasons=True, top_k=3, reasons_for=reasons_for, derived=derived
        )
        stay = models.scorer.stay_scores(columns, scores, derived=derived)  # CONTRACT §7
        spell_ids = [str(r["spell_id"]) for r in rows]
        if self._metrics is not None:
            self._metrics.batch_rows.observe(len(rows))
            self._metrics.observe_segments(columns, scores, models.scorer)
        self._on_scored(spell_ids, scores)
        return result_rows(spell_ids, scores, models.status.lines, stay)


def _hand_back(jobs: list[_Job]) -> None:
    """Copy each finished job's outcome to its waiter: one callback per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
    for job in jobs:
        if job.waiter is not None and job.future.done():
            by_loop.setdefault(job.waiter.get_loop(), []).append(job)
    for loop, done in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, done)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            continue


def _settle(jobs: list[_Job]) -> None:
    """On the waiters' loop: each waiter gets its job's result or exception (a cancelled waiter,
    whose client has gone, is left as it is)."""
    for job in jobs:
        waiter = job.waiter
        if waiter is None or waiter.done():
            continue
        error = job.future.exception()
        if error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(job.future.result())
