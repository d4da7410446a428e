"""Environment services: standards library, outlets, monitoring ingestion (workspace -> checks -> official record),
missing-data substitution, evaluation, escalation and environmental scores."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.orm import Session

from restrat.auth.service import hash_password, verify_password
from restrat.environment import evaluation, hj212, standards
from restrat.environment.models import (
    DataLogger,
    EmissionLimit,
    LoggerEvent,
    MonitoringValue,
    Outlet,
    Submission,
    WorkspaceValue,
)
from restrat.environment.substitution import substitute
from restrat.environment.units import CANONICAL, conversion_factors
from restrat.errors import Forbidden, InputError, NotFound, Problem
from restrat.registry.models import Facility
from restrat.store.bulk import insert_rows, lookup, write_rows
from restrat.store.db import transaction

# reporting periods and their length in seconds: "realtime" values (HJ 212 CN 2011) stand for an instant at any
# second; "sample" marks manual samples, a series of their own
PERIODS = {"realtime": 1, "minute": 60, "hour": 3_600, "day": 86_400, "sample": 0}
AVERAGING_S = {"value": 0, "hour": 3_600, "day": 86_400}
CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8))
REQUIRED = ("facility", "outlet", "pollutant", "time", "value", "unit")
# The documented checks every submission passes before it may become the official record (docs/environment.md).
CHECKS: dict[str, str] = {
    "C1 fields": "facility, outlet, pollutant, time, value and unit are present in every row",
    "C2 outlet": "the facility and its outlet are registered (and belong to the submitting enterprise)",
    "C3 pollutant": "the pollutant is known for the outlet's medium (code, name or alias)",
    "C4 unit": "the unit is known and of the pollutant's kind; the value is converted to the canonical unit",
    "C5 time": "the time is ISO 8601 (an offset is converted to China Standard Time), aligned to its period's "
               "start, and not in the future",
    "C6 value": "the value is a finite number; concentrations and flows are not negative; pH lies in 0..14",
    "C7 period": "the period is realtime, minute, hour, day or sample",
    "C8 duplicates": "a series and time appears once in the file, or repeats with the same value",
    "C9 record": "a value already in the official record is only repeated unchanged (a substituted value is "
                 "replaced by the measured one)",
}
EPOCH = dt.datetime(1970, 1, 1)


# ---- standards ------------------------------------------------------------------------------------------------


def _next_load_id(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(EmissionLimit.load_id), 0))) or 0) + 1


def load_limits(*, session: Session, rows: pd.DataFrame, username: str) -> dict[str, int]:
    """Add normalised limit rows (standards.normalise_limits) as one load. Rows already present unchanged are
    skipped. An 'official' row supersedes the recalled rows of the same standard, pollutant, medium, facility
    class and discharge, which stay stored but no longer apply."""
    if rows.empty:
        return {"load_id": 0, "added": 0, "unchanged": 0, "superseded": 0}
    load_id = _next_load_id(session)
    key = ["standard", "region", "pollutant", "medium", "facility_class", "discharge", "process", "valid_from",
           "valid_to", "status"]
    existing = pd.read_sql(select(*[getattr(EmissionLimit, c) for c in key + ["limit_low", "limit_high"]]),
                           session.connection())
    rows = rows.copy()
    for frame in (rows, existing):
        for c in ("valid_from", "valid_to"):
            frame[c] = frame[c].map(lambda d: d.isoformat() if d is not None and d == d else "")
        for c in ("limit_low", "limit_high"):
            frame[c] = frame[c].astype(float).round(9).fillna(-1.0)
    merged = rows.merge(existing.drop_duplicates(key + ["limit_low", "limit_high"]), how="left", indicator=True,
                        on=key + ["limit_low", "limit_high"])
    new = rows[(merged["_merge"] == "left_only").to_numpy()].copy()
    superseded = 0
    official = new[new.status == "official"]
    if len(official):
        keys = official[["standard", "pollutant", "medium", "facility_class", "discharge"]].drop_duplicates()
        for r in keys.itertuples(index=False):
            res = session.execute(update(EmissionLimit).where(
                EmissionLimit.status == "recalled", EmissionLimit.superseded_by_load.is_(None),
                EmissionLimit.standard == r.standard, EmissionLimit.pollutant == r.pollutant,
                EmissionLimit.medium == r.medium, EmissionLimit.facility_class == r.facility_class,
                EmissionLimit.discharge == r.discharge).values(superseded_by_load=load_id))
            superseded += res.rowcount or 0
    for c in ("valid_from", "valid_to"):
        new[c] = new[c].map(lambda s: dt.date.fromisoformat(s) if s else None)
    for c in ("limit_low", "limit_high"):
        new[c] = new[c].where(new[c] >= 0, None)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    records = new.astype(object).where(new.notna(), None).assign(load_id=load_id, loaded_by=username,
                                                                 loaded_at=now).to_dict("records")
    insert_rows(session, EmissionLimit.__table__, records)
    return {"load_id": load_id, "added": len(new), "unchanged": len(rows) - len(new), "superseded": superseded}


def load_reference_standards(*, session: Session, username: str = "system") -> dict[str, int]:
    """Load the shipped GB 26451-2011 tables (sourced, local Henan, recalled) into the standards library."""
    return load_limits(session=session, rows=standards.reference_limits(), username=username)


def read_table_file(path: Path) -> pd.DataFrame:
    """A CSV, Parquet or JSON Lines file as a table of strings and numbers."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if suffix == ".parquet":
        return pq.read_table(path).to_pandas()
    if suffix in (".jsonl", ".ndjson"):
        return pd.read_json(path, lines=True, dtype=False)
    raise InputError(Problem(field="file", rule="must be .csv, .parquet or .jsonl", value=path.name))


def limits_table(*, session: Session, on: dt.date | None = None, pollutant: str | None = None,
                 medium: str | None = None, include_superseded: bool = False) -> pd.DataFrame:
    """Limit rows of the library (those in force on a date when given), one row per limit with its status."""
    q = select(EmissionLimit)
    if on is not None:
        q = q.where((EmissionLimit.valid_from.is_(None)) | (EmissionLimit.valid_from <= on),
                    (EmissionLimit.valid_to.is_(None)) | (EmissionLimit.valid_to >= on))
    if pollutant:
        q = q.where(EmissionLimit.pollutant == pollutant)
    if medium:
        q = q.where(EmissionLimit.medium == medium)
    if not include_superseded:
        q = q.where(EmissionLimit.superseded_by_load.is_(None))
    q = q.order_by(EmissionLimit.medium, EmissionLimit.pollutant, EmissionLimit.facility_class,
                   EmissionLimit.valid_from)
    cols = [c.name for c in EmissionLimit.__table__.columns]
    rows = [{c: getattr(r, c) for c in cols} for r in session.scalars(q)]
    return pd.DataFrame(rows, columns=cols)


