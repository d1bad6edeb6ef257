"""A monitoring run's verdicts: every segment's figures, the alerts, and monitor.json's document.

Every alert needs an effect worth acting on and significance at the run's family-wise level
(`MonitoringConfig.alpha`, split over the tests of its kind: Bonferroni). Sites are decided
first; another segment's alert of a kind a site already raised is re-tested without that site's
rows, and kept only if it still holds (`monitoring.monitor` explains why).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from los.config import TrainingConfig
from models.registry import LoadedModel
from monitoring import alerts as text
from monitoring.accuracy import EstimateCheck, critical_z, summary
from monitoring.alerts import Alert, segment_name
from monitoring.drift import Drift
from monitoring.estimate import ASSUMPTION
from monitoring.monitor import Monitor, MonitorResult, TargetWindows, rounded
from monitoring.realised import ObservedExpected
from monitoring.series import time_series

Key = tuple[str, str, str | None]  # (kind, target, feature)


@dataclass
class Levels:
    """Per-test significance levels of each kind (family-wise alpha / number of tests)."""

    inputs: float
    targets: float
    estimate_z: float  # label-noise multiple the estimate check allows (`monitoring.accuracy`)


def _drifted(d: Drift, psi: float, level: float) -> bool:
    return d.psi >= psi and d.p_value < level


def _oe_alert(oe: ObservedExpected | None, band: tuple[float, float], level: float) -> bool:
    if oe is None or oe.ratio is None:
        return False
    return oe.p_value < level and not band[0] <= oe.ratio <= band[1]


def _input_detail(name: str, where: str, d: Drift) -> str:
    return (
        f"{name} at {where} is distributed differently from the reference "
        f"(population stability index {d.psi:.2f}, p {_p(d.p_value)}, n {d.n:,})"
    )


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


class Verdicts:
    """Alerts of one run, with the sites' alerts remembered for the other segments."""

    def __init__(self, monitor: Monitor) -> None:
        self.m = monitor
        self.alerts: list[Alert] = []
        self.at_sites: dict[Key, set[str]] = {}
        self.checks: list[EstimateCheck] = []

    def confirm(
        self,
        key: Key,
        attribute: str,
        group: str,
        rm: np.ndarray,
        cm: np.ndarray,
        still: Callable[[np.ndarray, np.ndarray], bool],
        notes: list[str],
    ) -> bool:
        """Record a site's alert; for another segment, whether it holds without the alerted
        sites (a note says which sites explain it when it does not)."""
        if attribute == "site":
            self.at_sites.setdefault(key, set()).add(group)
            return True
        sites = self.at_sites.get(key)
        if not sites:
            return True
        keep_r = ~np.isin(self.m.ref.keys["site"], list(sites))
        keep_c = ~np.isin(self.m.rec.keys["site"], list(sites))
        if still(rm & keep_r, cm & keep_c):
            return True
        notes.append(f"{key[0]} ({key[2] or key[1]}): explained by site {', '.join(sorted(sites))}")
        return False


def _suppressed(n: int, ref_n: int) -> dict[str, Any]:
    return {
        "n": n,
        "reference_n": ref_n,
        "suppressed": True,
        "input_drift": {},
        "score_drift": None,
        "estimated_auroc": None,
        "estimated_calibration_error": None,
        "realised_auroc": None,
        "estimate_check": None,
        "alerts": [],
    }


