"""Typed configuration: `TrainingConfig` (from YAML, defaults built in) and runtime `Settings`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from los.errors import ConfigError
from los.schema import CARE_HOME_CODES, OTHER_HOSPITAL_CODES

LONG_STAY_DAYS = 7
"""The `long_stay` threshold by default ("stranded", CONTRACT §2): its one home."""
SUPER_STRANDED_DAYS = 21
"""The further threshold trained by default, `long_stay_21` ("super-stranded")."""
NCTR_PROXY_PATHWAYS = (2, 3)
"""Discharge pathways that count as NCTR where the ready date is missing, by default."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetsConfig(_Strict):
    """Which targets to train and how their labels are defined (CONTRACT §2)."""

    long_stay_days: int = Field(
        LONG_STAY_DAYS, ge=1, description="threshold of the `long_stay` target"
    )
    extra_long_stay_days: list[int] = Field(
        default_factory=lambda: [SUPER_STRANDED_DAYS],
        description="further thresholds, named long_stay_<days>",
    )
    nctr: bool = True
    exclude_deaths_from_long_stay: bool = False
    nctr_proxy: Literal["pathway", "destination"] = "pathway"
    nctr_proxy_pathways: list[int] = Field(default_factory=lambda: list(NCTR_PROXY_PATHWAYS))
    nctr_proxy_destinations: list[str] = Field(
        default_factory=lambda: [*CARE_HOME_CODES, *OTHER_HOSPITAL_CODES]
    )
    stay_distribution: bool = Field(
        True, description="train the length-of-stay distribution model (CONTRACT §7)"
    )
    stay_oracle: bool = Field(
        False,
        description="the extract comes from `los generate`: also score the generator's true "
        "stay curves (the oracle) in the stay distribution's evaluation",
    )
    min_cases_per_period: int = Field(
        20,
        ge=1,
        description="a target is trained only when each period (train, validation, calibration, "
        "test) holds at least this many labelled positives and as many negatives; otherwise it "
        "is skipped with a one-line reason and the other targets still train",
    )


class SplitConfig(_Strict):
    """Temporal split by admission date: train | validation | calibration | test.

    Explicit dates win; otherwise the fractions of the admission-time range are used.
    """

    train_end: date | None = None
    validation_end: date | None = None
    calibration_end: date | None = None
    fractions: tuple[float, float, float, float] = (0.6, 0.15, 0.1, 0.15)

    @model_validator(mode="after")
    def _check(self) -> SplitConfig:
        if abs(sum(self.fractions) - 1.0) > 1e-6 or min(self.fractions) <= 0:
            raise ValueError("split fractions must be positive and sum to 1")
        dates = [self.train_end, self.validation_end, self.calibration_end]
        given = [d for d in dates if d is not None]
        if given and len(given) != 3:
            raise ValueError("give all three split dates or none")
        if len(given) == 3 and not (given[0] < given[1] < given[2]):
            raise ValueError("split dates must be increasing")
        return self


class FeaturesConfig(_Strict):
    """Which admission-time fields become model inputs."""

    include_ethnicity: bool = False
    extra_numeric: list[str] = Field(default_factory=list)
    extra_categorical: list[str] = Field(default_factory=list)


