"""`los monitor`: compare a recent window of admissions with a reference, per target and segment.

Steps: score both windows with the same models (history from both, so the first weeks of a
recent extract are not scored without earlier spells); bin the inputs and scores on the
reference; per segment, measure drift, the label-free estimate and the realised figures; then
decide alerts, sites first. A change at one site also moves every group its patients belong to
(and the whole population), so for the other segments an alert kind already raised at a site is
re-tested without that site's rows: if it goes away it is noted as explained by the site, and
the alert stays with the site where the action is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from evaluation.bootstrap import bootstrap_auroc
from evaluation.metrics import calibration_error
from features.build import with_default_history
from los.config import TrainingConfig
from los.targets import Target, label, length_of_stay_days
from models.registry import LoadedModel
from models.scorer import Scorer
from monitoring.accuracy import (
    OPEN_SHARE,
    EstimateCheck,
    check_estimate,
    critical_z,
    label_noise_sd,
)
from monitoring.drift import (
    CATEGORICAL_INPUTS,
    Binning,
    Drift,
    drift,
    fit_binning,
    monitored_inputs,
)
from monitoring.estimate import (
    Bootstrap,
    Recalibrator,
    apply_recalibration,
    bootstrap_interval,
    calibration_gaps,
    expected_auroc,
    expected_calibration_error,
    segment_recalibration,
)
from monitoring.realised import CensoringBaseline, observed_expected
from monitoring.segments import segment_keys, segment_order

DAY = pd.Timedelta(days=1)
DISTANCE_ROWS = 5_000  # rows per window the Wasserstein distance reads (it sorts them)
SEGMENT_RECALIBRATION_EVENTS = 20  # labelled reference events (and non-events) a segment needs


@dataclass
class Window:
    """One window's rows, segment keys and binned inputs."""

    frame: pd.DataFrame
    keys: dict[str, np.ndarray]
    inputs: dict[str, np.ndarray]
    codes: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.frame)


@dataclass
class TargetWindows:
    """One target's probabilities and labels in both windows."""

    target: Target
    p_ref: np.ndarray
    y_ref: np.ndarray  # NaN where not labelled
    stay_ref: np.ndarray
    p_rec: np.ndarray
    y_rec: np.ndarray
    age_rec: np.ndarray  # days from admission to the extract's end
    q_ref: np.ndarray  # probabilities recalibrated on the reference (for the estimate)
    q_rec: np.ndarray
    bins: Binning
    ref_codes: np.ndarray
    rec_codes: np.ndarray
    baseline: CensoringBaseline


class SegmentCheck(NamedTuple):
    """One target's estimate check in one segment (`Monitor.estimate_checks`)."""

    target: str
    attribute: str
    group: str
    rows: np.ndarray  # the segment's recent rows (mask)
    labelled: np.ndarray  # those whose labels have arrived
    realised: dict[str, Any]  # `Monitor.realised`
    check: EstimateCheck
    z: float  # the critical z it was judged at


@dataclass
class MonitorResult:
    """monitor.json's content and the time series for monitor.html."""

    document: dict[str, Any]
    series: dict[str, dict[str, dict[str, list[dict[str, Any]]]]]


def _window(frame: pd.DataFrame, attributes: list[str]) -> Window:
    return Window(frame, {a: segment_keys(frame, a) for a in attributes}, monitored_inputs(frame))


