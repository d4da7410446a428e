"""Quota logic: the real national and group history, plans issued in batches, allocations down the ownership tree
(group -> enterprise -> facility) with dated changes, balances of use against quota, infractions and the penalties
the regulations set for them."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from restrat.catalog import reference
from restrat.environment import service as environment
from restrat.errors import InputError, NotFound, Problem
from restrat.quota import models, optimiser
from restrat.quota.amounts import changes_of, in_force
from restrat.store.bulk import insert_rows

_COLUMNS = ("year", "kind", "ore_type", "batch", "tonnes_reo", "status", "source", "note")
KINDS = ("mining", "smelting_separation")
ORE_TYPES = {"mining": ("rock", "ionic", "total"), "smelting_separation": ("total",)}
STAGE_OF_KIND = {"mining": "mining", "smelting_separation": "separation"}
LEVELS = ("group", "enterprise", "facility")
ALLOCATION_FIELDS = ("code", "year", "kind", "ore_type", "batch", "level", "holder", "tonnes_reo", "parent",
                     "data_status", "source")
DATA = Path(str(resources.files("restrat.quota") / "data"))


def national_history(*, session: Session, limit: int | None = None) -> list[dict[str, Any]]:
    """National quota rows by year, kind (mining before separation), ore type and batch; each with its status."""
    kind_order = {"mining": 0, "smelting_separation": 1}
    ore_order = {"total": 0, "rock": 1, "ionic": 2}
    rows = [{c: getattr(q, c) for c in _COLUMNS} for q in session.scalars(select(models.NationalQuota))]
    rows.sort(key=lambda r: (r["year"], kind_order.get(r["kind"], 9), r["batch"] != "all", r["batch"],
                             ore_order.get(r["ore_type"], 9)))
    return rows[:limit] if limit else rows


def group_history(*, session: Session, kind: str | None = None) -> pd.DataFrame:
    """Published allocations to enterprise groups (real, with source and status), by year and batch."""
    stmt = select(models.GroupQuota.year, models.GroupQuota.batch, models.GroupQuota.group_id,
                  models.GroupQuota.group_name_en,
                  models.GroupQuota.kind, models.GroupQuota.ore_type, models.GroupQuota.tonnes_reo,
                  models.GroupQuota.share_pct, models.GroupQuota.status, models.GroupQuota.source,
                  models.GroupQuota.note).order_by(models.GroupQuota.year, models.GroupQuota.batch)
    if kind:
        stmt = stmt.where(models.GroupQuota.kind == kind)
    return pd.DataFrame(session.execute(stmt).mappings().all(),
                        columns=["year", "batch", "group_id", "group_name_en", "kind", "ore_type", "tonnes_reo",
                                 "share_pct", "status", "source", "note"])


def annual_national(*, session: Session) -> pd.DataFrame:
    """Full-year national quotas (batch 'all') by year, kind and ore type, with status."""
    rows = pd.DataFrame(national_history(session=session), columns=list(_COLUMNS))
    return rows[rows["batch"] == "all"].reset_index(drop=True)


# ---- plans --------------------------------------------------------------------------------------------------------


def _number(value: Any, field: str, row: int | None = None) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(Problem(row=row, field=field, rule="must be a number of tonnes REO", value=value)) from None
    if not np.isfinite(x):
        raise InputError(Problem(row=row, field=field, rule="must be a finite number of tonnes REO", value=value))
    if x < 0:
        raise InputError(Problem(row=row, field=field, rule="must be zero or more (t REO)", value=value))
    return x


def _kind_ore(kind: str, ore_type: str) -> list[Problem]:
    if kind not in KINDS:
        return [Problem(field="kind", rule=f"must be one of {list(KINDS)}", value=kind)]
    if ore_type not in ORE_TYPES[kind]:
        return [Problem(field="ore_type", rule=f"a {kind} quota has ore type {list(ORE_TYPES[kind])}", value=ore_type)]
    return []


def issue_plan(*, session: Session, year: int, kind: str, ore_type: str, batch: str, tonnes_reo: Any,
               issued_on: dt.date, username: str, data_status: str = "issued", source: str = "") -> models.QuotaPlan:
    """Issue a national quota for a year, kind, ore type and batch; its amount later changes only by dated change."""
    problems = _kind_ore(kind, ore_type)
    if problems:
        raise InputError(problems)
    amount = _number(tonnes_reo, "tonnes_reo")
    if not 1990 <= int(year) <= 2100:
        raise InputError(Problem(field="year", rule="must be a year from 1990 to 2100", value=year))
    existing = session.scalar(select(models.QuotaPlan.id).where(
        models.QuotaPlan.year == year, models.QuotaPlan.kind == kind, models.QuotaPlan.ore_type == ore_type,
        models.QuotaPlan.batch == batch))
    if existing is not None:
        raise InputError(Problem(field="batch", rule="this plan is already issued; record a change instead",
                                 value=f"{year} {kind} {ore_type} batch {batch}"))
    plan = models.QuotaPlan(year=int(year), kind=kind, ore_type=ore_type, batch=str(batch), tonnes_reo=amount,
                            issued_on=issued_on, data_status=data_status, source=source, username=username)
    session.add(plan)
    session.flush()
    return plan


def plans(*, session: Session, year: int | None = None, on: dt.date | None = None) -> pd.DataFrame:
    """Issued plans with the amount in force on a date (default today) and the number of changes."""
    stmt = select(models.QuotaPlan.id, models.QuotaPlan.year, models.QuotaPlan.kind, models.QuotaPlan.ore_type,
                  models.QuotaPlan.batch, models.QuotaPlan.tonnes_reo, models.QuotaPlan.issued_on,
                  models.QuotaPlan.data_status, models.QuotaPlan.source).order_by(
        models.QuotaPlan.year, models.QuotaPlan.kind, models.QuotaPlan.batch, models.QuotaPlan.ore_type)
    if year is not None:
        stmt = stmt.where(models.QuotaPlan.year == year)
    df = pd.DataFrame(session.execute(stmt).mappings().all(),
                      columns=["id", "year", "kind", "ore_type", "batch", "tonnes_reo", "issued_on", "data_status",
                               "source"])
    ch = changes_of(session=session, target="plan", ids=df["id"].astype(int).tolist())
    df["in_force_t_reo"] = in_force(df.assign(on=on or dt.date.today()), ch)
    df["changes"] = df["id"].map(ch.groupby("target_id").size()).fillna(0).astype(int)
    return df.rename(columns={"tonnes_reo": "issued_t_reo"})


# ---- allocations --------------------------------------------------------------------------------------------------


def _holders(session: Session) -> dict[str, pd.DataFrame]:
    """Groups, enterprises and facilities by code, with what the allocation rules need to know of them."""
    fac = pd.DataFrame(session.execute(text(
        "SELECT code, id, stage, ore_type, operating_status, end_date, enterprise_id FROM facility")).all(),
        columns=["code", "id", "stage", "ore_type", "operating_status", "end_date", "enterprise_id"])
    ent = pd.DataFrame(session.execute(text("SELECT code, id FROM enterprise")).all(), columns=["code", "id"])
    grp = pd.DataFrame(session.execute(text("SELECT code, id FROM enterprise_group")).all(), columns=["code", "id"])
    return {"facility": fac.set_index("code"), "enterprise": ent.set_index("code"), "group": grp.set_index("code")}


def _allocations_frame(session: Session, *, year: int | None = None) -> pd.DataFrame:
    sql = ("SELECT a.id, a.code, a.year, a.kind, a.ore_type, a.batch, a.group_id, a.enterprise_id, a.facility_id, "
           "a.tonnes_reo, a.parent_id, a.data_status, a.source FROM quota_allocation a")
    params: dict[str, Any] = {}
    if year is not None:
        sql += " WHERE a.year = :y"
        params["y"] = year
    return pd.DataFrame(session.execute(text(sql), params).all(),
                        columns=["id", "code", "year", "kind", "ore_type", "batch", "group_id", "enterprise_id",
                                 "facility_id", "tonnes_reo", "parent_id", "data_status", "source"])


def _problems(df: pd.DataFrame, mask: np.ndarray | pd.Series, field: str, rule: str) -> list[Problem]:
    bad = df[np.asarray(mask, dtype=bool)]
    return [Problem(row=int(r), field=field, rule=rule, value=v) for r, v in zip(bad["_row"], bad[field], strict=True)]


def _check_rows(df: pd.DataFrame, holders: dict[str, pd.DataFrame]) -> list[Problem]:
    """Rules each row obeys on its own: fields present and well-formed, the holder exists and may hold this quota."""
    p: list[Problem] = []
    for f in ("code", "kind", "ore_type", "level", "holder"):
        p += _problems(df, df[f].str.strip() == "", f, "is required")
    p += _problems(df, ~df["kind"].isin(KINDS) & (df["kind"] != ""), "kind", f"must be one of {list(KINDS)}")
    ore_ok = np.array([o in ORE_TYPES.get(k, (o,)) for k, o in zip(df["kind"], df["ore_type"], strict=True)])
    p += _problems(df, ~ore_ok, "ore_type", "mining quota ore type is rock, ionic or total; separation is total")
    p += _problems(df, df["year_n"].isna(), "year", "must be a year (integer)")
    p += _problems(df, df["tonnes_n"].isna(), "tonnes_reo", "must be a number of tonnes REO")
    p += _problems(df, df["tonnes_n"] < 0, "tonnes_reo", "must be zero or more (t REO)")
    p += _problems(df, ~df["level"].isin(LEVELS), "level", f"must be one of {list(LEVELS)}")
    p += _problems(df, df["code"].duplicated(keep=False), "code", "appears more than once in the file")
    for level in LEVELS:
        rows = df["level"] == level
        p += _problems(df, rows & ~df["holder"].isin(holders[level].index), "holder", f"no {level} with this code")
    fac = holders["facility"].reindex(df["holder"].where(df["level"] == "facility"))
    at_fac = (df["level"] == "facility").to_numpy() & fac["id"].notna().to_numpy()
    want_stage = df["kind"].map(STAGE_OF_KIND).to_numpy(dtype=object)
    p += _problems(df, at_fac & (fac["stage"].to_numpy(dtype=object) != want_stage), "holder",
                   "facility's stage does not take this kind of quota (mining quota: mines; separation quota: "
                   "separation plants)")
    year_start = pd.to_datetime(df["year_n"].fillna(1900).astype(int).astype(str) + "-01-01").to_numpy()
    ended = pd.to_datetime(fac["end_date"]).to_numpy() < year_start
    closed = fac["operating_status"].isin(("closed", "suspended", "revoked")).to_numpy() | ended
    p += _problems(df, at_fac & closed, "holder", "facility is closed (operating status or end date before the "
                                                  "year): no quota")
    wrong_ore = (at_fac & (df["kind"] == "mining").to_numpy() & (df["ore_type"] != "total").to_numpy()
                 & (fac["ore_type"].to_numpy(dtype=object) != df["ore_type"].to_numpy(dtype=object)))
    p += _problems(df, wrong_ore, "ore_type", "does not match the mine's ore type")
    return p


def _in_force_today(session: Session, alloc: pd.DataFrame) -> np.ndarray:
    ch = changes_of(session=session, target="allocation", ids=alloc["id"].astype(int).tolist())
    return in_force(alloc.assign(on=dt.date.today()), ch)


def _check_totals(session: Session, df: pd.DataFrame, existing: pd.DataFrame) -> list[Problem]:
    """Totals: children within their parent; allocations without a parent within the national plan."""
    p: list[Problem] = []
    exist = existing.assign(amount=_in_force_today(session, existing), _row=None)
    new = df.assign(amount=df["tonnes_n"], year=df["year_n"].astype(int))
    allrows = pd.concat([exist[["code", "year", "kind", "ore_type", "batch", "amount", "_row", "parent"]],
                         new[["code", "year", "kind", "ore_type", "batch", "amount", "_row", "parent"]]],
                        ignore_index=True)
    known = allrows.set_index("code")
    has_parent = new["parent"] != ""
    p += _problems(new, has_parent & ~new["parent"].isin(known.index), "parent", "no allocation with this code")
    par = known.reindex(new["parent"].where(has_parent))
    p += _problems(new, has_parent.to_numpy() & par["year"].notna().to_numpy()
                   & ((par["year"].to_numpy() != new["year"].to_numpy())
                      | (par["kind"].to_numpy(dtype=object) != new["kind"].to_numpy(dtype=object))),
                   "parent", "parent allocation is for another year or kind")
    kids = allrows[allrows["parent"] != ""]
    over = kids.groupby("parent")["amount"].sum() - known["amount"].reindex(
        kids["parent"].unique()).groupby(level=0).first()
    for parent in over[over > 1e-9].index:
        rows = new[(new["parent"] == parent)]
        p += [Problem(row=int(r), field="tonnes_reo", rule=f"allocations under {parent} exceed it by "
                                                           f"{over[parent]:,.1f} t REO", value=t)
              for r, t in zip(rows["_row"], rows["tonnes_n"], strict=True)]
    top = allrows[allrows["parent"] == ""]
    plan = plans(session=session)
    for (year, kind, batch), part in top.groupby(["year", "kind", "batch"]):
        if part["_row"].isna().all():
            continue
        mine = new[(new["year"] == year) & (new["kind"] == kind) & (new["batch"] == batch) & ~has_parent]
        pl = plan[(plan["year"] == year) & (plan["kind"] == kind) & (plan["batch"] == batch)]
        if pl.empty:
            p += [Problem(row=int(r), field="batch", rule=f"no plan issued for {year} {kind} batch {batch}; "
                                                          "issue the plan first", value=batch) for r in mine["_row"]]
            continue
        by_ore = pl.set_index("ore_type")["in_force_t_reo"]
        checks = [("total", part["amount"].sum())] if "total" in by_ore.index else []
        checks += [(o, part.loc[part["ore_type"] == o, "amount"].sum()) for o in by_ore.index if o != "total"]
        for ore, amount in checks:
            if amount > by_ore[ore] + 1e-9:
                rows = mine if ore == "total" else mine[mine["ore_type"] == ore]
                p += [Problem(row=int(r), field="tonnes_reo",
                              rule=f"allocations of {year} {kind} batch {batch} ({ore}) total {amount:,.1f} t REO, "
                                   f"beyond the plan's {by_ore[ore]:,.1f} t", value=t)
                      for r, t in zip(rows["_row"], rows["tonnes_n"], strict=True)]
    return p


def import_allocations(*, session: Session, rows: list[dict[str, Any]] | pd.DataFrame, username: str,
                       source_name: str = "import") -> dict[str, int]:
    """Validate allocation rows set-wise and insert the new ones in the caller's transaction; rows already
    recorded with the same content are skipped; any problem writes nothing."""
    df = (rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)).astype(object)
    unknown = [c for c in df.columns if c not in ALLOCATION_FIELDS]
    if unknown:
        raise InputError([Problem(field=c, rule=f"unknown column; expected some of {list(ALLOCATION_FIELDS)}")
                          for c in unknown], source=source_name)
    for c in ALLOCATION_FIELDS:
        df[c] = df[c].where(df[c].notna(), "").astype(str).str.strip() if c in df.columns else ""
    df["batch"] = df["batch"].replace("", "all")
    df.insert(0, "_row", range(1, len(df) + 1))
    df["year_n"] = pd.to_numeric(df["year"], errors="coerce")
    df.loc[df["year_n"] % 1 != 0, "year_n"] = np.nan
    df["tonnes_n"] = pd.to_numeric(df["tonnes_reo"], errors="coerce")
    df.loc[~np.isfinite(df["tonnes_n"].fillna(np.nan)), "tonnes_n"] = np.nan
    holders = _holders(session)
    problems = _check_rows(df, holders)
    if problems:
        raise InputError(problems, source=source_name)
    existing = _allocations_frame(session)
    codes = existing.set_index("id")["code"]
    existing["parent"] = existing["parent_id"].map(codes).fillna("")
    old = existing.set_index("code")
    seen = df[df["code"].isin(old.index)]
    if len(seen):
        o = old.loc[seen["code"]]
        same = ((o["year"].to_numpy() == seen["year_n"].to_numpy()) & (o["kind"].to_numpy() == seen["kind"].to_numpy())
                & (o["ore_type"].to_numpy() == seen["ore_type"].to_numpy())
                & (o["batch"].to_numpy() == seen["batch"].to_numpy())
                & np.isclose(o["tonnes_reo"].to_numpy(dtype=float), seen["tonnes_n"].to_numpy(dtype=float)))
        if not same.all():
            raise InputError([Problem(row=int(r), field="code", rule="already recorded with other content; record a "
                                                                     "dated change instead", value=c)
                              for r, c in zip(seen["_row"][~same], seen["code"][~same], strict=True)],
                             source=source_name)
    new = df[~df["code"].isin(old.index)].reset_index(drop=True)
    problems = _check_totals(session, new, existing)
    if problems:
        raise InputError(problems, source=source_name)
    ids = {lvl: new["holder"].where(new["level"] == lvl).map(holders[lvl]["id"]) for lvl in LEVELS}
    fac_ent = new["holder"].where(new["level"] == "facility").map(holders["facility"]["enterprise_id"])
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    # Parents first, so a child's parent_id resolves within the same import.
    depth = new["level"].map({"group": 0, "enterprise": 1, "facility": 2})
    for d in (0, 1, 2):
        part = new[depth == d]
        if part.empty:
            continue
        codes_now = dict(session.execute(text("SELECT code, id FROM quota_allocation")).all())
        insert_rows(session, models.QuotaAllocation.__table__, [
            {"code": r.code, "year": int(r.year_n), "kind": r.kind, "ore_type": r.ore_type, "batch": r.batch,
             "group_id": _int(ids["group"][i]), "enterprise_id": _int(ids["enterprise"][i]) or _int(fac_ent[i]),
             "facility_id": _int(ids["facility"][i]), "tonnes_reo": float(r.tonnes_n),
             "parent_id": codes_now.get(r.parent) if r.parent else None,
             "data_status": r.data_status or "issued", "source": r.source or source_name, "recorded_at": now,
             "username": username} for i, r in part.iterrows()])
    return {"allocations_new": len(new), "allocations_skipped": len(df) - len(new)}


def _int(value: Any) -> int | None:
    return None if value is None or value != value else int(value)


def record_change(*, session: Session, target: str, key: str, tonnes_reo: Any, effective_on: dt.date, reason: str,
                  username: str) -> models.QuotaChange:
    """Record that from effective_on a plan (key 'YEAR/KIND/ORE/BATCH') or an allocation (its code) amounts to
    tonnes_reo; an allocation may not rise above what its parent or plan leaves for it."""
    amount = _number(tonnes_reo, "tonnes_reo")
    if not reason.strip():
        raise InputError(Problem(field="reason", rule="is required: say why the quota changes"))
    if target == "plan":
        try:
            year, kind, ore, batch = key.split("/")
        except ValueError:
            raise InputError(Problem(field="key", rule="a plan key is YEAR/KIND/ORE_TYPE/BATCH", value=key)) from None
        target_id = session.scalar(select(models.QuotaPlan.id).where(
            models.QuotaPlan.year == int(year), models.QuotaPlan.kind == kind, models.QuotaPlan.ore_type == ore,
            models.QuotaPlan.batch == batch))
    elif target == "allocation":
        target_id = session.scalar(select(models.QuotaAllocation.id).where(models.QuotaAllocation.code == key))
    else:
        raise InputError(Problem(field="target", rule="must be 'plan' or 'allocation'", value=target))
    if target_id is None:
        raise NotFound(target, key)
    if target == "allocation":
        _check_change(session, int(target_id), amount)
    else:
        _check_plan_change(session, int(target_id), amount)
    change = models.QuotaChange(target=target, target_id=int(target_id), effective_on=effective_on,
                                tonnes_reo=amount, reason=reason, username=username)
    session.add(change)
    session.flush()
    return change


def _check_change(session: Session, alloc_id: int, amount: float) -> None:
    """An allocation's new amount stays within its parent (with its siblings) and covers its children."""
    alloc = _allocations_frame(session)
    alloc["amount"] = _in_force_today(session, alloc)
    me = alloc.set_index("id").loc[alloc_id]
    kids = alloc.loc[alloc["parent_id"] == alloc_id, "amount"].sum()
    if kids > amount + 1e-9:
        raise InputError(Problem(field="tonnes_reo", rule=f"below the {kids:,.1f} t REO already allocated under "
                                                          f"{me['code']}", value=amount))
    if me["parent_id"] == me["parent_id"] and me["parent_id"] is not None:
        parent = alloc.set_index("id").loc[int(me["parent_id"])]
        siblings = alloc.loc[(alloc["parent_id"] == me["parent_id"]) & (alloc["id"] != alloc_id), "amount"].sum()
        if siblings + amount > parent["amount"] + 1e-9:
            raise InputError(Problem(field="tonnes_reo", rule=f"with its siblings it would exceed {parent['code']} "
                                                              f"({parent['amount']:,.1f} t REO)", value=amount))
        return
    plan = plans(session=session, year=int(me["year"]))
    pl = plan[(plan["kind"] == me["kind"]) & (plan["batch"] == me["batch"])].set_index("ore_type")["in_force_t_reo"]
    top = alloc[(alloc["year"] == me["year"]) & (alloc["kind"] == me["kind"]) & (alloc["batch"] == me["batch"])
                & alloc["parent_id"].isna() & (alloc["id"] != alloc_id)]
    for ore in pl.index:
        same = top if ore == "total" else top[top["ore_type"] == ore]
        if ore in ("total", me["ore_type"]) and same["amount"].sum() + amount > pl[ore] + 1e-9:
            raise InputError(Problem(field="tonnes_reo", rule=f"allocations would exceed the {int(me['year'])} "
                                                              f"{me['kind']} plan ({ore}: {pl[ore]:,.1f} t REO)",
                                     value=amount))