class LightGBMConfig(_Strict):
    """LightGBM parameters; early stopping runs on the validation period.

    Depth and learning rate also set the cost of every explanation: exact tree SHAP grows with
    trees x leaves x depth squared. Measured on 200k generated spells: depth 6 at rate 0.1 gives
    about half the trees of depth 8 at 0.05 and reasons 2.2x faster (216-333 against 566-699
    microseconds per row and model, one thread), for an AUROC 0.0003-0.0006 further from the
    oracle and the same calibration error.

    With `tune: true` (the default) the values below are the search's first trial, and
    `training.tune` chooses tree size, regularisation, learning rate and the categorical
    settings on the validation period (parameters listed in `tune_fixed` are kept as given);
    `tune: false` trains with exactly these values. `max_depth` is never searched: it bounds
    the cost of every explanation.
    """

    num_leaves: int = 31
    max_depth: int = 6
    learning_rate: float = 0.1
    n_estimators: int = 1000
    early_stopping_rounds: int = 50
    min_child_samples: int = 100
    feature_fraction: float = 0.9
    bagging_fraction: float = 0.8
    bagging_freq: int = 1
    lambda_l2: float = 1.0
    cat_smooth: float = 10.0
    min_data_per_group: int = 100
    num_threads: int = 2
    tune: bool = Field(True, description="choose the settings on the validation period")
    tune_trials: int | None = Field(
        None,
        ge=1,
        description="settings tried per target, the first being the values above; None: "
        "scaled with the training rows (more on small data, fewer on large)",
    )
    tune_seconds: float | None = Field(
        None,
        gt=0,
        description="optional wall-clock cap per target, applied between trials; when it cuts "
        "the search the run says so, and the choice then depends on the machine's speed",
    )
    tune_fixed: list[
        Literal[
            "num_leaves",
            "learning_rate",
            "min_child_samples",
            "feature_fraction",
            "lambda_l2",
            "cat_smooth",
            "min_data_per_group",
        ]
    ] = Field(default_factory=list, description="searched parameters kept as configured")


class ThresholdConfig(_Strict):
    """How the flag threshold is chosen on the calibration period.

    `sensitivity`: the highest threshold that still flags `target_sensitivity` of true cases
    (missing a patient who needs planning is the harm). `alert_rate`: flag a fixed share.
    """

    rule: Literal["sensitivity", "alert_rate"] = "sensitivity"
    target_sensitivity: float = Field(0.7, gt=0, lt=1)
    alert_rate: float = Field(0.2, gt=0, lt=1)


class GatesConfig(_Strict):
    """Promotion gates: performance and fairness limits."""

    auroc_margin: float = 0.01
    min_auroc: float = 0.6
    max_calibration_error: float = 0.05
    min_group_size: int = 100
    max_group_auroc_gap: float = 0.10
    fnr_ratio_band: tuple[float, float] = (0.8, 1.25)
    max_group_calibration_error: float = 0.10
    fairness_attributes: list[str] = Field(
        default_factory=lambda: [
            "ethnic_group",
            "sex",
            "age_band",
            "imd_quintile",
            "ethnicity_deprivation",
        ],
        description="gated breakdowns: a fairness finding in any of them holds the version for "
        "review; ethnic group x Core20 (Core20PLUS5) is gated by default",
    )
    fairness_evidence: Literal["interval", "estimate"] = Field(
        "interval",
        description="the findings rule (evaluation/findings.py), for the report and the gates "
        "alike. `interval`: a group is a finding when its estimate and its whole bootstrap 95% "
        "interval lie beyond the limit (a clear disparity, not noise), and `not conclusive` when "
        "only the estimate does; `estimate`: a finding whenever the point estimate is beyond",
    )
    fairness_multiplicity: Literal["bonferroni", "none"] = Field(
        "bonferroni",
        description="`bonferroni`: a group is judged on its 95% interval widened to hold "
        "jointly over the groups compared in its breakdown (z 2.91 for 14 groups), so a gate "
        "with many groups does not fail by chance alone; `none`: each group's own 95% interval "
        "(a group truly at the edge of its band then sits clear of it one time in forty)",
    )
    fnr_adjust_for_age: bool = Field(
        True,
        description="compare groups on age-adjusted (indirectly standardised) FNR, so a group "
        "is not failed only for being younger, i.e. at lower risk, than the reference",
    )
    fnr_exempt_attributes: list[str] = Field(
        default_factory=lambda: ["age_band"],
        description="attributes gated on calibration and AUROC but not FNR: age drives risk, "
        "so one threshold must miss more of the rarer young cases (reported, not gated)",
    )
    calibration_ratio_band: tuple[float, float] = Field(
        (0.8, 1.25),
        description="band for a group's observed/expected ratio relative to the reference's",
    )
    min_group_events: int = Field(
        10,
        ge=1,
        description="a group needs at least this many positive (and, for AUROC, negative) "
        "cases for the FNR-ratio and AUROC-gap gates",
    )
    stay_coverage_band: tuple[float, float] = Field(
        (0.75, 0.85),
        description="the stay distribution's 80% interval [p10, p90] must hold this share of "
        "actual stays overall and in every assessed group (ethnic group, IMD quintile, sex, "
        "age band)",
    )


