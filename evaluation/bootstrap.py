"""The bootstrap of one fairness group: replicates counted per distinct key, in cache-sized blocks.

A group of `n` rows is resampled `n_boot` times: replicate i draws row `rng.integers(0, n)` n
times, row i of one `(n_boot, n)` draw (numpy fills row by row, so drawing a block of
replicates at a time gives the same rows, and leaves the generator where one call would).

Every statistic depends on a row only through its key, the distinct (class, calibration bin,
score, flag, expected miss), so a replicate needs only how often each key was drawn. Keys are
numbered negatives first, each class ordered by bin and then score: a bin is a run of keys, and
the negatives' running count gives every positive key the negatives scored below and level with
it, so AUROC needs no sort per replicate. Counts and their running sums are integers: AUROC and
FNR replicates equal the row-by-row count matrix's bit for bit, and the other statistics, sums
of the same terms in another order, equal it to 1e-12 (tests/unit/test_fairness_bootstrap.py).

Blocks hold about `BLOCK_CELLS` draws, so one block's arrays stay in the processor's cache: the
work per draw is a handful of passes over cached arrays rather than over main memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

# Draws per block of replicates (at least one replicate per block): 2^18 keep a block's arrays
# (8 bytes a cell, 2 MB) in cache. On one 249k-row group, 200 replicates, in one run: 1.0-1.1 s
# at 2^17 and 2^18, 1.4-1.5 s at 2^19 to 2^22 (load average 7). Draws and results do not
# depend on it.
BLOCK_CELLS = 1 << 18
STATISTICS = ("auroc", "fnr", "smr", "oe", "calibration_error")


def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b where b > 0, else NaN (elementwise)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def count_per_replicate(values: np.ndarray, k: int) -> np.ndarray:
    """(replicates, k) matrix: how often each of 0..k-1 occurs in each row of `values`."""
    reps = len(values)
    flat = values + k * np.arange(reps)[:, None] if reps > 1 else values
    return np.bincount(flat.ravel(), minlength=reps * k).reshape(reps, k)


def replicate_blocks(n: int, n_boot: int, block_cells: int) -> Iterator[slice]:
    """The replicates `0..n_boot` in blocks of about `block_cells` draws of `n` rows (at least
    one replicate a block)."""
    block = max(1, block_cells // max(n, 1))
    for first in range(0, n_boot, block):
        yield slice(first, min(first + block, n_boot))


def _runs(values: np.ndarray, offset: int) -> list[tuple[int, slice]]:
    """(value, keys) for each run of equal values in a sorted array, keys offset by `offset`."""
    if len(values) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    return [
        (int(values[s]), slice(offset + s, offset + e)) for s, e in zip(starts, ends, strict=True)
    ]


@dataclass(frozen=True)
class Levels:
    """A group's rows collapsed to keys: keys `[0, n_neg)` hold negative rows, the rest
    positive rows; within a class, keys are ordered by calibration bin, then score."""

    key: np.ndarray  # per row, its key
    n_neg: int
    y: np.ndarray  # per key
    p: np.ndarray
    missed: np.ndarray  # per key: positive and not flagged
    expected_miss: np.ndarray
    bin: np.ndarray
    runs: list[tuple[int, slice]]  # (bin, keys) for each class's run of one bin
    below: np.ndarray  # per positive key: negative keys scored below it
    level: np.ndarray  # per positive key: negative keys scored below or level with it

    @classmethod
    def of(
        cls, y: np.ndarray, p: np.ndarray, flagged: np.ndarray, expected_miss: np.ndarray,
        bins: np.ndarray,
    ) -> Levels:  # fmt: skip
        """The keys of a group's rows. The calibration bins must be quantile bins of the score
        (`fairness._calibration_bins`): nondecreasing as the score rises."""
        positive = y == 1
        order = np.lexsort((expected_miss, flagged, p, bins, positive))
        columns = [c[order] for c in (positive, bins, p, flagged, expected_miss)]
        change = np.zeros(len(p), dtype=bool)
        change[:1] = True
        for c in columns:
            change[1:] |= c[1:] != c[:-1]
        key = np.empty(len(p), dtype=np.intp)
        key[order] = np.cumsum(change) - 1
        pos, bs, ps, fs, es = (c[change] for c in columns)
        n_neg = int(np.count_nonzero(~pos))
        neg_p = ps[:n_neg]
        if np.any(np.diff(neg_p) < 0) or np.any(np.diff(ps[n_neg:]) < 0):
            raise ValueError("calibration bins must rise with the score (quantile bins)")
        return cls(
            key=key,
            n_neg=n_neg,
            y=pos.astype(float),
            p=ps,
            missed=(pos & ~fs).astype(float),
            expected_miss=es,
            bin=bs,
            runs=_runs(bs[:n_neg], 0) + _runs(bs[n_neg:], n_neg),
            below=np.searchsorted(neg_p, ps[n_neg:], side="left"),
            level=np.searchsorted(neg_p, ps[n_neg:], side="right"),
        )

    def counts(self, draws: np.ndarray) -> np.ndarray:
        """(replicates, keys) matrix: how often each key is drawn in each replicate (a row of
        `draws`, row indices of the group)."""
        return count_per_replicate(self.key[draws], len(self.y))

    def totals(self) -> np.ndarray:
        """(1, keys) matrix: how often each key occurs in the group itself (its rows drawn once
        each), so `statistics(totals, n)` gives the point estimates."""
        return np.bincount(self.key, minlength=len(self.y))[None, :]

    def statistics(self, counts: np.ndarray, n: int) -> dict[str, np.ndarray]:
        """Each replicate's AUROC, FNR, observed over expected misses (`smr`), observed over
        predicted events (`oe`) and calibration error, from its key counts."""
        neg, pos = counts[:, : self.n_neg], counts[:, self.n_neg :]
        events = pos.sum(axis=1)
        # negatives drawn below each score: a running count with a leading zero column
        running = np.zeros((len(counts), self.n_neg + 1), dtype=counts.dtype)
        np.cumsum(neg, axis=1, out=running[:, 1:])
        # twice the Mann-Whitney count (pairs ranked right, ties as half): whole numbers
        twice_wins = (pos * (running[:, self.below] + running[:, self.level])).sum(axis=1)
        bins = int(self.bin.max()) + 1 if len(self.bin) else 1
        observed, predicted = np.zeros((len(counts), bins)), np.zeros((len(counts), bins))
        # products summed by numpy (pairwise), not BLAS: OpenBLAS's one-row matrix-vector
        # product is ~400x slower than this on a loaded machine (benchmarks/evaluate.py)
        for b, keys in self.runs:
            predicted[:, b] += (counts[:, keys] * self.p[keys]).sum(axis=1)
            if keys.start >= self.n_neg:
                observed[:, b] += counts[:, keys].sum(axis=1)
        missed = (pos * self.missed[self.n_neg :]).sum(axis=1)
        return {
            "auroc": ratio(twice_wins / 2, events * (n - events)),
            "fnr": ratio(missed, events),
            "smr": ratio(missed, (counts * self.expected_miss).sum(axis=1)),
            "oe": ratio(events, predicted.sum(axis=1)),
            "calibration_error": np.abs(observed - predicted).sum(axis=1) / n,
        }


def group_replicates(
    levels: Levels, n: int, n_boot: int, rng: np.random.Generator, block_cells: int = BLOCK_CELLS
) -> dict[str, np.ndarray]:
    """The `n_boot` replicates of each statistic (`STATISTICS`) of a group of `n` rows, drawn
    in blocks of about `block_cells` draws."""
    out = {name: np.empty(n_boot) for name in STATISTICS}
    for block in replicate_blocks(n, n_boot, block_cells):
        counts = levels.counts(rng.integers(0, n, size=(block.stop - block.start, n)))
        for name, values in levels.statistics(counts, n).items():
            out[name][block] = values
    return out


def bootstrap_sums(
    columns: np.ndarray, n_boot: int, rng: np.random.Generator, block_cells: int = BLOCK_CELLS
) -> np.ndarray:
    """(n_boot, k): each replicate's sum of each of the k `columns` (an (n, k) array) over the
    rows it draws: the dense (n_boot, n) matrix of how often each replicate draws each row, times
    `columns`, with the same draws as one `rng.integers(0, n, size=(n_boot, n))`, made a block of
    replicates at a time so memory stays about `block_cells` counts whatever n is (the
    dense matrix of a 1M-spell run's test period was its training's peak)."""
    n = len(columns)
    out = np.empty((n_boot, columns.shape[1]))
    for block in replicate_blocks(n, n_boot, block_cells):
        draws = rng.integers(0, n, size=(block.stop - block.start, n))
        out[block] = count_per_replicate(draws, n).astype(float) @ columns
    return out


def bootstrap_auroc(y: np.ndarray, p: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """AUROC of each replicate (rows of `counts`, a weight per row of `y` and `p`) from ranks,
    ties counted as half; NaN when a replicate has only one class."""
    order = np.argsort(p, kind="stable")
    ps = p[order]
    starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
    pos = counts[:, order] * y[order]
    neg = counts[:, order] - pos
    if len(starts) < counts.shape[1]:
        pos, neg = np.add.reduceat(pos, starts, axis=1), np.add.reduceat(neg, starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    pairs = pos.sum(axis=1) * neg.sum(axis=1)
    wins = (pos * (below + 0.5 * neg)).sum(axis=1)
    return ratio(wins, pairs)