def _check_plan_change(session: Session, plan_id: int, amount: float) -> None:
    """A plan may not fall below the allocations already made under it (top-level ones of its year, kind, batch
    and ore type; all ore types for a 'total' plan)."""
    plan = session.get(models.QuotaPlan, plan_id)
    assert plan is not None
    alloc = _allocations_frame(session, year=plan.year)
    top = alloc[(alloc["kind"] == plan.kind) & (alloc["batch"] == plan.batch) & alloc["parent_id"].isna()
                & ((alloc["ore_type"] == plan.ore_type) | (plan.ore_type == "total"))]
    used = float(_in_force_today(session, top).sum()) if len(top) else 0.0
    if used > amount + 1e-9:
        raise InputError(Problem(field="tonnes_reo", rule=f"below the {used:,.1f} t REO already allocated under "
                                                          f"this plan", value=amount))


def allocations(*, session: Session, year: int | None = None, kind: str | None = None, level: str | None = None,
                on: dt.date | None = None, enterprise_id: int | None = None) -> pd.DataFrame:
    """Allocations with holder, group and the amount in force on a date (default today)."""
    df = pd.DataFrame(session.execute(text(
        "SELECT a.id, a.code, a.year, a.kind, a.ore_type, a.batch, g.code, e.code, f.code, a.tonnes_reo, p.code, "
        "a.data_status, a.source, e.id FROM quota_allocation a "
        "LEFT JOIN enterprise_group g ON g.id = a.group_id LEFT JOIN facility f ON f.id = a.facility_id "
        "LEFT JOIN enterprise e ON e.id = COALESCE(a.enterprise_id, f.enterprise_id) "
        "LEFT JOIN quota_allocation p ON p.id = a.parent_id "
        "ORDER BY a.year, a.kind, a.code")).all(),
        columns=["id", "code", "year", "kind", "ore_type", "batch", "group", "enterprise", "facility",
                 "issued_t_reo", "parent", "data_status", "source", "enterprise_id"])
    df["level"] = np.where(df["facility"].notna(), "facility", np.where(df["enterprise"].notna() & df["group"].isna(),
                                                                         "enterprise", "group"))
    keep = np.ones(len(df), dtype=bool)
    if year is not None:
        keep &= (df["year"] == year).to_numpy()
    if kind:
        keep &= (df["kind"] == kind).to_numpy()
    if level:
        keep &= (df["level"] == level).to_numpy()
    if enterprise_id is not None:
        keep &= (df["enterprise_id"] == enterprise_id).to_numpy()
    df = df[keep].reset_index(drop=True)
    df["in_force_t_reo"] = in_force(df.rename(columns={"issued_t_reo": "tonnes_reo"}).assign(
        on=on or dt.date.today()), changes_of(session=session, target="allocation", ids=df["id"].astype(int).tolist()))
    return df.drop(columns=["enterprise_id"])