def _outlet_frame(session: Session, *, facility_ids: list[int] | None = None, mns: list[str] | None = None
                  ) -> pd.DataFrame:
    q = select(Outlet.id.label("outlet_id"), Outlet.code.label("outlet"), Outlet.facility_id, Outlet.medium,
               Outlet.discharge, Outlet.process, Outlet.facility_class, Outlet.special_area, Outlet.mn,
               Outlet.data_status,
               Facility.code.label("facility"), Facility.name.label("facility_name"), Facility.region,
               Facility.enterprise_id, Facility.lat, Facility.lon).join(Facility, Facility.id == Outlet.facility_id)
    if facility_ids is not None:
        q = q.where(Outlet.facility_id.in_(facility_ids))
    if mns is not None:
        q = q.where(Outlet.mn.in_(mns))
    return pd.DataFrame(session.execute(q.order_by(Facility.code, Outlet.code)).mappings().all(),
                        columns=["outlet_id", "outlet", "facility_id", "medium", "discharge", "process",
                                 "facility_class", "special_area", "mn", "data_status", "facility", "facility_name",
                                 "region", "enterprise_id", "lat", "lon"])


def segments_for(session: Session, outlets: pd.DataFrame) -> pd.DataFrame:
    """Limit segments (per outlet and pollutant, by day) for the given outlets from the current library."""
    lim = limits_table(session=session)
    return standards.limit_segments(outlets, lim)


def applicable_limits(*, session: Session, facility: str, on: dt.date, pollutant: str | None = None,
                      outlet: str | None = None) -> pd.DataFrame:
    """The limit in force on a date for each outlet (and pollutant) of a facility: the strictest of every national
    and local row that binds the outlet, with the rows it comes from and their status."""
    fac = _facility(session, facility)
    outs = _outlet_frame(session, facility_ids=[fac.id])
    if outlet:
        outs = outs[outs.outlet == outlet]
        if outs.empty:
            raise NotFound("outlet", f"{facility}/{outlet}", field="outlet")
    seg = segments_for(session, outs)
    day = (on - standards.EPOCH).days
    seg = seg[(seg.start_day <= day) & (seg.end_day > day)]
    if pollutant:
        seg = seg[seg.pollutant == pollutant]
    lim = limits_table(session=session, include_superseded=True).set_index("id")
    seg = seg.merge(outs[["outlet_id", "outlet", "medium", "facility_class", "discharge", "special_area"]],
                    on="outlet_id")
    units = standards.pollutants().set_index("code").unit
    seg["unit"] = seg.pollutant.map(units)
    seg["source"] = seg.high_id.map(lim.source).fillna(seg.low_id.map(lim.source))
    seg["valid_from"] = [standards.EPOCH + dt.timedelta(days=int(d)) if d > 0 else None for d in seg.start_day]
    seg["valid_to"] = [standards.EPOCH + dt.timedelta(days=int(d) - 1) if d < standards.OPEN_END_DAY else None
                       for d in seg.end_day]
    return seg.drop(columns=["start_day", "end_day"]).reset_index(drop=True)


# ---- outlets --------------------------------------------------------------------------------------------------


def _facility(session: Session, code: str) -> Facility:
    fac = session.scalar(select(Facility).where(Facility.code == code))
    if fac is None:
        raise NotFound("facility", code, field="facility")
    return fac


def facility_class_of(start_date: dt.date | None, *, standard: str = "GB 26451-2011") -> str:
    """'new' when the facility started on or after the standard's new-source date, else 'existing'."""
    meta = standards.standards_meta().set_index("standard")
    cutoff = dt.date.fromisoformat(meta.new_source_from[standard])
    return "new" if start_date is not None and start_date >= cutoff else "existing"


def add_outlet(*, session: Session, facility: str, code: str, medium: str, discharge: str,
               facility_class: str | None = None, special_area: bool = False, mn: str | None = None,
               process: str = "unspecified", data_status: str = "registered", note: str = "") -> Outlet:
    """Register a discharge outlet of a facility; the facility class defaults from its start date. process names
    the production process where a standard sets limits by process (e.g. decomposition, extraction_separation,
    metal_smelting); 'unspecified' is bound only by rows that do not distinguish processes."""
    fac = _facility(session, facility)
    problems = []
    if medium not in standards.MEDIA:
        problems.append(Problem(field="medium", rule="must be water or air", value=medium))
    if discharge not in standards.DISCHARGES:
        problems.append(Problem(field="discharge", rule=f"must be one of {', '.join(standards.DISCHARGES)}",
                                value=discharge))
    if facility_class is not None and facility_class not in ("existing", "new"):
        problems.append(Problem(field="facility_class", rule="must be existing or new", value=facility_class))
    if session.scalar(select(Outlet.id).where(Outlet.facility_id == fac.id, Outlet.code == code)) is not None:
        problems.append(Problem(field="code", rule=f"outlet already registered at {facility}", value=code))
    if mn and session.scalar(select(Outlet.id).where(Outlet.mn == mn)) is not None:
        problems.append(Problem(field="mn", rule="data logger id already registered to another outlet", value=mn))
    if problems:
        raise InputError(problems)
    outlet = Outlet(facility_id=fac.id, code=code, medium=medium, discharge=discharge, process=process or "unspecified",
                    facility_class=facility_class or facility_class_of(fac.start_date), special_area=special_area,
                    mn=mn or None, data_status=data_status, note=note)
    session.add(outlet)
    session.flush()
    return outlet


def outlets(*, session: Session, facility: str | None = None, enterprise_id: int | None = None) -> pd.DataFrame:
    """Registered outlets with their facility (an enterprise's own only, when enterprise_id is given)."""
    ids = [_facility(session, facility).id] if facility else None
    df = _outlet_frame(session, facility_ids=ids)
    if enterprise_id is not None:
        df = df[df.enterprise_id == enterprise_id]
    return df.reset_index(drop=True)


