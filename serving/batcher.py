"""The scoring thread: request rows -> typed columns -> `Scorer.score`, concurrent requests batched.

One thread owns all model work. It takes every request waiting in its queue (up to `max_rows`
rows) and scores them in one `Scorer.score` call, so each call's fixed cost is shared. A request
alone is scored at once (no waiting for company); under load, requests share calls and
throughput rises instead of latency queueing up.

History: a row that carries any history field is scored with it as given (missing counts 0).
Otherwise its history is computed by `features.history.compute_history` (the function
`derive_features` uses) from the history source, if configured, else it has none.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.history import compute_history
from los.schema import COLUMNS, HISTORY_COLUMNS
from models.inputs import ExtraInput
from models.scorer import TargetScores

if TYPE_CHECKING:
    from serving.holder import ModelSet

log = logging.getLogger(__name__)

ETHNICITY_NOT_KNOWN = "99"
HISTORY_KEYS = ("patient_id", "admission_datetime", "discharge_datetime", "admission_method")
_COUNTS = HISTORY_COLUMNS[:3]


def rows_to_columns(
    rows: list[dict[str, Any]], extras: Iterable[ExtraInput] = ()
) -> dict[str, np.ndarray]:
    """Typed admissions columns (datetime64, float64, text) from validated request rows.

    A dict of numpy arrays, which the scorer takes as it takes a frame: building a DataFrame
    costs more than scoring one admission does. An extra input (`models.inputs`) becomes a
    column only when every row carries it, so a row checked against another model set (a swap
    in between) is refused by the scorer rather than scored without it.
    """
    data: dict[str, Any] = {}
    for col in COLUMNS:
        if not any(col.name in r for r in rows):
            continue
        values = [r.get(col.name) for r in rows]
        if col.kind == "datetime":
            data[col.name] = np.array(values, dtype="datetime64[ns]")
        elif col.kind in ("int", "float"):
            data[col.name] = np.array(values, dtype=np.float64)
        else:
            if col.name == "ethnic_category":
                values = [ETHNICITY_NOT_KNOWN if v is None else v for v in values]
            data[col.name] = np.array(values, dtype=object)
    for name in HISTORY_COLUMNS:
        if any(name in r for r in rows):
            data[name] = np.array([r.get(name, np.nan) for r in rows], dtype=np.float64)
    for extra in extras:
        if all(extra.name in r for r in rows):
            values = [r[extra.name] for r in rows]
            numeric = extra.kind == "number"
            data[extra.name] = np.array(
                [np.nan if numeric and v is None else v for v in values],
                dtype=np.float64 if numeric else object,
            )
    return data


def warmup_row(extras: Iterable[ExtraInput] = ()) -> dict[str, Any]:
    """A made-up admission (first code of every list, extra inputs not known) to warm a new
    model set up."""
    row: dict[str, Any] = {extra.name: None for extra in extras}
    for col in COLUMNS:
        if not col.at_admission:
            continue
        if col.kind == "datetime":
            row[col.name] = datetime(2024, 1, 1, 12)
        elif col.codes:
            row[col.name] = col.codes[0]
        elif col.kind in ("int", "float"):
            row[col.name] = col.minimum if col.minimum is not None else 0
        else:
            row[col.name] = "warmup"
    return row


class HistoryIndex:
    """Earlier spells that ended, indexed by patient, loaded once from the history source."""

    def __init__(self, spells: pd.DataFrame) -> None:
        ended = spells.loc[spells["discharge_datetime"].notna(), list(HISTORY_KEYS)]
        self._frame = ended.reset_index(drop=True)
        self._positions: dict[Any, Any] = self._frame.groupby("patient_id").indices

    def __len__(self) -> int:
        return len(self._frame)

    @classmethod
    def load(cls, source: str) -> HistoryIndex:
        """Read and validate a CSV/Parquet/SQL source (bad rows are counted and skipped)."""
        from features.load import load_admissions

        loaded = load_admissions(source, max_bad_share=1.0)
        if loaded.report.rows_quarantined:
            log.warning("history source: %d rows failed validation", loaded.report.rows_quarantined)
        return cls(loaded.frame)

    def spells_for(self, patient_ids: list[Any]) -> pd.DataFrame:
        """Ended spells of these patients (possibly none)."""
        found = [self._positions[p] for p in set(patient_ids) if p in self._positions]
        if not found:
            return self._frame.iloc[:0]
        return self._frame.iloc[np.concatenate(found)]


def with_request_history(
    columns: dict[str, np.ndarray], rows: list[dict[str, Any]], history: HistoryIndex | None
) -> dict[str, np.ndarray]:
    """The columns plus the four history columns: as supplied, or computed from the source."""
    supplied = np.array([any(k in r for k in HISTORY_COLUMNS) for r in rows], dtype=bool)
    n = len(rows)
    out = dict(columns)
    computed: Any = None
    if not supplied.all():
        if history is not None:
            frame = pd.DataFrame(columns)
            computed = compute_history(frame, history.spells_for(list(frame["patient_id"])))
        else:  # no source: no earlier spells, as compute_history returns for an empty one
            computed = {c: np.full(n, 0.0 if c in _COUNTS else np.nan) for c in HISTORY_COLUMNS}
    for name in HISTORY_COLUMNS:
        given = columns[name] if name in columns else np.full(n, np.nan)
        if name in _COUNTS:
            given = np.where(np.isnan(given), 0.0, given)
        out[name] = given if supplied.all() else np.where(supplied, given, computed[name])
    return out


def result_rows(
    spell_ids: list[str],
    scores: dict[str, TargetScores],
    unavailable: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The JSON body of each row (`ScoreOut`), built without pandas; `unavailable` names the
    targets without a champion (target -> one line), in every row."""
    missing = dict(unavailable or {})
    per_target = []
    for target, s in scores.items():
        model = s.identity.to_dict()
        probability = np.round(s.probability, 6).tolist()
        flagged = s.flagged.tolist()
        band = s.band.tolist()
        why = s.reasons or [[] for _ in spell_ids]
        per_target.append((target, model, probability, flagged, band, float(s.threshold), why))
    out = []
    for i, spell_id in enumerate(spell_ids):
        out.append(
            {
                "spell_id": spell_id,
                "scores": {
                    t: {
                        "probability": p[i],
                        "risk_band": b[i],
                        "flagged": f[i],
                        "threshold": th,
                        "reasons": [r.to_dict() for r in why[i]],
                        "model": model,
                    }
                    for t, model, p, f, b, th, why in per_target
                },
                "unavailable": missing,
            }
        )
    return out


