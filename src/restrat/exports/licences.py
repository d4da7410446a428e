"""Export licences: applications with an end-use declaration, a state machine with the statutory review clock,
decisions with reasons and an audit trail, quota standards for military and civil end use, and licence use by
ledger export events (exact, concurrency-safe), with flags for controlled exports without or beyond a licence."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pandas as pd
import pycountry
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from restrat.catalog.service import ELEMENTS
from restrat.errors import Forbidden, InputError, NotFound, Problem
from restrat.exports import models, screening
from restrat.exports import service as control
from restrat.exports.screening import country_code
from restrat.registry import models as registry_models
from restrat.store.base import utcnow
from restrat.store.bulk import insert_rows, lookup, write_columns

# Dual-Use Items Export Control Regulations (REGULATORY.md): decision within 45 working days of acceptance
# (Art. 17); a single licence is valid up to 1 year, a general licence up to 3 years (Art. 15).
REVIEW_WORKING_DAYS = 45
VALIDITY_YEARS = {"single": 1, "general": 3}
VALID_STATES = ("approved", "approved_with_conditions")
# Why a ledger export was flagged, in the words the regulator reads (rule -> reason).
FLAG_REASONS = {
    "no_licence": "no licence: a controlled item exported without a licence reference",
    "unknown_licence": "unknown licence: the reference names no licence",
    "licence_expired": "licence expired: exported after the licence's validity ended (or the licence expired)",
    "licence_not_valid": "licence not valid: not approved, revoked, or exported before its validity began",
    "beyond_licence": "beyond the licensed quantity",
    "destination_mismatch": "wrong destination: shipped to a country the licence does not name",
}
STATES = ("draft", "submitted", "under_review", "approved", "approved_with_conditions", "denied", "revoked",
          "expired")
# Allowed transitions: (from, to) -> who may make it and whether a reason is required.
TRANSITIONS: dict[tuple[str, str], tuple[str, bool]] = {
    ("draft", "submitted"): ("exporter", False),
    ("submitted", "under_review"): ("authority", False),
    ("under_review", "approved"): ("authority", True),
    ("under_review", "approved_with_conditions"): ("authority", True),
    ("under_review", "denied"): ("authority", True),
    ("approved", "revoked"): ("authority", True),
    ("approved_with_conditions", "revoked"): ("authority", True),
    ("approved", "expired"): ("system", False),
    ("approved_with_conditions", "expired"): ("system", False),
}
ACTORS = {"exporter": ("enterprise", "admin"), "authority": ("regulator", "admin"), "system": ("system", "admin")}
ILLUSTRATIVE_STANDARD_SOURCE = ("ILLUSTRATIVE: restrat demo values, not an official quota standard; the military "
                                "line follows the denial in principle for military end users of Announcement No. 61")


def _country(value: str, field: str, problems: list[Problem]) -> str:
    code = country_code(value)
    if code is None:
        problems.append(Problem(field=field, rule="must be a country name or ISO code", value=value))
        return value
    return pycountry.countries.get(alpha_3=code).name


def _working_days_after(day: dt.date, n: int) -> dt.date:
    return dt.date.fromisoformat(str(np.busday_offset(np.datetime64(day), n, roll="forward")))


def review_clock(licence: models.Licence, *, on: dt.date) -> dict[str, Any]:
    """Working days used and left of the statutory review period (Mon-Fri; public holidays not modelled)."""
    if licence.review_due is None or licence.submitted_on is None:
        return {"due": None, "working_days_left": None, "overdue": False}
    end = licence.decided_on or on
    left = int(np.busday_count(np.datetime64(end), np.datetime64(licence.review_due)))
    return {"due": licence.review_due, "working_days_left": left,
            "overdue": licence.decided_on is None and left < 0}


def get_licence(*, session: Session, code: str) -> models.Licence:
    """One licence by its code."""
    lic = session.scalar(select(models.Licence).where(models.Licence.code == code))
    if lic is None:
        raise NotFound("licence", code)
    return lic


def _next_code(session: Session, on: dt.date) -> str:
    n = session.scalar(select(func.count(models.Licence.id)).where(models.Licence.code.like(f"EXL-{on.year}-%")))
    return f"EXL-{on.year}-{(n or 0) + 1:07d}"


def create_application(*, session: Session, exporter: str, consignee: str, consignee_country: str, end_user: str,
                       end_user_country: str, end_use: str, end_use_class: str | None, destination: str,
                       lines: list[dict[str, Any]], username: str, kind: str = "single",
                       on: dt.date | None = None, data_status: str = "registered") -> models.Licence:
    """A draft application: end-use declaration required, every line classified (unknown form or HS code is an
    error naming the line and field); nothing is written when anything is wrong."""
    on = on or dt.date.today()
    problems: list[Problem] = []
    if end_use_class not in ("military", "civil"):
        problems.append(Problem(field="end_use_class", rule="the end-use declaration is required: military or civil",
                                value=end_use_class))
    if not (end_use or "").strip():
        problems.append(Problem(field="end_use", rule="describe the end use (Export Control Law Arts. 15-16)"))
    for field, value in (("consignee", consignee), ("end_user", end_user)):
        if not (value or "").strip():
            problems.append(Problem(field=field, rule="is required"))
    if kind not in VALIDITY_YEARS:
        problems.append(Problem(field="kind", rule="must be single or general", value=kind))
    consignee_country = _country(consignee_country, "consignee_country", problems)
    end_user_country = _country(end_user_country, "end_user_country", problems)
    destination = _country(destination, "destination", problems)
    ent = session.scalar(select(registry_models.Enterprise).where(registry_models.Enterprise.code == exporter))
    if ent is None:
        problems.append(Problem(field="exporter", rule="unknown enterprise", value=exporter))
    if not lines:
        problems.append(Problem(field="lines", rule="at least one product line is required"))
    frame = pd.DataFrame(lines)
    for i, q in enumerate(pd.to_numeric(frame.get("quantity_kg", pd.Series(dtype=float)), errors="coerce"),
                          start=1):
        if not q > 0:
            problems.append(Problem(row=i, field="quantity_kg", rule="must be a number > 0",
                                    value=lines[i - 1].get("quantity_kg")))
    classified = None
    if lines:
        try:
            classified = control.classify(session=session, on=on, lines=frame.drop(
                columns=[c for c in ("quantity_kg",) if c in frame.columns]))
        except InputError as e:
            problems.extend(e.problems)
    if problems:
        raise InputError(problems)
    assert classified is not None and ent is not None
    quantities = pd.to_numeric(frame.quantity_kg).to_numpy(dtype=float)
    values = pd.to_numeric(frame.get("value_usd", pd.Series(0.0, index=frame.index))).fillna(0).to_numpy()
    lic = models.Licence(code=_next_code(session, on), exporter_id=ent.id, kind=kind, consignee=consignee.strip(),
                         consignee_country=consignee_country, end_user=end_user.strip(),
                         end_user_country=end_user_country, end_use=end_use.strip(), end_use_class=end_use_class,
                         destination=destination, quantity_kg=float(quantities.sum()),
                         value_usd=float(values.sum()), state="draft", created_by=username, data_status=data_status)
    session.add(lic)
    session.flush()
    summary = classified.lines
    insert_rows(session, models.LicenceLine.__table__, [
        {"licence_id": lic.id, "form": str(r.form), "hs_code": str(r.hs_code),
         "composition": str(lines[i].get("composition", "") or ""), "quantity_kg": float(quantities[i]),
         "value_usd": float(values[i]), "items": str(r.items)} for i, r in enumerate(summary.itertuples())])
    _log(session, lic, username, "", "draft", "application created")
    return lic


def _log(session: Session, lic: models.Licence, username: str, from_state: str, to_state: str, reason: str) -> None:
    session.add(models.LicenceEvent(licence_id=lic.id, username=username, from_state=from_state, to_state=to_state,
                                    reason=reason))


def _check_transition(lic: models.Licence, to: str, *, role: str, reason: str) -> None:
    rule = TRANSITIONS.get((lic.state, to))
    if rule is None:
        allowed = sorted(t for (f, t) in TRANSITIONS if f == lic.state)
        raise InputError(Problem(field="state", rule=f"cannot go from {lic.state} to {to}; allowed: "
                                 f"{', '.join(allowed) or 'none (final state)'}", value=to))
    actor, needs_reason = rule
    if role not in ACTORS[actor]:
        raise Forbidden(f"role '{role}' may not move a licence from {lic.state} to {to}; the {actor} does")
    if needs_reason and not reason.strip():
        raise InputError(Problem(field="reason", rule=f"a reason is required to move to {to}"))


def transition(*, session: Session, code: str, to: str, username: str, role: str, reason: str = "",
               conditions: str = "", on: dt.date | None = None, enterprise_id: int | None = None) -> models.Licence:
    """Move a licence to another state if the state machine and the role allow it; every move is logged."""
    on = on or dt.date.today()
    lic = get_licence(session=session, code=code)
    if role == "enterprise" and lic.exporter_id != enterprise_id:
        raise Forbidden(f"licence {code} belongs to another exporter")
    _check_transition(lic, to, role=role, reason=reason)
    if to == "approved_with_conditions" and not conditions.strip():
        raise InputError(Problem(field="conditions", rule="state the conditions of the approval"))
    if to == "submitted":
        lic.submitted_on = on
        lic.review_due = _working_days_after(on, REVIEW_WORKING_DAYS)
        _screen(session, lic)
    if to in VALID_STATES:
        check_quota_standards(session=session, licence=lic, on=on)
        lic.valid_from = on
        years = VALIDITY_YEARS[lic.kind]
        lic.valid_to = on.replace(year=on.year + years) - dt.timedelta(days=1) if not (on.month == 2 and on.day == 29) \
            else dt.date(on.year + years, 2, 28)
        lic.conditions = conditions.strip()
    if to in (*VALID_STATES, "denied"):
        lic.decided_on = on
    previous = lic.state
    lic.state = to
    _log(session, lic, username, previous, to, reason or conditions)
    session.flush()
    return lic


def _screen(session: Session, lic: models.Licence) -> None:
    """Screen the consignee and the end user against every loaded list; keep the band and the hits."""
    if not screening.lists(session=session):
        lic.screening_band, lic.screening = "not_screened", json.dumps({"note": "no screening list loaded"})
        return
    result = screening.screen_parties(session=session, parties=[(lic.consignee, lic.consignee_country),
                                                                 (lic.end_user, lic.end_user_country)])
    order = {"no_match": 0, "review": 1, "potential_match": 2}
    lic.screening_band = max(result["outcome"], key=order.__getitem__)
    hits = result["hits"].head(20)
    lic.screening = json.dumps({"outcome": dict(zip(("consignee", "end_user"), result["outcome"], strict=True)),
                                "hits": hits.astype(object).where(hits.notna(), None).to_dict("records")},
                               default=str, ensure_ascii=False)


def expire_licences(*, session: Session, on: dt.date, username: str = "system") -> list[str]:
    """Move every valid licence whose validity ended before a date to expired; returns their codes."""
    due = list(session.scalars(select(models.Licence).where(models.Licence.state.in_(VALID_STATES),
                                                            models.Licence.valid_to < on)))
    for lic in due:
        transition(session=session, code=lic.code, to="expired", username=username, role="system", on=on)
    return [lic.code for lic in due]


# ---- quota standards ---------------------------------------------------------------------------------------------


def standards_on(*, session: Session, on: dt.date) -> pd.DataFrame:
    """The quota standards in force on a date."""
    q = models.QuotaStandard
    stmt = select(q.id, q.end_use_class, q.element, q.max_kg_per_licence, q.annual_kg_per_exporter,
                  q.effective_from, q.effective_to, q.data_status, q.source, q.note) \
        .where(q.effective_from <= on, (q.effective_to.is_(None)) | (q.effective_to >= on)) \
        .order_by(q.end_use_class, q.element)
    return pd.DataFrame(session.execute(stmt).all(), columns=["id", "end_use_class", "element", "max_kg_per_licence",
                                                              "annual_kg_per_exporter", "effective_from",
                                                              "effective_to", "data_status", "source", "note"])


def set_standard(*, session: Session, end_use_class: str, max_kg_per_licence: float, annual_kg_per_exporter: float,
                 effective_from: dt.date, element: str | None = None, data_status: str = "set_by_regulator",
                 source: str = "", note: str = "") -> models.QuotaStandard:
    """A new quota standard from a date; the one it replaces (same class and element) ends the day before."""
    problems = []
    if end_use_class not in ("military", "civil"):
        problems.append(Problem(field="end_use_class", rule="must be military or civil", value=end_use_class))
    if element is not None and element not in ELEMENTS:
        problems.append(Problem(field="element", rule="unknown element", value=element))
    for field, v in (("max_kg_per_licence", max_kg_per_licence), ("annual_kg_per_exporter", annual_kg_per_exporter)):
        if not v >= 0:
            problems.append(Problem(field=field, rule="must be >= 0", value=v))
    if problems:
        raise InputError(problems)
    q = models.QuotaStandard
    for old in session.scalars(select(q).where(q.end_use_class == end_use_class, q.element.is_(None) if element is None
                                               else q.element == element, q.effective_to.is_(None),
                                               q.effective_from < effective_from)):
        old.effective_to = effective_from - dt.timedelta(days=1)
    row = q(end_use_class=end_use_class, element=element, max_kg_per_licence=max_kg_per_licence,
            annual_kg_per_exporter=annual_kg_per_exporter, effective_from=effective_from, data_status=data_status,
            source=source, note=note)
    session.add(row)
    session.flush()
    return row


def _line_element_kg(session: Session, licence_ids: list[int]) -> pd.DataFrame:
    """Kilograms of each licence's lines that carry each element (a line counts in full for every element in it)."""
    lines = pd.DataFrame(session.execute(select(models.LicenceLine.licence_id, models.LicenceLine.composition,
                                                models.LicenceLine.quantity_kg)
                                         .where(models.LicenceLine.licence_id.in_(licence_ids))).all(),
                         columns=["licence_id", "composition", "quantity_kg"])
    pairs = lines.composition.str.extractall(r"([A-Za-z]{1,2})\s*[:=]\s*([0-9.eE+-]+)")
    pairs = pairs[pd.to_numeric(pairs[1], errors="coerce") > 0]
    idx = pairs.index.get_level_values(0)
    return pd.DataFrame({"licence_id": lines.licence_id.to_numpy()[idx], "element": pairs[0].str.capitalize()
                         .to_numpy(), "kg": lines.quantity_kg.to_numpy()[idx]}).drop_duplicates()


