"""The round trip a training run makes before it trusts a version it has just registered."""

from __future__ import annotations

import numpy as np
import pandas as pd

from los.errors import ModelLoadError
from models.registry.client import Registry
from models.registry.loading import load_bundle

ROUNDTRIP_TOLERANCE = 1e-9


def verify_version(
    registered_name: str,
    version: str,
    rows: pd.DataFrame,
    expected: np.ndarray,
    tolerance: float = ROUNDTRIP_TOLERANCE,
    *,
    registry: Registry | None = None,
) -> float:
    """Load `version` back from the registry as another process would, score `rows`, and check
    the probabilities equal `expected` (the in-memory model's); returns the largest difference.

    Raises `ModelLoadError` when the version cannot be loaded, scored, or scores differently.
    """
    bundle, _ = load_bundle(registered_name, version, allow_incomplete=True, registry=registry)
    where = f"model {registered_name} version {version}"
    try:
        got = np.asarray(bundle.probability(bundle.encode(rows), rows), dtype=float)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise ModelLoadError(f"{where} cannot score: {type(exc).__name__}: {first}") from exc
    want = np.asarray(expected, dtype=float)
    if got.shape != want.shape or not np.all(np.isfinite(got)):
        raise ModelLoadError(f"{where} scored {len(rows)} rows into unusable probabilities")
    diff = float(np.max(np.abs(got - want))) if len(want) else 0.0
    if diff > tolerance:
        raise ModelLoadError(
            f"{where} scores differently once loaded back (largest difference {diff:.3g})"
        )
    return diff
