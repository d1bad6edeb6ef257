"""How long LightGBM's OpenMP threads spin before they sleep: briefly, unless the environment
says otherwise.

LightGBM's OpenMP threads (GNU libgomp, as its Linux wheels ship) spin for about 300,000 checks
while they wait for work. Alone on a machine that costs nothing; on a machine shared with other
jobs the spinning threads compete with those jobs and with each other, and a fit became several
times slower. Measured on the 2-core machine (300,000 rows x 20 features, 100 trees;
docs/performance.md): quiet, 0.97-0.99 s spinning, 0.97 s with `GOMP_SPINCOUNT=10000`, 1.57 s
with `OMP_WAIT_POLICY=PASSIVE`; beside three busy processes 6.2 s spinning, 3.7 s with the short
spin, 3.3 s passive (under a load average of 5-6 from other work: 19-54 s against 3.4-4.8 s
passive). A short spin keeps the quiet speed and most of the loaded one.

The setting is read once, when the OpenMP runtime loads with LightGBM, so the `los` command sets
it before any of its commands imports LightGBM (`cli.app`). A wait policy or spin count already
in the environment is kept.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

SPIN_ENV = "GOMP_SPINCOUNT"
POLICY_ENV = "OMP_WAIT_POLICY"
SPIN_COUNT = "10000"


def short_openmp_spin(environ: MutableMapping[str, str] | None = None) -> str:
    """Set `GOMP_SPINCOUNT=10000` in `environ` (default: this process's) unless a spin count or
    an `OMP_WAIT_POLICY` is set (a blank one counts as unset, as libgomp reads it); return what
    is in force, e.g. "GOMP_SPINCOUNT=10000"."""
    env = os.environ if environ is None else environ
    spin, policy = env.get(SPIN_ENV, "").strip(), env.get(POLICY_ENV, "").strip()
    if spin:
        return f"{SPIN_ENV}={spin}"
    if policy:
        return f"{POLICY_ENV}={policy}"
    env[SPIN_ENV] = SPIN_COUNT
    return f"{SPIN_ENV}={SPIN_COUNT}"