def _approved_kg(session: Session, *, exporter_id: int, end_use_class: str, year: int,
                 exclude: int | None = None) -> tuple[float, pd.Series]:
    """Kilograms an exporter was licensed in a year for an end-use class: in total and per element."""
    lic = models.Licence
    ids = list(session.scalars(select(lic.id).where(
        lic.exporter_id == exporter_id, lic.end_use_class == end_use_class, lic.id != (exclude or -1),
        lic.state.in_((*VALID_STATES, "expired", "revoked")), lic.valid_from >= dt.date(year, 1, 1),
        lic.valid_from <= dt.date(year, 12, 31))))
    if not ids:
        return 0.0, pd.Series(dtype=float)
    total = float(session.scalar(select(func.sum(lic.quantity_kg)).where(lic.id.in_(ids))) or 0.0)
    return total, _line_element_kg(session, ids).groupby("element").kg.sum()


def usage_against_standards(*, session: Session, exporter_id: int, end_use_class: str, on: dt.date) -> pd.DataFrame:
    """The standards in force on a date for an end-use class beside what the exporter was licensed that year."""
    standards = standards_on(session=session, on=on)
    standards = standards[standards.end_use_class == end_use_class].copy()
    total, per_element = _approved_kg(session, exporter_id=exporter_id, end_use_class=end_use_class, year=on.year)
    standards["licensed_kg"] = np.where(standards.element.isna(), total,
                                        standards.element.map(per_element).fillna(0.0).to_numpy())
    return standards