class EvaluationConfig(_Strict):
    """Evaluation settings."""

    n_bootstrap: int = 200
    calibration_bins: int = 10
    shap_sample: int = 2000
    reference_group: Literal["largest"] | str = "largest"
    reference_groups: dict[str, str] = Field(
        default_factory=dict,
        description="per-attribute reference group, e.g. {ethnic_group: White}; else "
        "`reference_group` when the attribute has that group, else the largest group",
    )
    group_calibration_min_bin: int = Field(
        100, ge=10, description="fewest rows per calibration bin within a fairness group"
    )
    stay_sample: int | None = Field(
        100_000,
        ge=1_000,
        description="the length-of-stay distribution model is evaluated on a seeded random "
        "sample of this many test-period spells when the period has more (its coverage "
        "interval is then about +/-0.003 wide); null: every spell",
    )


GroupAttribute = Literal[
    "ethnic_group", "ethnic_category", "sex", "age_band", "imd_quintile", "ethnicity_deprivation"
]


def _ethnicity_deprivation() -> list[GroupAttribute]:
    return ["ethnicity_deprivation"]


class MitigationConfig(_Strict):
    """Mitigations an evaluator can choose for a fairness finding (docs/fairness.md), off by
    default.

    `group_recalibration`: after Platt scaling, fit on the calibration period an intercept shift
    on the log-odds for the flagged groups of the chosen breakdowns (`models.group_recalibration`,
    `training.mitigation`), shrunk towards 0 by a normal prior (sd `prior_sd`) so small groups
    move little, none below `min_group_size` spells. It **uses ethnicity (and IMD) at scoring
    time**: a change of policy that the trust's IG and clinical safety officer must approve.
    Ethnicity stays out of the model's trees unless `features.include_ethnicity` is set.
    """

    group_recalibration: bool = False
    attributes: list[GroupAttribute] = Field(
        default_factory=_ethnicity_deprivation,
        min_length=1,
        description="breakdowns whose groups may get a shift (evaluation/groups.py names)",
    )
    groups: Literal["flagged", "all"] = Field(
        "flagged",
        description="`flagged`: only groups with a calibration-ratio finding on the calibration "
        "period, by the gates' own rule and band (evaluation/findings.py); `all`: every group "
        "(measured at 200k spells, `all` fits noise and pushes other groups out of the band)",
    )
    targets: list[str] | None = Field(
        None, description="targets to recalibrate, e.g. [nctr]; None: every trained target"
    )
    min_group_size: int = Field(
        100, ge=1, description="fewest calibration-period spells for a group to get a shift"
    )
    prior_sd: float = Field(
        0.5,
        gt=0,
        description="sd of the normal prior on each shift (log-odds): smaller shrinks more",
    )


MonitoredAttribute = Literal["site", "ethnic_group", "imd_quintile", "age_band", "sex"]


def _monitored_segments() -> list[MonitoredAttribute]:
    return ["site", "ethnic_group", "imd_quintile", "age_band"]


class MonitoringConfig(_Strict):
    """`los monitor` (CONTRACT §8): segments, drift measures and alert thresholds.

    Every alert needs both a size (an effect worth acting on) and significance at a family-wise
    level shared by all the tests of one run (Bonferroni), so segments and inputs can be added
    without adding false alarms. docs/monitoring.md explains each choice.
    """

    attributes: list[MonitoredAttribute] = Field(default_factory=_monitored_segments)
    min_segment_size: int = Field(
        100, ge=1, description="rows a segment needs to be assessed (as gates.min_group_size)"
    )
    min_segment_events: int = Field(
        10, ge=1, description="labelled events (and non-events) for realised figures"
    )
    psi_threshold: float = Field(
        0.2, gt=0, description="population stability index of an input or score that alerts"
    )
    numeric_bins: int = Field(10, ge=2, description="reference quantile bins of a number")
    alpha: float = Field(
        0.01, gt=0, lt=1, description="family-wise false-alarm level of each kind of alert per run"
    )
    oe_band: tuple[float, float] = Field(
        (0.8, 1.25), description="observed/expected events outside this band can alert"
    )
    auroc_drop: float = Field(
        0.05, gt=0, description="fall in estimated AUROC from the reference's that alerts"
    )
    n_bootstrap: int = Field(100, ge=0, description="bootstrap replicates of the intervals")
    estimate_tolerance: float = Field(
        0.02, gt=0, description="largest |estimated - realised AUROC| claimed where judged"
    )
    estimate_check_level: float = Field(
        0.05, gt=0, lt=1, description="chance per run that label noise alone breaks the claim"
    )
    period_days: int = Field(7, ge=1, description="length of each point of the time series")
    seed: int = 42