def allocations_by_group(*, session: Session, kind: str, enterprise_id: int | None = None) -> pd.DataFrame:
    """Facility allocations recorded on the platform, in force today, summed per year and the group (its English
    name) the facility's enterprise belonged to on 1 January of that year ('(no group)' where none)."""
    df = allocations(session=session, kind=kind, level="facility", enterprise_id=enterprise_id)
    members = pd.DataFrame(session.execute(text(
        "SELECT e.code, g.name_en, m.valid_from, m.valid_to FROM group_membership m "
        "JOIN enterprise e ON e.id = m.enterprise_id JOIN enterprise_group g ON g.id = m.group_id")).all(),
        columns=["enterprise", "group_name_en", "valid_from", "valid_to"])
    m = df[["id", "enterprise", "year"]].merge(members, on="enterprise")
    jan1 = pd.to_datetime(m["year"].astype(str) + "-01-01")
    m = m[(pd.to_datetime(m["valid_from"]) <= jan1)
          & (m["valid_to"].isna() | (pd.to_datetime(m["valid_to"]) >= jan1))].drop_duplicates("id")
    df["group_name_en"] = df["id"].map(m.set_index("id")["group_name_en"]).fillna("(no group)")
    return df.groupby(["year", "group_name_en", "data_status"], as_index=False)["in_force_t_reo"].sum()