def check_quota_standards(*, session: Session, licence: models.Licence, on: dt.date) -> None:
    """Refuse an approval that would break a quota standard in force: per licence, or the exporter's annual total."""
    standards = standards_on(session=session, on=on)
    standards = standards[standards.end_use_class == licence.end_use_class]
    if standards.empty:
        return
    element_kg = _line_element_kg(session, [licence.id]).set_index("element").kg
    other_total, other_element = _approved_kg(session, exporter_id=licence.exporter_id,
                                              end_use_class=licence.end_use_class, year=on.year, exclude=licence.id)
    problems = []
    for s in standards.itertuples(index=False):
        overall = pd.isna(s.element)
        scope = "all elements" if overall else s.element
        this = licence.quantity_kg if overall else float(element_kg.get(s.element, 0.0))
        before = other_total if overall else float(other_element.get(s.element, 0.0))
        if this == 0:
            continue
        tag = f" [{s.data_status.upper()} standard]" if s.data_status == "illustrative" else ""
        if this > s.max_kg_per_licence:
            problems.append(Problem(field="quantity_kg", rule=f"{licence.end_use_class} quota standard ({scope}) "
                                    f"allows {s.max_kg_per_licence:,.0f} kg per licence{tag}", value=this))
        if before + this > s.annual_kg_per_exporter:
            problems.append(Problem(field="quantity_kg", rule=f"{licence.end_use_class} quota standard ({scope}): "
                                    f"the exporter's {on.year} total would reach {before + this:,.0f} kg, above "
                                    f"{s.annual_kg_per_exporter:,.0f} kg{tag}", value=this))
    if problems:
        raise InputError(problems)