class TrainingConfig(_Strict):
    """Everything a training run needs; with the seed it makes a run reproducible."""

    seed: int = 42
    targets: TargetsConfig = Field(default_factory=TargetsConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    lightgbm: LightGBMConfig = Field(default_factory=LightGBMConfig)
    threshold: ThresholdConfig = Field(default_factory=ThresholdConfig)
    gates: GatesConfig = Field(default_factory=GatesConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    mitigation: MitigationConfig = Field(default_factory=MitigationConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    max_quarantine_share: float = Field(0.05, ge=0, le=1)

    @classmethod
    def from_file(cls, path: str | Path | None) -> TrainingConfig:
        """Load from YAML; `None` gives the defaults. Unknown keys are rejected."""
        if path is None:
            return cls()
        p = Path(path)
        if not p.exists():
            raise ConfigError(f"config file not found: {p}")
        try:
            raw = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {p} is not valid YAML: {exc}") from exc
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            raise ConfigError(f"config file {p}: {where}: {first['msg']}") from exc


DEFAULT_REVIEW_SHARE = 0.10  # the risk list's cut without a capacity: the top decile


class Settings(BaseSettings):
    """Runtime settings from the environment.

    A value that cannot be read (e.g. `LOS_POLL_SECONDS=soon`) is a `ConfigError` naming the
    variable in one line, never the value (it may be a key).
    """

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    los_data_dir: Path = Field(default=Path("data"))
    mlflow_tracking_uri: str | None = None
    los_api_keys: str | None = Field(
        None,
        description="comma-separated keys the service accepts in X-API-Key (None: not set); "
        "checked by `serving.auth.api_key_policy` when the service starts",
    )
    los_allow_no_keys: bool = Field(
        False, description="run the service without keys: an explicit choice, logged at start"
    )
    los_audit_url: str | None = None
    los_history_source: str | None = None
    los_dask_scheduler: str | None = Field(
        default=None,
        description="Dask scheduler address (tcp://host:8786): `los score` and `los evaluate` "
        "run partitioned there when set (their --scheduler option overrides it)",
    )
    los_poll_seconds: float = 30.0
    los_max_batch: int = 1000
    los_max_body_bytes: int = 2_000_000
    los_review_capacity_per_ward: int | None = Field(
        None,
        ge=0,
        description="the ward's usual discharge-team capacity: without --capacity the risk list "
        "marks this many of each ward's highest-risk patients for review (models/review_cut.py)",
    )
    los_review_share: float = Field(
        DEFAULT_REVIEW_SHARE,
        gt=0,
        le=1,
        description="without a capacity given or configured, the risk list marks this top "
        "share of its patients for review (at least one)",
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = str(first["loc"][0]).upper() if first["loc"] else "settings"
            raise ConfigError(f"setting {name}: {first['msg']}") from None

    @property
    def tracking_uri(self) -> str:
        """MLflow tracking/registry URI; SQLite under the data directory by default."""
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.los_data_dir / 'mlflow.db').resolve()}"

    @property
    def audit_url(self) -> str:
        """SQLAlchemy URL of the audit trail."""
        if self.los_audit_url:
            return self.los_audit_url
        return f"sqlite:///{(self.los_data_dir / 'audit.db').resolve()}"
