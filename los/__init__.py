"""Core of the length-of-stay product: the admissions contract, configuration, errors and CLI."""

__version__ = "0.1.0"