# ---- balances and infractions ---------------------------------------------------------------------------------------


def balances(*, session: Session, year: int | None = None, enterprise_id: int | None = None,
             facility: str | None = None) -> pd.DataFrame:
    """Quota against use per facility, year and kind: quota in force at the year's end (or today, if earlier),
    used, remaining and the share used; an enterprise sees only its own facilities."""
    alloc = allocations(session=session, year=year, level="facility")
    q = alloc.groupby(["facility", "year", "kind"], as_index=False)["in_force_t_reo"].sum()
    used = pd.DataFrame(session.execute(text(
        "SELECT f.code, u.year, u.kind, u.used_g, u.events, f.enterprise_id, f.name, f.data_status "
        "FROM quota_usage u JOIN facility f ON f.id = u.facility_id")).all(),
        columns=["facility", "year", "kind", "used_g", "events", "enterprise_id", "name", "data_status"])
    facs = pd.DataFrame(session.execute(text("SELECT code, enterprise_id, name, data_status FROM facility")).all(),
                        columns=["facility", "enterprise_id", "name", "data_status"])
    df = q.merge(used.drop(columns=["enterprise_id", "name", "data_status"]), on=["facility", "year", "kind"],
                 how="outer").merge(facs, on="facility", how="left")
    if year is not None:
        df = df[df["year"] == year]
    if enterprise_id is not None:
        df = df[df["enterprise_id"] == enterprise_id]
    if facility:
        df = df[df["facility"] == facility]
    df = df.rename(columns={"in_force_t_reo": "quota_t_reo"})
    df["used_t_reo"] = df["used_g"].fillna(0).astype(float) / 1e6
    df["events"] = df["events"].fillna(0).astype(int)
    df["remaining_t_reo"] = df["quota_t_reo"] - df["used_t_reo"]
    df["used_pct"] = 100 * df["used_t_reo"] / df["quota_t_reo"].where(df["quota_t_reo"] > 0)
    df["status"] = np.select([df["quota_t_reo"].isna(), df["used_t_reo"] > df["quota_t_reo"],
                              df["used_pct"] >= 90], ["no quota", "over quota", "near limit"], "within quota")
    cols = ["facility", "name", "year", "kind", "quota_t_reo", "used_t_reo", "remaining_t_reo", "used_pct", "events",
            "status", "data_status"]
    return df.sort_values(["year", "kind", "facility"])[cols].reset_index(drop=True)