def seed_illustrative_standards(*, session: Session, effective_from: dt.date) -> int:
    """Illustrative military and civil quota standards for the demo (labelled so in the data and on the pages)."""
    rows = [("civil", None, 100_000.0, 5_000_000.0), ("civil", "Dy", 10_000.0, 100_000.0),
            ("civil", "Tb", 5_000.0, 50_000.0), ("military", None, 0.0, 0.0)]
    for end_use, element, per_licence, annual in rows:
        set_standard(session=session, end_use_class=end_use, element=element, max_kg_per_licence=per_licence,
                     annual_kg_per_exporter=annual, effective_from=effective_from, data_status="illustrative",
                     source=ILLUSTRATIVE_STANDARD_SOURCE)
    return len(rows)


# ---- licence use by ledger exports -------------------------------------------------------------------------------

EXPORT_COLUMNS = ("event_id", "at_epoch_s", "licence_ref", "country", "kg", "form", *ELEMENTS)


def exports_from_written(*, events: pd.DataFrame, inputs: pd.DataFrame, in_comp: np.ndarray) -> pd.DataFrame:
    """One row per export event: gross kg shipped, form, and REO-weighted element shares of the batches it took.

    in_comp holds the REO fractions of the batches consumed, row for row with inputs (as the ledger hands them to
    its consumers)."""
    ex = events[events.kind == "export"]
    if ex.empty:
        return pd.DataFrame(columns=EXPORT_COLUMNS)
    taken = inputs.event_id.isin(ex.event_id).to_numpy()
    ins = inputs[taken]
    weighted = in_comp[taken] * ins.reo_kg.to_numpy(dtype=float)[:, None]
    by_event = pd.DataFrame(weighted, columns=list(ELEMENTS)).groupby(ins.event_id.to_numpy()).sum()
    reo = by_event.sum(axis=1).replace(0, np.nan)
    shares = by_event.div(reo, axis=0).fillna(0.0)
    agg = ins.groupby("event_id").agg(kg=("kg", "sum"), form=("form", "first"))
    out = ex.set_index("event_id")[["at_epoch_s", "licence_ref", "country"]].join(agg).join(shares)
    return out.reset_index()[list(EXPORT_COLUMNS)]