def run_monitor(
    reference: pd.DataFrame,
    recent: pd.DataFrame,
    models: dict[str, LoadedModel],
    cfg: TrainingConfig,
    progress: Callable[[str], None] = lambda message: None,
) -> MonitorResult:
    """Monitor `recent` against `reference` with `models`: monitor.json's document and series."""
    mc = cfg.monitoring
    progress(f"scoring {len(reference):,} reference and {len(recent):,} recent spells")
    m = Monitor(reference, recent, models, cfg)
    segments = m.segments()
    assessed = sum(m.assessed(rm, cm) for _, _, rm, cm in segments)
    levels = Levels(
        mc.alpha / max(1, assessed * len(m.binnings)),
        mc.alpha / max(1, assessed * len(m.targets)),
        critical_z(mc.estimate_check_level, assessed * len(m.targets)),
    )
    v = Verdicts(m)
    doc_targets: dict[str, Any] = {
        t: {"title": tw.target.title, "overall": {}, "segments": {a: {} for a in m.attributes}}
        for t, tw in m.targets.items()
    }
    progress(f"assessing {assessed} segments x {len(m.targets)} targets")
    ordered = [s for s in segments if s[0] == "site"] + [s for s in segments if s[0] != "site"]
    for attribute, group, rm, cm in ordered:
        if not m.assessed(rm, cm):
            for t in m.targets:
                doc_targets[t]["segments"][attribute][group] = _suppressed(
                    int(cm.sum()), int(rm.sum())
                )
            continue
        notes: list[str] = []
        drifts = m.input_drift(rm, cm)
        input_alerts = _input_alerts(m, v, levels, attribute, group, rm, cm, notes, drifts)
        for t, tw in m.targets.items():
            entry = _target_entry(m, v, levels, tw, attribute, group, rm, cm, list(notes))
            entry["input_drift"] = {k: d.to_dict() for k, d in drifts.items()}
            entry["alerts"] = [a.to_dict() for a in input_alerts] + entry["alerts"]
            if attribute == "overall":
                doc_targets[t]["overall"] = entry
            else:
                doc_targets[t]["segments"][attribute][group] = entry
    return MonitorResult(
        {
            "reference": _window_info(m.ref.frame),
            "recent": _window_info(m.rec.frame),
            "assumption": ASSUMPTION,
            "settings": mc.model_dump(mode="json"),
            "tests": {
                "segments_assessed": assessed,
                "input_level": levels.inputs,
                "target_level": levels.targets,
            },
            "targets": doc_targets,
            "estimate_check": summary(v.checks, mc.estimate_tolerance, levels.estimate_z),
            "alerts": [a.to_dict() for a in v.alerts],
        },
        time_series(m),
    )


def _window_info(frame: pd.DataFrame) -> dict[str, Any]:
    admitted = pd.to_datetime(frame["admission_datetime"])
    return {"n": len(frame), "from": str(admitted.min()), "to": str(admitted.max())}


def _input_alerts(
    m: Monitor,
    v: Verdicts,
    levels: Levels,
    attribute: str,
    group: str,
    rm: np.ndarray,
    cm: np.ndarray,
    notes: list[str],
    drifts: dict[str, Drift],
) -> list[Alert]:
    out = []
    psi = m.mc.psi_threshold
    for name, d in drifts.items():
        if not _drifted(d, psi, levels.inputs):
            continue

        def still(r: np.ndarray, c: np.ndarray, name: str = name) -> bool:
            return _drifted(m.input_drift_one(name, r, c), psi, levels.inputs)

        if v.confirm(("input_drift", "all", name), attribute, group, rm, cm, still, notes):
            alert = Alert(
                "all",
                attribute,
                group,
                "input_drift",
                _input_detail(name, segment_name(attribute, group), d),
                text.input_action(attribute, name),
                name,
            )
            v.alerts.append(alert)
            out.append(alert)
    return out