@cache
def penalty_rules() -> pd.DataFrame:
    """Which penalty provisions apply to which infraction, with their dates (quota/data/penalty_rules.csv), joined
    to the fine ranges of the shipped cn_penalties.csv with their source."""
    rules = pd.read_csv(DATA / "penalty_rules.csv", dtype=str, keep_default_na=False)
    pen = reference.read("cn_penalties.csv")
    m = rules.merge(pen[["law", "article", "fine_rule", "other_sanctions", "status", "source"]],
                    on=["law", "article"], how="left")
    if m["source"].isna().any():
        raise ValueError("penalty_rules.csv names a provision missing from cn_penalties.csv")
    return m


def rules_on(day: dt.date) -> pd.DataFrame:
    """The penalty provisions in force on a day (effective_from <= day, and no end or end >= day)."""
    r = penalty_rules()
    d = day.isoformat()
    return r[(r["effective_from"] <= d) & ((r["effective_to"] == "") | (r["effective_to"] >= d))]


def infractions(*, session: Session, year: int | None = None, enterprise_id: int | None = None) -> list[dict[str, Any]]:
    """Over-quota and no-quota production flagged by consumption, each with its crossing event, the excess now,
    the penalty range in force on the event's date and the next-year reduction rule."""
    rows = session.execute(text(
        "SELECT i.id, i.infraction, f.code, f.name, f.enterprise_id, i.year, i.kind, i.event_id, e.uid, e.at_epoch_s, "
        "i.limit_kg, i.used_kg, u.used_g, i.detected_at, f.data_status FROM quota_infraction i "
        "JOIN facility f ON f.id = i.facility_id LEFT JOIN ledger_event e ON e.id = i.event_id "
        "LEFT JOIN quota_usage u ON u.facility_id = i.facility_id AND u.year = i.year AND u.kind = i.kind "
        "WHERE (CAST(:y AS INTEGER) IS NULL OR i.year = :y) AND (CAST(:e AS INTEGER) IS NULL OR f.enterprise_id = :e) "
        "ORDER BY i.year, i.kind, f.code"), {"y": year, "e": enterprise_id}).all()
    out = []
    for r in rows:
        when = dt.datetime.fromtimestamp(r[9], dt.UTC) if r[9] is not None else None
        rules = rules_on(when.date() if when else dt.date(int(r[5]), 12, 31))
        mine = rules[rules["infraction"] == r[1]]
        fine = mine[mine["consequence"] == "fine"]
        cut = mine[mine["consequence"] == "next_year_reduction"]
        used_t = (r[12] or 0) / 1e6
        out.append({
            "id": r[0], "infraction": r[1], "facility": r[2], "name": r[3], "year": r[5], "kind": r[6],
            "event": r[8], "event_time": when.isoformat() if when else None, "quota_t_reo": r[10] / 1000,
            "used_at_flag_t_reo": r[11] / 1000, "used_now_t_reo": used_t, "excess_t_reo": used_t - r[10] / 1000,
            "detected_at": r[13], "data_status": r[14],
            "penalty": "; ".join(f"{x.law} Art. {x.article}: {x.fine_rule} (RMB); {x.other_sanctions}"
                                 for x in fine.itertuples()) or "no penalty provision in the reference data for "
                                                                 "that date",
            "penalty_source": "; ".join(fine["source"]),
            "next_year": "; ".join(f"{x.law}: next year's total-quantity-control indicator reduced (the Measures do "
                                   "not fix the amount)" for x in cut.itertuples()) or "no reduction rule in force "
                                                                                       "on that date",
            "next_year_source": "; ".join(cut["source"]),
        })
    return out



