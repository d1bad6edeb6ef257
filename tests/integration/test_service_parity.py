"""Parity: the HTTP service and `los score` give identical probabilities for the same rows.

The rows carry their history columns explicitly (computed from the whole generated table), so
both paths see the same history; the CSV also keeps the label columns, which `los score` ignores.
The server here runs with no API keys configured, so requests need none.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from features.history import compute_history
from tests.conftest import TrainedRegistry
from tests.integration.test_service_server import LOS, json_rows, server_env, start_server


def test_service_matches_los_score_cli(trained_registry: TrainedRegistry, tmp_path: Path) -> None:
    admissions = trained_registry.admissions
    sample = admissions.sample(40, random_state=11).reset_index(drop=True)
    history = compute_history(sample, admissions)
    assert history["prior_admissions_365d"].sum() > 0  # some rows do have earlier spells
    table = pd.concat([sample, history], axis=1)
    source, out = tmp_path / "rows.csv", tmp_path / "scores.csv"
    table.to_csv(source, index=False)

    server = start_server(server_env(trained_registry.env), tmp_path / "server.log")
    try:
        cli = subprocess.run(
            [LOS, "score", "--data", str(source), "--out", str(out)],
            env=trained_registry.env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert cli.returncode == 0, cli.stderr
        server.wait_ready()
        with server.client() as c:  # no keys configured: none needed
            response = c.post("/v1/score/batch", json=json_rows(table))
    finally:
        server.stop()
    assert response.status_code == 200, response.text
    served = response.json()
    scored = pd.read_csv(out, dtype={"spell_id": str})
    assert list(scored["spell_id"]) == [r["spell_id"] for r in served]
    targets = set(served[0]["scores"])
    assert targets == {c[: -len("_probability")] for c in scored if c.endswith("_probability")}
    for target in targets:
        http = np.array([r["scores"][target]["probability"] for r in served])
        np.testing.assert_array_equal(http, scored[f"{target}_probability"].to_numpy())
        assert [r["scores"][target]["flagged"] for r in served] == list(scored[f"{target}_flagged"])
        assert [r["scores"][target]["risk_band"] for r in served] == list(
            scored[f"{target}_risk_band"]
        )
        model = served[0]["scores"][target]["model"]
        assert set(scored[f"{target}_model_version"]) == {f"{model['name']}/{model['version']}"}
