"""Control list as dated data (seeded from the shipped reference files with their sources), "what applied on D" and
"what changed between D1 and D2" as queries, and set-wise classification of shipment lines."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, delete, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from restrat.catalog import reference
from restrat.catalog.service import ELEMENTS, hs_code_table, product_form_table, validate_hs_code
from restrat.errors import InputError, Problem
from restrat.exports import models
from restrat.store.bulk import insert_rows

SEED_USER = "reference-seed"
TECHNOLOGY_FORM = "technology"
PRIMARY_FORMS = ("concentrate", "mixed_carbonate", "mixed_chloride", "separated_oxide", "separated_salt", "metal",
                 "alloy")
PRIMARY_HS_PREFIXES = ("280530", "2846")
# What each licence kind means, most severe first (a line needs the most severe of its items).
LICENCES: dict[str, str] = {
    "technology_prohibited": "export prohibited (Catalogue of Technologies Prohibited from Export)",
    "dual_use_licence": "dual-use export licence from MOFCOM (single or general licence, Dual-Use Regulations "
                        "Art. 15)",
    "technology_licence": "dual-use technology export licence from MOFCOM",
    "technology_restricted": "technology export licence (restricted technology)",
    "export_quota_licence": "export quota allocation and export licence from MOFCOM",
    "export_licence": "export licence from MOFCOM (no volume limit)",
}
SEVERITY = {k: i for i, k in enumerate(LICENCES)}
CATEGORY_OF_SUB_ITEM = {"a": "metal_alloy_product", "b": "oxide", "c": "compound"}
FORMS_OF_CATEGORY = {"metal_alloy_product": ("metal", "alloy"), "oxide": ("separated_oxide",),
                     "compound": ("separated_salt", "mixed_carbonate", "mixed_chloride"),
                     "technology": (TECHNOLOGY_FORM,)}
# Words in an item's description that bring further catalog forms into its scope (restrat's reading, derived).
FORM_KEYWORDS = {"ndfeb": "magnet_ndfeb", "smco": "magnet_smco", "sm-co": "magnet_smco", "phosphor": "phosphor",
                 "luminescent": "phosphor"}


def _day(value: Any) -> dt.date | None:
    text = "" if value is None else str(value).strip()
    return dt.date.fromisoformat(text[:10]) if text else None


def _forms_for(category: str, description: str) -> str:
    forms = list(FORMS_OF_CATEGORY.get(category, ()))
    low = description.lower()
    forms += [f for k, f in FORM_KEYWORDS.items() if k in low and f not in forms]
    return ";".join(forms)


def measures_frame() -> pd.DataFrame:
    """The shipped measures with their effective date and where it comes from (stated, or the issue date assumed
    because the sources give none)."""
    m = reference.read("cn_export_control_measures.csv")
    stated = m.effective_date != ""
    assumed = ~stated & (m.issued_date != "") & (m.elements != "")
    m["effective_basis"] = np.select([stated, assumed], ["stated", "issued_date_assumed"], "not_given")
    m["effective"] = np.where(stated, m.effective_date, np.where(assumed, m.issued_date, ""))
    return m


def _measure_rows(m: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"measure_id": r.measure_id, "measure_type": r.measure_type, "title": r.title,
             "issued_date": _day(r.issued_date), "effective_date": _day(r.effective),
             "effective_basis": r.effective_basis, "end_date": _day(r.end_date), "scope": r.scope_summary,
             "elements": r.elements, "status": r.status, "source": r.source, "note": r.note}
            for r in m.itertuples(index=False)]


def _suspension_rows(m: pd.DataFrame) -> list[dict[str, Any]]:
    suspended = m[m.suspended_from != ""]
    by_date = {r.effective: r.measure_id for r in m.itertuples(index=False) if r.title.startswith("Suspension")}
    return [{"measure_id": r.measure_id, "suspended_from": _day(r.suspended_from),
             "suspended_until": _day(r.suspended_until), "by_measure": by_date.get(r.suspended_from, ""),
             "source": r.source} for r in suspended.itertuples(index=False)]


def _quota_regime(q: pd.DataFrame) -> dict[str, Any]:
    years = q.year.astype(int)
    sources = " ; ".join(dict.fromkeys(s for cell in q.source for s in cell.split(" ; ") if s.strip()))
    return {"measure_id": "MOFCOM-EXPORT-QUOTA", "measure_type": "quota_regime",
            "title": f"MOFCOM rare earth export quotas ({years.min()}-{years.max()} in the data)",
            "issued_date": None, "effective_date": dt.date(int(years.min()), 1, 1), "effective_basis": "data_coverage",
            "end_date": dt.date(int(years.max()), 12, 31), "scope": "Annual export quotas by batch; ended by "
            "MOFCOM/GAC Announcement [2014] No. 94 from 2015-01-01", "elements": ";".join(ELEMENTS),
            "status": "derived", "source": sources,
            "note": "dates are the years the shipped quota series covers (cn_export_quota.csv); the regime is older"}


def _entry_rows(m: pd.DataFrame, quota: dict[str, Any]) -> list[dict[str, Any]]:
    eff = {r.measure_id: (_day(r.effective), _day(r.end_date)) for r in m.itertuples(index=False)}
    items = reference.read("cn_export_control_items.csv")
    rows = []
    for r in items.itertuples(index=False):
        category = CATEGORY_OF_SUB_ITEM.get(r.sub_item, "technology") if r.element else "technology"
        start, end = eff.get(r.measure_id, (None, None))
        licence = "dual_use_licence" if r.element else (
            "technology_licence" if r.item_code.startswith("1E") else "technology_restricted")
        rows.append({"item_code": r.item_code, "element": r.element or None, "sub_item": r.sub_item,
                     "category": category, "description": r.description,
                     "forms": _forms_for(category, r.description), "hs_codes": r.reference_customs_codes,
                     "min_share": 0.0, "licence": licence, "measure_id": r.measure_id, "code_status": r.code_status,
                     "effective_from": start, "effective_to": end, "source": r.source, "note": r.note})
    tech = m[m.measure_id == "MOFCOM-MOST-2023-TECH-CATALOGUE"]
    for t in tech.itertuples(index=False):
        start = _day(t.effective)
        for code, licence, what in (
                ("TECH-CAT-2023-P", "technology_prohibited", "Prohibited: RE extraction/separation (incl. ionic-ore "
                 "leaching), RE metal and alloy production, SmCo, NdFeB and cerium magnet preparation technology"),
                ("TECH-CAT-2023-R", "technology_restricted", "Restricted: RE mining, beneficiation and smelting "
                 "technologies")):
            rows.append({"item_code": code, "element": None, "sub_item": "", "category": "technology",
                         "description": what, "forms": TECHNOLOGY_FORM, "hs_codes": "", "min_share": 0.0,
                         "licence": licence, "measure_id": t.measure_id, "code_status": "derived",
                         "effective_from": start, "effective_to": None, "source": t.source,
                         "note": "entry made by restrat from the catalogue's scope summary; the code is restrat's"})
    base = {"element": None, "sub_item": "", "category": "primary_product", "forms": ";".join(PRIMARY_FORMS),
            "hs_codes": ";".join(PRIMARY_HS_PREFIXES), "min_share": 0.0, "code_status": "derived"}
    rows.append({**base, "item_code": "EXPORT-QUOTA", "description": "Rare earth products under the annual export "
                 "quota", "licence": "export_quota_licence", "measure_id": quota["measure_id"],
                 "effective_from": quota["effective_date"], "effective_to": quota["end_date"],
                 "source": quota["source"],
                 "note": "scope as restrat models it: primary products (ores to alloys, HS 2805.30 and 2846)"})
    lic = m[m.measure_id == "MOFCOM-GAC-2014-94"].iloc[0]
    rows.append({**base, "item_code": "EXPORT-LICENCE", "description": "Rare earth products: export licence without "
                 "volume limit", "licence": "export_licence", "measure_id": lic.measure_id,
                 "effective_from": _day(lic.effective), "effective_to": None, "source": lic.source,
                 "note": "the sources give no end date; scope as restrat models it (primary products)"})
    return rows


CONTENT_RULES = Path(__file__).parent / "data" / "content_rules.csv"


def content_rule_rows(m: pd.DataFrame, path: Path = CONTENT_RULES) -> list[dict[str, Any]]:
    """The dated content rules of a file (data/README.md), checked against the measures; bad rows raise one error
    naming each row and field."""
    rules = pd.read_csv(path, dtype=str, keep_default_na=False)
    measures = m.set_index("measure_id")
    rows, problems = [], []
    for i, r in enumerate(rules.to_dict("records"), start=1):
        if r["measure_id"] not in measures.index:
            problems.append(Problem(row=i, field="measure_id", rule="is not a known measure", value=r["measure_id"]))
            continue
        measure = measures.loc[r["measure_id"]]
        elements = r["elements"].strip() or str(measure.elements)
        unknown = [e for e in elements.split(";") if e not in ELEMENTS]
        if unknown or not elements:
            problems.append(Problem(row=i, field="elements", rule="must be rare earth element symbols", value=elements))
        try:
            share = float(r["threshold_value_share"])
            if not 0 < share < 1:
                raise ValueError
        except ValueError:
            problems.append(Problem(row=i, field="threshold_value_share", rule="must be a fraction between 0 and 1",
                                    value=r["threshold_value_share"]))
            share = 0.0
        try:
            start, end = _day(r["effective_from"]), _day(r["effective_to"])
            if start is None or (end is not None and end < start):
                raise ValueError
        except ValueError:
            problems.append(Problem(row=i, field="effective_from", rule="must be a date, before effective_to",
                                    value=r["effective_from"]))
            continue
        rows.append({"measure_id": r["measure_id"], "elements": elements, "threshold_value_share": share,
                     "effective_from": start, "effective_to": end, "source": str(measure.source), "note": r["note"]})
    if problems:
        raise InputError(problems)
    return rows


def seed_control_list(*, session: Session) -> dict[str, int]:
    """Replace the control list with the shipped measures, items, suspensions and export quotas (version 1)."""
    for table in (models.ReviewChange, models.ReviewProposal, models.ContentRule, models.ControlEntry,
                  models.ExportSuspension, models.ExportQuotaYear):
        session.execute(delete(table))
    session.execute(models.ControlEntry.__table__.update().values(version_closed=None))
    session.execute(delete(models.ControlListVersion))
    session.execute(delete(models.ExportMeasure))
    m = measures_frame()
    q = reference.read("cn_export_quota.csv")
    quota = _quota_regime(q)
    version = models.ControlListVersion(created_by=SEED_USER, basis="shipped reference data: "
                                        "cn_export_control_measures.csv, cn_export_control_items.csv, "
                                        "cn_export_quota.csv")
    session.add(version)
    session.flush()
    entries = [{**e, "version_added": version.id, "version_closed": None} for e in _entry_rows(m, quota)]
    quotas = [{"year": int(r.year), "batch": r.batch, "category": r.category, "tonnes": float(r.tonnes),
               "status": r.status, "source": r.source, "note": r.note} for r in q.itertuples(index=False)]
    return {
        "measures": insert_rows(session, models.ExportMeasure.__table__, [*_measure_rows(m), quota]),
        "suspensions": insert_rows(session, models.ExportSuspension.__table__, _suspension_rows(m)),
        "entries": insert_rows(session, models.ControlEntry.__table__, entries),
        "content_rules": insert_rows(session, models.ContentRule.__table__, content_rule_rows(m)),
        "export_quotas": insert_rows(session, models.ExportQuotaYear.__table__, quotas),
    }


# ---- what applied on a date --------------------------------------------------------------------------------------

ENTRY_COLUMNS = ("id", "item_code", "element", "sub_item", "category", "description", "forms", "hs_codes",
                 "min_share", "licence", "measure_id", "code_status", "effective_from", "effective_to",
                 "version_added", "version_closed", "source", "note")


def _suspended_on(on: dt.date) -> Any:
    s = models.ExportSuspension
    return exists().where(s.measure_id == models.ControlEntry.measure_id, s.suspended_from <= on,
                          s.suspended_until >= on)


def applicable_on(*, session: Session, on: dt.date) -> pd.DataFrame:
    """The control-list entries that applied on a date: in force and their measure not suspended that day."""
    e = models.ControlEntry
    stmt = (select(*[getattr(e, c) for c in ENTRY_COLUMNS])
            .where(e.effective_from <= on, or_(e.effective_to.is_(None), e.effective_to >= on),
                   not_(_suspended_on(on)))
            .order_by(e.item_code, e.id))
    return pd.DataFrame(session.execute(stmt).all(), columns=list(ENTRY_COLUMNS))


def suspended_on(*, session: Session, on: dt.date) -> pd.DataFrame:
    """Entries in force on a date but suspended that day, with the suspension."""
    e, s = models.ControlEntry, models.ExportSuspension
    stmt = (select(e.item_code, e.element, e.description, e.measure_id, s.suspended_from, s.suspended_until,
                   s.by_measure)
            .join(s, and_(s.measure_id == e.measure_id, s.suspended_from <= on, s.suspended_until >= on))
            .where(e.effective_from <= on, or_(e.effective_to.is_(None), e.effective_to >= on))
            .order_by(e.item_code))
    return pd.DataFrame(session.execute(stmt).all(),
                        columns=["item_code", "element", "description", "measure_id", "suspended_from",
                                 "suspended_until", "by_measure"])


def lapsed_suspensions(*, session: Session, on: dt.date) -> list[dict[str, Any]]:
    """Suspensions of measures on the list (entries or content rules) that ended before a date with no later
    suspension recorded: the measure applies again from the day after, as far as the data know."""
    s = models.ExportSuspension
    later = select(func.max(s.suspended_until)).group_by(s.measure_id).subquery()
    on_list = select(models.ControlEntry.measure_id).union(select(models.ContentRule.measure_id))
    rows = session.execute(select(s.measure_id, s.suspended_from, s.suspended_until, s.by_measure)
                           .where(s.suspended_until < on, s.suspended_until.in_(select(later)),
                                  s.measure_id.in_(on_list))
                           .order_by(s.suspended_until.desc(), s.measure_id)).all()
    return [{"measure_id": m, "suspended_from": f, "suspended_until": u, "by_measure": b,
             "applies_again_from": u + dt.timedelta(days=1)} for m, f, u, b in rows]


def undated_entries(*, session: Session) -> pd.DataFrame:
    """Entries whose sources give no dates (kept on the list, left out of date queries)."""
    e = models.ControlEntry
    stmt = select(*[getattr(e, c) for c in ENTRY_COLUMNS]).where(e.effective_from.is_(None)).order_by(e.item_code)
    return pd.DataFrame(session.execute(stmt).all(), columns=list(ENTRY_COLUMNS))


def diff(*, session: Session, start: dt.date, end: dt.date) -> pd.DataFrame:
    """What changed between two dates: entries that apply on one and not the other, and entries whose terms
    changed (same item code, different scope or licence)."""
    if end < start:
        raise InputError(Problem(field="end", rule="must not be before start", value=end.isoformat()))
    keys = ["item_code", "element", "sub_item"]
    terms = ["category", "forms", "hs_codes", "min_share", "licence"]
    a = applicable_on(session=session, on=start).drop_duplicates(keys)
    b = applicable_on(session=session, on=end).drop_duplicates(keys)
    both = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True)
    changed = np.zeros(len(both), dtype=bool)
    for t in terms:
        changed |= (both[f"{t}_a"].astype(str) != both[f"{t}_b"].astype(str)).to_numpy()
    both["change"] = np.select([both._merge == "left_only", both._merge == "right_only", changed],
                               ["removed", "added", "changed"], "unchanged")
    out = both[both.change != "unchanged"].copy()
    for col in ["description", "licence", "measure_id", "code_status", "source"]:
        out[col] = out[f"{col}_b"].where(out.change != "removed", out[f"{col}_a"])
    out["was"] = out.licence_a.where(out.change == "changed", "")
    return out[["change", *keys, "description", "licence", "was", "measure_id", "code_status", "source"]] \
        .sort_values(["change", "item_code"]).reset_index(drop=True)


def timeline(*, session: Session) -> pd.DataFrame:
    """One row per entry and period in which it applied (suspensions cut the periods), for the timeline chart."""
    e, s = models.ControlEntry, models.ExportSuspension
    entries = pd.DataFrame(session.execute(select(e.id, e.item_code, e.element, e.licence, e.measure_id,
                                                  e.code_status, e.effective_from, e.effective_to)
                                           .where(e.effective_from.is_not(None))).all(),
                           columns=["id", "item_code", "element", "licence", "measure_id", "code_status", "start",
                                    "end"])
    susp = pd.DataFrame(session.execute(select(s.measure_id, s.suspended_from, s.suspended_until)).all(),
                        columns=["measure_id", "from", "until"])
    return periods(entries, susp)


def periods(entries: pd.DataFrame, suspensions: pd.DataFrame) -> pd.DataFrame:
    """Cut each entry's [start, end] by its measure's suspensions into the periods it applied and was suspended
    (column state: in_force / suspended). Open ends stay None."""
    parts = []
    far = dt.date(9999, 12, 31)
    for measure_id, group in entries.groupby(entries.measure_id.fillna(""), sort=False):
        cuts = suspensions[suspensions.measure_id == measure_id].sort_values("from")
        for r in group.itertuples(index=False):
            cursor, stop = r.start, r.end or far
            for _, start, until in cuts.itertuples(index=False, name=None):
                if until < cursor or start > stop:
                    continue
                if start > cursor:
                    parts.append({**r._asdict(), "start": cursor, "end": start - dt.timedelta(days=1),
                                  "state": "in_force"})
                parts.append({**r._asdict(), "start": max(cursor, start), "end": min(stop, until),
                              "state": "suspended"})
                cursor = until + dt.timedelta(days=1)
            if cursor <= stop:
                parts.append({**r._asdict(), "start": cursor, "end": r.end, "state": "in_force"})
    return pd.DataFrame(parts, columns=[*entries.columns, "state"])


# ---- classification ----------------------------------------------------------------------------------------------

_PAIR = r"([A-Za-z]{1,2})\s*[:=]\s*([-+0-9.eE]+)"


@dataclass
class Classification:
    """Per line: controlled or not, the items, the licence needed and why; per match: item and reason.
    suspended lists items that would apply but were suspended on the line's date."""

    lines: pd.DataFrame
    matches: pd.DataFrame
    suspended: pd.DataFrame