# ---- allocation optimiser -------------------------------------------------------------------------------------------


def optimiser_inputs(*, session: Session, year: int, kind: str) -> tuple[pd.DataFrame, list[str]]:
    """Facilities eligible for a year's quota of a kind (Chinese, of the right stage, operating that year) with
    capacity, last year's quota, last year's infraction, group and score criteria; and notes on who was left out."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    fac = pd.DataFrame(session.execute(text(
        "SELECT f.id, f.code, f.ore_type, f.capacity_t_reo_per_year, f.technology_level, f.operating_status, "
        "f.start_date, f.end_date, f.enterprise_id, f.data_status FROM facility f "
        "WHERE f.stage = :s AND f.country = 'China'"), {"s": STAGE_OF_KIND[kind]}).all(),
        columns=["id", "code", "ore_type", "capacity_t", "technology_level", "operating_status", "start_date",
                 "end_date", "enterprise_id", "data_status"])
    notes = []
    started = pd.to_datetime(fac["start_date"]).fillna(pd.Timestamp(start)) <= pd.Timestamp(end)
    open_ = pd.to_datetime(fac["end_date"]).fillna(pd.Timestamp(end)) >= pd.Timestamp(start)
    active = (fac["operating_status"] == "active") & started & open_
    if (~active).any():
        notes.append(f"{int((~active).sum())} facilities not operating in {year} (status or dates) are left out")
    no_cap = active & ~(fac["capacity_t"].astype(float) > 0)
    if no_cap.any():
        notes.append(f"{int(no_cap.sum())} facilities without a capacity in the registry are left out")
    fac = fac[active & ~no_cap].reset_index(drop=True)
    groups = dict(session.execute(text(
        "SELECT m.enterprise_id, g.code FROM group_membership m JOIN enterprise_group g ON g.id = m.group_id "
        "WHERE m.valid_from <= :d AND (m.valid_to IS NULL OR m.valid_to >= :d) ORDER BY m.share_pct"),
        {"d": start}).all())
    fac["group"] = fac["enterprise_id"].map(groups)
    last = allocations(session=session, year=year - 1, kind=kind, level="facility", on=dt.date(year - 1, 12, 31))
    fac["last_t"] = fac["code"].map(last.groupby("facility")["in_force_t_reo"].sum()).fillna(0.0)
    penalised = {r[0] for r in session.execute(text(
        "SELECT DISTINCT f.code FROM quota_infraction i JOIN facility f ON f.id = i.facility_id "
        "WHERE i.year = :y AND i.kind = :k"), {"y": year - 1, "k": kind}).all()}
    fac["penalised"] = fac["code"].isin(penalised)
    fac["technology_level"] = fac["technology_level"].astype(float) / 5.0
    fac["recovery_rate"] = fac["id"].map(_recovery(session, year - 1))
    env = environment.environment_scores(session=session, year=year - 1)
    fac["environmental_compliance"] = fac["id"].map(env.set_index("facility_id")["score"] / 100.0)
    notes.append(f"environmental compliance: {int(fac['environmental_compliance'].notna().sum())} facilities scored by "
                 f"the environment module for {year - 1} (compliance rate less escalation penalties)")
    return fac, notes


def _recovery(session: Session, year: int) -> pd.Series:
    """REO out / REO in of each facility's processing events in a year, from the ledger."""
    lo = int(dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp())
    hi = int(dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC).timestamp())
    p = {"a": lo, "b": hi}
    out = pd.Series(dict(session.execute(text(
        "SELECT e.facility_id, SUM(b.reo_kg) FROM ledger_event e JOIN ledger_batch b ON b.event_id = e.id "
        "WHERE e.kind = 'processing' AND e.at_epoch_s >= :a AND e.at_epoch_s < :b GROUP BY e.facility_id"), p).all()),
        dtype=float)
    inp = pd.Series(dict(session.execute(text(
        "SELECT e.facility_id, SUM(i.kg * b.reo_kg / b.gross_kg) FROM ledger_event e "
        "JOIN ledger_input i ON i.event_id = e.id JOIN ledger_batch b ON b.id = i.batch_id "
        "WHERE e.kind = 'processing' AND e.at_epoch_s >= :a AND e.at_epoch_s < :b AND b.gross_kg > 0 "
        "GROUP BY e.facility_id"), p).all()), dtype=float)
    return (out / inp.where(inp > 0)).dropna()