# ---- ingestion ------------------------------------------------------------------------------------------------


def _problems_at(mask: pd.Series | np.ndarray, field: str, rule: str, values: pd.Series | None = None
                 ) -> list[Problem]:
    idx = np.flatnonzero(np.asarray(mask))[:100]
    return [Problem(row=int(i) + 1, field=field, rule=rule, value=None if values is None else values.iat[i])
            for i in idx]


def _seconds(times: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Local standard time seconds since 1970 of ISO 8601 texts (offsets converted to UTC+8); and a bad mask."""
    text_times = times.astype(str).str.strip()
    has_offset = text_times.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True)
    secs = np.full(len(text_times), np.iinfo(np.int64).min, dtype=np.int64)
    naive = pd.to_datetime(text_times.where(~has_offset), format="ISO8601", errors="coerce")
    ok = naive.notna().to_numpy()
    secs[ok] = ((naive[ok] - pd.Timestamp(EPOCH)) // pd.Timedelta(seconds=1)).to_numpy(np.int64)
    if has_offset.any():
        aware = pd.to_datetime(text_times.where(has_offset), format="ISO8601", errors="coerce", utc=True)
        ok2 = aware.notna().to_numpy()
        local = aware[ok2].dt.tz_convert(CHINA_STANDARD_TIME).dt.tz_localize(None)
        secs[ok2] = ((local - pd.Timestamp(EPOCH)) // pd.Timedelta(seconds=1)).to_numpy(np.int64)
    return secs, secs == np.iinfo(np.int64).min


def check_values(*, raw: pd.DataFrame, outlets_df: pd.DataFrame, now: dt.datetime | None = None) -> pd.DataFrame:
    """Run checks C1-C8 on submitted rows (pure): returns the normalised values (outlet_id, pollutant, period,
    at_s, value, method, flag, row) or raises InputError naming every broken row, field and rule."""
    df = raw.reset_index(drop=True)
    df = df.astype(object).where(df.notna(), "")
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError([Problem(field=c, rule="column is required (C1 fields)") for c in missing])
    problems: list[Problem] = []
    txt = {c: df[c].astype(str).str.strip().replace({"nan": "", "None": ""}) for c in REQUIRED}
    for c in REQUIRED:
        problems += _problems_at(txt[c] == "", c, "is required (C1 fields)")
    keyed = pd.DataFrame({"facility": txt["facility"], "outlet": txt["outlet"]}).merge(
        outlets_df[["facility", "outlet", "outlet_id", "medium"]], how="left", on=["facility", "outlet"])
    unknown = keyed.outlet_id.isna() & (txt["facility"] != "") & (txt["outlet"] != "")
    problems += _problems_at(unknown, "outlet", "no such registered outlet of the facility, or not yours "
                                               "(C2 outlet)", txt["facility"] + "/" + txt["outlet"])
    medium = keyed.medium.fillna("")
    if "medium" in df.columns:
        given = df["medium"].astype(str).str.strip().str.lower().replace({"nan": "", "none": ""})
        problems += _problems_at((given != "") & (medium != "") & (given != medium), "medium",
                                 "differs from the outlet's medium (C2 outlet)", given)
    code = standards.pollutant_codes(txt["pollutant"], medium)
    problems += _problems_at((code == "") & (medium != "") & (txt["pollutant"] != ""), "pollutant",
                             "unknown for the outlet's medium (C3 pollutant)", txt["pollutant"])
    pol = standards.pollutants().set_index("code")
    canon = code.map(pol.unit).fillna("")
    kinds = pd.DataFrame([(m, u, d) for (m, u), d in CANONICAL.items()], columns=["medium", "unit", "dim"])
    dims = pd.DataFrame({"medium": medium.astype(str).to_numpy(), "unit": canon.astype(str).to_numpy()}).merge(
        kinds, how="left", on=["medium", "unit"])["dim"].astype(object)
    factor, unit_problems = conversion_factors(txt["unit"], dims)
    problems += [Problem(row=p.row, field=p.field, rule=p.rule + " (C4 unit)", value=p.value)
                 for p in unit_problems]
    value = pd.to_numeric(df["value"], errors="coerce").to_numpy(dtype=float) * factor
    finite = np.isfinite(value)
    problems += _problems_at(~finite & (txt["value"] != "") & ~np.isnan(factor), "value",
                             "must be a finite number (C6 value)", txt["value"])
    is_ph = (canon == "pH").to_numpy()
    problems += _problems_at(finite & ~is_ph & (value < 0), "value", "must not be negative (C6 value)", txt["value"])
    problems += _problems_at(finite & is_ph & ((value < 0) | (value > 14)), "value", "pH must lie in 0..14 (C6 value)",
                             txt["value"])
    period = (df["period"].astype(str).str.strip().str.lower() if "period" in df.columns
              else pd.Series("hour", index=df.index)).replace({"": "hour", "nan": "hour"})
    problems += _problems_at(~period.isin(list(PERIODS)), "period",
                             "must be realtime, minute, hour, day or sample (C7 period)", period)
    at_s, bad_time = _seconds(txt["time"])
    problems += _problems_at(bad_time & (txt["time"] != ""), "time", "must be an ISO 8601 time (C5 time)", txt["time"])
    step = period.map(PERIODS).fillna(0).to_numpy(np.int64)
    misaligned = ~bad_time & (step > 0) & (np.mod(at_s, np.maximum(step, 1)) != 0)
    problems += _problems_at(misaligned, "time", "must be the start of its period (C5 time)", txt["time"])
    limit = int(((now or dt.datetime.now(CHINA_STANDARD_TIME).replace(tzinfo=None)) - EPOCH).total_seconds()) + 86_400
    problems += _problems_at(~bad_time & (at_s > limit), "time", "is in the future (C5 time)", txt["time"])
    method = (df["method"].astype(str).str.strip().replace({"": "cems", "nan": "cems"}) if "method" in df.columns
              else pd.Series("cems", index=df.index))
    flag = (df["flag"].astype(str).str.strip().replace({"": "N", "nan": "N"}) if "flag" in df.columns
            else pd.Series("N", index=df.index))
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.row or 0, p.field)))
    out = pd.DataFrame({"outlet_id": keyed.outlet_id.astype(np.int64), "pollutant": code, "period": period,
                        "at_s": at_s, "value": value, "method": method.str.slice(0, 16),
                        "flag": flag.str.slice(0, 4), "row": np.arange(1, len(df) + 1)})
    key = ["outlet_id", "pollutant", "period", "at_s"]
    dup = out.duplicated(key, keep=False)
    if dup.any():
        spread = out[dup].groupby(key).value.transform(lambda v: v.max() - v.min())
        conflict = out[dup][spread > 1e-9]
        if len(conflict):
            raise InputError([Problem(row=int(r), field="value", rule="the same series and time appears with another "
                                      "value in this file (C8 duplicates)", value=v)
                              for r, v in zip(conflict.row[:100], conflict.value[:100], strict=True)])
        out = out.drop_duplicates(key)
    return out.reset_index(drop=True)


def _columns(rows: list[Any], names: list[str]) -> pd.DataFrame:
    """A table from result rows, built column by column (a frame built from Row objects probes every row)."""
    if not rows:
        return pd.DataFrame(columns=names)
    return pd.DataFrame(dict(zip(names, zip(*rows, strict=True), strict=True)))


def _existing(session: Session, values: pd.DataFrame) -> pd.DataFrame:
    """Official values of the same outlets and time span as values."""
    if values.empty:
        return pd.DataFrame(columns=["id", "outlet_id", "pollutant", "period", "at_s", "value", "method"])
    rows = lookup(session, "SELECT id, outlet_id, pollutant, period, at_s, value, method FROM env_value "
                           f"WHERE at_s BETWEEN {int(values.at_s.min())} AND {int(values.at_s.max())} "
                           "AND outlet_id IN {keys}", sorted(values.outlet_id.unique().tolist()))
    return _columns(rows, ["id", "outlet_id", "pollutant", "period", "at_s", "value", "method"])


def submit(*, session: Session, raw: pd.DataFrame, source_name: str, channel: str, username: str,
           enterprise_id: int | None = None, promote_now: bool = True, data_status: str = "reported",
           now: dt.datetime | None = None, outlets_df: pd.DataFrame | None = None) -> dict[str, Any]:
    """Check a file or message of monitoring values into the workspace and (by default) promote it to the official
    record, all in the caller's transaction: any broken check raises InputError and writes nothing. Values already
    recorded unchanged are counted as duplicates and skipped, so a re-import changes nothing. outlets_df narrows
    the outlets the rows may name (default: every registered outlet)."""
    outs = _outlet_frame(session) if outlets_df is None else outlets_df
    if enterprise_id is not None:
        outs = outs[outs.enterprise_id == enterprise_id]
    values = check_values(raw=raw, outlets_df=outs, now=now)
    key = ["outlet_id", "pollutant", "period", "at_s"]
    old = _existing(session, values)
    both = values.merge(old, on=key, how="left", suffixes=("", "_old"))
    recorded = both.id.notna()
    replaced = recorded & (both.method_old == "substituted") & (both.method != "substituted")
    same = recorded & ~replaced & ((both.value - both.value_old).abs() <= 1e-9 * np.maximum(1, both.value.abs()))
    conflict = recorded & ~replaced & ~same
    if conflict.any():
        c = both[conflict]
        raise InputError([Problem(row=int(r), field="value", value=v,
                                  rule=f"differs from the official record ({vo}) (C9 record)")
                          for r, v, vo in zip(c.row[:100], c.value[:100], c.value_old[:100], strict=True)],
                         source=source_name)
    new = both[~recorded | replaced]
    sub = Submission(source_name=source_name[:300], channel=channel, username=username, status="checked",
                     rows_total=len(raw), rows_new=len(new), rows_duplicate=int(same.sum()),
                     checks=json.dumps({k: len(raw) for k in CHECKS}), data_status=data_status)
    session.add(sub)
    session.flush()
    cols = ["submission_id", "outlet_id", "pollutant", "period", "at_s", "value", "method", "flag"]
    write_rows(session, "env_workspace", cols,
               zip([sub.id] * len(new), new.outlet_id.tolist(), new.pollutant.tolist(), new.period.tolist(),
                   new.at_s.tolist(), new.value.tolist(), new.method.tolist(), new.flag.tolist(), strict=True))
    if replaced.any():
        ids = both.loc[replaced, "id"].astype(np.int64).tolist()
        for start in range(0, len(ids), 30_000):
            session.execute(delete(MonitoringValue).where(MonitoringValue.id.in_(ids[start:start + 30_000])))
    if promote_now:
        promote(session=session, submission_id=sub.id)
    return submission_summary(sub)


def promote(*, session: Session, submission_id: int) -> dict[str, Any]:
    """Move a checked submission from the workspace into the official record (values recorded meanwhile by
    another submission are skipped as duplicates)."""
    sub = session.get(Submission, submission_id)
    if sub is None:
        raise NotFound("submission", submission_id, field="submission")
    if sub.status == "promoted":
        return submission_summary(sub)
    # ON CONFLICT DO NOTHING: a value another writer recorded meanwhile (or concurrently) is skipped, not an error;
    # both SQLite and PostgreSQL read this syntax the same way.
    moved = session.execute(text(
        "INSERT INTO env_value (outlet_id, pollutant, period, at_s, value, method, flag, submission_id) "
        "SELECT w.outlet_id, w.pollutant, w.period, w.at_s, w.value, w.method, w.flag, w.submission_id "
        "FROM env_workspace w WHERE w.submission_id = :sid ON CONFLICT DO NOTHING"), {"sid": sub.id}).rowcount
    clash = session.execute(text(
        "SELECT COUNT(*), MIN(w.at_s) FROM env_workspace w JOIN env_value v ON v.outlet_id = w.outlet_id "
        "AND v.pollutant = w.pollutant AND v.period = w.period AND v.at_s = w.at_s "
        "WHERE w.submission_id = :sid AND v.submission_id <> :sid AND ABS(v.value - w.value) > 1e-9 * "
        "(1 + ABS(w.value))"), {"sid": sub.id}).one()
    if clash[0]:
        raise InputError(Problem(field="value", rule=f"{clash[0]} value(s) were recorded meanwhile by another "
                                                      "submission with a different value (C9 record)",
                                 value=clash[1]), source=sub.source_name)
    session.execute(delete(WorkspaceValue).where(WorkspaceValue.submission_id == sub.id))
    sub.rows_duplicate += sub.rows_new - (moved or 0)
    sub.rows_new = moved or 0
    sub.status = "promoted"
    sub.promoted_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    session.flush()
    return submission_summary(sub)


def submission_summary(sub: Submission) -> dict[str, Any]:
    """A submission as a plain dict."""
    return {"id": sub.id, "source_name": sub.source_name, "channel": sub.channel, "username": sub.username,
            "received_at": sub.received_at, "status": sub.status, "rows_total": sub.rows_total,
            "rows_new": sub.rows_new, "rows_duplicate": sub.rows_duplicate, "promoted_at": sub.promoted_at,
            "data_status": sub.data_status, "checks": json.loads(sub.checks)}


def submissions(*, session: Session, limit: int = 100, username: str | None = None) -> list[dict[str, Any]]:
    """The newest submissions with their status and check counts."""
    q = select(Submission).order_by(Submission.id.desc()).limit(limit)
    if username:
        q = q.where(Submission.username == username)
    return [submission_summary(s) for s in session.scalars(q)]


def ingest_file(*, session: Session, path: Path, username: str, enterprise_id: int | None = None,
                promote_now: bool = True) -> dict[str, Any]:
    """Submit a CSV, Parquet or JSON Lines file of monitoring values in one transaction."""
    raw = read_table_file(path)
    return submit(session=session, raw=raw, source_name=path.name, channel=path.suffix.lower().lstrip("."),
                  username=username, enterprise_id=enterprise_id, promote_now=promote_now)


def hj212_rows(*, session: Session, readings: list[dict[str, str]], st: str | None = None,
               outlets_df: pd.DataFrame | None = None) -> pd.DataFrame:
    """Monitoring rows from HJ 212 readings: the data logger (MN) names the outlet, the HJ 212 code the
    pollutant. An unknown MN or code, or a system code (ST) of the other medium than the outlet's, is an
    InputError (the message is then refused)."""
    if not readings:
        return pd.DataFrame(columns=list(REQUIRED) + ["period", "flag", "method"])
    df = pd.DataFrame(readings)
    outs = _outlet_frame(session, mns=sorted(set(df.mn))) if outlets_df is None else outlets_df
    outs = outs[outs.mn.notna()].set_index("mn")
    pol = standards.pollutants()
    pol = pol[pol.hj212_code != ""].set_index("hj212_code")
    problems = [Problem(field="MN", rule="no outlet is registered for this data logger", value=mn)
                for mn in sorted(set(df.mn) - set(outs.index))]
    problems += [Problem(field="CP", rule="pollutant code not in restrat's HJ 212 code list", value=c)
                 for c in sorted(set(df.hj212_code) - set(pol.index))]
    media = set(outs.medium.reindex(sorted(set(df.mn) & set(outs.index))))
    if st in hj212.ST_MEDIUM and media and media != {hj212.ST_MEDIUM[st]}:
        problems.append(Problem(field="ST", rule=f"system code {st} is for {hj212.ST_MEDIUM[st]} sources but the "
                                                 f"outlet is a {'/'.join(sorted(media))} outlet", value=st))
    if problems:
        raise InputError(problems)
    return pd.DataFrame({"facility": df.mn.map(outs.facility), "outlet": df.mn.map(outs.outlet),
                         "pollutant": df.hj212_code.map(pol.code), "time": df.time, "value": df.value,
                         "unit": df.hj212_code.map(pol.unit), "period": df.period, "flag": df.flag,
                         "method": "cems"})


# ---- evaluation -----------------------------------------------------------------------------------------------


def _averaging(pollutant: pd.Series, medium: pd.Series) -> np.ndarray:
    meta = standards.standards_meta().set_index("standard").loc["GB 26451-2011"]
    by_medium = medium.map({"water": meta.averaging_water, "air": meta.averaging_air})
    chosen = np.where(pollutant == "ph", meta.averaging_ph, by_medium)
    return np.array([AVERAGING_S[c] for c in chosen], dtype=np.int64)


def series_table(*, session: Session, facility_ids: list[int] | None = None) -> pd.DataFrame:
    """Every (outlet, pollutant, evaluation period) series with a limit-bearing pollutant: its integer key,
    facility, averaging period in seconds and the reporting period evaluated (the coarsest continuous period no
    longer than the averaging period; manual samples are a series of their own)."""
    q = "SELECT DISTINCT outlet_id, pollutant, period FROM env_value"
    present = pd.DataFrame(session.execute(text(q)).all(), columns=["outlet_id", "pollutant", "period"])
    outs = _outlet_frame(session, facility_ids=facility_ids)
    present = present.merge(outs, on="outlet_id")
    if present.empty:
        return pd.DataFrame(columns=["key", "outlet_id", "pollutant", "period", "averaging_s", "facility_id",
                                     "facility", "outlet", "medium"])
    present["averaging_s"] = _averaging(present.pollutant, present.medium)
    present["period_s"] = present.period.map(PERIODS)
    cont = present[present.period != "sample"]
    usable = cont[(cont.period_s <= cont.averaging_s) | (cont.averaging_s == 0)]
    best = usable.sort_values("period_s").groupby(["outlet_id", "pollutant"]).tail(1)
    fallback = cont[~cont.set_index(["outlet_id", "pollutant"]).index.isin(best.set_index(["outlet_id",
                                                                                            "pollutant"]).index)]
    fallback = fallback.sort_values("period_s").groupby(["outlet_id", "pollutant"]).head(1)
    samples = present[present.period == "sample"].assign(averaging_s=0)
    table = pd.concat([best, fallback, samples], ignore_index=True).sort_values(["outlet_id", "pollutant", "period"])
    table = table.reset_index(drop=True)
    table["key"] = np.arange(len(table), dtype=np.int64)
    return table


def _segments_seconds(session: Session, table: pd.DataFrame) -> pd.DataFrame:
    seg = segments_for(session, table.drop_duplicates("outlet_id"))
    seg = seg.merge(table[["key", "outlet_id", "pollutant"]], on=["outlet_id", "pollutant"])
    return pd.DataFrame({"key": seg.key.to_numpy(np.int64),
                         "start": seg.start_day.to_numpy(np.int64) * 86_400,
                         "end": np.minimum(seg.end_day.to_numpy(np.int64), 2**32 // 86_400) * 86_400,
                         "low": seg.limit_low.astype(float).to_numpy(), "high": seg.limit_high.astype(float).to_numpy(),
                         "status": seg.status.to_numpy()})


def _load_values(session: Session, table: pd.DataFrame, start_s: int, end_s: int) -> pd.DataFrame:
    """Values of the series in table between start_s (inclusive) and end_s (exclusive), with their key, sorted."""
    if table.empty:
        return pd.DataFrame({"key": [], "t": [], "value": []})
    rows = lookup(session, "SELECT outlet_id, pollutant, period, at_s, value FROM env_value WHERE at_s >= "
                           f"{int(start_s)} AND at_s < {int(end_s)} AND outlet_id IN {{keys}}",
                  sorted(table.outlet_id.unique().tolist()))
    df = _columns(rows, ["outlet_id", "pollutant", "period", "t", "value"])
    df = df.merge(table[["outlet_id", "pollutant", "period", "key"]], on=["outlet_id", "pollutant", "period"])
    return df.sort_values(["key", "t"], kind="stable")[["key", "t", "value"]].reset_index(drop=True)


def _seconds_of(day: dt.date) -> int:
    return (day - standards.EPOCH).days * 86_400


def evaluate_span(*, session: Session, start: dt.date, end: dt.date, facility_ids: list[int] | None = None,
                  keep_values: bool = False, progress: Callable[[int, int], None] | None = None
                  ) -> tuple[evaluation.Evaluation, pd.DataFrame, pd.DataFrame]:
    """Evaluate the official record from start to end (exclusive) month by month, combining the parts.
    Returns the evaluation, the series table and the limit segments (seconds) used."""
    table = series_table(session=session, facility_ids=facility_ids)
    segments = _segments_seconds(session, table) if len(table) else pd.DataFrame(
        columns=["key", "start", "end", "low", "high", "status"])
    period_s = table.averaging_s.to_numpy(np.int64) if len(table) else np.zeros(0, np.int64)
    bounds = pd.date_range(start, end, freq="MS").date.tolist()
    edges = sorted({start, *bounds, end})
    result: evaluation.Evaluation | None = None
    kept: list[pd.DataFrame] = []
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        part = _load_values(session, table, _seconds_of(a), _seconds_of(b))
        ev = evaluation.evaluate(part.key.to_numpy(np.int64), part.t.to_numpy(np.int64),
                                 part.value.to_numpy(float), period_s=period_s, segments=segments,
                                 keep_values=keep_values)
        if keep_values and ev.values is not None:
            kept.append(ev.values)
        result = ev if result is None else evaluation.combine(result, ev)
        if progress:
            progress(i + 1, len(edges) - 1)
    if result is None:
        result = evaluation.evaluate(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), period_s=period_s,
                                     segments=segments)
    if keep_values:
        result.values = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(
            columns=["key", "t", "value", "low", "high", "ratio", "exceed", "evaluated"])
    return result, table, segments


def _time(seconds: pd.Series) -> pd.Series:
    return pd.to_datetime(seconds.astype(np.int64), unit="s")


def compliance(*, session: Session, start: dt.date, end: dt.date, facility: str | None = None,
               enterprise_id: int | None = None) -> pd.DataFrame:
    """Compliance rate per facility, outlet and pollutant: values evaluated, exceeding, rate, episodes."""
    ids = _scope_ids(session, facility, enterprise_id)
    ev, table, _ = evaluate_span(session=session, start=start, end=end, facility_ids=ids)
    per = ev.series.merge(table, on="key")
    eps = ev.episodes.groupby("key").size().rename("episodes")
    per = per.merge(eps, left_on="key", right_index=True, how="left").fillna({"episodes": 0})
    per["compliance_rate"] = np.where(per.evaluated > 0, 1 - per.exceeded / per.evaluated.clip(lower=1), np.nan)
    cols = ["facility", "outlet", "medium", "pollutant", "period", "averaging_s", "evaluated", "exceeded",
            "unlimited", "compliance_rate", "episodes", "facility_id"]
    return per[cols].astype({"episodes": int}).sort_values(["facility", "outlet", "pollutant"]).reset_index(drop=True)


def episodes(*, session: Session, start: dt.date, end: dt.date, facility: str | None = None,
             enterprise_id: int | None = None) -> pd.DataFrame:
    """Exceedance episodes: facility, outlet, pollutant, start, end, values, peak ratio, peak value and limit."""
    ids = _scope_ids(session, facility, enterprise_id)
    ev, table, _ = evaluate_span(session=session, start=start, end=end, facility_ids=ids)
    ep = ev.episodes.merge(table[["key", "facility_id", "facility", "outlet", "pollutant", "period"]], on="key")
    ep["start"] = _time(ep.start)
    ep["end"] = _time(ep.end)
    cols = ["facility", "outlet", "pollutant", "period", "start", "end", "values", "peak_ratio", "peak_value",
            "limit_high", "limit_low", "facility_id"]
    return ep[cols].sort_values(["facility", "start"]).reset_index(drop=True)


def _scope_ids(session: Session, facility: str | None, enterprise_id: int | None) -> list[int] | None:
    if facility:
        fac = _facility(session, facility)
        if enterprise_id is not None and fac.enterprise_id != enterprise_id:
            raise Forbidden(f"facility {facility} belongs to another enterprise")
        return [fac.id]
    if enterprise_id is not None:
        return list(session.scalars(select(Facility.id).where(Facility.enterprise_id == enterprise_id)))
    return None


def _year_span(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year + 1, 1, 1)


def escalation_levels(*, session: Session, year: int, until: dt.date | None = None,
                      facility_ids: list[int] | None = None,
                      evaluated: tuple[evaluation.Evaluation, pd.DataFrame] | None = None) -> pd.DataFrame:
    """The highest escalation level (warning, fine, suspension) each facility reached in a year (up to the end of
    `until` when given), under the escalation rules in force at the year's end."""
    start, end = _year_span(year)
    if evaluated is None:
        ev, table, _ = evaluate_span(session=session, start=start, end=end, facility_ids=facility_ids)
    else:
        ev, table = evaluated
    ep = ev.episodes.merge(table[["key", "facility_id"]], on="key")
    rules = standards.escalation_rules(on=end - dt.timedelta(days=1))
    levels = evaluation.escalations(ep, rules, until_s=_seconds_of(until + dt.timedelta(days=1)) if until else None)
    codes = dict(session.execute(select(Facility.id, Facility.code)).all())
    levels.insert(1, "facility", levels.facility_id.map(codes))
    levels["reached_at"] = _time(levels.reached_at) if len(levels) else levels.reached_at
    return levels


def environment_scores(*, session: Session, year: int) -> pd.DataFrame:
    """Environmental score (0..100) per monitored facility in a year, for the quota optimiser:
    DataFrame(facility_id, score). Score = 100 x compliance rate - penalty of the escalation level reached."""
    start, end = _year_span(year)
    ev, table, _ = evaluate_span(session=session, start=start, end=end)
    per = ev.series.merge(table[["key", "facility_id"]], on="key")
    levels = escalation_levels(session=session, year=year, evaluated=(ev, table))
    return evaluation.scores(per, levels)


def facility_report(*, session: Session, facility: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Everything the facility compliance page shows: per series the averaged values with their limit, the
    compliance table, episodes, escalation level and substitution counts."""
    fac = _facility(session, facility)
    ev, table, segments = evaluate_span(session=session, start=start, end=end, facility_ids=[fac.id],
                                        keep_values=True)
    per = ev.series.merge(table, on="key")
    per["compliance_rate"] = np.where(per.evaluated > 0, 1 - per.exceeded / per.evaluated.clip(lower=1), np.nan)
    values = ev.values if ev.values is not None else pd.DataFrame()
    status = segments.drop_duplicates("key").set_index("key").status if len(segments) else pd.Series(dtype=str)
    per["limit_status"] = per.key.map(status).fillna("no limit")
    ep = ev.episodes.merge(table[["key", "outlet", "pollutant", "period"]], on="key")
    levels = escalation_levels(session=session, year=start.year, facility_ids=[fac.id], evaluated=(ev, table))
    substituted = session.execute(
        select(MonitoringValue.outlet_id, MonitoringValue.pollutant, func.count())
        .join(Outlet, Outlet.id == MonitoringValue.outlet_id)
        .where(Outlet.facility_id == fac.id, MonitoringValue.method == "substituted",
               MonitoringValue.at_s >= _seconds_of(start), MonitoringValue.at_s < _seconds_of(end))
        .group_by(MonitoringValue.outlet_id, MonitoringValue.pollutant)).all()
    return {"facility": fac, "series": per, "values": values, "episodes": ep, "levels": levels,
            "substituted": {(o, p): n for o, p, n in substituted}}


# ---- substitution ---------------------------------------------------------------------------------------------


def substitute_missing(*, session: Session, start: dt.date, end: dt.date, facility: str | None = None
                       ) -> dict[str, Any]:
    """Fill the interior gaps of the hourly and daily series between start and end with the dated substitution
    rules (method 'substituted', flag 'S', the rule named on each value). Running it again adds nothing."""
    ids = _scope_ids(session, facility, None)
    table = series_table(session=session, facility_ids=ids)
    table = table[table.period.isin(["hour", "day"])].reset_index(drop=True)
    if table.empty:
        return {"substituted": 0, "by_rule": {}}
    table["key"] = np.arange(len(table), dtype=np.int64)
    rules = standards.substitution_rules()
    lookback = int(np.nan_to_num(rules.loc[rules.method == "lookback_max", "parameter"].max(), nan=0))
    first = _seconds_of(start) - lookback * 86_400
    values = _load_values(session, table, first, _seconds_of(end))
    period_s = table.period.map(PERIODS).to_numpy(np.int64)
    segments = _segments_seconds(session, table)
    filled = substitute(values.key.to_numpy(np.int64), values.t.to_numpy(np.int64), values.value.to_numpy(float),
                        period_s=period_s, medium=table.medium.to_numpy(), pollutant=table.pollutant.to_numpy(),
                        rules=rules, segments=segments)
    filled = filled[(filled.t >= _seconds_of(start)) & (filled.t < _seconds_of(end))]
    if filled.empty:
        return {"substituted": 0, "by_rule": {}}
    filled = filled.merge(table[["key", "outlet_id", "pollutant", "period"]], on="key")
    cols = ["outlet_id", "pollutant", "period", "at_s", "value", "method", "flag", "substitution_rule"]
    write_rows(session, "env_value", cols,
               zip(filled.outlet_id.tolist(), filled.pollutant.tolist(), filled.period.tolist(),
                   filled.t.astype(np.int64).tolist(), filled.value.astype(float).tolist(),
                   ["substituted"] * len(filled), ["S"] * len(filled), filled.rule_id.tolist(), strict=True))
    return {"substituted": len(filled), "by_rule": filled.groupby("rule_id").size().to_dict()}


def record_counts(*, session: Session) -> dict[str, int]:
    """Official values by method, and values waiting in the workspace."""
    counts = dict(session.execute(select(MonitoringValue.method, func.count()).group_by(MonitoringValue.method)).all())
    counts["workspace"] = session.scalar(select(func.count()).select_from(WorkspaceValue)) or 0
    return {k: int(v) for k, v in counts.items()}


def national_map(*, session: Session, year: int) -> pd.DataFrame:
    """Per monitored facility: location, values evaluated and exceeding, episodes, escalation level and score."""
    start, end = _year_span(year)
    ev, table, _ = evaluate_span(session=session, start=start, end=end)
    per = ev.series.merge(table[["key", "facility_id"]], on="key")
    agg = per.groupby("facility_id", as_index=False)[["evaluated", "exceeded"]].sum()
    eps = ev.episodes.merge(table[["key", "facility_id"]], on="key").groupby("facility_id").agg(
        episodes=("start", "size"), peak_ratio=("peak_ratio", "max"))
    agg = agg.merge(eps, left_on="facility_id", right_index=True, how="left").fillna({"episodes": 0})
    levels = escalation_levels(session=session, year=year, evaluated=(ev, table))
    agg = agg.merge(levels[["facility_id", "level"]], on="facility_id", how="left")
    agg = agg.merge(evaluation.scores(per, levels), on="facility_id", how="left")
    facs = _outlet_frame(session).drop_duplicates("facility_id")[
        ["facility_id", "facility", "facility_name", "region", "lat", "lon", "enterprise_id", "data_status"]]
    out = facs.merge(agg, on="facility_id", how="left").fillna({"evaluated": 0, "exceeded": 0, "episodes": 0})
    out["compliance_rate"] = np.where(out.evaluated > 0, 1 - out.exceeded / out.evaluated.clip(lower=1), np.nan)
    return out.astype({"evaluated": int, "exceeded": int, "episodes": int}).sort_values(
        ["score", "facility"], na_position="last").reset_index(drop=True)



# ---- HJ 212 ---------------------------------------------------------------------------------------------------


def ingest_hj212(*, session: Session, message: hj212.Message, username: str = "hj212") -> dict[str, Any] | None:
    """Store the values of one HJ 212 data upload through the workspace and checks (one transaction)."""
    readings = hj212.readings(message)
    if not readings:
        return None
    outs = _outlet_frame(session, mns=[message.mn])  # the logger's outlet only: one small query per message
    raw = hj212_rows(session=session, readings=readings, st=message.st, outlets_df=outs)
    return submit(session=session, raw=raw, source_name=f"HJ 212 MN={message.mn} QN={message.qn or '-'}",
                  channel="hj212", username=username, outlets_df=outs)


LOGGER_PW_CHARS = r"[A-Za-z0-9_\-.]{6,9}"


def register_logger(*, session: Session, mn: str, password: str, username: str, note: str = "") -> dict[str, Any]:
    """Register (or replace) the access password of the HJ 212 data logger MN of an outlet; only its argon2 hash
    is stored. HJ 212-2017 passwords are at most 9 characters; restrat asks for 6..9 letters, digits, _ - ."""
    problems = []
    outlet_id = session.scalar(select(Outlet.id).where(Outlet.mn == mn))
    if outlet_id is None:
        problems.append(Problem(field="mn", rule="no outlet is registered with this data logger id "
                                                 "(restrat environment add-outlet --mn)", value=mn))
    if not re.fullmatch(LOGGER_PW_CHARS, password or ""):
        problems.append(Problem(field="password", rule="6..9 characters of letters, digits, '_', '-' or '.' "
                                                       "(HJ 212-2017 PW is at most 9 characters)"))
    if problems:
        raise InputError(problems)
    logger = session.scalar(select(DataLogger).where(DataLogger.mn == mn))
    replaced = logger is not None
    if logger is None:
        logger = DataLogger(mn=mn, outlet_id=outlet_id, password_hash="", registered_by=username)
        session.add(logger)
    logger.outlet_id = int(outlet_id)  # type: ignore[arg-type]
    logger.password_hash = hash_password(password)
    logger.registered_by = username
    logger.registered_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    logger.note = note
    session.flush()
    return {"mn": mn, "outlet_id": int(outlet_id), "replaced": replaced}  # type: ignore[arg-type]


def logger_access(*, session: Session, mn: str, password: str) -> hj212.Access:
    """'ok' when password is the registered access password of logger mn, 'unknown_mn' when no logger (or no
    outlet) is registered with mn, else 'wrong_pw'."""
    hashed = session.scalar(select(DataLogger.password_hash).join(Outlet, Outlet.id == DataLogger.outlet_id)
                            .where(DataLogger.mn == mn, Outlet.mn == mn))
    if hashed is None:
        return "unknown_mn"
    return "ok" if verify_password(password, hashed) else "wrong_pw"


def loggers(*, session: Session) -> pd.DataFrame:
    """Registered data loggers with their outlet (never the password hash)."""
    q = (select(DataLogger.mn, Facility.code.label("facility"), Outlet.code.label("outlet"), Outlet.medium,
                DataLogger.registered_by, DataLogger.registered_at, DataLogger.note)
         .join(Outlet, Outlet.id == DataLogger.outlet_id).join(Facility, Facility.id == Outlet.facility_id)
         .order_by(DataLogger.mn))
    return pd.DataFrame(session.execute(q).mappings().all(),
                        columns=["mn", "facility", "outlet", "medium", "registered_by", "registered_at", "note"])


def record_logger_event(*, session: Session, event: hj212.ListenerEvent) -> None:
    """Keep one listener event (refusal, malformed message, status upload, notification, answer)."""
    session.add(LoggerEvent(peer=event.peer[:64], outcome=event.outcome, mn=(event.mn or None) and event.mn[:40],
                            qn=(event.qn or None) and event.qn[:20], cn=(event.cn or None) and event.cn[:8],
                            detail=event.detail, cp=None if event.cp is None else json.dumps(event.cp)))


def logger_events(*, session: Session, mn: str | None = None, outcome: str | None = None,
                  limit: int = 200) -> pd.DataFrame:
    """The listener's latest events, newest first (optionally of one logger or one outcome)."""
    q = select(LoggerEvent.at, LoggerEvent.peer, LoggerEvent.outcome, LoggerEvent.mn, LoggerEvent.qn,
               LoggerEvent.cn, LoggerEvent.detail, LoggerEvent.cp)
    if mn:
        q = q.where(LoggerEvent.mn == mn)
    if outcome:
        q = q.where(LoggerEvent.outcome == outcome)
    q = q.order_by(LoggerEvent.id.desc()).limit(limit)
    return pd.DataFrame(session.execute(q).mappings().all(),
                        columns=["at", "peer", "outcome", "mn", "qn", "cn", "detail", "cp"])


def hj212_platform(*, engine: Engine, username: str = "hj212") -> hj212.Platform:
    """What the listener needs, on the database: each upload stored in its own transaction, passwords checked
    and events kept, each in a worker thread."""

    def store(message: hj212.Message) -> None:
        with transaction(engine) as session:
            ingest_hj212(session=session, message=message, username=username)

    def access(mn: str, password: str) -> hj212.Access:
        with transaction(engine) as session:
            return logger_access(session=session, mn=mn, password=password)

    def record(event: hj212.ListenerEvent) -> None:
        with transaction(engine) as session:
            record_logger_event(session=session, event=event)

    async def store_async(message: hj212.Message) -> None:
        await asyncio.to_thread(store, message)

    async def access_async(mn: str, password: str) -> hj212.Access:
        return await asyncio.to_thread(access, mn, password)

    async def record_async(event: hj212.ListenerEvent) -> None:
        await asyncio.to_thread(record, event)

    return hj212.Platform(store=store_async, authenticate=access_async, record=record_async)
