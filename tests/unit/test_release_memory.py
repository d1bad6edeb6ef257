"""Freed memory is handed back only where it is worth a full collection."""

from __future__ import annotations

import gc

import pytest

from features import memory


@pytest.mark.parametrize(
    ("rows", "collections"),
    [(0, 0), (memory.RELEASE_FROM_ROWS - 1, 0), (memory.RELEASE_FROM_ROWS, 1), (3_000_000, 1)],
)
def test_a_full_collection_only_for_large_frames(
    rows: int, collections: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append(1) or 0)
    memory.release_unused_memory(rows)
    assert len(calls) == collections