def ore_targets(*, session: Session, year: int, kind: str, total: float, ionic_share: float | None
                ) -> tuple[dict[str, float], str]:
    """The total split by ore type, and where the split comes from: the given share, the year's plan, or the latest
    year of the national history with both figures published (never recalled rows)."""
    if kind != "mining":
        return {"total": total}, "separation quotas are not split by ore type"
    if ionic_share is not None:
        return {"rock": total * (1 - ionic_share), "ionic": total * ionic_share}, \
            f"ionic share {ionic_share:.2%} as given"
    pl = plans(session=session, year=year)
    pl = pl[pl["kind"] == "mining"].groupby("ore_type")["in_force_t_reo"].sum()
    if pl.get("rock", 0) + pl.get("ionic", 0) > 0:
        share = pl.get("ionic", 0) / (pl.get("rock", 0) + pl.get("ionic", 0))
        return {"rock": total * (1 - share), "ionic": total * share}, f"ionic share {share:.2%} from the {year} plan"
    hist = annual_national(session=session)
    hist = hist[(hist["kind"] == "mining") & hist["status"].isin(("seen", "derived")) & hist["tonnes_reo"].notna()]
    wide = hist.pivot_table(index="year", columns="ore_type", values="tonnes_reo", aggfunc="sum")
    wide = wide.dropna(subset=[c for c in ("rock", "ionic") if c in wide.columns]) if {"rock", "ionic"} <= set(
        wide.columns) else wide.iloc[0:0]
    wide = wide[wide.index < year]
    if wide.empty:
        raise InputError(Problem(field="ionic_share", rule="no plan and no published national split to take the "
                                                           "ore-type split from; give --ionic-share"))
    y = int(wide.index.max())
    share = float(wide.loc[y, "ionic"] / (wide.loc[y, "rock"] + wide.loc[y, "ionic"]))
    return ({"rock": total * (1 - share), "ionic": total * share},
            f"ionic share {share:.2%} from the {y} national quota (cn_quota_national.csv, seen/derived rows)")


