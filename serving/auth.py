"""The API-key policy, read once at start: keys from `LOS_API_KEYS`, or an explicit opt-out.

Authentication never switches off by accident (docs/service.md "API keys"):

- `LOS_API_KEYS` set: every comma-separated entry must be a key of at least `MIN_KEY_LENGTH`
  visible ASCII characters (no blanks, no spaces inside; spaces around an entry are trimmed, as
  HTTP trims a header value). A blank entry (`" , "`, a trailing comma), a short key or a
  character a header cannot carry stops the service at start with a one-line reason. Duplicates
  are dropped.
- `LOS_API_KEYS` not set: the service refuses to start unless `LOS_ALLOW_NO_KEYS=1` says that
  running without keys is meant. Then it logs a warning at start and `/ready` says
  `"auth": "disabled"`. Setting both is contradictory and refused too.

Errors name the setting and the entry's position, never a key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from los.config import Settings
from los.errors import ConfigError

MIN_KEY_LENGTH = 16
_KEY = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what an X-API-Key header value can carry
HOW_TO = (
    f"set LOS_API_KEYS to one or more comma-separated keys of at least {MIN_KEY_LENGTH} "
    "characters, or set LOS_ALLOW_NO_KEYS=1 to run without keys (every endpoint open)"
)


@dataclass(frozen=True)
class AuthPolicy:
    """The keys a request may send in `X-API-Key`; no keys means the service runs open."""

    keys: tuple[str, ...]

    @property
    def mode(self) -> str:
        """`api-key` or `disabled`, as `/ready` reports it."""
        return "api-key" if self.keys else "disabled"


def parse_keys(raw: str) -> tuple[str, ...]:
    """The keys in a `LOS_API_KEYS` value; `ConfigError` for a blank, short or malformed entry."""
    entries = raw.split(",")
    keys: list[str] = []
    for position, entry in enumerate(entries, start=1):
        key = entry.strip()
        where = f"LOS_API_KEYS entry {position} of {len(entries)}"
        if not key:
            raise ConfigError(f"{where} is blank: {HOW_TO}")
        if not _KEY.fullmatch(key):
            raise ConfigError(
                f"{where} holds a space or a character an X-API-Key header cannot carry "
                "(use visible ASCII characters only)"
            )
        if len(key) < MIN_KEY_LENGTH:
            raise ConfigError(
                f"{where} is {len(key)} characters long, too short to be secret "
                f"(at least {MIN_KEY_LENGTH})"
            )
        if key not in keys:
            keys.append(key)
    return tuple(keys)


def api_key_policy(settings: Settings) -> AuthPolicy:
    """The service's policy from the settings; `ConfigError` (one line) when it is not clear."""
    if settings.los_api_keys is None:
        if not settings.los_allow_no_keys:
            raise ConfigError(f"no API keys configured (LOS_API_KEYS is not set): {HOW_TO}")
        return AuthPolicy(())
    if settings.los_allow_no_keys:
        raise ConfigError(
            "LOS_API_KEYS and LOS_ALLOW_NO_KEYS=1 are both set: keep the keys, or unset "
            "LOS_API_KEYS to run without keys"
        )
    return AuthPolicy(parse_keys(settings.los_api_keys))
