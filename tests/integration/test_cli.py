"""The `los` command end to end, as a data scientist runs it (real subprocesses, real registry)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.conftest import TrainedRegistry

LOS = [sys.executable, "-m", "cli"]


def los(
    *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `los ...` and return the finished process."""
    done = subprocess.run([*LOS, *args], capture_output=True, text=True, env=env, timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f"los {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def test_every_command_has_help() -> None:
    for command in ("generate", "train", "evaluate", "score", "risk-list", "serve"):
        done = los(command, "--help")
        assert "Usage" in done.stdout


def test_generate_is_deterministic_and_writes_truth(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    los(
        "generate",
        "--rows",
        "500",
        "--seed",
        "3",
        "--out",
        str(a),
        "--truth-out",
        str(tmp_path / "t.csv"),
    )
    los("generate", "--rows", "500", "--seed", "3", "--out", str(b))
    assert a.read_bytes() == b.read_bytes()
    truth = pd.read_csv(tmp_path / "t.csv")
    assert list(truth.columns) == [
        "spell_id", "p_long_stay", "p_long_stay_21", "p_nctr",
        "los_p10_days", "los_median_days", "los_p90_days", "nctr_expected_days",
    ]  # fmt: skip
    assert len(truth) == 500


def test_bad_input_gives_one_line_and_nonzero_exit(tmp_path: Path) -> None:
    missing = los("train", "--data", str(tmp_path / "nope.csv"), check=False)
    assert missing.returncode != 0
    assert "Traceback" not in missing.stderr
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"spell_id": ["S1"], "age": [40]}).to_csv(bad, index=False)
    done = los("score", "--data", str(bad), "--out", str(tmp_path / "o.csv"), check=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("lightgbm: {num_leafs: 3}\n")
    done = los("train", "--data", str(bad), "--config", str(cfg), check=False)
    assert done.returncode == 1 and "num_leafs" in done.stderr


def test_score_and_evaluate_with_the_registry(
    trained_registry: TrainedRegistry, tmp_path: Path
) -> None:
    env = trained_registry.env
    sample = trained_registry.admissions.iloc[::40].reset_index(drop=True)
    src = tmp_path / "sample.csv"
    sample.to_csv(src, index=False)
    out = tmp_path / "scores.csv"
    done = los("score", "--data", str(src), "--out", str(out), env=env)
    assert "los-long-stay" in done.stdout
    scores = pd.read_csv(out)
    assert scores["spell_id"].tolist() == sample["spell_id"].tolist()
    for t in ("long_stay", "long_stay_21", "nctr"):
        for col in ("probability", "flagged", "risk_band", "reasons", "model_version"):
            assert f"{t}_{col}" in scores.columns
        assert scores[f"{t}_probability"].between(0, 1).all()
        assert set(scores[f"{t}_risk_band"]) <= {"low", "medium", "high"}
    assert scores["long_stay_reasons"].str.contains("risk").mean() > 0.9

    flagged_only = tmp_path / "flagged.csv"
    los("score", "--data", str(src), "--out", str(flagged_only), "--reasons", "flagged", env=env)
    cheap = pd.read_csv(flagged_only)
    for t in ("long_stay", "nctr"):
        pd.testing.assert_series_equal(cheap[f"{t}_probability"], scores[f"{t}_probability"])
        flagged = scores[f"{t}_flagged"].to_numpy()
        assert 0 < flagged.sum() < len(flagged)
        assert cheap.loc[~flagged, f"{t}_reasons"].isna().all()  # blank cells
        assert (cheap.loc[flagged, f"{t}_reasons"] == scores.loc[flagged, f"{t}_reasons"]).all()

    report_dir = tmp_path / "eval"
    done = los(
        "evaluate", "--data", str(trained_registry.data_path), "--out", str(report_dir), env=env
    )
    stages = [line for line in done.stderr.splitlines() if line.startswith("…")]
    for stage in ("scoring", "evaluating long_stay on", "explaining nctr", "writing reports"):
        assert any(stage in line for line in stages), stages  # each stage said as it starts
    metrics = json.loads((report_dir / "metrics.json").read_text())
    assert set(metrics) == {"long_stay", "long_stay_21", "nctr"}
    overall = metrics["long_stay"]["overall"]
    for key in ("n", "prevalence", "auroc", "auprc", "brier", "calibration_error", "threshold"):
        assert key in overall
    assert overall["auroc"] > 0.7