def _score(
    reference: pd.DataFrame, recent: pd.DataFrame, models: dict[str, LoadedModel]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """Both windows with history columns (from the spells of both) and every target's p."""
    both = pd.concat([reference, recent], ignore_index=True)
    both = pd.DataFrame(with_default_history(both))
    scores = Scorer(models).score(both, reasons=False)
    n = len(reference)
    return (
        both.iloc[:n].reset_index(drop=True),
        both.iloc[n:].reset_index(drop=True),
        {t: s.probability for t, s in scores.items()},
    )


def _extract_end(frame: pd.DataFrame) -> pd.Timestamp:
    """The last moment the recent extract knows about (latest admission or discharge)."""
    stamps = [pd.to_datetime(frame["admission_datetime"]).max()]
    if "discharge_datetime" in frame:
        stamps.append(pd.to_datetime(frame["discharge_datetime"]).max())
    return max(s for s in stamps if pd.notna(s))


def _target_windows(
    target: Target,
    cfg: TrainingConfig,
    ref: Window,
    rec: Window,
    p_ref: np.ndarray,
    p_rec: np.ndarray,
) -> TargetWindows:
    y_ref = label(ref.frame, target).to_numpy(dtype=float)
    y_rec = label(rec.frame, target).to_numpy(dtype=float)
    stay = length_of_stay_days(ref.frame).to_numpy(dtype=float)
    end = _extract_end(rec.frame)
    age = ((end - pd.to_datetime(rec.frame["admission_datetime"])) / DAY).to_numpy(dtype=float)
    known = ~np.isnan(y_ref)
    bins = fit_binning(p_ref, "number", cfg.monitoring.numeric_bins)
    recal = Recalibrator().fit(p_ref[known], y_ref[known])
    return TargetWindows(
        target, p_ref, y_ref, stay, p_rec, y_rec, age, recal.transform(p_ref),
        recal.transform(p_rec), bins, bins.codes(p_ref), bins.codes(p_rec),
        CensoringBaseline.fit(stay[known], y_ref[known], p_ref[known]),
    )  # fmt: skip


def rounded(value: float | None, digits: int = 4) -> float | None:
    """A finite value rounded for monitor.json; None for a missing or undefined one."""
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


class Monitor:
    """One monitoring run: the windows, the per-segment figures and the alerts."""

    def __init__(
        self,
        reference: pd.DataFrame,
        recent: pd.DataFrame,
        models: dict[str, LoadedModel],
        cfg: TrainingConfig,
    ) -> None:
        self.cfg, self.mc = cfg, cfg.monitoring
        self.rng = np.random.default_rng(self.mc.seed)
        self._segments: list[tuple[str, str, np.ndarray, np.ndarray]] | None = None
        self.boot = Bootstrap(self.mc.n_bootstrap, self.rng)
        self.check_rng = np.random.default_rng([self.mc.seed, 1])  # its own stream
        attributes = list(dict.fromkeys(["site", *self.mc.attributes]))  # site first
        self.attributes: list[str] = [a for a in attributes if a in self.mc.attributes]
        ref_frame, rec_frame, probabilities = _score(reference, recent, models)
        self.ref, self.rec = (
            _window(ref_frame, self.attributes),
            _window(rec_frame, self.attributes),
        )
        self.binnings: dict[str, Binning] = {}
        for name, values in self.ref.inputs.items():
            if name not in self.rec.inputs:
                continue
            kind = "category" if name in CATEGORICAL_INPUTS else "number"
            self.binnings[name] = b = fit_binning(values, kind, self.mc.numeric_bins)
            self.ref.codes[name], self.rec.codes[name] = (
                b.codes(values),
                b.codes(self.rec.inputs[name]),
            )
        # each model is judged by its own label definition (the bundle's), not the current config
        targets = {name: m.bundle.label_target for name, m in models.items()}
        n_ref = len(reference)
        self.targets = {
            name: _target_windows(targets[name], cfg, self.ref, self.rec, p[:n_ref], p[n_ref:])
            for name, p in probabilities.items()
            if name in targets
        }

    # ----- which segments are assessed, and how many tests of each kind there are -----

    def segments(self) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
        """(attribute, group, reference mask, recent mask) of every segment, overall first."""
        if self._segments is None:
            self._segments = self._masks()
        return self._segments

    def _masks(self) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
        out = [("overall", "all", np.ones(self.ref.n, bool), np.ones(self.rec.n, bool))]
        for attribute in self.attributes:
            present = sorted(set(self.rec.keys[attribute]) | set(self.ref.keys[attribute]))
            for group in segment_order(attribute, present):
                out.append(
                    (
                        attribute,
                        group,
                        self.ref.keys[attribute] == group,
                        self.rec.keys[attribute] == group,
                    )
                )
        return out

    def assessed(self, ref_mask: np.ndarray, rec_mask: np.ndarray) -> bool:
        """Both windows hold the minimum segment size."""
        size = self.mc.min_segment_size
        return bool(ref_mask.sum() >= size and rec_mask.sum() >= size)

    # ----- figures of one segment -----

    def input_drift(self, ref_mask: np.ndarray, rec_mask: np.ndarray) -> dict[str, Drift]:
        """Drift of every watched input in one segment."""
        return {name: self.input_drift_one(name, ref_mask, rec_mask) for name in self.binnings}

    def input_drift_one(self, name: str, ref_mask: np.ndarray, rec_mask: np.ndarray) -> Drift:
        """Drift of input `name` in one segment (the distance on at most `DISTANCE_ROWS`)."""
        b = self.binnings[name]
        ref_values = rec_values = None
        if b.kind == "number":
            ref_values = self.ref.inputs[name][ref_mask][:DISTANCE_ROWS]
            rec_values = self.rec.inputs[name][rec_mask][:DISTANCE_ROWS]
        return drift(
            b,
            self.ref.codes[name][ref_mask],
            self.rec.codes[name][rec_mask],
            ref_values,
            rec_values,
        )

    def score_drift(self, tw: TargetWindows, ref_mask: np.ndarray, rec_mask: np.ndarray) -> Drift:
        """Drift of the target's scores in one segment (reference deciles of the score)."""
        return drift(tw.bins, tw.ref_codes[ref_mask], tw.rec_codes[rec_mask])

    def calibrated(
        self, tw: TargetWindows, ref_mask: np.ndarray, rec_mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The estimate's calibrated probabilities of a segment's reference and recent rows:
        recalibrated on the reference, then by the segment's own intercept and slope where its
        labelled reference holds enough events."""
        q_ref, q_rec = tw.q_ref[ref_mask], tw.q_rec[rec_mask]
        known = ref_mask & ~np.isnan(tw.y_ref)
        y = tw.y_ref[known]
        if min(y.sum(), len(y) - y.sum()) >= SEGMENT_RECALIBRATION_EVENTS:
            coef = segment_recalibration(tw.q_ref[known], y)
            q_ref, q_rec = apply_recalibration(q_ref, coef), apply_recalibration(q_rec, coef)
        return q_ref, q_rec

    def estimate(
        self, tw: TargetWindows, ref_mask: np.ndarray, rec_mask: np.ndarray
    ) -> dict[str, Any]:
        """CBPE on both windows, and the expected calibration error of the recent one."""
        p_rec, p_ref = tw.p_rec[rec_mask], tw.p_ref[ref_mask]
        q_ref, q_rec = self.calibrated(tw, ref_mask, rec_mask)
        known = ref_mask & ~np.isnan(tw.y_ref)
        est, ci = expected_auroc(q_rec, p_rec, self.boot)
        ref_est, _ = expected_auroc(q_ref, p_ref)
        bins = int(max(1, min(10, known.sum() // 50)))
        edges, gaps = calibration_gaps(tw.p_ref[known], tw.y_ref[known], bins)
        return {
            "estimated_auroc": est,
            "estimated_auroc_ci": ci,
            "reference_estimated_auroc": ref_est,
            "estimated_calibration_error": expected_calibration_error(p_rec, edges, gaps),
        }

    def realised(
        self, tw: TargetWindows, ref_mask: np.ndarray, rec_mask: np.ndarray
    ) -> dict[str, Any]:
        """Realised AUROC, calibration and O/E on the recent rows whose labels have arrived."""
        known = rec_mask & ~np.isnan(tw.y_rec)
        y, p = tw.y_rec[known], tw.p_rec[known]
        events = min(int(y.sum()), int(len(y) - y.sum()))
        out: dict[str, Any] = {
            "labelled": int(known.sum()),
            "realised_auroc": None,
            "realised_auroc_ci": [None, None],
            "realised_calibration_error": None,
            "observed_expected": None,
        }
        if events < self.mc.min_segment_events:
            return out
        ref_known = ref_mask & ~np.isnan(tw.y_ref)
        own = CensoringBaseline.fit(
            tw.stay_ref[ref_known], tw.y_ref[ref_known], tw.p_ref[ref_known]
        )
        k = own.ratio(tw.age_rec[known], prior=tw.baseline)
        out["observed_expected"] = observed_expected(y, p * k)
        point = float(bootstrap_auroc(y, p, np.ones((1, len(y))))[0])
        out["realised_auroc"] = point
        out["realised_auroc_ci"] = bootstrap_interval(
            lambda rows, w: bootstrap_auroc(y[rows], p[rows], w),
            len(y),
            point,
            self.boot,
        )
        out["realised_calibration_error"] = calibration_error(y, p)
        return out

    def estimate_check(
        self,
        tw: TargetWindows,
        ref_mask: np.ndarray,
        rec_mask: np.ndarray,
        realised: float | None,
        z: float,
    ) -> EstimateCheck:
        """The estimate against the realised AUROC on the same labelled rows, judged where the
        realised figure's label noise allows (`monitoring.accuracy`)."""
        discharged = self.rec.frame.get("discharge_datetime")
        still_in = np.ones(self.rec.n, bool) if discharged is None else discharged.isna().to_numpy()
        open_spells = still_in[rec_mask]
        open_share = float(open_spells.mean()) if len(open_spells) else 0.0
        tolerance = self.mc.estimate_tolerance
        if realised is None:
            return check_estimate(None, None, None, open_share, tolerance, z)
        _, q = self.calibrated(tw, ref_mask, rec_mask)
        labelled = ~np.isnan(tw.y_rec[rec_mask])
        p, q = tw.p_rec[rec_mask][labelled], q[labelled]
        estimated, _ = expected_auroc(q, p)
        sd = None  # no simulation where labels are still arriving: nothing to judge yet
        if open_share <= OPEN_SHARE:
            sd = label_noise_sd(p, q, max(self.mc.n_bootstrap, 50), self.check_rng)
        return check_estimate(estimated, realised, sd, open_share, tolerance, z)

    def estimate_checks(self) -> Iterator[SegmentCheck]:
        """Per target and assessed segment, the estimate check as `run_monitor` makes it (z over
        every assessed segment and target), where both figures exist. For measuring the check
        itself against the generator's truth (its test and benchmark)."""
        segments = [s for s in self.segments() if self.assessed(s[2], s[3])]
        z = critical_z(self.mc.estimate_check_level, len(segments) * len(self.targets))
        for target, tw in self.targets.items():
            for attribute, group, rm, cm in segments:
                real = self.realised(tw, rm, cm)
                check = self.estimate_check(tw, rm, cm, real["realised_auroc"], z)
                if check.estimated is not None and check.realised is not None:
                    labelled = cm & ~np.isnan(tw.y_rec)
                    yield SegmentCheck(target, attribute, group, cm, labelled, real, check, z)
