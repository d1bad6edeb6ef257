"""OpenMP's wait policy for LightGBM: passive, unless the environment sets one.

LightGBM's OpenMP threads spin while they wait for work. Alone on a machine that is a little
faster; on a machine shared with other jobs the spinning threads compete with those jobs and with
each other, and a fit became 5-15x slower (300,000 rows x 20 features, 100 trees, 2 cores at a
load average of 5-6: 19-54 s spinning against 3.4-4.8 s passive; docs/performance.md). The
policy is read once, when the OpenMP runtime loads with LightGBM, so the `los` command sets it
before any of its commands imports LightGBM (`cli.app`).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

WAIT_POLICY_ENV = "OMP_WAIT_POLICY"
WAIT_POLICY = "PASSIVE"


def passive_openmp_waits(environ: MutableMapping[str, str] | None = None) -> str:
    """Set `OMP_WAIT_POLICY=PASSIVE` in `environ` (default: this process's) unless it is set;
    return the policy in force."""
    env = os.environ if environ is None else environ
    return env.setdefault(WAIT_POLICY_ENV, WAIT_POLICY)
