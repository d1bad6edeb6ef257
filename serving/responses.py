"""The JSON body of each scored row (`serving.schemas.ScoreOut`), built without pandas.

The scoring routes answer with these dicts as they are (a `JSONResponse`, not validated on each
request: that would cost more than scoring one admission); tests/unit/test_batcher_parts.py
checks the bytes against `ScoreOut`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.scorer import TargetScores


def result_rows(
    spell_ids: list[str],
    scores: dict[str, TargetScores],
    unavailable: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One body per spell, in order; `unavailable` names the targets without a champion
    (target -> one line), in every row."""
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
