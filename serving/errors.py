"""Service errors and the one mapping of every product error to an HTTP status code."""

from __future__ import annotations

from los.errors import (
    ConfigError,
    DataQualityError,
    DataSourceError,
    LosError,
    MissingColumnError,
    ModelNotFoundError,
)


class NotReadyError(LosError):
    """The models are not loaded yet (registry unreachable or still loading)."""

    def __init__(self, message: str = "models are not loaded yet; try again shortly") -> None:
        super().__init__(message)


class AuthError(LosError):
    """Missing or wrong API key."""

    def __init__(self) -> None:
        super().__init__("missing or invalid API key (send it in the X-API-Key header)")


class TooLargeError(LosError):
    """A request body or batch above the configured limit."""


STATUS_CODES: dict[type[LosError], int] = {
    AuthError: 401,
    TooLargeError: 413,
    MissingColumnError: 422,
    DataQualityError: 422,
    DataSourceError: 422,
    NotReadyError: 503,
    ModelNotFoundError: 503,
    ConfigError: 500,
}


def status_code(exc: LosError) -> int:
    """The HTTP status for a product error (400 for one not listed)."""
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return 400
