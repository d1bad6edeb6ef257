"""The census behind a risk list: which rows are current inpatients, and on which list date.

The list date is never taken from one row alone. A date given wins; otherwise it is the latest
admission date in the data that is not after today (UTC), so one admission mis-dated into the
future cannot date the list (and add decades to everyone's stay). It comes from every row (all
sites, discharged or not), so an empty census is still dated by its data, and the lists of each
site of one extract agree. The rule used is returned in words, for the list to state.

Patients admitted after the list date are left off and counted. An admission any time on the
list date counts, and so does one in the first `LATE_GRACE` after it, with 0 days in hospital:
admission times are local and the default list date is UTC's (the UK is at most an hour ahead).
A site asked for that is not in the data is a typo, not an empty list; so, for the command line
and the service alike, is a date given after the data's latest admission date on or before today
(`latest_supported_date`; `date_after_data` says so in the one wording both use).
"""

from __future__ import annotations

import difflib
from datetime import date

import numpy as np
import pandas as pd

from los.errors import MissingColumnError, UnknownSiteError

LATE_GRACE = pd.Timedelta(hours=1)
NEEDED: tuple[str, ...] = ("spell_id", "patient_id", "site", "admission_datetime")
_SITES_SHOWN = 30  # an unknown-site error lists at most this many sites


def check_site(frame: pd.DataFrame, site: str) -> None:
    """Raise `UnknownSiteError` naming the sites there are when `site` is not in `frame`."""
    sites = sorted(set(frame["site"].dropna().astype(str)))
    if site in sites:
        return
    shown = ", ".join(sites[:_SITES_SHOWN]) or "none"
    more = f" and {len(sites) - _SITES_SHOWN} more" if len(sites) > _SITES_SHOWN else ""
    close = difflib.get_close_matches(site.strip().upper(), sites, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise UnknownSiteError(
        f"site {site!r} is not in the data; sites in the data: {shown}{more}{hint}"
    )


def site_known(frame: pd.DataFrame, site: str | None, *, strict: bool) -> bool:
    """False when `site` is given but absent from `frame`; with `strict`, that raises instead."""
    missing = [c for c in NEEDED if c not in frame]
    if missing:
        raise MissingColumnError(missing)
    if site is None:
        return True
    try:
        check_site(frame, site)
    except UnknownSiteError:
        if strict:
            raise
        return False
    return True


def list_date(admitted: pd.Series, on: date | None, today: date) -> tuple[date, str]:
    """The list date and, in words, the rule that chose it."""
    if on is not None:
        return on, "the date given"
    days = admitted.dt.normalize()
    usable = days[days <= pd.Timestamp(today)]
    if usable.empty:
        return today, "today (UTC): no admission in the data is dated on or before today"
    later = int((days > pd.Timestamp(today)).sum())
    rule = f"the latest admission date in the data on or before today, {today.isoformat()} (UTC)"
    if later:
        rule += f"; {later:,} admission{'s' if later > 1 else ''} dated after today not used for it"
    return usable.max().date(), rule


def latest_supported_date(frame: pd.DataFrame, on: date | None, today: date) -> date | None:
    """The latest list date the data supports, when `on` is after it; None when `on` is not
    (or not given, or the admission column is absent: the census itself then says why).

    That date is the default list date: the latest admission date not after today (UTC), or today
    when there is none. A later date is after what the extract can know (a typo such as 2052 for
    2025, or a list asked of an old extract): everyone's stay would run on to it unseen.
    """
    if on is None or "admission_datetime" not in frame:
        return None
    latest, _ = list_date(pd.to_datetime(frame["admission_datetime"]), None, today)
    return latest if on > latest else None


def date_after_data(
    frame: pd.DataFrame, on: date | None, today: date, *, override: str, shown: bool = True
) -> str | None:
    """Why `on` cannot be the list date of `frame`, in one line, or None when it can.

    The rule is `latest_supported_date`'s: a date after the latest admission date in the data on
    or before today (UTC) is refused, so a date after today always is. `override` says how to ask
    for such a date anyway (`--allow-future-date`, `allow_after_data`). With `shown` false the line
    names neither date: an HTTP error body echoes no value sent and no patient's admission date.
    """
    latest = latest_supported_date(frame, on, today)
    if latest is None:
        return None
    rule = "the latest admission date in the data on or before today (UTC)"
    said = f"{on} is after {rule}, {latest}" if shown else f"the list date is after {rule}"
    return (
        f"{said}: the census cannot say who is in hospital then (give a date on or before it, "
        f"or {override})"
    )


def select_census(
    frame: pd.DataFrame, on: date | None, site: str | None, today: date
) -> tuple[pd.DataFrame, date, str, dict[str, int]]:
    """Current inpatients on the list date, the date and its rule, and rows left off and why."""
    counts = {"rows_in": len(frame)}
    admitted = pd.to_datetime(frame["admission_datetime"])
    on, rule = list_date(admitted, on, today)
    keep = np.ones(len(frame), dtype=bool)
    if "discharge_datetime" in frame:
        discharged = frame["discharge_datetime"].notna().to_numpy()
        counts["left_off_discharged"] = int(discharged.sum())
        keep &= ~discharged
    if site is not None:
        other = (frame["site"].astype("string") != site).fillna(True).to_numpy()
        counts["left_off_other_site"] = int((other & keep).sum())
        keep &= ~other
    later = (admitted >= pd.Timestamp(on) + pd.Timedelta(days=1) + LATE_GRACE).to_numpy()
    counts["left_off_admitted_after_list_date"] = int((later & keep).sum())
    keep &= ~later
    census = frame.loc[keep].reset_index(drop=True)
    counts["inpatients"] = len(census)
    return census, on, rule, counts


def census_notes(counts: dict[str, int], site: str | None, known: bool, chosen: bool) -> list[str]:
    """What a reader of the list must know: patients left off for their dates (a likely data
    error when the date was chosen from the data), or a site that is not in the data."""
    notes = []
    if not known:
        notes.append(f"site {site} is not in the data: no patient can be listed for it")
    later = counts.get("left_off_admitted_after_list_date", 0)
    if later:
        plural = later != 1
        who = f"{later:,} patient{'s' if plural else ''} admitted after the list date"
        check = " (check the admission dates)" if chosen else ""
        notes.append(f"{who} {'are' if plural else 'is'} not on this list{check}")
    return notes
