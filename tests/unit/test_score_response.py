"""The scoring routes' JSON writer gives the same JSON values as `json.dumps` (starlette's)."""

from __future__ import annotations

import json
import math

from fastapi.responses import JSONResponse
from hypothesis import given
from hypothesis import strategies as st

from serving.responses import ScoreResponse

_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
_bodies = st.recursive(_leaf, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner))


@given(_bodies)
def test_same_json_values_as_json_dumps(body: object) -> None:
    assert json.loads(ScoreResponse(body).body) == json.loads(JSONResponse(body).body)


def test_known_spellings_and_a_nan() -> None:
    body = {"p": [1e-05, 0.000001, 0.1 + 0.2, 123456.654321, -0.0, 1e22], "why": "Fràilty ≥ 7"}
    assert json.loads(ScoreResponse(body).body) == body
    assert ScoreResponse({"x": math.nan}).body == b'{"x":null}'
    assert ScoreResponse(body).media_type == "application/json"
