"""What `los train` prints: each version's verdict, what holds it, and the targets skipped.

Kept apart from the CLI so the lines can be read and tested without running a command. Every
fairness finding that holds a version gets one line a person understands, with the report's
path; gates beyond their limit on the estimate only are marked `not conclusive`, never `pass`.
"""

from __future__ import annotations

from training.mitigation import console_lines
from training.register import ROUNDTRIP_GATE, RunSummary, TargetOutcome
from training.stay_fit import StayRun
from training.stay_register import stay_record

_WORDS = {"pass": "pass", "fail": "FAIL", "not_conclusive": "not conclusive"}


def _verdict(o: TargetOutcome) -> str:
    failed = [g for g in o.gates if not g.passed]
    unsure = [g for g in o.gates if g.status == "not_conclusive"]
    verdict = "promoted to champion"
    if not o.promoted:
        rejected = any(g.name == ROUNDTRIP_GATE for g in failed)
        verdict = "NOT promoted (gates failed): " + ("rejected" if rejected else "held for review")
    return (
        f"{o.registered_name} version {o.version}: test AUROC {o.metrics['auroc']:.3f}, "
        f"calibration error {o.metrics['calibration_error']:.3f}; "
        f"gates passed {len(o.gates) - len(failed)}/{len(o.gates)}"
        + (f" ({len(unsure)} not conclusive)" if unsure else "")
        + f" -> {verdict}"
    )


def _outcome_lines(o: TargetOutcome, report: str, show_gates: bool) -> list[str]:
    held = o.review.findings if o.review else []
    lines = [_verdict(o)]
    lines += [
        f"{o.title or o.target} held for review: {f['sentence']}. Report: {report}" for f in held
    ]
    explained = {f["gate"] for f in held}
    for g in o.gates:
        if show_gates or (g.status == "fail" and g.name not in explained):
            lines.append(f"    [{_WORDS[g.status or 'pass']}] {g.name}: {g.detail}")
        elif g.status == "not_conclusive" and g.value is not None:
            limit = g.limit if isinstance(g.limit, list) else [g.limit]
            lines.append(
                f"    [not conclusive] {g.name}: worst group {g.value:.2f}, beyond "
                f"{'-'.join(f'{x:.2f}' for x in limit)} on the estimate but not conclusively "
                "(does not block; see the report)"
            )
    uncovered = [f.measure.gate for f in o.findings if f.status == "fail" and not f.blocking]
    if uncovered:
        counts = ", ".join(f"{g} ({uncovered.count(g)})" for g in dict.fromkeys(uncovered))
        lines.append(
            f"    [for review] {len(uncovered)} fairness finding(s) no gate covers: {counts} "
            "(do not block; see the report)"
        )
    return lines


def _stay_lines(run: StayRun, report: str, show_gates: bool) -> list[str]:
    """The stay distribution model's verdict: its test figures (no AUROC: it has no flag)."""
    record = stay_record(run)
    name = run.identity.name if run.identity else run.target.registered_name
    if record["promoted"]:
        verdict = "promoted to champion"
    elif record["alias"] is None:
        verdict = "NOT promoted: rejected"
    else:
        verdict = f"NOT promoted (gates failed): {record['alias']}, held for review"
    error = record["median_error_days"]
    which = "the true median"
    if error is None:  # a real extract: no truth, the observed stays
        error, which = record["median_error_observed_days"], "observed stays"
    gates = run.evaluation.gates
    failed = [g for g in gates if g.status == "fail"]
    lines = [
        f"{name} version {record['version']}: 80% interval coverage "
        f"{record['interval_coverage']:.3f}, median error {error:.2f} days vs {which}, "
        f"concordance {record['concordance']:.3f}; gates passed {len(gates) - len(failed)}/"
        f"{len(gates)} -> {verdict}"
    ]
    for g in gates:
        if show_gates or g.status == "fail":
            lines.append(f"    [{_WORDS[g.status or 'pass']}] {g.name}: {g.detail}")
    if failed:
        lines.append(f"    stay distribution held: see the report's distribution section: {report}")
    return lines


def summary_lines(summary: RunSummary, show_gates: bool = False) -> list[str]:
    """The console lines after a training run (plain text: print them without markup).

    `show_gates` lists every gate; otherwise only failed gates not already explained by a
    finding's line, and not-conclusive gates in one short line each.
    """
    report = str(summary.report_dir / "report.html") if summary.report_dir else "not written"
    lines = [
        f"run id: {summary.run_id}",
        f"in-hospital spells skipped (no discharge yet): {summary.rows_in_hospital:,}",
    ]
    for o in summary.outcomes:
        lines += _outcome_lines(o, report, show_gates)
    if summary.stay is not None:
        lines += _stay_lines(summary.stay, report, show_gates)
    if summary.result is not None:  # a chosen mitigation says what it uses, every run
        lines += console_lines(run.bundle for run in summary.result.targets)
    lines += [s.message for s in summary.skipped]
    if summary.skipped:
        total = len(summary.outcomes) + len(summary.skipped)
        names = ", ".join(s.target.name for s in summary.skipped)
        lines.append(f"trained {len(summary.outcomes)} of {total} targets; skipped: {names}")
    lines.append(f"reports: {summary.report_dir}")
    return lines