def _rule_windows(session: Session) -> pd.DataFrame:
    e, s, m = models.ControlEntry, models.ExportSuspension, models.ExportMeasure
    entries = pd.DataFrame(session.execute(
        select(e.id, e.item_code, e.element, e.forms, e.hs_codes, e.min_share, e.licence, e.measure_id,
               e.code_status, func.coalesce(m.effective_basis, ""), e.effective_from, e.effective_to)
        .outerjoin(m, m.measure_id == e.measure_id).where(e.effective_from.is_not(None))).all(),
        columns=["id", "item_code", "element", "forms", "hs_codes", "min_share", "licence", "measure_id",
                 "code_status", "effective_basis", "start", "end"])
    susp = pd.DataFrame(session.execute(select(s.measure_id, s.suspended_from, s.suspended_until)).all(),
                        columns=["measure_id", "from", "until"])
    return periods(entries, susp)


def _composition_matrix(lines: pd.DataFrame, problems: list[Problem]) -> np.ndarray:
    n = len(lines)
    comp = np.zeros((n, len(ELEMENTS)))
    index = {el: i for i, el in enumerate(ELEMENTS)}
    for el in ELEMENTS:
        if el in lines.columns:
            comp[:, index[el]] = pd.to_numeric(lines[el].replace("", "0"), errors="coerce").fillna(-1).to_numpy()
    if "composition" in lines.columns:
        pairs = lines.composition.fillna("").astype(str).str.extractall(_PAIR)
        if len(pairs):
            rows = pairs.index.get_level_values(0).to_numpy()
            symbols = pairs[0].str.capitalize()
            known = symbols.isin(index).to_numpy()
            for r, sym in zip(rows[~known], symbols[~known], strict=True):
                problems.append(Problem(row=int(lines._row.iat[r]), field="composition",
                                        rule=f"unknown element; expected one of {', '.join(ELEMENTS)}", value=sym))
            values = pd.to_numeric(pairs[1], errors="coerce").fillna(-1).to_numpy()
            np.add.at(comp, (rows[known], symbols[known].map(index).to_numpy()), values[known])
    bad = (comp < 0) | (comp > 1)
    for r in np.flatnonzero(bad.any(axis=1)):
        problems.append(Problem(row=int(lines._row.iat[r]), field="composition",
                                rule="each element share must be a number from 0 to 1 (fraction of REO)"))
    over = comp.sum(axis=1) > 1.0001
    for r in np.flatnonzero(over & ~bad.any(axis=1)):
        problems.append(Problem(row=int(lines._row.iat[r]), field="composition",
                                rule="element shares add up to more than 1", value=round(float(comp[r].sum()), 4)))
    return comp


