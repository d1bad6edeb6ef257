"""`GroupRecalibrator`: per-group shifts of the calibrated log-odds, a fairness mitigation an
evaluator chooses (`mitigation.group_recalibration` in the training config; off by default).

logit p' = logit p + intercept + the sum, over the chosen breakdowns, of the shift of the row's
group. Groups are `features.groups.group_keys` of the admissions (exactly the fairness report's
groups), so a model with one **uses ethnicity and IMD at scoring time** when its breakdowns are
built from them; ethnicity is still not a model (tree) input.

Fitted on the calibration period with the Platt map held fixed, by maximum a posteriori: each
shift has a normal prior N(0, prior_sd^2), so a group's shift is pulled towards 0 by how little its
rows say (the prior's weight 1/prior_sd^2 against the group's information, about spells x
p(1 - p)): a large group ends close to its own observed/expected gap, a small one moves little.
Only the groups allowed (`fit(groups=...)`, e.g. those a fairness review flags) and with at least
`min_group_size` rows get a shift; the common intercept has no prior, so the overall
observed/expected on the fitting rows stays 1 however few groups move.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from scipy.special import expit

from features.build import Columns, n_rows
from features.groups import ATTRIBUTES, group_keys
from los.errors import NotFittedError


class GroupRecalibrator:
    """Per-group intercept shifts after Platt scaling (see the module doc)."""

    def __init__(
        self,
        attributes: tuple[str, ...] = ("ethnicity_deprivation",),
        min_group_size: int = 100,
        prior_sd: float = 0.5,
    ) -> None:
        self.attributes = attributes
        self.min_group_size = min_group_size
        self.prior_sd = prior_sd

    def fit(
        self,
        logit: np.ndarray,
        y: np.ndarray,
        admissions: Columns,
        groups: Mapping[str, Iterable[str]] | None = None,
    ) -> GroupRecalibrator:
        """Fit on calibrated log-odds `logit`, labels `y` and the same rows' admissions.

        `groups`: per attribute, the only groups that may get a shift (None: every group).
        """
        logit = np.asarray(logit, dtype=float)
        y = np.asarray(y, dtype=float)
        attributes = tuple(dict.fromkeys(self.attributes))
        keys = {a: group_keys(admissions, a) for a in attributes}
        allowed = None if groups is None else {a: set(groups.get(a, ())) for a in attributes}
        params: list[tuple[str, str]] = []
        columns = [np.zeros(len(logit), dtype=np.int64)]  # parameter 0: the common intercept
        for attribute, k in keys.items():
            names, counts = np.unique(k, return_counts=True)
            chosen = [
                str(g)
                for g, n in zip(names, counts, strict=True)
                if n >= self.min_group_size and (allowed is None or g in allowed[attribute])
            ]
            index = {g: 1 + len(params) + i for i, g in enumerate(chosen)}
            params += [(attribute, g) for g in chosen]
            columns.append(np.array([index.get(g, -1) for g in k], dtype=np.int64))
        precision = np.array([0.0] + [1.0 / self.prior_sd**2] * len(params))
        fitted = _map_fit(logit, y, columns, precision)
        self.intercept_ = float(fitted[0])
        self.shifts_: dict[str, dict[str, float]] = {a: {} for a in attributes}
        for (attribute, group), d in zip(params, fitted[1:], strict=True):
            self.shifts_[attribute][group] = float(d)
        self.groups_ = _group_summary(logit, y, keys, self.intercept_, self.shifts_, allowed)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "shifts_"):
            raise NotFittedError("GroupRecalibrator is not fitted: call fit() first")

    def offset(self, admissions: Columns) -> np.ndarray:
        """Each row's total adjustment (log-odds): the intercept plus its groups' shifts."""
        self._check_fitted()
        keys = {a: group_keys(admissions, a) for a in self.shifts_}
        return self.intercept_ + _shift_sum(keys, self.shifts_, n_rows(admissions))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state (the per-group summary is for people: model card, report)."""
        self._check_fitted()
        return {
            "attributes": list(self.shifts_),
            "min_group_size": self.min_group_size,
            "prior_sd": self.prior_sd,
            "intercept": self.intercept_,
            "shifts": self.shifts_,
            "groups": self.groups_,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> GroupRecalibrator:
        """Rebuild a fitted recalibrator from `to_dict` output."""
        attributes = tuple(str(a) for a in state["attributes"])
        unknown = sorted(set(attributes) - set(ATTRIBUTES))
        if unknown:
            raise ValueError(f"group recalibration by unknown attributes {unknown}")
        rec = cls(attributes, int(state["min_group_size"]), float(state["prior_sd"]))
        rec.intercept_ = float(state["intercept"])
        rec.shifts_ = {
            a: {str(g): float(d) for g, d in state["shifts"].get(a, {}).items()} for a in attributes
        }
        rec.groups_ = list(state.get("groups", []))
        return rec


def _map_fit(
    logit: np.ndarray, y: np.ndarray, columns: list[np.ndarray], precision: np.ndarray
) -> np.ndarray:
    """Parameters maximising the Bernoulli log-likelihood of `logit + sum of the parameters each
    row's `columns` entries pick (-1: none)` plus independent N(0, 1/precision) log-priors
    (precision 0: no prior).

    Newton's method with backtracking: the objective is smooth and convex (strictly, given the
    priors and the intercept's rows), with few parameters, so it reaches the optimum's
    first-order condition to rounding in a few steps.
    """
    k = len(precision)
    masks = [c >= 0 for c in columns]

    def log_odds(theta: np.ndarray) -> np.ndarray:
        z = logit.copy()
        for c, m in zip(columns, masks, strict=True):
            z[m] += theta[c[m]]
        return z

    def objective(theta: np.ndarray) -> float:
        z = log_odds(theta)
        penalty = 0.5 * float(np.sum(precision * theta**2))
        return float(np.sum(np.logaddexp(0.0, z) - y * z)) + penalty

    theta = np.zeros(k)
    value = objective(theta)
    for _ in range(100):
        p = expit(log_odds(theta))
        residual, weight = p - y, p * (1.0 - p)
        grad = precision * theta
        hess = np.diag(precision)
        for c, m in zip(columns, masks, strict=True):
            grad += np.bincount(c[m], weights=residual[m], minlength=k)
            for c2, m2 in zip(columns, masks, strict=True):
                both = m & m2
                pairs = c[both] * k + c2[both]
                hess += np.bincount(pairs, weights=weight[both], minlength=k * k).reshape(k, k)
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        t = 1.0
        while True:  # backtracking (Armijo): a Newton step on a convex function soon passes
            trial = theta - t * step
            new = objective(trial)
            if new <= value - 1e-4 * t * float(grad @ step) or t < 1e-10:
                break
            t /= 2
        theta, value = trial, new
        if float(np.max(np.abs(t * step))) < 1e-12:
            break
    return theta


def _shift_sum(
    keys: dict[str, np.ndarray], shifts: dict[str, dict[str, float]], n: int
) -> np.ndarray:
    """Each row's summed group shifts, given its group in every attribute."""
    total = np.zeros(n)
    for attribute, k in keys.items():
        table = shifts.get(attribute, {})
        total += np.fromiter((table.get(g, 0.0) for g in k), float, len(k))
    return total


def _group_summary(
    logit: np.ndarray,
    y: np.ndarray,
    keys: dict[str, np.ndarray],
    intercept: float,
    shifts: dict[str, dict[str, float]],
    allowed: dict[str, set[str]] | None,
) -> list[dict[str, Any]]:
    """Per group, on the fitting rows: spells, events, whether it was allowed a shift, the shift,
    and observed/expected before and after (for people reviewing the mitigation)."""
    before = expit(logit)
    after = expit(logit + intercept + _shift_sum(keys, shifts, len(logit)))
    out = []
    for attribute, k in keys.items():
        for group in np.unique(k):
            rows = k == group
            observed = float(y[rows].sum())
            out.append(
                {
                    "attribute": attribute,
                    "group": str(group),
                    "n": int(rows.sum()),
                    "events": int(observed),
                    "flagged": allowed is None or str(group) in allowed[attribute],
                    "shift": shifts[attribute].get(str(group)),
                    "oe_before": _ratio(observed, float(before[rows].sum())),
                    "oe_after": _ratio(observed, float(after[rows].sum())),
                }
            )
    return out


def _ratio(observed: float, expected: float) -> float | None:
    return observed / expected if expected > 0 else None
