"""Every error the product raises, each stating its CLI exit code and its HTTP status.

The classes below are the one table of errors: each states `exit_code` (what `los` exits with,
`cli.console.reporting_errors`) and `http_status` (what the service answers with,
`serving.errors.los_error_response`) in its own body, so a new error cannot be added without
deciding both (tests/unit/test_errors.py checks every subclass states them).

Exit codes: every product error exits 1 with one line on stderr; 2 is click's usage error (a bad
or misspelt option), raised before any product code runs; 0 is success.

HTTP statuses: 401 no or wrong API key; 409 a registry state forbids the change asked for;
413 above a size limit; 422 data or input that cannot be used as given; 500 a fault of this
installation (its configuration or its code); 503 the models cannot be served right now (not
loaded, registry unreachable, a version that cannot be loaded), answered with `Retry-After`.
"""

from __future__ import annotations

from typing import ClassVar


class LosError(Exception):
    """Base class: an error with a message fit to show a user in one line."""

    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 400


# Data and configuration


class MissingColumnError(LosError):
    """A required column is absent from the source."""

    exit_code = 1
    http_status = 422

    def __init__(self, columns: list[str], hint: str = "") -> None:
        self.columns = columns
        message = f"required column(s) missing: {', '.join(columns)}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class DataQualityError(LosError):
    """Too many rows failed validation, or nothing usable is left."""

    exit_code = 1
    http_status = 422


class ConfigError(LosError):
    """The configuration file (or the service's settings) is invalid."""

    exit_code = 1
    http_status = 500


class DataSourceError(LosError):
    """The data source cannot be read."""

    exit_code = 1
    http_status = 422


class UnknownSiteError(DataSourceError):
    """A site asked for is not in the data (a typo would otherwise give an empty list)."""

    exit_code = 1
    http_status = 422


class NotFittedError(LosError, ValueError):
    """An estimator was used before `fit` (a fault in the code, not in what a user sent)."""

    exit_code = 1
    http_status = 500


# The model registry and decisions


class ModelNotFoundError(LosError):
    """No registered model for the requested name, alias or version."""

    exit_code = 1
    http_status = 503


class RegistryUnavailableError(LosError):
    """The registry store cannot be used (missing, empty, locked or unreadable)."""

    exit_code = 1
    http_status = 503


class ModelLoadError(LosError):
    """A registered version exists but cannot be loaded and used."""

    exit_code = 1
    http_status = 503


class PromotionRefusedError(LosError):
    """`champion` may not move to this version (not complete, or rejected by a person)."""

    exit_code = 1
    http_status = 409


class DecisionError(LosError):
    """A decision that cannot be recorded as asked (nothing was changed)."""

    exit_code = 1
    http_status = 422


# The HTTP service


class NotReadyError(LosError):
    """The models are not loaded yet (registry unreachable or still loading)."""

    exit_code = 1
    http_status = 503

    def __init__(self, message: str = "models are not loaded yet; try again shortly") -> None:
        super().__init__(message)


class AuthError(LosError):
    """Missing or wrong API key."""

    exit_code = 1
    http_status = 401

    def __init__(self) -> None:
        super().__init__("missing or invalid API key (send it in the X-API-Key header)")


class TooLargeError(LosError):
    """A request body or batch above the configured limit."""

    exit_code = 1
    http_status = 413