def _known_hs(codes: pd.Series) -> dict[str, bool]:
    table = set(hs_code_table().code)
    return {c: c in table or any(t.startswith(c) or c.startswith(t) for t in table) for c in codes.unique() if c}


def _prepare(lines: pd.DataFrame, on: dt.date | None) -> tuple[pd.DataFrame, np.ndarray]:
    """Check the lines set-wise (every problem names row and field) and return them with a composition matrix."""
    df = lines.copy()
    df.insert(0, "_row", np.arange(1, len(df) + 1))
    if "line" not in df.columns:
        df["line"] = df._row.astype(str)
    problems: list[Problem] = []
    if "form" not in df.columns:
        raise InputError(Problem(field="form", rule="column is required (a catalog product form)"))
    df["form"] = df.form.fillna("").astype(str).str.strip()
    forms = set(product_form_table().code) | {TECHNOLOGY_FORM}
    for row, form in df.loc[~df.form.isin(forms), ["_row", "form"]].itertuples(index=False, name=None):
        problems.append(Problem(row=int(row), field="form",
                                rule=f"unknown product form; expected one of {', '.join(sorted(forms))}",
                                value=form))
    hs = df["hs_code"].fillna("").astype(str).str.replace(r"[.\s]", "", regex=True) if "hs_code" in df.columns \
        else pd.Series("", index=df.index)
    df["hs_code"] = hs
    known = _known_hs(hs)
    for row, code in df.loc[hs != "", ["_row", "hs_code"]].itertuples(index=False, name=None):
        if not known[code]:
            try:
                validate_hs_code(code, row=int(row))
                problems.append(Problem(row=int(row), field="hs_code", rule="unknown HS code: not a rare earth "
                                        "tariff line in cn_hs_codes.csv", value=code))
            except InputError as e:
                problems.extend(e.problems)
    if "value_usd" in df.columns:
        value = pd.to_numeric(df.value_usd.replace("", "0"), errors="coerce")
        for r in df.loc[value.isna() | (value < 0), "_row"]:
            problems.append(Problem(row=int(r), field="value_usd", rule="must be a number >= 0"))
        df["value_usd"] = value
    if "date" in df.columns:
        dates = pd.to_datetime(df.date.replace("", None).fillna(on.isoformat() if on else None), errors="coerce",
                               format="ISO8601")
        for r in df.loc[dates.isna(), "_row"]:
            problems.append(Problem(row=int(r), field="date", rule="must be a date YYYY-MM-DD"))
        df["_day"] = dates.dt.date
    elif on is None:
        raise InputError(Problem(field="date", rule="give a date for the lines (a date column or --on)"))
    else:
        df["_day"] = on
    comp = _composition_matrix(df, problems)
    if problems:
        raise InputError(problems)
    hs_table = hs_code_table().set_index("code")
    hs_element = df.hs_code.map(hs_table.element.to_dict()).fillna("")
    empty = (comp.sum(axis=1) == 0) & hs_element.isin(ELEMENTS).to_numpy()
    if empty.any():
        comp[empty, hs_element[empty].map({el: i for i, el in enumerate(ELEMENTS)}).to_numpy()] = 1.0
    df["_comp_from_hs"] = empty
    return df, comp


