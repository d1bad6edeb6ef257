"""Scoring, feature derivation and the scoring half of evaluation mapped over partitions of the
admissions on a Dask cluster, with the same outputs as the single-process path.

Nothing here derives a feature or scores a row itself: each partition goes through the same
`Scorer.score_table` / `Scorer.score` as `los score` and `los evaluate` use without a scheduler.
Features read a patient's earlier spells (history), so partitions hold whole patients (rows
split by a hash of `patient_id`); every partition is then scored as the whole table would be.
Results come back with each row's position in the input and are put back in input order.

Evaluation's metrics and bootstrap intervals need every row of a group at once, so they run on
the gathered outcome, probability and group columns (a few numbers per spell), as without a
scheduler: the same seed draws the same replicates. Without a scheduler none of this is
imported and the embedded path is unchanged.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import pandas as pd

from models.scorer import Scorer
from models.stay_scores import data_as_of

log = logging.getLogger(__name__)

# Rows per partition when the caller does not say: big enough that a task's overhead is small,
# small enough that a worker holds a few partitions comfortably.
PARTITION_ROWS = 250_000


@contextmanager
def connected(address: str) -> Iterator[Any]:
    """A `distributed.Client` on the scheduler at `address` (e.g. tcp://10.0.0.5:8786)."""
    from distributed import Client

    client = Client(address, set_as_default=False)
    try:
        yield client
    finally:
        client.close()


def by_patient(frame: pd.DataFrame, partitions: int) -> list[pd.DataFrame]:
    """`frame` split into `partitions` parts, every spell of a patient in the same part (by a
    stable hash of `patient_id`); each part keeps the rows' positions in `frame` as its index
    and their order. Empty parts are dropped."""
    positioned = frame.reset_index(drop=True)
    keys = pd.util.hash_pandas_object(positioned["patient_id"].astype(str), index=False)
    part_of = keys.to_numpy() % np.uint64(max(partitions, 1))
    return [positioned[part_of == k] for k in np.unique(part_of)]


def _partition_count(client: Any, rows: int, partitions: int | None) -> int:
    if partitions is not None:
        return max(partitions, 1)
    threads = sum(client.nthreads().values()) or 1
    return max(threads, math.ceil(rows / PARTITION_ROWS))


def _mapped(
    client: Any, frame: pd.DataFrame, scorer: Scorer, partitions: int | None, func: Any,
    meta: pd.DataFrame, **kwargs: Any,
) -> pd.DataFrame:  # fmt: skip
    """`func(part, scorer, **kwargs)` over the patient partitions of `frame` on the cluster,
    as one frame in input order."""
    import dask.dataframe as dd

    parts = by_patient(frame, _partition_count(client, len(frame), partitions))
    futures = client.scatter(parts)
    model = client.scatter(scorer, broadcast=True)
    table = dd.from_delayed(futures, meta=frame.head(0), verify_meta=False)
    mapped = table.map_partitions(func, model, meta=meta, **kwargs)
    log.info("scoring %d rows in %d partitions on the cluster", len(frame), len(parts))
    result: pd.DataFrame = client.compute(mapped, sync=True)
    return result.sort_index(kind="stable").reset_index(drop=True)


def _score_part(
    part: pd.DataFrame,
    scorer: Scorer,
    reasons_for: Literal["all", "flagged"],
    chunk_rows: int,
    as_of: pd.Timestamp | None,
) -> pd.DataFrame:
    table = scorer.score_table(part, reasons_for=reasons_for, chunk_rows=chunk_rows, as_of=as_of)
    table.index = part.index
    return table


def score_table(
    frame: pd.DataFrame,
    scorer: Scorer,
    address: str,
    reasons_for: Literal["all", "flagged"] = "all",
    partitions: int | None = None,
    chunk_rows: int = 50_000,
) -> pd.DataFrame:
    """`scorer.score_table(frame, reasons_for=...)`, computed partitioned on the cluster at
    `address`: the same table, one row per input spell in input order."""
    meta = scorer.score_table(frame.head(0), reasons_for=reasons_for)
    with connected(address) as client:
        return _mapped(
            client, frame, scorer, partitions, _score_part, meta,
            reasons_for=reasons_for, chunk_rows=chunk_rows,
            as_of=data_as_of(frame),  # the whole extract's: days stayed as one process counts
        )  # fmt: skip


def _probability_part(part: pd.DataFrame, scorer: Scorer) -> pd.DataFrame:
    scores = scorer.score(part, reasons=False)
    return pd.DataFrame({t: s.probability for t, s in scores.items()}, index=part.index)


def probabilities(
    frame: pd.DataFrame, scorer: Scorer, address: str, partitions: int | None = None
) -> dict[str, np.ndarray]:
    """Each target's probability for every row of `frame` (as `scorer.score(frame,
    reasons=False)` gives), computed partitioned on the cluster at `address`."""
    meta = pd.DataFrame({t: pd.Series(dtype=float) for t in scorer.targets})
    with connected(address) as client:
        table = _mapped(client, frame, scorer, partitions, _probability_part, meta)
    return {t: table[t].to_numpy() for t in scorer.targets}
