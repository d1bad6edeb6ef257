"""The JSON body of each scored row (`serving.schemas.ScoreOut`), built without pandas.

The scoring routes answer with these dicts as they are (a `JSONResponse`, not validated on each
request: that would cost more than scoring one admission); tests/unit/test_batcher_parts.py
checks the bytes against `ScoreOut`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pydantic_core
from fastapi.responses import HTMLResponse, JSONResponse, Response

from models.printable import R
from models.scorer import TargetScores
from models.stay_scores import stay_rows


class ScoreResponse(JSONResponse):
    """The scoring routes' JSON, written by pydantic-core's serializer rather than `json.dumps`:
    a third of the CPU for a batch of 100 bodies (0.29 against 0.92 ms). The same JSON values;
    a float may be spelt another way (`0.00001` where `json.dumps` writes `1e-05`), and a NaN,
    which no body holds (non-finite stay figures are None), would be null rather than a 500."""

    def render(self, content: Any) -> bytes:
        return pydantic_core.to_json(content, inf_nan_mode="null")


def result_rows(
    spell_ids: list[str],
    scores: dict[str, TargetScores],
    unavailable: dict[str, str] | None = None,
    stay: Mapping[str, list[object]] | None = None,
) -> list[dict[str, Any]]:
    """One body per spell, in order; `unavailable` names the targets without a champion
    (target -> one line), in every row; `stay` (`Scorer.stay_scores`) gives the CONTRACT §7
    fields of each body (null without a stay model)."""
    missing = dict(unavailable or {})
    per_target = []
    for target, s in scores.items():
        model = s.identity.to_dict()
        probability = np.round(s.probability, 6).tolist()
        flagged = s.flagged.tolist()
        band = s.band.tolist()
        why = s.reasons or [[] for _ in spell_ids]
        per_target.append((target, model, probability, flagged, band, float(s.threshold), why))
    out: list[dict[str, Any]] = []
    extra = stay_rows(stay or {}, len(spell_ids))
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
        out[-1].update(extra[i])
    return out


def in_format(result: R, format: str, render: Callable[[R], str]) -> Response:
    """A list or forecast as the asked `format`: `html` (`render`), `csv` (formula-like cells
    defused by its `to_csv`) or `json`; the service's twin of `models.printable.write_by_suffix`."""
    if format == "html":
        return HTMLResponse(render(result))
    if format == "csv":
        return Response(result.to_csv(), media_type="text/csv")
    return JSONResponse(result.to_dict())
