"""Technology export control: which control-list items cover each technology field on a date.

The dated control list is the exports capability's (restrat.exports.service: entries with effective dates and
suspensions); this module only says which of its technology items cover which field (data/control_scope.csv,
restrat's reading of each item's text, marked derived) and asks the list what applied on the date."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from restrat.errors import InputError, Problem
from restrat.exports import models as export_models
from restrat.exports import service as exports
from restrat.technology.frames import looked_up

SCOPE_FILE = Path(str(resources.files("restrat.technology") / "data" / "control_scope.csv"))
NOT_LISTED = "not_listed"
STATUS_TEXT = {**exports.LICENCES, NOT_LISTED: "no dated technology item of the control list covers it on this date"}


@cache
def _scope() -> pd.DataFrame:
    return pd.read_csv(SCOPE_FILE, dtype=str, keep_default_na=False)


def scope() -> pd.DataFrame:
    """Which control-list items cover which technology field (restrat's reading of the item texts; derived)."""
    return _scope().copy()


def _require_list(session: Session) -> None:
    if not session.scalar(select(func.count()).select_from(export_models.ControlEntry)):
        raise InputError(Problem(field="on", rule="the export control list is not loaded; seed it first "
                                 "(restrat seed demo, or restrat.exports.service.seed_control_list)"))


def status_on(*, session: Session, fields: list[str], on: dt.date) -> pd.DataFrame:
    """Per field: the most severe licence of the items covering it that applied on the date, the items, the items
    suspended that day, and items on the list without dates in the sources."""
    _require_list(session)
    sc = scope()
    sc = sc[sc.field.isin(fields)]
    applied = exports.applicable_on(session=session, on=on)
    applied = applied[applied.category == "technology"][["item_code", "licence", "measure_id", "description"]]
    suspended = exports.suspended_on(session=session, on=on)
    undated = exports.undated_entries(session=session)
    hit = sc.merge(applied, on="item_code")
    hit["severity"] = hit.licence.map(exports.SEVERITY)
    hit = hit.sort_values(["field", "severity", "item_code"])
    worst = hit.drop_duplicates("field").set_index("field").licence
    out = pd.DataFrame({"field": list(dict.fromkeys(fields))})
    out["on"] = on
    out["status"] = looked_up(out.field, worst, NOT_LISTED)
    out["licence_required"] = out.status.map(STATUS_TEXT)

    def joined(frame: pd.DataFrame, col: str = "item_code") -> pd.Series:
        return looked_up(out.field, frame.groupby("field")[col].agg(";".join))

    out["items"] = joined(hit)
    out["reasons"] = joined(hit.assign(r=hit.item_code + " (" + hit.measure_id + "): " + hit.reading), "r") \
        .str.replace(";", " | ", regex=False)
    out["suspended_items"] = joined(sc[sc.item_code.isin(suspended.item_code)])
    out["undated_items"] = joined(sc[sc.item_code.isin(undated.item_code)])
    return out


def change_dates(*, session: Session) -> list[dt.date]:
    """Days on which some technology item of the list starts or stops applying (entries and suspensions)."""
    _require_list(session)
    t = exports.timeline(session=session)
    t = t[t.item_code.isin(scope().item_code)]
    days = set(t.start.dropna())
    days |= {d + dt.timedelta(days=1) for d in t.end.dropna()}
    return sorted(days)


def history(*, session: Session, fields: list[str], until: dt.date) -> pd.DataFrame:
    """Status of each field from each change date up to until: one row per field and period."""
    days = [d for d in change_dates(session=session) if d <= until]
    frames = [status_on(session=session, fields=fields, on=d) for d in days]
    if not frames:
        return pd.DataFrame(columns=["field", "start", "end", "status", "items"])
    h = pd.concat(frames, ignore_index=True).rename(columns={"on": "start"}).sort_values(["field", "start"])
    nxt = pd.to_datetime(h.groupby("field").start.shift(-1))
    h["end"] = (nxt - pd.Timedelta(days=1)).dt.date.where(nxt.notna(), until)
    return h[["field", "start", "end", "status", "items", "suspended_items"]].reset_index(drop=True)
