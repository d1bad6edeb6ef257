"""The access log holds method, path and status only: no query string, no client address.

uvicorn logs each request on the `uvicorn.access` logger with the arguments `(client_addr,
method, full_path, http_version, status_code)`, where `full_path` ends in the raw query string
(`/v1/score?nhs_number=...&api_key=...`) and `client_addr` may come from an `X-Forwarded-For`
header. `AccessLogFilter` rewrites those arguments before any handler formats them: the query
string is cut, the address becomes `-`, a long path is shortened. A record in any other shape
(another uvicorn version) is dropped rather than logged unread: the log must fail closed.
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"
MAX_PATH_CHARS = 200
NO_ADDRESS = "-"


class AccessLogFilter(logging.Filter):
    """Keep method, path (without the query string) and status of uvicorn's access records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple) or len(args) != 5:
            return False
        _, method, full_path, http_version, status = args
        path = str(full_path).split("?", 1)[0]  # uvicorn percent-encodes a `?` inside the path
        if len(path) > MAX_PATH_CHARS:
            path = path[:MAX_PATH_CHARS] + "..."
        record.args = (NO_ADDRESS, method, path, http_version, status)
        return True


def install_access_log_filter() -> None:
    """Add the filter to uvicorn's access logger once per process (idempotent)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, AccessLogFilter) for f in logger.filters):
        logger.addFilter(AccessLogFilter())
