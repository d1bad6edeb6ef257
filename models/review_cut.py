"""Who the risk list marks "review today": the cut, how it was chosen, and the words for it.

A capacity given for the list (`los risk-list --capacity K`, the request's `capacity`) marks the
K highest-risk patients. Without one, the ward's usual discharge-team capacity from the runtime
settings (`LOS_REVIEW_CAPACITY_PER_WARD`) marks the top K of each ward; without that, the top
share of the list (`LOS_REVIEW_SHARE`, default 10%, at least one patient). Every output says
which rule made the cut (`ReviewCut.text`), so nobody reads "review" without knowing why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from los.config import DEFAULT_REVIEW_SHARE, Settings

CutRule = Literal["capacity", "ward_capacity", "top_share"]


@dataclass(frozen=True)
class ReviewCut:
    """The rule that marks patients for review, with the number or share it uses."""

    rule: CutRule = "top_share"
    capacity: int | None = None  # patients for the whole list, or per ward
    share: float = DEFAULT_REVIEW_SHARE
    source: Literal["given", "config", "default"] = "default"

    @classmethod
    def choose(cls, capacity: int | None, settings: Settings | None = None) -> ReviewCut:
        """A capacity given wins; then the configured capacity per ward; then the top share."""
        if capacity is not None:
            if capacity < 0:
                raise ValueError("capacity must be zero or more")
            return cls("capacity", capacity, source="given")
        if settings is None:  # the built-in default; the CLI and the service pass their settings
            return cls()
        per_ward = settings.los_review_capacity_per_ward
        if per_ward is not None:
            return cls("ward_capacity", per_ward, source="config")
        share = settings.los_review_share
        source: Literal["config", "default"] = (
            "default" if share == DEFAULT_REVIEW_SHARE else "config"
        )
        return cls("top_share", share=share, source=source)

    @property
    def percent(self) -> str:
        """The share as a percentage, e.g. `10%`."""
        return f"{100 * self.share:g}%"

    @property
    def text(self) -> str:
        """The cut in words, said on every output."""
        if self.rule == "capacity":
            return f"Top {self.capacity} by risk (capacity {self.capacity} given for this list)"
        if self.rule == "ward_capacity":
            return (
                f"Top {self.capacity} of each ward by risk "
                f"(capacity {self.capacity} per ward from config)"
            )
        where = "no capacity given" if self.source == "default" else "share from config"
        return f"Top {self.percent} by risk ({where})"

    def explain(self, patients: int) -> str:
        """Who is marked, for the page's "how to read" box (after "Review today marks")."""
        if self.rule == "capacity":
            return (
                f"the {self.capacity} highest-risk patients: as many as the team can review "
                "in a day (the capacity given for this list)"
            )
        if self.rule == "ward_capacity":
            return (
                f"the {self.capacity} highest-risk patients of each ward: the ward's usual "
                "discharge-team capacity, from the configuration"
            )
        marked = self.share_count(patients)
        why = (
            "no capacity was given, so the list marks this share; give the team's capacity "
            "to mark as many as it can review"
            if self.source == "default"
            else "the share set in the configuration"
        )
        return f"the highest-risk {self.percent} of the patients ({marked} of {patients}): {why}"

    def flags(self, order: np.ndarray, wards: Sequence[str | None]) -> np.ndarray:
        """Marks by row for rows ranked by `order` (highest risk first)."""
        flagged = np.zeros(len(order), dtype=bool)
        if self.rule == "capacity":
            flagged[order[: self.capacity]] = True
        elif self.rule == "ward_capacity":
            seen: dict[str | None, int] = {}
            for i in order:
                taken = seen.get(wards[i], 0)
                if taken < (self.capacity or 0):
                    flagged[i] = True
                seen[wards[i]] = taken + 1
        else:
            flagged[order[: self.share_count(len(order))]] = True
        return flagged

    def share_count(self, patients: int) -> int:
        """Patients the top share marks: the share rounded up (one at least on a list)."""
        return math.ceil(self.share * patients - 1e-9)

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout (`review_cut`)."""
        return {
            "rule": self.rule,
            "capacity": self.capacity,
            "share": self.share if self.rule == "top_share" else None,
            "source": self.source,
            "text": self.text,
        }
