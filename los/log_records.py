"""What a log record may carry beyond its message, and the console filter that reads it.

A few lines are both logged and printed in a command's human summary (the missing inputs of
`features.validate`). The console should show them once: such a record is marked `IN_SUMMARY`,
and the CLI's stderr handler drops it (`not_in_summary`), while any other sink configured (a file,
a collector) still receives it. Standard library only: the CLI installs the filter before it
imports anything heavy.
"""

from __future__ import annotations

import logging

# `extra={IN_SUMMARY: True}` on a record whose line the command's summary also prints.
IN_SUMMARY = "in_summary"


def not_in_summary(record: logging.LogRecord) -> bool:
    """A filter for a console that prints the summary: False for a record marked `IN_SUMMARY`."""
    return not getattr(record, IN_SUMMARY, False)