def classify_lines(lines: pd.DataFrame, windows: pd.DataFrame, comp: np.ndarray) -> Classification:
    """Match prepared lines (form, hs_code, _day, composition matrix) against rule windows set-wise."""
    n, w = len(lines), len(windows)
    if w == 0 or n == 0:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in ("line", "item_code", "element", "licence",
                                                                    "measure_id", "reason")}).assign(
            _i=pd.Series(dtype=np.int64))
        return Classification(lines=_summary(lines, empty, n), matches=empty.drop(columns="_i"),
                              suspended=empty.drop(columns="_i"))
    day = pd.to_datetime(pd.Series(lines._day)).to_numpy().astype("datetime64[D]").astype(np.int64)
    start = pd.to_datetime(windows.start).to_numpy().astype("datetime64[D]").astype(np.int64)
    end = pd.to_datetime(windows.end.fillna(dt.date(9999, 12, 31))).to_numpy().astype("datetime64[D]") \
        .astype(np.int64)
    date_ok = (start[None, :] <= day[:, None]) & (day[:, None] <= end[None, :])
    form_codes, form_idx = np.unique(lines.form.to_numpy(dtype=str), return_inverse=True)
    entry_forms = [set(f.split(";")) if f else set() for f in windows.forms]
    form_table = np.array([[f in ef for ef in entry_forms] for f in form_codes], dtype=bool).reshape(-1, w)
    hs_codes, hs_idx = np.unique(lines.hs_code.to_numpy(dtype=str), return_inverse=True)
    entry_hs = [tuple(h for h in str(x).split(";") if h) for x in windows.hs_codes]
    hs_table = np.array([[bool(h) and h.startswith(eh) for eh in entry_hs] for h in hs_codes],
                        dtype=bool).reshape(-1, w)
    el_index = {el: i for i, el in enumerate(ELEMENTS)}
    el = windows.element.map(el_index).fillna(-1).astype(int).to_numpy()
    shares = comp[:, np.maximum(el, 0)]
    elem_ok = np.where(el[None, :] >= 0, shares > windows.min_share.to_numpy(dtype=float)[None, :], True)
    form_ok = form_table[form_idx]
    hs_ok = hs_table[hs_idx]
    hit = date_ok & elem_ok & (form_ok | hs_ok)
    li, wi = np.nonzero(hit)
    win = windows.iloc[wi].reset_index(drop=True)
    share = shares[li, wi]
    text = pd.StringDtype("pyarrow")
    element = win.element.fillna("").astype(text)
    percent = pd.Series(np.round(share * 100, 3)).astype(text)
    element_part = (element + " " + percent + "% of REO (any content counts)").where(element != "",
                                                                                      "rare earth product")
    by_form = pd.Series(form_ok[li, wi])
    scope = ("form " + pd.Series(lines.form.to_numpy()[li]).astype(text) + " in the item's scope").where(
        by_form, "HS " + pd.Series(lines.hs_code.to_numpy()[li]).astype(text)
        + " is a reference customs code of the item")
    flags = (pd.Series(np.where(win.code_status == "inferred", " [item code inferred]", "")).astype(text)
             + np.where(win.effective_basis == "issued_date_assumed",
                        " [effective date not in the sources: issue date assumed]", ""))
    matches = pd.DataFrame({
        "line": lines.line.to_numpy()[li], "item_code": win.item_code, "element": win.element,
        "licence": win.licence, "measure_id": win.measure_id, "state": win.state,
        "reason": win.item_code.astype(text) + ": " + element_part + "; " + scope + flags,
        "_i": li})
    active = matches[matches.state == "in_force"].drop(columns="state")
    suspended = matches[matches.state == "suspended"].drop(columns=["state", "_i"]).reset_index(drop=True)
    return Classification(lines=_summary(lines, active, n), matches=active.drop(columns="_i")
                          .reset_index(drop=True), suspended=suspended)


