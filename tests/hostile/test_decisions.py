"""Hostile decisions (`los promote`) and serving what exists, on a real registry.

The registry (tests/held_registry.py) holds a `long_stay` champion and an NCTR version held for
review by the `min_auroc` gate. Every refusal must be one line naming what is wrong and change
nothing: not a tag, not an alias, not the decisions log. Tests that do change the registry work
on a private copy of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.app import app
from tests.conftest import TrainedRegistry
from tests.held_registry import forget_artifact_stores, private_copy, run_artifact

HELD = ("--model", "los-nctr", "--version", "1")
WHO = ("--by", "Dr Ada Lovelace, clinical lead", "--reason", "reviewed at the governance board")


def cli(registry: TrainedRegistry, *args: str) -> tuple[int, str, str]:
    """Run `los ARGS` in this process (the real command) against `registry`."""
    env = {"LOS_DATA_DIR": str(registry.data_dir), "MLFLOW_TRACKING_URI": None}
    forget_artifact_stores()
    done = CliRunner().invoke(app, list(args), env=env)  # type: ignore[arg-type]
    return done.exit_code, done.stdout, done.stderr


def snapshot(registry: TrainedRegistry) -> dict[str, Any]:
    """Every version's tags, every model's aliases, and the decisions log."""

    from models import registry as models_registry
    from models.decisions import history

    models_registry.connect(registry.settings.tracking_uri)
    client = models_registry.connected().client
    seen: dict[str, Any] = {"log": [d.to_dict() for d in history()]}
    for name in models_registry.registered_names():
        seen[name] = dict(client.get_registered_model(name).aliases)
        for mv in client.search_model_versions(f"name = '{name}'"):
            seen[f"{name}/{mv.version}"] = dict(mv.tags)
    return seen


@pytest.fixture()
def copy(held_registry: TrainedRegistry, tmp_path: Path) -> Iterator[TrainedRegistry]:
    """A private copy of the held registry, for tests that change it."""
    yield private_copy(held_registry, tmp_path / "registry")


@dataclass(frozen=True)
class Refusal:
    """One decision that must be refused; `mentions` are what its one line must say."""

    args: tuple[str, ...]
    mentions: tuple[str, ...]
    code: int = 1

    def __repr__(self) -> str:
        return " ".join(a if len(a) < 30 else a[:27] + "..." for a in self.args)


REFUSALS = [
    Refusal((*HELD, "--by", "", "--reason", "ok", "--accept-findings"), ("--by is blank",)),
    Refusal((*HELD, "--by", " \t ", "--reason", "ok", "--accept-findings"), ("--by is blank",)),
    Refusal((*HELD, "--by", "Dr A", "--reason", "  ", "--accept-findings"), ("--reason is blank",)),
    Refusal(
        (*HELD, "--by", "Dr\x1b[2JA", "--reason", "ok", "--accept-findings"),
        ("--by", "control character"),
    ),
    Refusal(
        (*HELD, "--by", "Dr A", "--reason", "fine\nDROP TABLE", "--accept-findings"),
        ("--reason", "control character"),
    ),
    Refusal(
        (*HELD, "--by", "Dr A", "--reason", "x" * 2001, "--accept-findings"),
        ("--reason is 2,001 characters", "at most 2,000"),
    ),
    Refusal(
        ("--model", "los-nctrr", "--version", "1", *WHO, "--accept-findings"),
        ("no registered model 'los-nctrr'", "registered models: los-long-stay, los-nctr"),
    ),
    Refusal(
        ("--model", "nctr", "--version", "1", *WHO, "--accept-findings"),
        ("no registered model 'nctr'", "los-nctr"),
    ),
    Refusal(
        ("--model", "los-nctr", "--version", "7", *WHO, "--accept-findings"),
        ("los-nctr has no version '7'", "versions: 1 (challenger, held for review)"),
    ),
    Refusal(
        ("--model", "los-nctr", "--version", "1.0", *WHO, "--accept-findings"),
        ("no version '1.0'", "versions: 1"),
    ),
    Refusal(
        ("--model", "los-long-stay", "--version", "-1", *WHO),
        ("no version '-1'", "versions: 1 (champion, challenger)"),
    ),
    # nothing is accepted implicitly: a held version needs every name accepted
    Refusal(
        (*HELD, *WHO),
        ("los-nctr version 1 not promoted, nothing changed", "--accept-findings", ": min_auroc"),
    ),
    Refusal(
        (*HELD, *WHO, "--accept", "calibration_error"),
        ("not a failed gate or finding of los-nctr version 1: calibration_error", "min_auroc"),
    ),
    Refusal(
        ("--model", "los-long-stay", "--version", "1", *WHO, "--accept", "min_auroc"),
        ("not a failed gate or finding", "it holds: nothing"),
    ),
    Refusal((*HELD, *WHO, "--reject", "--accept-findings"), ("--reject accepts nothing",)),
    Refusal((*HELD, "--reason", "no person named", "--accept-findings"), ("--by",), code=2),
]


@pytest.mark.parametrize("case", REFUSALS, ids=repr)
def test_refused_decisions_say_why_in_one_line_and_change_nothing(
    held_registry: TrainedRegistry, case: Refusal
) -> None:
    before = snapshot(held_registry)
    code, stdout, stderr = cli(held_registry, "promote", *case.args)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == case.code, (stdout, stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr + stdout
    for words in case.mentions:
        assert words in lines[0], lines[0]
    assert "\x1b[2J" not in stderr and "DROP TABLE" not in stderr  # refused text is not echoed
    assert snapshot(held_registry) == before


def test_acceptance_is_by_name_and_never_implicit() -> None:
    """Several failed gates and findings: each must be named, or all accepted at once."""
    from los.errors import DecisionError
    from training.decide import DecisionRequest, _accepted

    blocking = ["min_auroc", "calibration_ratio:sex", "calibration_ratio:sex:Female"]

    def ask(*names: str, everything: bool = False) -> tuple[str, ...]:
        request = DecisionRequest("los-nctr", "3", "Dr A", "why", False, everything, names)
        return _accepted(request, blocking)

    with pytest.raises(DecisionError, match=r"accept each .*: min_auroc; calibration_ratio:sex;"):
        ask()
    with pytest.raises(DecisionError, match=r"\(--accept-findings\): calibration_ratio:sex$"):
        ask("calibration_ratio:sex:Female", "min_auroc")
    with pytest.raises(DecisionError, match=r"not a failed gate or finding .*: calibration_ratio"):
        ask("calibration_ratio", *blocking)
    assert ask(*reversed(blocking)) == tuple(blocking)  # recorded in the review's order
    assert ask(everything=True) == tuple(blocking)
    assert ask("min_auroc", everything=True) == tuple(blocking)
    clean = DecisionRequest("los-long-stay", "2", "Dr A", "why", False, True, ())
    assert _accepted(clean, []) == ()  # a clean version: nothing to accept, nothing recorded


def test_an_unfinished_version_cannot_be_promoted_even_with_every_finding_accepted(
    copy: TrainedRegistry,
) -> None:
    from models import registry

    registry.connect(copy.settings.tracking_uri)
    registry.connected().client.set_model_version_tag(
        "los-nctr", "1", registry.STATE_TAG, "incomplete"
    )
    before = snapshot(copy)
    code, _, stderr = cli(copy, "promote", *HELD, *WHO, "--accept-findings")
    assert code == 1 and stderr.count("\n") == 1, stderr
    assert "not promoted, nothing changed" in stderr and "is incomplete" in stderr
    assert snapshot(copy) == before


def test_a_rejected_version_is_never_promoted_without_a_new_decision(
    copy: TrainedRegistry,
) -> None:
    from models import registry
    from models.decisions import history

    code, stdout, stderr = cli(copy, "promote", *HELD, *WHO, "--reject")
    assert code == 0, stderr
    assert "los-nctr version 1 rejected by Dr Ada Lovelace, clinical lead" in stdout
    registry.connect(copy.settings.tracking_uri)
    with pytest.raises(registry.PromotionRefusedError, match="rejected by a person"):
        registry.promote("los-nctr", "1")  # what an automatic promotion would call
    with pytest.raises(registry.ModelNotFoundError):
        registry.resolve("los-nctr", registry.CHAMPION)
    code, stdout, stderr = cli(copy, "promote", *HELD, *WHO, "--accept", "min_auroc")
    assert code == 0, stderr
    assert registry.resolve("los-nctr", registry.CHAMPION).version == "1"
    assert [d.kind for d in history("los-nctr")] == ["reject", "promote"]


def test_person_text_is_kept_exactly_and_escaped_in_the_documents(copy: TrainedRegistry) -> None:
    from models import registry

    by = "Dr <script>alert(1)</script> | *bold*"
    reason = "accepted for a pilot <img src=x onerror=alert(1)> & reviewed `weekly`"
    code, _, stderr = cli(
        copy, "promote", *HELD, "--by", by, "--reason", reason, "--accept-findings"
    )
    assert code == 0, stderr
    registry.connect(copy.settings.tracking_uri)
    tags = registry.connected().client.get_model_version("los-nctr", "1").tags
    assert tags["decision.by"] == by and tags["decision.reason"] == reason
    assert tags["decision.kind"] == "promote"
    assert json.loads(tags["decision.accepted"]) == ["min_auroc"]
    at = datetime.fromisoformat(tags["decision.at"])
    assert at.utcoffset() is not None and at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert abs((datetime.now(UTC) - at).total_seconds()) < 120
    run_id = registry.resolve("los-nctr", "1").run_id
    assert run_id is not None
    html = run_artifact(copy, run_id, "reports/report.html")
    card = run_artifact(copy, run_id, "reports/model_card.md")
    html_section, card_section = _decisions(html), _decisions(card)
    assert "<script>" not in html_section and "<img" not in html_section
    assert "Dr &lt;script&gt;alert(1)&lt;/script&gt;" in html_section
    assert "<script>" not in card_section and "<img" not in card_section
    assert "\\*bold\\*" in card_section and "\\`weekly\\`" in card_section
    assert html.count("<section id='decisions'>") == 1 and card.count("## Decisions") == 1


def _decisions(document: str) -> str:
    """The Decisions section of a model card or report (between its markers)."""
    from evaluation.decision_section import END, START

    return document[document.index(START) : document.index(END)]


def test_a_crash_before_the_alias_moves_leaves_the_decision_recorded_and_no_champion(
    copy: TrainedRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between recording and moving `champion` leaves an explained, unmoved alias: the
    record is there, `champion` is not, and the target says why."""
    from models import availability, registry
    from models.decisions import history
    from training.decide import DecisionRequest, decide

    def crash(name: str, version: str) -> None:
        raise KeyboardInterrupt  # the process dies here: nothing after runs

    monkeypatch.setattr(registry, "promote", crash)
    request = DecisionRequest("los-nctr", "1", "Dr A", "pilot", accept_all=True)
    with pytest.raises(KeyboardInterrupt):
        decide(request, copy.settings)
    registry.connect(copy.settings.tracking_uri)
    with pytest.raises(registry.ModelNotFoundError):
        registry.resolve("los-nctr", registry.CHAMPION)
    assert [d.kind for d in history("los-nctr")] == ["promote"]
    missing = availability.unavailable_targets({"long_stay"})["nctr"]
    assert "was promoted by Dr A" in missing.line and "does not point at it" in missing.line