def consume_ledger_exports(*, session: Session, written: Any) -> dict[str, int]:
    """Ledger consumer: apply the export events of one import to licences (same transaction as the import)."""
    return apply_exports(session=session, exports=exports_from_written(events=written.events, inputs=written.inputs,
                                                                         in_comp=written.in_comp))


def _lock_licences(session: Session, codes: list[str]) -> pd.DataFrame:
    """Lock the referenced licences for this transaction and read their current state and use: on SQLite the
    transaction starts with BEGIN IMMEDIATE unless one is open (a deferred one would read a snapshot first and could
    not then upgrade to writing once another writer committed); on PostgreSQL a no-op UPDATE takes the row locks."""
    conn = session.connection()
    raw = conn.connection.dbapi_connection
    if conn.dialect.name == "sqlite" and raw is not None and not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")
    if codes:
        lookup(session, "UPDATE export_licence SET consumed_kg = consumed_kg WHERE code IN {keys} RETURNING id", codes)
    rows = lookup(session, "SELECT id, code, state, destination, valid_from, valid_to, quantity_kg, consumed_kg "
                  "FROM export_licence WHERE code IN {keys}", codes)
    df = pd.DataFrame(rows, columns=["licence_id", "code", "state", "destination", "valid_from", "valid_to",
                                     "quantity_kg", "consumed_kg"])
    for c in ("valid_from", "valid_to"):
        df[c] = pd.to_datetime(df[c])
    return df.set_index("code")