def _summary(lines: pd.DataFrame, active: pd.DataFrame, n: int) -> pd.DataFrame:
    sev = active.licence.map(SEVERITY).to_numpy()
    order = np.lexsort((sev, active._i.to_numpy()))
    a = active.iloc[order]
    first = ~a._i.duplicated().to_numpy()
    worst = np.full(n, "", dtype=object)
    worst[a._i.to_numpy()[first]] = a.licence.to_numpy()[first]
    items = np.full(n, "", dtype=object)
    reasons = np.full(n, "", dtype=object)
    # Join each line's items and reasons set-wise: one vectorised pass per match rank (a line has a few matches).
    rank = a.groupby("_i", sort=False).cumcount().to_numpy()
    rows, codes, why = a._i.to_numpy(), a.item_code.to_numpy(dtype=object), a.reason.to_numpy(dtype=object)
    for r in range(int(rank.max()) + 1 if len(a) else 0):
        at = rank == r
        sep_items, sep_reasons = (";", " | ") if r else ("", "")
        items[rows[at]] = items[rows[at]] + sep_items + codes[at]
        reasons[rows[at]] = reasons[rows[at]] + sep_reasons + why[at]
    out = pd.DataFrame({"line": lines.line.to_numpy(), "date": lines._day.to_numpy(), "form": lines.form.to_numpy(),
                        "hs_code": lines.hs_code.to_numpy(), "controlled": worst != "", "items": items,
                        "licence": worst, "licence_required": pd.Series(worst).map(LICENCES).fillna("none")
                        .to_numpy(), "reasons": reasons})
    out.loc[lines._comp_from_hs.to_numpy(), "reasons"] += " (composition taken from the single-element HS line)"
    return out


