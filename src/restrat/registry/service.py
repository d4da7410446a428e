"""Registry logic: enterprises, groups and ownership over time, facilities; validated, set-wise imports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from restrat.catalog import service as catalog
from restrat.errors import InputError, NotFound, Problem
from restrat.registry import models
from restrat.registry.validation import FACILITY_FIELDS, check_facilities
from restrat.store.bulk import insert_rows


def _date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def create_enterprise(*, session: Session, code: str, name: str, country: str, region: str = "",
                      data_status: str = "registered", source: str = "") -> models.Enterprise:
    """Register an enterprise; its code must be new."""
    problems = []
    if not code.strip():
        problems.append(Problem(field="code", rule="is required"))
    if not name.strip():
        problems.append(Problem(field="name", rule="is required"))
    if not country.strip():
        problems.append(Problem(field="country", rule="is required"))
    if problems:
        raise InputError(problems)
    if session.scalar(select(models.Enterprise.id).where(models.Enterprise.code == code)) is not None:
        raise InputError(Problem(field="code", rule="an enterprise with this code exists", value=code))
    ent = models.Enterprise(code=code, name=name, country=country, region=region, data_status=data_status,
                            source=source)
    session.add(ent)
    session.flush()
    return ent


def create_group(*, session: Session, code: str, name_en: str, name_zh: str = "", data_status: str = "registered",
                 source: str = "", note: str = "") -> models.EnterpriseGroup:
    """Register an enterprise group; its code must be new."""
    if session.scalar(select(models.EnterpriseGroup.id).where(models.EnterpriseGroup.code == code)) is not None:
        raise InputError(Problem(field="code", rule="a group with this code exists", value=code))
    group = models.EnterpriseGroup(code=code, name_en=name_en, name_zh=name_zh, data_status=data_status,
                                   source=source, note=note)
    session.add(group)
    session.flush()
    return group


def get_enterprise(*, session: Session, code: str) -> models.Enterprise:
    """One enterprise by its code."""
    ent = session.scalar(select(models.Enterprise).where(models.Enterprise.code == code))
    if ent is None:
        raise NotFound("enterprise", code)
    return ent


def get_group(*, session: Session, code: str) -> models.EnterpriseGroup:
    """One group by its code."""
    group = session.scalar(select(models.EnterpriseGroup).where(models.EnterpriseGroup.code == code))
    if group is None:
        raise NotFound("group", code)
    return group


def join_group(*, session: Session, enterprise: str, group: str, valid_from: dt.date,
               share_pct: float = 100.0, source: str = "") -> models.GroupMembership:
    """Record that an enterprise belongs to a group from valid_from, closing any membership it had that day."""
    if not 0 <= share_pct <= 100:
        raise InputError(Problem(field="share_pct", rule="must be from 0 to 100", value=share_pct))
    ent = get_enterprise(session=session, code=enterprise)
    grp = get_group(session=session, code=group)
    open_rows = session.scalars(select(models.GroupMembership).where(
        models.GroupMembership.enterprise_id == ent.id, models.GroupMembership.valid_to.is_(None),
        models.GroupMembership.valid_from < valid_from))
    for row in open_rows:
        row.valid_to = valid_from - dt.timedelta(days=1)
    link = models.GroupMembership(enterprise_id=ent.id, group_id=grp.id, valid_from=valid_from,
                                  share_pct=share_pct, source=source)
    session.add(link)
    session.flush()
    return link


def group_of(*, session: Session, enterprise: str, on: dt.date) -> models.EnterpriseGroup | None:
    """The group an enterprise belonged to on a date, or None."""
    ent = get_enterprise(session=session, code=enterprise)
    stmt = (select(models.EnterpriseGroup).join(models.GroupMembership)
            .where(models.GroupMembership.enterprise_id == ent.id, models.GroupMembership.valid_from <= on,
                   or_(models.GroupMembership.valid_to.is_(None), models.GroupMembership.valid_to >= on))
            .order_by(models.GroupMembership.share_pct.desc()))
    return session.scalars(stmt).first()


def list_enterprises(*, session: Session, q: str | None = None, limit: int = 1000) -> list[models.Enterprise]:
    """Enterprises by name, optionally filtered by a search string."""
    stmt = select(models.Enterprise).order_by(models.Enterprise.name).limit(limit)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(models.Enterprise.name.ilike(like), models.Enterprise.code.ilike(like),
                              models.Enterprise.country.ilike(like), models.Enterprise.region.ilike(like)))
    return list(session.scalars(stmt))


def list_groups(*, session: Session, on: dt.date | None = None) -> list[dict[str, Any]]:
    """Groups with their member count on a date (today by default)."""
    on = on or dt.date.today()
    active = and_(models.GroupMembership.group_id == models.EnterpriseGroup.id,
                  models.GroupMembership.valid_from <= on,
                  or_(models.GroupMembership.valid_to.is_(None), models.GroupMembership.valid_to >= on))
    stmt = (select(models.EnterpriseGroup, func.count(models.GroupMembership.id))
            .outerjoin(models.GroupMembership, active)
            .group_by(models.EnterpriseGroup.id).order_by(models.EnterpriseGroup.name_en))
    return [{"group": g, "members": n} for g, n in session.execute(stmt)]


def members(*, session: Session, group: str, on: dt.date | None = None) -> list[models.Enterprise]:
    """Enterprises that belonged to a group on a date (today by default)."""
    on = on or dt.date.today()
    grp = get_group(session=session, code=group)
    stmt = (select(models.Enterprise).join(models.GroupMembership)
            .where(models.GroupMembership.group_id == grp.id, models.GroupMembership.valid_from <= on,
                   or_(models.GroupMembership.valid_to.is_(None), models.GroupMembership.valid_to >= on))
            .order_by(models.Enterprise.name))
    return list(session.scalars(stmt))


def list_facilities(*, session: Session, q: str | None = None, stage: str | None = None,
                    country: str | None = None, ore_type: str | None = None, enterprise_id: int | None = None,
                    limit: int = 1000) -> list[models.Facility]:
    """Facilities filtered by search text, stage, country, ore type or enterprise."""
    stmt = select(models.Facility).join(models.Enterprise).order_by(models.Facility.name).limit(limit)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(models.Facility.name.ilike(like), models.Facility.code.ilike(like),
                              models.Facility.region.ilike(like), models.Enterprise.name.ilike(like)))
    if stage:
        stmt = stmt.where(models.Facility.stage == stage)
    if country:
        stmt = stmt.where(models.Facility.country == country)
    if ore_type:
        stmt = stmt.where(models.Facility.ore_type == ore_type)
    if enterprise_id is not None:
        stmt = stmt.where(models.Facility.enterprise_id == enterprise_id)
    return list(session.scalars(stmt))


def get_facility(*, session: Session, code: str) -> models.Facility:
    """One facility by its code."""
    fac = session.scalar(select(models.Facility).where(models.Facility.code == code))
    if fac is None:
        raise NotFound("facility", code)
    return fac


def facility_counts(*, session: Session) -> dict[str, dict[str, int]]:
    """Facility counts by stage, country and ore type."""
    out: dict[str, dict[str, int]] = {}
    for col in ("stage", "country", "ore_type", "data_status"):
        column = getattr(models.Facility, col)
        rows = session.execute(select(column, func.count()).group_by(column).order_by(func.count().desc()))
        out[col] = {k: n for k, n in rows}
    return out


def facilities_frame(*, session: Session) -> pd.DataFrame:
    """All facilities with their enterprise as one DataFrame."""
    stmt = (select(models.Facility.code, models.Facility.name, models.Enterprise.code.label("enterprise"),
                   models.Enterprise.name.label("enterprise_name"), models.Facility.stage,
                   models.Facility.ore_type, models.Facility.country, models.Facility.region, models.Facility.lat,
                   models.Facility.lon, models.Facility.capacity_t_reo_per_year, models.Facility.start_date,
                   models.Facility.end_date, models.Facility.technology_level, models.Facility.custody_model,
                   models.Facility.operating_status, models.Facility.data_status)
            .join(models.Enterprise).order_by(models.Facility.code))
    return pd.DataFrame(session.execute(stmt).mappings().all())


DEFAULT_CUSTODY = {"mining": "identity_preserved", "separation": "mass_balance", "recycling": "mass_balance"}


def create_facility(*, session: Session, **fields: Any) -> models.Facility:
    """Register one facility (same rules as an import); problems name fields, not rows."""
    try:
        return import_facilities(session=session, rows=[fields])[0]
    except InputError as e:
        raise InputError([Problem(field=p.field, rule=p.rule, value=p.value) for p in e.problems]) from None


def import_facilities(*, session: Session, rows: list[dict[str, Any]] | pd.DataFrame,
                      source_name: str = "import") -> list[models.Facility]:
    """Validate all rows set-wise, then insert new codes and update existing ones; any problem writes nothing."""
    df = pd.DataFrame(rows).copy() if not isinstance(rows, pd.DataFrame) else rows.copy()
    unknown = [c for c in df.columns if c not in FACILITY_FIELDS]
    if unknown:
        raise InputError([Problem(field=c, rule=f"unknown column; expected some of {list(FACILITY_FIELDS)}")
                          for c in unknown], source=source_name)
    df.insert(0, "_row", range(1, len(df) + 1))
    stages = set(catalog.stage_table().code)
    enterprise_ids = {c: i for c, i in session.execute(select(models.Enterprise.code, models.Enterprise.id))}
    problems = check_facilities(df, stages=stages, enterprises=set(enterprise_ids))
    if problems:
        raise InputError(problems, source=source_name)
    existing = {f.code: f for f in session.scalars(
        select(models.Facility).where(models.Facility.code.in_(df["code"].tolist())))}
    new_rows, touched = [], []
    for rec in df.to_dict("records"):
        values = _facility_values(rec, enterprise_ids)
        if rec["code"] in existing:
            fac = existing[rec["code"]]
            for k, v in values.items():
                setattr(fac, k, v)
            touched.append(fac)
        else:
            new_rows.append(values)
    insert_rows(session, models.Facility.__table__, new_rows)
    session.flush()
    if new_rows:
        codes = [r["code"] for r in new_rows]
        touched += list(session.scalars(select(models.Facility).where(models.Facility.code.in_(codes))))
    order = {c: i for i, c in enumerate(df["code"])}
    return sorted(touched, key=lambda f: order[f.code])


def _facility_values(rec: dict[str, Any], enterprise_ids: dict[str, int]) -> dict[str, Any]:
    def text(key: str, default: str = "") -> str:
        v = rec.get(key)
        return default if v is None or (isinstance(v, float) and pd.isna(v)) or str(v).strip() == "" else str(v)

    def num(key: str) -> float | None:
        v = text(key)
        return float(v) if v else None

    stage = text("stage")
    tech = num("technology_level")
    return {
        "code": text("code"),
        "name": text("name"),
        "enterprise_id": enterprise_ids[text("enterprise")],
        "stage": stage,
        "ore_type": text("ore_type", "none"),
        "country": text("country", "China"),
        "region": text("region"),
        "lat": float(text("lat")),
        "lon": float(text("lon")),
        "capacity_t_reo_per_year": num("capacity_t_reo_per_year"),
        "start_date": _date(text("start_date") or None),
        "end_date": _date(text("end_date") or None),
        "technology_level": int(tech) if tech is not None else None,
        "custody_model": text("custody_model", DEFAULT_CUSTODY.get(stage, "segregated")),
        "operating_status": text("operating_status", "active"),
        "data_status": text("data_status", "registered"),
        "source": text("source"),
        "note": text("note"),
    }


def read_facility_file(path: Path) -> pd.DataFrame:
    """Facility rows from a CSV, JSON Lines or Parquet file, all values as text."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if suffix in (".jsonl", ".ndjson"):
        return pd.read_json(path, lines=True, dtype=False).astype(str).replace({"None": "", "nan": ""})
    if suffix == ".parquet":
        return pd.read_parquet(path).astype(str).replace({"None": "", "nan": ""})
    raise InputError(Problem(field="file", rule="must be .csv, .jsonl or .parquet", value=str(path)))