def apply_exports(*, session: Session, exports: pd.DataFrame) -> dict[str, int]:
    """Consume licences by export events exactly and flag the exports that broke a rule, set-wise.

    exports: event_id, at_epoch_s, licence_ref, country, kg, form and the 17 element shares of REO. An event counts
    once (already-applied events are skipped). Controlled means a licence was required on the event's day."""
    if exports.empty:
        return {"exports": 0, "consumed": 0, "flagged": 0}
    licences = _lock_licences(session, sorted(set(exports.licence_ref.dropna().astype(str)) - {""}))
    # one range read per table on the indexed event ids, not an IN list of every id
    span = {"lo": int(exports.event_id.min()), "hi": int(exports.event_id.max())}
    done = {int(r[0]) for table in ("export_licence_use", "export_flag") for r in session.execute(
        text(f"SELECT event_id FROM {table} WHERE event_id BETWEEN :lo AND :hi"), span)}
    ex = exports[~exports.event_id.astype(int).isin(done)].sort_values(["at_epoch_s", "event_id"]) \
        .reset_index(drop=True)
    if ex.empty:
        return {"exports": 0, "consumed": 0, "flagged": 0}
    ex["licence_ref"] = ex.licence_ref.fillna("").astype(str)
    day = pd.to_datetime(ex.at_epoch_s.astype("int64"), unit="s")
    lines = pd.DataFrame({"line": ex.event_id.astype(str), "form": ex.form.fillna("").astype(str), "hs_code": "",
                          "_day": day.dt.date, "_comp_from_hs": False})
    known_forms = lines.form != ""
    result = control.classify_lines(lines[known_forms].reset_index(drop=True), control._rule_windows(session),
                                    ex.loc[known_forms, list(ELEMENTS)].to_numpy(dtype=float))
    need = pd.Series(False, index=ex.index)
    need[known_forms[known_forms].index] = result.lines.controlled.to_numpy()
    items = pd.Series("", index=ex.index)
    items[known_forms[known_forms].index] = result.lines["items"].to_numpy()
    lic = licences.reindex(ex.licence_ref).reset_index(drop=True)
    has_ref = (ex.licence_ref != "").to_numpy()
    found = lic.licence_id.notna().to_numpy()
    in_state = lic.state.isin(VALID_STATES).to_numpy()
    in_dates = ((lic.valid_from <= day.to_numpy()) & (day.to_numpy() < lic.valid_to + pd.Timedelta(days=1))).to_numpy()
    dest_ok = (ex.country.map(lambda c: country_code(str(c or ""))).to_numpy()
               == lic.destination.map(lambda c: country_code(str(c or "")) if isinstance(c, str) else None).to_numpy())
    valid = has_ref & found & in_state & in_dates & dest_ok
    ended = ((lic.state == "expired") | (lic.state.isin(VALID_STATES)
                                         & (day.to_numpy() >= lic.valid_to + pd.Timedelta(days=1)))).to_numpy()
    invalid = has_ref & found & ~(in_state & in_dates)
    rule = np.select([~has_ref & need.to_numpy(), has_ref & ~found, invalid & ended, invalid,
                      has_ref & found & in_state & in_dates & ~dest_ok],
                     ["no_licence", "unknown_licence", "licence_expired", "licence_not_valid",
                      "destination_mismatch"], "")
    ref = ex.licence_ref
    period = " (valid " + lic.valid_from.dt.date.astype(str) + " to " + lic.valid_to.dt.date.astype(str) + ")"
    detail = np.select(
        [rule == "no_licence", rule == "unknown_licence", np.isin(rule, ["licence_expired", "licence_not_valid"]),
         rule == "destination_mismatch"],
        ["controlled export without a licence: " + items,
         "licence " + ref + " does not exist",
         "licence " + ref + " is " + lic.state.fillna("").astype(str) + period + " on the export day",
         "shipped to " + ex.country.fillna("").astype(str) + ", licence is for "
         + lic.destination.fillna("").astype(str)], "").astype(object)
    # Exact consumption: within each licence, events in time order use what remains; one that would overdraw uses
    # nothing and is flagged.
    use = ex[valid].copy()
    use["licence_id"] = lic.licence_id.to_numpy()[valid].astype(int)
    use["remaining"] = (lic.quantity_kg - lic.consumed_kg).to_numpy()[valid]
    fits = np.zeros(len(use), dtype=bool)
    for _, idx in use.groupby("licence_id").indices.items():
        kg = use.kg.to_numpy(dtype=float)[idx]
        left = float(use.remaining.iat[idx[0]])
        for j, k in zip(idx, kg, strict=True):  # sequential by definition: each event sees what the earlier left
            if k <= left + 1e-6:
                fits[j] = True
                left -= k
    over = use[~fits]
    rule[over.index.to_numpy()] = "beyond_licence"
    detail[over.index.to_numpy()] = ("exceeds what remains of licence " + over.licence_ref + " ("
                                     + over.remaining.round(3).astype(str) + " kg before this run): "
                                     + over.kg.round(3).astype(str) + " kg").to_numpy()
    taken = use[fits]
    write_columns(session, "export_licence_use", {
        "licence_id": taken.licence_id.to_numpy(dtype=np.int64), "event_id": taken.event_id.to_numpy(dtype=np.int64),
        "kg": taken.kg.to_numpy(dtype=float), "at_epoch_s": taken.at_epoch_s.to_numpy(dtype=np.int64)})
    for licence_id, kg in taken.groupby("licence_id").kg.sum().items():
        session.execute(text("UPDATE export_licence SET consumed_kg = consumed_kg + :kg WHERE id = :id"),
                        {"kg": float(kg), "id": int(licence_id)})
    flagged = rule != ""
    n_flagged = int(flagged.sum())
    write_columns(session, "export_flag", {
        "event_id": ex.event_id.to_numpy(dtype=np.int64)[flagged], "rule": rule[flagged].astype(object),
        "licence_ref": ex.licence_ref.to_numpy(dtype=object)[flagged], "kg": ex.kg.to_numpy(dtype=float)[flagged],
        "detail": detail[flagged], "at_epoch_s": ex.at_epoch_s.to_numpy(dtype=np.int64)[flagged],
        "created_at": np.full(n_flagged, utcnow(), dtype=object)})
    return {"exports": len(ex), "consumed": len(taken), "flagged": n_flagged}


