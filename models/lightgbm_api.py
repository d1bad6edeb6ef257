"""LightGBM's booster API (`Booster`, `Dataset`, `train`), imported without scikit-learn.

`import lightgbm` also imports scikit-learn, and with it most of SciPy, for its estimator
wrappers (`LGBMClassifier` and friends): about 1.1 s of CPU on our 2 cores, a third of a whole
`los risk-list` once MLflow is not imported either. The product uses only the booster API, so
when neither package is loaded yet, LightGBM is imported with scikit-learn hidden: its
`compat` module then records scikit-learn as absent and skips the wrappers. scikit-learn itself
stays importable afterwards (evaluation uses its metrics); only LightGBM's wrappers are
unavailable in such a process. Where LightGBM or scikit-learn is already loaded (a test session,
a training run that imported scikit-learn first) this changes nothing.
"""

from __future__ import annotations

import sys

if "lightgbm" not in sys.modules and "sklearn" not in sys.modules:
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # `import sklearn` -> ImportError
    try:
        import lightgbm  # noqa: F401  (the import that must not see scikit-learn)
    finally:
        del sys.modules["sklearn"]

import lightgbm as lgb

__all__ = ["lgb"]