def test_with_no_champion_anywhere_commands_stop_and_the_service_is_not_ready(
    copy: TrainedRegistry, tmp_path: Path
) -> None:
    from features.load import write_frame
    from los.config import Settings
    from serving.holder import ModelHolder
    from serving.metrics import ServiceMetrics

    code, stdout, stderr = cli(
        copy, "promote", "--model", "los-long-stay", "--version", "1", *WHO, "--reject"
    )
    assert code == 0 and "champion of los-long-stay removed (was version 1)" in stdout, stderr
    data = write_frame(copy.admissions.head(200), tmp_path / "few.csv")
    for command, out in (("score", "s.csv"), ("risk-list", "l.json")):
        code, stdout, stderr = cli(copy, command, "--data", str(data), "--out", str(tmp_path / out))
        lines = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert code == 1 and len(lines) == 1, stderr
        assert lines[0].startswith("error: no target has a champion: ")
        assert "Long stay model rejected: no champion (version 1 rejected by Dr Ada" in lines[0]
        assert "NCTR model awaiting review: no champion (version 1 is held" in lines[0]
        assert not (tmp_path / out).exists()
    holder = ModelHolder(
        Settings(los_data_dir=copy.data_dir, mlflow_tracking_uri=None), ServiceMetrics()
    )
    assert holder.poll() is False and not holder.ready
    reason = holder.not_ready_reason or ""
    assert reason.startswith("no target has a champion: Long stay model rejected"), reason
    assert set(holder.unavailable) == {"long_stay", "long_stay_21", "nctr"}