def licence_usage(*, session: Session, code: str) -> dict[str, Any]:
    """A licence's quantity, what ledger exports used of it, and the uses and flags."""
    lic = get_licence(session=session, code=code)
    uses = pd.DataFrame(session.execute(select(models.LicenceUse.event_id, models.LicenceUse.kg,
                                               models.LicenceUse.at_epoch_s)
                                        .where(models.LicenceUse.licence_id == lic.id)
                                        .order_by(models.LicenceUse.at_epoch_s)).all(),
                        columns=["event_id", "kg", "at_epoch_s"])
    flags = pd.DataFrame(session.execute(select(models.ExportFlag.event_id, models.ExportFlag.rule,
                                                models.ExportFlag.kg, models.ExportFlag.detail)
                                         .where(models.ExportFlag.licence_ref == code)).all(),
                         columns=["event_id", "rule", "kg", "detail"])
    return {"code": code, "quantity_kg": lic.quantity_kg, "consumed_kg": lic.consumed_kg,
            "remaining_kg": lic.quantity_kg - lic.consumed_kg, "uses": uses, "flags": flags}


def list_licences(*, session: Session, exporter_id: int | None = None, states: tuple[str, ...] | None = None,
                  limit: int = 1000) -> list[models.Licence]:
    """Licences newest first, optionally of one exporter or in some states."""
    stmt = select(models.Licence).order_by(models.Licence.id.desc()).limit(limit)
    if exporter_id is not None:
        stmt = stmt.where(models.Licence.exporter_id == exporter_id)
    if states:
        stmt = stmt.where(models.Licence.state.in_(states))
    return list(session.scalars(stmt))


