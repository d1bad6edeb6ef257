"""`los` shortens OpenMP's spin-wait unless told otherwise, before LightGBM loads (los.openmp)."""

from __future__ import annotations

import os
import subprocess
import sys

from los.openmp import POLICY_ENV, SPIN_ENV, short_openmp_spin

PROBE = (
    "import os, sys; import cli.app; "
    "print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'), "
    "'lightgbm' in sys.modules)"
)


def _probe(**extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in (SPIN_ENV, POLICY_ENV)} | extra
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_cli_sets_a_short_spin_before_lightgbm_is_loaded() -> None:
    assert _probe() == "10000 None False"


def test_a_spin_count_or_wait_policy_in_the_environment_is_kept() -> None:
    assert _probe(GOMP_SPINCOUNT="300000") == "300000 None False"
    assert _probe(OMP_WAIT_POLICY="ACTIVE") == "None ACTIVE False"


def test_only_an_unset_spin_is_filled_in() -> None:
    env: dict[str, str] = {}
    assert short_openmp_spin(env) == "GOMP_SPINCOUNT=10000" and env == {SPIN_ENV: "10000"}
    env = {POLICY_ENV: "passive"}
    assert short_openmp_spin(env) == "OMP_WAIT_POLICY=passive" and SPIN_ENV not in env
    env = {POLICY_ENV: "active", SPIN_ENV: "5"}
    assert short_openmp_spin(env) == "GOMP_SPINCOUNT=5"


def test_a_blank_spin_count_or_policy_counts_as_unset() -> None:
    env = {SPIN_ENV: " ", POLICY_ENV: ""}
    assert short_openmp_spin(env) == "GOMP_SPINCOUNT=10000" and env[SPIN_ENV] == "10000"
    assert _probe(GOMP_SPINCOUNT="") == "10000 None False"