def test_score_and_risk_list_use_what_exists_and_name_what_is_missing(
    copy: TrainedRegistry, tmp_path: Path
) -> None:
    import pandas as pd

    from features.load import write_frame

    data = write_frame(copy.admissions.tail(400), tmp_path / "few.csv")
    code, stdout, stderr = cli(copy, "score", "--data", str(data), "--out", str(tmp_path / "s.csv"))
    assert code == 0, stderr
    assert (
        "NCTR model awaiting review: no champion (version 1 is held for review: its accuracy is "
        "below the minimum (min_auroc); a person decides with `los promote`)" in (stdout)
    )
    assert "Long stay (21+ days) model not trained: no version registered" in stdout
    scores = pd.read_csv(tmp_path / "s.csv")
    assert len(scores) == 400 and "long_stay_probability" in scores
    assert not [c for c in scores.columns if c.startswith(("nctr_", "long_stay_21_"))]
    for suffix in ("json", "csv", "html"):
        out = tmp_path / f"list.{suffix}"
        code, stdout, stderr = cli(copy, "risk-list", "--data", str(data), "--out", str(out))
        assert code == 0, stderr
        assert "NCTR model awaiting review" in stdout
        text = out.read_text()
        if suffix == "json":
            listed = json.loads(text)
            assert list(listed)[:3] == ["list_date", "list_date_rule", "unavailable"]
            assert listed["unavailable"]["nctr"].startswith("NCTR model awaiting review")
            assert set(listed["models"]) == {"long_stay"}
        elif suffix == "csv":
            column = pd.read_csv(out)["unavailable_targets"]
            assert column.str.contains("NCTR model awaiting review").all()
        else:
            top = text[: text.index("How to read this list")]
            assert "Not on this list:</strong> NCTR model awaiting review" in top


def test_review_tag_names_are_the_ones_training_writes() -> None:
    from models import availability
    from training import promotion

    assert availability.REVIEW_STATUS_TAG == promotion.STATUS_TAG
    assert availability.REVIEW_BLOCKING_TAG == promotion.BLOCKING_TAG