def history(*, session: Session, code: str) -> list[models.LicenceEvent]:
    """The audit trail of a licence, oldest first."""
    lic = get_licence(session=session, code=code)
    return list(session.scalars(select(models.LicenceEvent).where(models.LicenceEvent.licence_id == lic.id)
                                .order_by(models.LicenceEvent.id)))


FLAG_COLUMNS = ["event_id", "uid", "facility", "day", "country", "rule", "reason", "licence_ref", "kg", "detail",
                "at_epoch_s"]


def list_flags(*, session: Session, rule: str | None = None, limit: int = 1000) -> pd.DataFrame:
    """Flagged exports, newest first, with the ledger event (uid, facility, day, destination) and the reason;
    optionally of one rule (see FLAG_REASONS)."""
    if rule is not None and rule not in FLAG_REASONS:
        raise InputError(Problem(field="rule", rule=f"must be one of {', '.join(FLAG_REASONS)}", value=rule))
    where = "WHERE x.rule = :rule " if rule else ""
    rows = session.execute(text(
        "SELECT x.event_id, e.uid, f.code, x.at_epoch_s, e.country, x.rule, x.licence_ref, x.kg, x.detail "
        "FROM export_flag x LEFT JOIN ledger_event e ON e.id = x.event_id LEFT JOIN facility f ON f.id = e.facility_id "
        f"{where}ORDER BY x.at_epoch_s DESC, x.event_id DESC LIMIT :n"), {"rule": rule, "n": limit}).all()
    out = pd.DataFrame(rows, columns=["event_id", "uid", "facility", "at_epoch_s", "country", "rule", "licence_ref",
                                      "kg", "detail"])
    out["day"] = pd.to_datetime(out.at_epoch_s.astype("int64"), unit="s").dt.date
    out["reason"] = out.rule.map(FLAG_REASONS).fillna(out.rule)
    return out[FLAG_COLUMNS]


def flag_counts(*, session: Session) -> pd.DataFrame:
    """Flagged exports per rule: how many and how many kg, with the reason."""
    rows = session.execute(text("SELECT rule, COUNT(*), COALESCE(SUM(kg), 0) FROM export_flag GROUP BY rule "
                                "ORDER BY COUNT(*) DESC, rule")).all()
    out = pd.DataFrame(rows, columns=["rule", "exports", "kg"])
    out["reason"] = out.rule.map(FLAG_REASONS).fillna(out.rule)
    return out


def ledger_findings(*, session: Session) -> pd.DataFrame:
    """The flagged ledger exports as ledger anomaly findings (kind export_<rule>; the columns of
    restrat.ledger.anomalies.COLUMNS), so the regulator's anomaly scan and its alerts show them."""
    flags = list_flags(session=session, limit=10**9)
    flags = flags[flags.uid.notna()]
    return pd.DataFrame({"kind": "export_" + flags.rule, "rule": flags.reason + ": " + flags.detail,
                         "event_uids": [[u] for u in flags.uid], "facility_code": flags.facility,
                         "size": flags.kg.astype(float), "unit": "kg"},
                        columns=["kind", "rule", "event_uids", "facility_code", "size", "unit"])


def licence_lines(*, session: Session, code: str) -> list[models.LicenceLine]:
    """The product lines of a licence."""
    lic = get_licence(session=session, code=code)
    return list(session.scalars(select(models.LicenceLine).where(models.LicenceLine.licence_id == lic.id)
                                .order_by(models.LicenceLine.id)))