Scored = Callable[[list[str], dict[str, TargetScores]], None]


@dataclass
class _Job:
    future: Future[Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    call: Callable[[ModelSet], Any] | None = None


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

    def submit_rows(self, rows: list[dict[str, Any]]) -> Future[list[dict[str, Any]]]:
        """Score rows; the future gets one response body per row, in order."""
        job = _Job(Future(), rows=rows)
        self._queue.put(job)
        return job.future

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

    def _models(self, jobs: list[_Job]) -> ModelSet | None:
        from serving.errors import NotReadyError

        models = self._current()
        if models is None:
            for j in jobs:
                if j.future.set_running_or_notify_cancel():
                    j.future.set_exception(NotReadyError())
        return models

    def _run_call(self, job: _Job) -> None:
        models = self._models([job])
        if models is None or job.call is None:
            return
        if not job.future.set_running_or_notify_cancel():
            return
        try:
            job.future.set_result(job.call(models))
        except Exception as exc:
            job.future.set_exception(exc)

    def _score(self, batch: list[_Job]) -> None:
        live = [j for j in batch if j.future.set_running_or_notify_cancel()]
        models = self._models(live) if live else None
        if models is None:
            return
        rows = [r for j in live for r in j.rows]
        try:
            results = self.score_rows(models, rows)
        except Exception as exc:
            if len(live) == 1:
                live[0].future.set_exception(exc)
                return
            for j in live:  # isolate the failing request; the others still get answers
                try:
                    j.future.set_result(self.score_rows(models, j.rows))
                except Exception as single:
                    j.future.set_exception(single)
            return
        start = 0
        for j in live:
            j.future.set_result(results[start : start + len(j.rows)])
            start += len(j.rows)

    def score_rows(self, models: ModelSet, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Score rows with `models` and report them to `on_scored` (audit, metrics)."""
        extras = models.scorer.extra_inputs
        columns = with_request_history(rows_to_columns(rows, extras), rows, self._history())
        scores = models.scorer.score(columns, reasons=True, top_k=3)
        spell_ids = [str(r["spell_id"]) for r in rows]
        if self._metrics is not None:
            self._metrics.batch_rows.observe(len(rows))
            self._metrics.observe_segments(columns, scores, models.scorer)
        self._on_scored(spell_ids, scores)
        return result_rows(spell_ids, scores, models.status.lines)
