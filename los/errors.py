"""Errors the product raises; the CLI and the HTTP service map them to one-line messages/codes."""

from __future__ import annotations


class LosError(Exception):
    """Base class: an error with a message fit to show a user in one line."""


class MissingColumnError(LosError):
    """A required column is absent from the source."""

    def __init__(self, columns: list[str], hint: str = "") -> None:
        self.columns = columns
        message = f"required column(s) missing: {', '.join(columns)}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class DataQualityError(LosError):
    """Too many rows failed validation, or nothing usable is left."""


class ConfigError(LosError):
    """The configuration file is invalid."""


class DataSourceError(LosError):
    """The data source cannot be read."""


class UnknownSiteError(DataSourceError):
    """A site asked for is not in the data (a typo would otherwise give an empty list)."""


class ModelNotFoundError(LosError):
    """No registered model for the requested name, alias or version."""


class NotFittedError(LosError, ValueError):
    """An estimator was used before `fit`."""


class RegistryUnavailableError(LosError):
    """The registry store cannot be used (missing, empty, locked or unreadable)."""


class ModelLoadError(LosError):
    """A registered version exists but cannot be loaded and used."""


class PromotionRefusedError(LosError):
    """`champion` may not move to this version (not complete)."""