def classify(*, session: Session, lines: pd.DataFrame, on: dt.date | None = None) -> Classification:
    """Classify shipment lines (columns form, hs_code, composition "Dy:0.05;Nd:0.7" or one column per element,
    value_usd, optional date and line) against the control list on each line's date (default on)."""
    df, comp = _prepare(lines, on)
    return classify_lines(df, _rule_windows(session), comp)


def classify_product(*, session: Session, form: str, on: dt.date, hs_code: str = "", composition: str = "",
                     value_usd: float = 0.0) -> dict[str, Any]:
    """Classify one product: the items that apply, the licence it needs and why, and items suspended that day."""
    result = classify(session=session, on=on, lines=pd.DataFrame([{
        "form": form, "hs_code": hs_code, "composition": composition, "value_usd": value_usd}]))
    line = result.lines.iloc[0]
    return {"on": on, "form": form, "hs_code": line.hs_code, "controlled": bool(line.controlled),
            "licence": line.licence, "licence_required": line.licence_required,
            "items": result.matches.drop(columns="line").to_dict("records"),
            "suspended": result.suspended.drop(columns="line").to_dict("records"),
            "note": line.reasons if "composition taken" in line.reasons and not line.controlled else ""}


def events_between(*, session: Session, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Dated events after start up to end: entries taking effect or ending, suspensions starting or lapsing."""
    e, s = models.ControlEntry, models.ExportSuspension
    out: list[dict[str, Any]] = []
    entries = session.execute(select(e.item_code, e.measure_id, e.effective_from, e.effective_to)
                              .where(e.effective_from.is_not(None))).all()
    for code, measure, start_day, end_day in entries:
        if start < start_day <= end:
            out.append({"date": start_day, "event": "takes effect", "what": code, "measure_id": measure})
        if end_day is not None and start <= end_day < end:
            out.append({"date": end_day + dt.timedelta(days=1), "event": "ends", "what": code, "measure_id": measure})
    for measure, since, until, by in session.execute(select(s.measure_id, s.suspended_from, s.suspended_until,
                                                            s.by_measure)).all():
        if start < since <= end:
            out.append({"date": since, "event": "suspended", "what": measure, "measure_id": by})
        if start <= until < end:
            out.append({"date": until + dt.timedelta(days=1), "event": "suspension lapses", "what": measure,
                        "measure_id": by})
    grouped: dict[tuple[Any, ...], list[str]] = {}
    for ev in out:
        grouped.setdefault((ev["date"], ev["event"], ev["measure_id"]), []).append(ev["what"])
    return [{"date": d, "event": ev, "measure_id": m, "what": ", ".join(sorted(w))}
            for (d, ev, m), w in sorted(grouped.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or ""))]


def export_quotas(*, session: Session) -> pd.DataFrame:
    """MOFCOM export quotas 2005-2014 as reported, with status and source."""
    q = models.ExportQuotaYear
    return pd.DataFrame(session.execute(select(q.year, q.batch, q.category, q.tonnes, q.status, q.source, q.note)
                                        .order_by(q.year, q.batch, q.category)).all(),
                        columns=["year", "batch", "category", "tonnes", "status", "source", "note"])


def list_measures(*, session: Session) -> list[models.ExportMeasure]:
    """The measures behind the list, oldest first."""
    m = models.ExportMeasure
    return list(session.scalars(select(m).order_by(func.coalesce(m.effective_date, m.issued_date), m.measure_id)))
