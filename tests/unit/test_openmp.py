"""`los` waits passively in OpenMP unless told otherwise, set before LightGBM loads (los.openmp)."""

from __future__ import annotations

import os
import subprocess
import sys

from los.openmp import WAIT_POLICY_ENV, passive_openmp_waits

PROBE = (
    "import os, sys; import cli.app; "
    "print(os.environ.get('OMP_WAIT_POLICY'), 'lightgbm' in sys.modules)"
)


def _probe(**extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != WAIT_POLICY_ENV} | extra
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_cli_sets_passive_waits_before_lightgbm_is_loaded() -> None:
    assert _probe() == "PASSIVE False"


def test_a_policy_in_the_environment_is_kept() -> None:
    assert _probe(OMP_WAIT_POLICY="ACTIVE") == "ACTIVE False"


def test_only_an_unset_policy_is_filled_in() -> None:
    env: dict[str, str] = {}
    assert passive_openmp_waits(env) == "PASSIVE" and env == {WAIT_POLICY_ENV: "PASSIVE"}
    env = {WAIT_POLICY_ENV: "active"}
    assert passive_openmp_waits(env) == "active"
