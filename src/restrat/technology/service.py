"""Technology innovation registry and its analytics: append-only dated records imported in one transaction,
what each viewer may see, the industrialisation pipeline and its economic effect from the ledger, the cooperation
network, scorecard indicators and technology export control."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from restrat.catalog.service import product_form_table
from restrat.errors import Forbidden, InputError, NotFound, Problem
from restrat.ledger.chain import unpack_comp
from restrat.store.bulk import insert_rows, lookup
from restrat.technology import control, models, network, pipeline
from restrat.technology.frames import looked_up
from restrat.technology.validation import ORDER, SECTIONS, blank, check_section, problems_at, split_codes

DATA = Path(str(resources.files("restrat.technology") / "data"))
FULL_VIEW_ROLES = ("regulator", "admin", "analyst")
REGISTRY_SOURCE = "restrat technology registry"
LEDGER_SOURCE = "restrat traceability ledger (ledger_event, ledger_batch)"
ILLUSTRATIVE = "illustrative"
HIGH_END_STAGES = ("material", "product")
SEPARATED_FORMS = ("separated_oxide", "separated_salt")
WRITE_LOCK_KEY = 0x7EC4_0009  # pg_advisory_xact_lock key of technology writers


@cache
def _fields() -> pd.DataFrame:
    return pd.read_csv(DATA / "fields.csv", dtype=str, keep_default_na=False)


def fields() -> pd.DataFrame:
    """The technology fields (code, name, chain stage, product forms it makes, description)."""
    return _fields().copy()


# ---- who sees what -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """The acting user as far as this capability cares: role and enterprise (for enterprise users)."""

    role: str
    enterprise_id: int | None = None

    @property
    def sees_all(self) -> bool:
        return self.role in FULL_VIEW_ROLES


EVERYONE = Viewer(role="admin")


def visible_projects(*, session: Session, viewer: Viewer) -> set[int] | None:
    """Project ids the viewer may see record by record (None: all). An enterprise sees the projects it leads or
    takes part in; the association sees none (aggregates only)."""
    if viewer.sees_all:
        return None
    if viewer.role != "enterprise" or viewer.enterprise_id is None:
        return set()
    rows = session.execute(text(
        "SELECT id FROM tech_project WHERE lead_enterprise_id = :e UNION "
        "SELECT project_id FROM tech_project_partner WHERE enterprise_id = :e"), {"e": viewer.enterprise_id})
    return {r[0] for r in rows}


def _only(frame: pd.DataFrame, visible: set[int] | None, col: str = "project_id") -> pd.DataFrame:
    return frame if visible is None else frame[frame[col].isin(visible)]


def may_write(*, session: Session, viewer: Viewer, bundle: Mapping[str, Any]) -> None:
    """Regulators and admins record anything; an enterprise only projects it leads and records of those."""
    if viewer.role in ("regulator", "admin"):
        return
    if viewer.role != "enterprise" or viewer.enterprise_id is None:
        raise Forbidden(f"role '{viewer.role}' may not record technology data")
    own = session.scalar(text("SELECT code FROM enterprise WHERE id = :i"), {"i": viewer.enterprise_id})
    frames = _frames(bundle)
    if set(frames) - {"projects", "partners", "budgets", "readiness", "patents", "patent_status"}:
        raise Forbidden("an enterprise records projects, partners, budgets, readiness and patents of its own "
                        "projects; institutions, industrialisation and facility levels are recorded by the regulator")
    leads = set(frames["projects"].get("lead_enterprise", pd.Series(dtype=str))) if "projects" in frames else set()
    if leads - {own}:
        raise Forbidden(f"an enterprise user may only record projects led by {own}")
    new_codes = set(frames["projects"].code) if "projects" in frames else set()
    mine = {r[0] for r in session.execute(text("SELECT code FROM tech_project WHERE lead_enterprise_id = :e"),
                                          {"e": viewer.enterprise_id})} | new_codes
    refs = set()
    for name in ("partners", "budgets", "readiness", "patents"):
        if name in frames and "project" in frames[name]:
            refs |= {p for p in frames[name].project if p}
    if refs - mine:
        raise Forbidden(f"projects {sorted(refs - mine)} are not led by {own}")
    if "patent_status" in frames:
        held = {r[0] for r in session.execute(text(
            "SELECT pt.number FROM tech_patent pt JOIN tech_project p ON p.id = pt.project_id "
            "WHERE p.lead_enterprise_id = :e"), {"e": viewer.enterprise_id})}
        held |= set(frames["patents"].number) if "patents" in frames else set()
        if set(frames["patent_status"].patent) - held:
            raise Forbidden(f"patents {sorted(set(frames['patent_status'].patent) - held)} are not from projects "
                            f"led by {own}")


# ---- import: validated set-wise, append-only, one transaction ------------------------------------------------------


def _frames(bundle: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    out = {}
    for name, rows in bundle.items():
        df = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
        if len(df):
            out[name] = df.astype(object).where(df.notna(), "").astype(str).apply(lambda c: c.str.strip())
    return out


def _ids(session: Session, sql: str) -> dict[str, int]:
    return {code: i for code, i in session.execute(text(sql))}


def _norm(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()[:10]
    s = str(value).strip()
    try:
        return f"{float(s):.10g}"
    except ValueError:
        return s[:10] if len(s) >= 10 and s[4:5] == "-" and s[7:8] == "-" and s[:4].isdigit() else s


# Existing records of each section as (key..., compared values...), for the append-only comparison.
EXISTING: dict[str, tuple[str, tuple[str, ...]]] = {
    "institutions": ("SELECT code, name, kind, country FROM tech_institution WHERE code IN {keys}",
                     ("name", "kind", "country")),
    "projects": ("SELECT p.code, p.title, p.field, e.code, p.start_date, p.end_date FROM tech_project p "
                 "JOIN enterprise e ON e.id = p.lead_enterprise_id WHERE p.code IN {keys}",
                 ("title", "field", "lead_enterprise", "start_date", "end_date")),
    "partners": ("SELECT p.code, COALESCE(e.code, i.code), x.joined_on FROM tech_project_partner x "
                 "JOIN tech_project p ON p.id = x.project_id LEFT JOIN enterprise e ON e.id = x.enterprise_id "
                 "LEFT JOIN tech_institution i ON i.id = x.institution_id WHERE p.code IN {keys}", ("joined_on",)),
    "budgets": ("SELECT p.code, b.recorded_on, b.budget_cny FROM tech_budget b JOIN tech_project p "
                "ON p.id = b.project_id WHERE p.code IN {keys}", ("budget_cny",)),
    "readiness": ("SELECT p.code, r.assessed_on, r.level FROM tech_readiness r JOIN tech_project p "
                  "ON p.id = r.project_id WHERE p.code IN {keys}", ("level",)),
    "patents": ("SELECT t.number, t.title, t.field, COALESCE(p.code, ''), t.filed_on FROM tech_patent t "
                "LEFT JOIN tech_project p ON p.id = t.project_id WHERE t.number IN {keys}",
                ("title", "field", "project", "filed_on")),
    "holders": ("SELECT t.number, COALESCE(e.code, i.code) FROM tech_patent_holder h JOIN tech_patent t "
                "ON t.id = h.patent_id LEFT JOIN enterprise e ON e.id = h.enterprise_id "
                "LEFT JOIN tech_institution i ON i.id = h.institution_id WHERE t.number IN {keys}", ()),
    "patent_status": ("SELECT t.number, s.status_on, s.status FROM tech_patent_status s JOIN tech_patent t "
                      "ON t.id = s.patent_id WHERE t.number IN {keys}", ()),
    "industrialisation": ("SELECT p.code, x.stage, f.code, x.reached_on, x.forms FROM tech_industrialisation x "
                          "JOIN tech_project p ON p.id = x.project_id JOIN facility f ON f.id = x.facility_id "
                          "WHERE p.code IN {keys}", ("reached_on", "forms")),
    "facility_levels": ("SELECT f.code, l.level_on, l.level FROM tech_facility_level l JOIN facility f "
                        "ON f.id = l.facility_id WHERE f.code IN {keys}", ("level",)),
}
KEYS = {**{name: spec.key for name, spec in SECTIONS.items()}, "holders": ("patent", "holder")}


def _new_rows(session: Session, name: str, df: pd.DataFrame, *, strict: bool = True
              ) -> tuple[pd.DataFrame, list[Problem]]:
    """The rows of a section not yet recorded; rows recorded with other values are problems (never overwritten)
    unless strict is off (rows derived from another section's cell are then just skipped)."""
    sql, values = EXISTING[name]
    keys = KEYS[name]
    if not len(df):
        return df, []
    found = pd.DataFrame(lookup(session, sql, sorted(set(df[keys[0]]))), columns=[*keys, *values])
    if not len(found):
        return df, []
    for col in [*keys, *values]:
        found[col] = found[col].map(_norm)
    probe = df[list(keys)].astype(str).map(_norm)
    merged = probe.assign(_i=np.arange(len(df))).merge(found, on=list(keys), how="left", indicator=True)
    exists = merged.drop_duplicates("_i").set_index("_i")._merge.eq("both").reindex(range(len(df))).to_numpy()
    problems: list[Problem] = []
    if strict and values:
        mine = df[list(values)].astype(str).map(_norm).to_numpy()
        theirs = merged.drop_duplicates("_i").set_index("_i").reindex(range(len(df)))[list(values)].to_numpy()
        differs = exists & (mine != theirs.astype(str)).any(axis=1)
        mask = pd.Series(differs, index=df.index)
        problems = problems_at(name, df, mask, keys[-1] if name != "projects" else "code",
                               "a record with this key exists with other values; records are never overwritten: "
                               "add a new dated record instead")
    return df[~exists], problems


def _resolve_actors(cells: pd.Series, enterprises: dict[str, int], institutions: set[str]) -> pd.DataFrame:
    """Explode ';'-separated actor codes into (index, code, kind); kind is '' for unknown, 'ambiguous' for both."""
    codes = cells.map(split_codes).explode().dropna()
    out = pd.DataFrame({"i": codes.index, "code": codes.to_numpy()})
    is_ent = out.code.isin(enterprises)
    is_inst = out.code.isin(institutions)
    out["kind"] = np.select([is_ent & is_inst, is_ent, is_inst], ["ambiguous", "enterprise", "institution"], "")
    return out


def _actor_problems(name: str, df: pd.DataFrame, resolved: pd.DataFrame, column: str) -> list[Problem]:
    out = []
    for kind, rule in (("", "unknown enterprise or institute (register it first)"),
                       ("ambiguous", "code names both an enterprise and an institution")):
        bad = resolved[resolved.kind == kind]
        out += [Problem(row=int(df.at[i, "_row"]), field=f"{name}.{column}", rule=rule, value=c)
                for i, c in zip(bad.i, bad.code, strict=True)]
    return out


def _check_references(session: Session, frames: dict[str, pd.DataFrame]) -> list[Problem]:
    """Every reference to something unknown (enterprise, institute, project, patent, facility, field, form) and
    every date before its project's start."""
    out: list[Problem] = []
    enterprises = _ids(session, "SELECT code, id FROM enterprise")
    facilities = _ids(session, "SELECT code, id FROM facility")
    institutions = set(_ids(session, "SELECT code, id FROM tech_institution"))
    if "institutions" in frames:
        institutions |= set(frames["institutions"].code)
    starts = {c: _norm(d) for c, d in session.execute(text("SELECT code, start_date FROM tech_project"))}
    if "projects" in frames:
        starts.update(zip(frames["projects"].code, frames["projects"].start_date, strict=True))
    patents = set(_ids(session, "SELECT number, id FROM tech_patent"))
    if "patents" in frames:
        patents |= set(frames["patents"].number)
    field_codes = set(fields().code)
    forms = set(product_form_table().code)

    def unknown(name: str, col: str, known: set[str] | dict[str, Any], rule: str) -> None:
        df = frames.get(name)
        if df is not None and col in df:
            out.extend(problems_at(name, df, ~blank(df[col]) & ~df[col].isin(list(known)), col, rule))

    unknown("projects", "field", field_codes, f"unknown technology field; expected one of {sorted(field_codes)}")
    unknown("patents", "field", field_codes, f"unknown technology field; expected one of {sorted(field_codes)}")
    unknown("projects", "lead_enterprise", enterprises, "unknown enterprise (register it in the registry first)")
    for name in ("partners", "budgets", "readiness", "industrialisation"):
        unknown(name, "project", starts, "unknown project (register it first or in the projects section)")
    unknown("patents", "project", starts, "links to a project that does not exist")
    unknown("patent_status", "patent", patents, "unknown patent (register it first or in the patents section)")
    unknown("industrialisation", "facility", facilities, "unknown facility (register it in the registry first)")
    unknown("facility_levels", "facility", facilities, "unknown facility (register it in the registry first)")
    for name, col in (("projects", "partners"), ("partners", "partner"), ("patents", "holders")):
        if name in frames and col in frames[name]:
            out += _actor_problems(name, frames[name], _resolve_actors(frames[name][col], enterprises,
                                                                        institutions), col)
    if "industrialisation" in frames and "forms" in frames["industrialisation"]:
        df = frames["industrialisation"]
        resolved = df.forms.map(split_codes).explode().dropna()
        bad = resolved[~resolved.isin(forms)]
        out += [Problem(row=int(df.at[i, "_row"]), field="industrialisation.forms",
                        rule=f"unknown product form; expected some of {sorted(forms)}", value=f)
                for i, f in zip(bad.index, bad, strict=True)]
    for name, col in (("readiness", "assessed_on"), ("budgets", "recorded_on"), ("industrialisation", "reached_on"),
                      ("partners", "joined_on")):
        df = frames.get(name)
        if df is None or col not in df or "project" not in df:
            continue
        start = pd.to_datetime(df.project.map(starts), errors="coerce", format="%Y-%m-%d")
        when = pd.to_datetime(df[col], errors="coerce", format="%Y-%m-%d")
        out += problems_at(name, df, when < start, col, "must not be before the project's start_date")
    return out


def write_lock(*, session: Session) -> None:
    """Serialise technology writers for the rest of this transaction, so a writer reads what the one before it
    committed (and skips it) instead of both inserting: BEGIN IMMEDIATE on SQLite (unless a transaction is open),
    a transaction-scoped advisory lock on PostgreSQL."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
        return
    raw = conn.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")


def import_bundle(*, session: Session, bundle: Mapping[str, Any], username: str = "system",
                  data_status: str = "registered", source: str = "", source_name: str = "import") -> dict[str, int]:
    """Record a bundle of sections (institutions, projects, partners, budgets, readiness, patents, patent_status,
    industrialisation, facility_levels; each a list of rows or a DataFrame) in one go. Every row is checked first,
    set-wise; any problem writes nothing. Records already present with the same values are skipped (re-import
    changes nothing); present with other values is an error, because records are never overwritten."""
    unknown = [n for n in bundle if n not in SECTIONS]
    if unknown:
        raise InputError([Problem(field=n, rule=f"unknown section; expected some of {list(ORDER)}")
                          for n in unknown], source=source_name)
    frames = _frames(bundle)
    write_lock(session=session)
    for df in frames.values():
        df.insert(0, "_row", range(1, len(df) + 1))
    problems = [p for name, df in frames.items() for p in check_section(name, df)]
    if not any(p.row is None for p in problems):  # the columns are there: references can be checked too
        problems += _check_references(session, frames)
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.field.split(".")[0] != "projects", p.field, p.row or 0)),
                         source=source_name)
    for name, df in frames.items():
        for col in SECTIONS[name].columns:
            if col not in df:
                df[col] = ""
        df["data_status"] = df.data_status.where(df.data_status != "", data_status)
        df["source"] = df.source.where(df.source != "", source)
    return _write(session, frames, username=username, source_name=source_name)


def _derived_partners(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    p = frames.get("projects")
    if p is None:
        return pd.DataFrame(columns=["project", "partner", "joined_on", "data_status", "source", "_row"])
    exploded = p.assign(partner=p.partners.map(split_codes)).explode("partner").dropna(subset=["partner"])
    return pd.DataFrame({"project": exploded.code, "partner": exploded.partner, "joined_on": exploded.start_date,
                         "data_status": exploded.data_status, "source": exploded.source, "_row": exploded._row})


def _write(session: Session, frames: dict[str, pd.DataFrame], *, username: str, source_name: str) -> dict[str, int]:
    problems: list[Problem] = []
    new: dict[str, pd.DataFrame] = {}
    for name in ORDER:
        if name in frames:
            new[name], found = _new_rows(session, name, frames[name])
            problems += found
    derived, _ = _new_rows(session, "partners", _derived_partners(frames), strict=False)
    if "patents" in frames:
        pt = frames["patents"]
        held = pt.assign(holder=pt.holders.map(split_codes)).explode("holder").dropna(subset=["holder"])
        holders, _ = _new_rows(session, "holders", held.rename(columns={"number": "patent"}), strict=False)
    else:
        holders = pd.DataFrame(columns=["patent", "holder"])
    if problems:
        raise InputError(problems, source=source_name)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    stamp = {"recorded_at": now, "recorded_by": username}
    counts = {}

    def day(value: str) -> dt.date | None:
        return dt.date.fromisoformat(value) if value else None

    def rows(df: pd.DataFrame, build: Any) -> list[dict[str, Any]]:
        return [build(r) for r in df.to_dict("records")]

    def common(r: dict[str, Any]) -> dict[str, Any]:
        return {"data_status": r["data_status"], "source": r["source"]}

    inst = new.get("institutions", pd.DataFrame())
    counts["institutions"] = insert_rows(session, models.Institution.__table__, rows(inst, lambda r: {
        "code": r["code"], "name": r["name"], "kind": r["kind"], "country": r["country"], "region": r["region"],
        **common(r), **stamp}))
    ent = _ids(session, "SELECT code, id FROM enterprise")
    ins = _ids(session, "SELECT code, id FROM tech_institution")
    fac = _ids(session, "SELECT code, id FROM facility")
    counts["projects"] = insert_rows(session, models.Project.__table__, rows(new.get("projects", pd.DataFrame()),
                                     lambda r: {"code": r["code"], "title": r["title"], "field": r["field"],
                                                "lead_enterprise_id": ent[r["lead_enterprise"]],
                                                "start_date": day(r["start_date"]), "end_date": day(r["end_date"]),
                                                **common(r), **stamp}))
    proj = _ids(session, "SELECT code, id FROM tech_project")

    def actor(code: str) -> dict[str, int | None]:
        return {"enterprise_id": ent.get(code), "institution_id": None if code in ent else ins[code]}

    partners = pd.concat([new.get("partners", pd.DataFrame(columns=derived.columns)), derived]) \
        .drop_duplicates(["project", "partner"])
    counts["partners"] = insert_rows(session, models.ProjectPartner.__table__, rows(partners, lambda r: {
        "project_id": proj[r["project"]], **actor(r["partner"]), "joined_on": day(r["joined_on"]), **common(r)}))
    counts["budgets"] = insert_rows(session, models.Budget.__table__, rows(new.get("budgets", pd.DataFrame()),
                                    lambda r: {"project_id": proj[r["project"]],
                                               "recorded_on": day(r["recorded_on"]),
                                               "budget_cny": float(r["budget_cny"]), "note": r["note"],
                                               **common(r)}))
    counts["readiness"] = insert_rows(session, models.Readiness.__table__, rows(
        new.get("readiness", pd.DataFrame()), lambda r: {"project_id": proj[r["project"]],
                                                         "assessed_on": day(r["assessed_on"]),
                                                         "level": int(float(r["level"])), "note": r["note"],
                                                         **common(r)}))
    pats = new.get("patents", pd.DataFrame())
    counts["patents"] = insert_rows(session, models.Patent.__table__, rows(pats, lambda r: {
        "number": r["number"], "title": r["title"], "field": r["field"], "project_id": proj.get(r["project"]),
        "filed_on": day(r["filed_on"]), **common(r), **stamp}))
    pat = _ids(session, "SELECT number, id FROM tech_patent")
    counts["patent_holders"] = insert_rows(session, models.PatentHolder.__table__, rows(
        holders, lambda r: {"patent_id": pat[r["patent"]], **actor(r["holder"])}))
    filed = pd.DataFrame({"patent": pats.get("number", pd.Series(dtype=str)), "status": "filed",
                          "status_on": pats.get("filed_on", pd.Series(dtype=str)),
                          "data_status": pats.get("data_status", pd.Series(dtype=str)),
                          "source": pats.get("source", pd.Series(dtype=str))})
    statuses = pd.concat([filed, new.get("patent_status", pd.DataFrame(columns=filed.columns))]) \
        .drop_duplicates(["patent", "status_on", "status"])
    counts["patent_status"] = insert_rows(session, models.PatentStatus.__table__, rows(statuses, lambda r: {
        "patent_id": pat[r["patent"]], "status": r["status"], "status_on": day(r["status_on"]), **common(r)}))
    counts["industrialisation"] = insert_rows(session, models.Industrialisation.__table__, rows(
        new.get("industrialisation", pd.DataFrame()), lambda r: {
            "project_id": proj[r["project"]], "stage": r["stage"], "facility_id": fac[r["facility"]],
            "reached_on": day(r["reached_on"]), "forms": ";".join(split_codes(r["forms"])), "note": r["note"],
            **common(r), **stamp}))
    counts["facility_levels"] = insert_rows(session, models.FacilityLevel.__table__, rows(
        new.get("facility_levels", pd.DataFrame()), lambda r: {
            "facility_id": fac[r["facility"]], "level_on": day(r["level_on"]), "level": int(float(r["level"])),
            "basis": r["basis"], **common(r)}))
    session.flush()
    return counts


def record(*, session: Session, section: str, username: str = "system", **fields: Any) -> dict[str, int]:
    """Record one row of a section (same rules as an import); problems name the field."""
    try:
        return import_bundle(session=session, bundle={section: [fields]}, username=username, source_name=section)
    except InputError as e:
        raise InputError([Problem(field=p.field, rule=p.rule, value=p.value) for p in e.problems]) from None


def read_bundle(path: Path) -> dict[str, Any]:
    """A bundle from a JSON or YAML file ({section: [rows]}) or a directory of <section>.csv files."""
    import json

    import yaml

    if path.is_dir():
        return {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(path.glob("*.csv"))}
    suffix = path.suffix.lower()
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
    elif suffix in (".yaml", ".yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    else:
        raise InputError(Problem(field="file", rule="must be .json, .yaml or a directory of <section>.csv",
                                 value=str(path)))
    if not isinstance(data, dict):
        raise InputError(Problem(field="file", rule="must hold an object of sections, each a list of rows",
                                 value=str(path)))
    return data


# ---- reading the registry ------------------------------------------------------------------------------------------


def _frame(session: Session, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    result = session.execute(text(sql), params or {})
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def _dates(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for c in cols:
        frame[c] = pd.to_datetime(frame[c]).dt.date
    return frame


def projects_frame(*, session: Session, viewer: Viewer = EVERYONE) -> pd.DataFrame:
    """Projects the viewer may see, with lead, partners, latest budget and readiness, first pilot and production,
    and the time it took to reach them."""
    p = _frame(session, "SELECT p.id AS project_id, p.code, p.title, p.field, e.code AS lead_enterprise, "
                        "e.name AS lead_name, p.start_date, p.end_date, p.data_status, p.source "
                        "FROM tech_project p JOIN enterprise e ON e.id = p.lead_enterprise_id ORDER BY p.code")
    p = _dates(_only(p, visible_projects(session=session, viewer=viewer)), "start_date", "end_date")
    partners = _frame(session, "SELECT x.project_id, COALESCE(e.code, i.code) AS actor FROM tech_project_partner x "
                               "LEFT JOIN enterprise e ON e.id = x.enterprise_id "
                               "LEFT JOIN tech_institution i ON i.id = x.institution_id ORDER BY 2")
    p["partners"] = looked_up(p.project_id, partners.groupby("project_id").actor.agg(";".join))
    for table, col, alias in (("tech_budget", "budget_cny", "recorded_on"), ("tech_readiness", "level",
                                                                               "assessed_on")):
        latest = _frame(session, f"SELECT project_id, {alias}, {col} FROM {table} ORDER BY project_id, {alias}")
        last = latest.groupby("project_id")[col].last()
        p[col if col != "level" else "readiness"] = p.project_id.map(last)
    steps = _dates(_frame(session, "SELECT project_id, stage, reached_on FROM tech_industrialisation"), "reached_on")
    return pipeline.durations(p, steps)


def get_project(*, session: Session, code: str, viewer: Viewer = EVERYONE) -> dict[str, Any]:
    """One project with its partners, budget and readiness histories, patents, industrialisation and current
    export-control status; an enterprise asking for another's project gets Forbidden."""
    pid = session.scalar(text("SELECT id FROM tech_project WHERE code = :c"), {"c": code})
    if pid is None:
        raise NotFound("project", code)
    visible = visible_projects(session=session, viewer=viewer)
    if visible is not None and pid not in visible:
        raise Forbidden(f"project {code} is not one of your enterprise's projects")
    row = projects_frame(session=session).set_index("project_id").loc[pid]
    patents = patents_frame(session=session)
    q = {"p": pid}
    return {
        "project": {"code": code, **_plain(row)},
        "partners": _frame(session, "SELECT COALESCE(e.code, i.code) AS actor, COALESCE(e.name, i.name) AS name, "
                                    "CASE WHEN e.id IS NULL THEN i.kind ELSE 'enterprise' END AS kind, x.joined_on "
                                    "FROM tech_project_partner x LEFT JOIN enterprise e ON e.id = x.enterprise_id "
                                    "LEFT JOIN tech_institution i ON i.id = x.institution_id WHERE x.project_id = :p "
                                    "ORDER BY x.joined_on, 1", q),
        "budgets": _frame(session, "SELECT recorded_on, budget_cny, note, data_status FROM tech_budget "
                                   "WHERE project_id = :p ORDER BY recorded_on", q),
        "readiness": _frame(session, "SELECT assessed_on, level, note, data_status FROM tech_readiness "
                                     "WHERE project_id = :p ORDER BY assessed_on", q),
        "patents": patents[patents.project_id == pid],
        "industrialisation": _frame(session, "SELECT x.stage, f.code AS facility, f.name AS facility_name, "
                                             "x.reached_on, x.forms, x.note, x.data_status FROM tech_industrialisation "
                                             "x JOIN facility f ON f.id = x.facility_id WHERE x.project_id = :p "
                                             "ORDER BY x.reached_on", q),
        "control": _plain(control.status_on(session=session, fields=[row.field], on=dt.date.today()).iloc[0])
        if _control_loaded(session) else None,
    }


def _plain(row: pd.Series) -> dict[str, Any]:
    """A row as a dict of Python values (None for missing ones)."""
    return {k: None if np.ndim(v) == 0 and pd.isna(v) else v.item() if isinstance(v, np.generic) else v
            for k, v in row.items()}


def _control_loaded(session: Session) -> bool:
    return bool(session.scalar(text("SELECT COUNT(*) FROM export_control_entry")))


def patents_frame(*, session: Session, viewer: Viewer = EVERYONE, on: dt.date | None = None) -> pd.DataFrame:
    """Patents the viewer may see (those of its projects or held by its enterprise) with holders and the status
    on a date (default today)."""
    on = on or dt.date.today()
    p = _frame(session, "SELECT t.id AS patent_id, t.number, t.title, t.field, t.project_id, "
                        "COALESCE(p.code, '') AS project, t.filed_on, t.data_status, t.source FROM tech_patent t "
                        "LEFT JOIN tech_project p ON p.id = t.project_id ORDER BY t.number")
    h = _frame(session, "SELECT h.patent_id, COALESCE(e.code, i.code) AS holder, h.enterprise_id "
                        "FROM tech_patent_holder h LEFT JOIN enterprise e ON e.id = h.enterprise_id "
                        "LEFT JOIN tech_institution i ON i.id = h.institution_id ORDER BY 2")
    visible = visible_projects(session=session, viewer=viewer)
    if visible is not None:
        own = set(h.patent_id[h.enterprise_id == viewer.enterprise_id]) if viewer.enterprise_id else set()
        p = p[p.project_id.isin(visible) | p.patent_id.isin(own)]
    p["holders"] = looked_up(p.patent_id, h.groupby("patent_id").holder.agg(";".join))
    s = _dates(_frame(session, "SELECT patent_id, status, status_on FROM tech_patent_status "
                               "ORDER BY patent_id, status_on, id"), "status_on")
    s = s[s.status_on <= on]
    last = s.groupby("patent_id").last()
    p["status"] = looked_up(p.patent_id, last.status)
    p["status_since"] = p.patent_id.map(last.status_on)
    return _dates(p, "filed_on").reset_index(drop=True)


def institutions_frame(*, session: Session) -> pd.DataFrame:
    """Research institutes and universities."""
    return _frame(session, "SELECT code, name, kind, country, region, data_status, source FROM tech_institution "
                           "ORDER BY code")


def facility_levels(*, session: Session) -> pd.DataFrame:
    """Technology level over time of every facility with a dated level record: the registry's level from the
    facility's start (basis 'registry') and each dated record after it."""
    recs = _frame(session, "SELECT l.facility_id, f.code AS facility, f.name, l.level_on, l.level, l.basis, "
                           "l.data_status FROM tech_facility_level l JOIN facility f ON f.id = l.facility_id")
    base = _frame(session, "SELECT f.id AS facility_id, f.code AS facility, f.name, f.start_date AS level_on, "
                           "f.technology_level AS level, 'registry' AS basis, f.data_status FROM facility f "
                           "WHERE f.technology_level IS NOT NULL")
    base = base[base.facility_id.isin(recs.facility_id)]
    out = pd.concat([base, recs], ignore_index=True)
    out = _dates(out, "level_on").sort_values(["facility", "level_on"], na_position="first")
    return out.reset_index(drop=True)


# ---- pipeline and effect -------------------------------------------------------------------------------------------


def _changes(session: Session) -> pd.DataFrame:
    """Production records exploded to one row per facility and product form."""
    c = _frame(session, "SELECT x.project_id, x.facility_id, x.reached_on, x.forms FROM tech_industrialisation x "
                        "WHERE x.stage = 'production'")
    c = c.assign(form=c.forms.map(split_codes)).explode("form").dropna(subset=["form"]).drop(columns="forms")
    return _dates(c, "reached_on").reset_index(drop=True)


def ledger_output(*, session: Session, facility_ids: list[int], forms: list[str], since: dt.date
                  ) -> tuple[pd.DataFrame, np.ndarray]:
    """Batches made (extraction or processing) at the facilities in the forms from a date, with REO composition."""
    cols = ["facility_id", "form", "at", "gross_kg", "reo_kg"]
    if not facility_ids or not forms:
        return pd.DataFrame(columns=cols), unpack_comp([])
    stmt = text("SELECT e.facility_id, b.form, e.at_epoch_s, b.gross_kg, b.reo_kg, b.comp FROM ledger_batch b "
                "JOIN ledger_event e ON e.id = b.event_id WHERE e.kind IN ('extraction', 'processing') "
                "AND e.at_epoch_s >= :since AND e.facility_id IN :facilities AND b.form IN :forms") \
        .bindparams(bindparam("facilities", expanding=True), bindparam("forms", expanding=True))
    rows = session.execute(stmt, {"since": pd.Timestamp(since).value // 10**9, "facilities": list(facility_ids),
                                  "forms": list(forms)}).all()
    frame = pd.DataFrame([r[:5] for r in rows], columns=cols)
    frame["at"] = pd.to_datetime(frame["at"], unit="s")
    return frame, unpack_comp([r[5] for r in rows])


def benefit(*, session: Session, viewer: Viewer = EVERYONE) -> pd.DataFrame:
    """Per project and year since first production: the output of the facilities and forms its technology runs
    (from the ledger; each batch counted for the latest process change at its facility and form) and the value of
    the contained REO at USGS oxide prices."""
    changes = _changes(session)
    cols = ["project_id", "year", "batches", "output_t", "reo_t", "value_usd", "unpriced_reo_t", "price_year"]
    if not len(changes):
        return pd.DataFrame(columns=["code", *cols])
    batches, comp = ledger_output(session=session, facility_ids=sorted(set(changes.facility_id)),
                                  forms=sorted(set(changes.form)), since=min(changes.reached_on))
    batches = batches.assign(_k=np.arange(len(batches)))
    made = pipeline.attribute(batches, changes)
    valued = pipeline.value(made, comp[made._k.to_numpy()], pipeline.oxide_prices())
    out = pipeline.benefit(valued) if len(valued) else pd.DataFrame(columns=cols)
    codes = _ids(session, "SELECT code, id FROM tech_project")
    out.insert(0, "code", out.project_id.map({v: k for k, v in codes.items()}))
    return _only(out, visible_projects(session=session, viewer=viewer)).reset_index(drop=True)


# ---- cooperation network -------------------------------------------------------------------------------------------


def participation(*, session: Session) -> pd.DataFrame:
    """Who took part in what: one row per (project or patent, actor) with the field and the actor's kind."""
    return _frame(session, """
        SELECT 'P' || CAST(p.id AS VARCHAR(12)) AS link, 'project' AS via, p.field, 'E:' || e.code AS actor,
               e.name, 'enterprise' AS kind, e.id AS enterprise_id
          FROM tech_project p JOIN enterprise e ON e.id = p.lead_enterprise_id
        UNION ALL
        SELECT 'P' || CAST(p.id AS VARCHAR(12)), 'project', p.field,
               CASE WHEN e.id IS NULL THEN 'I:' || i.code ELSE 'E:' || e.code END, COALESCE(e.name, i.name),
               CASE WHEN e.id IS NULL THEN i.kind ELSE 'enterprise' END, e.id
          FROM tech_project_partner x JOIN tech_project p ON p.id = x.project_id
          LEFT JOIN enterprise e ON e.id = x.enterprise_id LEFT JOIN tech_institution i ON i.id = x.institution_id
        UNION ALL
        SELECT 'T' || CAST(t.id AS VARCHAR(12)), 'patent', t.field,
               CASE WHEN e.id IS NULL THEN 'I:' || i.code ELSE 'E:' || e.code END, COALESCE(e.name, i.name),
               CASE WHEN e.id IS NULL THEN i.kind ELSE 'enterprise' END, e.id
          FROM tech_patent_holder h JOIN tech_patent t ON t.id = h.patent_id
          LEFT JOIN enterprise e ON e.id = h.enterprise_id LEFT JOIN tech_institution i ON i.id = h.institution_id
    """)


def cooperation(*, session: Session, viewer: Viewer = EVERYONE) -> dict[str, Any]:
    """The cooperation network: actors with centrality and community, edges, layout and field coverage. Viewers
    without the full view get the aggregates (sizes, field coverage) and only their own enterprise's row."""
    part = participation(session=session)
    nodes = part[["actor", "name", "kind"]].drop_duplicates("actor")
    g = network.graph(nodes, network.edges(part))
    actors = network.measures(g)
    pairs = network.edges(part)
    summary = {"actors": g.number_of_nodes(), "links": g.number_of_edges(),
               "communities": int(actors.community.max()) if len(actors) else 0,
               "components": nx.number_connected_components(g) if len(g) else 0,
               "illustrative": bool(_illustrative_share(session) > 0)}
    coverage = network.field_coverage(part, fields())
    if viewer.sees_all:
        return {"summary": summary, "actors": actors, "edges": pairs, "layout": network.layout(g),
                "fields": coverage, "full": True}
    own = set(part.actor[part.enterprise_id == viewer.enterprise_id]) if viewer.enterprise_id else set()
    return {"summary": summary, "actors": actors[actors.actor.isin(own)], "edges": pairs.iloc[0:0],
            "layout": pd.DataFrame(columns=["actor", "x", "y"]), "fields": coverage, "full": False}


def _illustrative_share(session: Session) -> float:
    row = session.execute(text("SELECT COUNT(*), SUM(CASE WHEN data_status = 'illustrative' THEN 1 ELSE 0 END) "
                               "FROM tech_project")).one()
    return float(row[1] or 0) / row[0] if row[0] else 0.0


# ---- indicators for the strategy scorecard -------------------------------------------------------------------------


def _source(session: Session, base: str) -> str:
    share = _illustrative_share(session)
    return base + (f"; {share:.0%} of the projects are ILLUSTRATIVE demo records" if share else "")


def indicators(*, session: Session, recent_years: int = 5) -> pd.DataFrame:
    """Aspect 2 indicators as a tidy table (indicator, field, year, value, unit, source): patents filed and projects
    started per field and year, median years from start to first production by year reached, the share of output
    (t REO made) made with processes industrialised in the last recent_years years, and the high-end share (REO
    made into functional materials and products per t REO separated)."""
    reg = _source(session, REGISTRY_SOURCE)
    out = []
    pats = patents_frame(session=session)
    projs = projects_frame(session=session)
    for name, frame, col, unit in (("patents_filed", pats, "filed_on", "patents"),
                                   ("projects_started", projs, "start_date", "projects")):
        if len(frame):
            f = frame.assign(year=pd.to_datetime(frame[col]).dt.year)
            per = f.groupby(["field", "year"]).size().rename("value").reset_index()
            tot = f.groupby("year").size().rename("value").reset_index().assign(field="all")
            out.append(pd.concat([per, tot]).assign(indicator=name, unit=unit, source=reg))
    reached = projs.dropna(subset=["production_on"])
    if len(reached):
        r = reached.assign(year=pd.to_datetime(reached.production_on).dt.year)
        med = r.groupby("year").years_to_production.median().rename("value").reset_index()
        out.append(med.assign(indicator="median_years_to_production", field="all", unit="years", source=reg))
    out += _output_shares(session, recent_years=recent_years)
    cols = ["indicator", "field", "year", "value", "unit", "source"]
    if not out:
        return pd.DataFrame(columns=cols)
    table = pd.concat(out, ignore_index=True)[cols]
    table["year"] = table.year.astype(int)
    table["value"] = table.value.astype(float)
    return table.sort_values(["indicator", "field", "year"]).reset_index(drop=True)


def _output_shares(session: Session, *, recent_years: int) -> list[pd.DataFrame]:
    forms = product_form_table()
    high = set(forms.code[forms.stage.isin(HIGH_END_STAGES)])
    made = _frame(session, "SELECT e.facility_id, b.form, e.at_epoch_s, b.reo_kg FROM ledger_batch b "
                           "JOIN ledger_event e ON e.id = b.event_id WHERE e.kind IN ('extraction', 'processing')")
    if not len(made):
        return []
    made["at"] = pd.to_datetime(made.at_epoch_s, unit="s")
    made["year"] = made["at"].dt.year
    attributed = pipeline.attribute(made, _changes(session))
    age = attributed["at"] - pd.to_datetime(attributed.reached_on)
    recent = attributed[age <= pd.Timedelta(days=pipeline.DAYS_PER_YEAR * recent_years)]
    src = _source(session, f"{LEDGER_SOURCE}; {REGISTRY_SOURCE} (tech_industrialisation)")
    total = made.groupby("year").reo_kg.sum()
    new = recent.groupby("year").reo_kg.sum().reindex(total.index, fill_value=0.0)
    share_new = (100 * new / total).rename("value").reset_index().assign(
        indicator=f"share_output_processes_last_{recent_years}y", field="all", unit="% of t REO made", source=src)
    sep = made[made.form.isin(SEPARATED_FORMS)].groupby("year").reo_kg.sum()
    hi = made[made.form.isin(high)].groupby("year").reo_kg.sum().reindex(sep.index, fill_value=0.0)
    high_share = (100 * hi / sep).rename("value").reset_index().assign(
        indicator="high_end_share", field="all", unit="% of t REO separated", source=LEDGER_SOURCE)
    return [share_new, high_share]


# ---- technology export control -------------------------------------------------------------------------------------


def project_control(*, session: Session, on: dt.date, viewer: Viewer = EVERYONE) -> pd.DataFrame:
    """Each visible project's technology with its export-control status on a date."""
    p = projects_frame(session=session, viewer=viewer)[["project_id", "code", "title", "field", "lead_enterprise"]]
    status = control.status_on(session=session, fields=sorted(set(p.field)), on=on) if len(p) else None
    return p.merge(status, on="field", how="left") if status is not None else p


def apply_for_export(*, session: Session, project: str, recipient: str, recipient_country: str, applied_on: dt.date,
                     username: str, viewer: Viewer = EVERYONE, code: str | None = None) -> models.ExportApplication:
    """Record a technology export application and check the control list at its date (the result is kept as it
    was checked); an enterprise applies only for its own projects."""
    problems = [Problem(field=f, rule="is required") for f, v in (("recipient", recipient),
                                                                  ("recipient_country", recipient_country))
                if not str(v).strip()]
    if problems:
        raise InputError(problems)
    info = get_project(session=session, code=project, viewer=viewer)["project"]
    if viewer.role == "enterprise":
        lead_id = session.scalar(text("SELECT lead_enterprise_id FROM tech_project WHERE code = :c"), {"c": project})
        if lead_id != viewer.enterprise_id:
            raise Forbidden(f"only the lead enterprise applies to export the technology of {project}")
    status = control.status_on(session=session, fields=[info["field"]], on=applied_on).iloc[0]
    app = models.ExportApplication(
        code=code or f"TEA-pending-{uuid.uuid4().hex[:24]}",
        project_id=session.scalar(text("SELECT id FROM tech_project WHERE code = :c"), {"c": project}),
        applicant_enterprise_id=session.scalar(text("SELECT lead_enterprise_id FROM tech_project WHERE code = :c"),
                                               {"c": project}),
        recipient=recipient.strip(), recipient_country=recipient_country.strip(), applied_on=applied_on,
        control_status=status.status, licence_required=status.licence_required, items=status["items"],
        suspended_items=status.suspended_items, reasons=status.reasons, data_status=info["data_status"],
        recorded_by=username)
    session.add(app)
    session.flush()
    if code is None:
        app.code = f"TEA-{applied_on.year}-{app.id:05d}"
        session.flush()
    return app


def applications_frame(*, session: Session, viewer: Viewer = EVERYONE) -> pd.DataFrame:
    """Technology export applications the viewer may see, with the check made at each one's date."""
    a = _frame(session, "SELECT a.code, p.code AS project, a.project_id, p.field, e.code AS applicant, a.recipient, "
                        "a.recipient_country, a.applied_on, a.control_status, a.licence_required, a.items, "
                        "a.suspended_items, a.reasons, a.data_status FROM tech_export_application a "
                        "JOIN tech_project p ON p.id = a.project_id "
                        "JOIN enterprise e ON e.id = a.applicant_enterprise_id ORDER BY a.applied_on, a.code")
    return _dates(_only(a, visible_projects(session=session, viewer=viewer)), "applied_on").reset_index(drop=True)