def _target_entry(
    m: Monitor,
    v: Verdicts,
    levels: Levels,
    tw: TargetWindows,
    attribute: str,
    group: str,
    rm: np.ndarray,
    cm: np.ndarray,
    notes: list[str],
) -> dict[str, Any]:
    t, where, mc = tw.target.name, segment_name(attribute, group), m.mc
    sd = m.score_drift(tw, rm, cm)
    est = m.estimate(tw, rm, cm)
    real = m.realised(tw, rm, cm)
    found: list[Alert] = []
    mean_ref, mean_rec = float(tw.p_ref[rm].mean()), float(tw.p_rec[cm].mean())
    if _drifted(sd, mc.psi_threshold, levels.targets) and v.confirm(
        ("score_drift", t, None),
        attribute,
        group,
        rm,
        cm,
        lambda r, c: _drifted(m.score_drift(tw, r, c), mc.psi_threshold, levels.targets),
        notes,
    ):
        found.append(
            Alert(
                t,
                attribute,
                group,
                "score_drift",
                f"{tw.target.title} scores at {where} have moved: mean predicted risk "
                f"{mean_ref:.1%} on the reference, {mean_rec:.1%} now (population stability index "
                f"{sd.psi:.2f}, p {_p(sd.p_value)})",
                text.SCORE_ACTION,
            )
        )
    upper = (
        est["estimated_auroc_ci"][1]
        if est["estimated_auroc_ci"][1] is not None
        else est["estimated_auroc"]
    )
    if upper < est["reference_estimated_auroc"] - mc.auroc_drop and v.confirm(
        ("estimated_auroc", t, None),
        attribute,
        group,
        rm,
        cm,
        lambda r, c: _auroc_low(m, tw, r, c),
        notes,
    ):
        found.append(
            Alert(
                t,
                attribute,
                group,
                "estimated_auroc",
                f"{tw.target.title} at {where}: expected AUROC {est['estimated_auroc']:.3f} "
                f"without labels, {est['reference_estimated_auroc']:.3f} on the reference",
                text.AUROC_ACTION,
            )
        )
    oe = real["observed_expected"]
    if _oe_alert(oe, mc.oe_band, levels.targets) and v.confirm(
        ("observed_expected", t, None),
        attribute,
        group,
        rm,
        cm,
        lambda r, c: _oe_alert(
            m.realised(tw, r, c)["observed_expected"], mc.oe_band, levels.targets
        ),
        notes,
    ):
        found.append(
            Alert(
                t,
                attribute,
                group,
                "observed_expected",
                f"{tw.target.outcome} at {where}: {oe.observed:.0f} events among {oe.n:,} spells "
                f"with labels where {oe.expected:.1f} were expected as on the reference "
                f"(observed/expected {oe.ratio:.2f}, p {_p(oe.p_value)})",
                text.oe_action(attribute, oe.ratio),
            )
        )
    v.alerts.extend(found)
    check = m.estimate_check(tw, rm, cm, real["realised_auroc"], levels.estimate_z)
    v.checks.append(check)
    return {
        "n": int(cm.sum()),
        "reference_n": int(rm.sum()),
        "suppressed": False,
        "labelled": real["labelled"],
        "mean_score": rounded(mean_rec),
        "reference_mean_score": rounded(mean_ref),
        "score_drift": sd.to_dict(),
        "estimated_auroc": rounded(est["estimated_auroc"]),
        "estimated_auroc_ci": [rounded(x) for x in est["estimated_auroc_ci"]],
        "reference_estimated_auroc": rounded(est["reference_estimated_auroc"]),
        "estimated_calibration_error": rounded(est["estimated_calibration_error"]),
        "realised_auroc": rounded(real["realised_auroc"]),
        "realised_auroc_ci": [rounded(x) for x in real["realised_auroc_ci"]],
        "realised_calibration_error": rounded(real["realised_calibration_error"]),
        "observed_expected": oe.to_dict() if oe is not None else None,
        "estimate_check": check.to_dict(),
        "alerts": [a.to_dict() for a in found],
        "explained": notes,
    }


def _auroc_low(m: Monitor, tw: TargetWindows, r: np.ndarray, c: np.ndarray) -> bool:
    est = m.estimate(tw, r, c)
    upper = est["estimated_auroc_ci"][1]
    upper = est["estimated_auroc"] if upper is None else upper
    return bool(upper < est["reference_estimated_auroc"] - m.mc.auroc_drop)