def allocate(*, session: Session, year: int, kind: str, total: Any, policy: optimiser.Policy,
             save: bool = False, batch: str = "all", username: str = "system") -> dict[str, Any]:
    """Allocate a national total among eligible facilities with the LP; optionally record the result as facility
    allocations (validated like any import: within the plan, nothing written on any problem)."""
    if kind not in KINDS:
        raise InputError(Problem(field="kind", rule=f"must be one of {list(KINDS)}", value=kind))
    amount = _number(total, "total")
    fac, notes = optimiser_inputs(session=session, year=year, kind=kind)
    targets, split = ore_targets(session=session, year=year, kind=kind, total=amount, ionic_share=policy.ionic_share)
    result = optimiser.solve(facilities=fac, targets=targets, policy=policy)
    f = result.facilities
    f["change_pct"] = np.where(f["last_t"] > 0, 100 * (f["x"] / f["last_t"].where(f["last_t"] > 0) - 1), np.nan)
    _, neutral = optimiser.scores(fac, policy)
    groups = f.assign(group=f["group"].fillna("(no group)")).groupby("group", as_index=False).agg(
        facilities=("code", "size"), allocated_t_reo=("x", "sum"), last_year_t_reo=("last_t", "sum"))
    out = {
        "year": year, "kind": kind, "total_t_reo": amount, "targets_t_reo": targets, "split": split,
        "policy": {"source": policy.source, "weights": policy.weights, "neutral": policy.neutral,
                   "max_change": policy.max_change, "penalty_reduction": policy.penalty_reduction,
                   "min_group_share": policy.min_group_share},
        "objective": result.objective, "seconds": round(result.seconds, 4), "explanations": result.explanations,
        "notes": notes + [f"{n} facilities took the neutral value of {k}" for k, n in neutral.items() if n],
        "constraints": as_records(result.rows),
        "groups": as_records(groups.sort_values("allocated_t_reo", ascending=False)),
        "facilities": as_records(f[["code", "group", "ore_type", "capacity_t", "last_t", "penalised", "score", "lo",
                                    "hi", "x", "change_pct", "reduced_cost", "binding", "data_status"]]
        .rename(columns={"x": "allocated_t_reo", "capacity_t": "capacity_t_reo", "last_t": "last_year_t_reo"})
        .sort_values("allocated_t_reo", ascending=False)),
        "saved": 0,
    }
    if save:
        chosen = f[f["x"] > 1e-6]
        saved = import_allocations(session=session, username=username, source_name="optimiser", rows=pd.DataFrame({
            "code": [f"OPT-{year}-{'MIN' if kind == 'mining' else 'SEP'}-{batch}-{c}" for c in chosen["code"]],
            "year": year, "kind": kind, "ore_type": chosen["ore_type"] if kind == "mining" else "total",
            "batch": batch, "level": "facility", "holder": chosen["code"], "tonnes_reo": chosen["x"].round(3),
            "data_status": "optimised", "source": f"restrat quota allocate ({policy.source})"}))
        out["saved"] = saved["allocations_new"]
    return out


def as_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as dicts with None for missing values (JSON has no NaN)."""
    return df.astype(object).where(df.notna(), None).to_dict("records")
