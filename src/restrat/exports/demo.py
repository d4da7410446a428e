"""Demo data for export control: the real control list from the shipped reference data, ILLUSTRATIVE quota standards
and licences matching the synthetic ledger's exports, and a SYNTHETIC denied-party list."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from restrat.exports import licences, models, screening, service, synth
from restrat.ledger.chain import unpack_comp
from restrat.store.bulk import insert_rows

DEMO_LIST = "synthetic-denied-parties"
DEMO_LIST_SIZE = 20_000
ILLUSTRATIVE = "illustrative"


def ledger_exports(*, session: Session) -> pd.DataFrame:
    """Every export event in the ledger with its kilograms, form and element shares (see apply_exports)."""
    events = pd.DataFrame(session.execute(text(
        "SELECT id, kind, at_epoch_s, licence_ref, country FROM ledger_event WHERE kind = 'export'")).all(),
        columns=["event_id", "kind", "at_epoch_s", "licence_ref", "country"])
    inputs = pd.DataFrame(session.execute(text(
        "SELECT i.event_id, i.batch_id, i.kg, i.kg * b.reo_kg / b.gross_kg, b.form, b.comp FROM ledger_input i "
        "JOIN ledger_event e ON e.id = i.event_id JOIN ledger_batch b ON b.id = i.batch_id "
        "WHERE e.kind = 'export'")).all(), columns=["event_id", "batch_id", "kg", "reo_kg", "form", "comp"])
    return licences.exports_from_written(events=events, inputs=inputs.drop(columns="comp"),
                                         in_comp=unpack_comp([bytes(b) for b in inputs.comp]))


def reapply_all(*, session: Session) -> dict[str, int]:
    """Forget all licence use and flags and apply every ledger export again (after licences were registered late
    or the list changed); one transaction, licences locked first."""
    session.execute(text("UPDATE export_licence SET consumed_kg = 0"))
    session.execute(text("DELETE FROM export_licence_use"))
    session.execute(text("DELETE FROM export_flag"))
    return licences.apply_exports(session=session, exports=ledger_exports(session=session))


def _illustrative_licences(session: Session, exports: pd.DataFrame, rng: np.random.Generator) -> int:
    """One approved ILLUSTRATIVE licence per licence reference of the synthetic exports; a few are made smaller
    than what was shipped, or for another destination, so that the flags have something to show."""
    ex = exports[exports.licence_ref.fillna("") != ""].copy()
    if ex.empty:
        return 0
    owner = dict(session.execute(text("SELECT e.id, f.enterprise_id FROM ledger_event e JOIN facility f "
                                      "ON f.id = e.facility_id WHERE e.kind = 'export'")).all())
    ex["exporter_id"] = ex.event_id.map(owner)
    ex["day"] = pd.to_datetime(ex.at_epoch_s, unit="s").dt.date
    per = ex.groupby("licence_ref").agg(kg=("kg", "sum"), first=("day", "min"), country=("country", "first"),
                                        exporter_id=("exporter_id", "first"), dy=("Dy", "max"), tb=("Tb", "max"))
    short = rng.random(len(per)) < 0.05
    quantity = np.where(short, per.kg * 0.8, np.ceil(per.kg * 1.05))
    rows = []
    for (ref, r), q in zip(per.iterrows(), quantity, strict=True):
        start = r["first"] - dt.timedelta(days=30)
        rows.append({"code": ref, "exporter_id": int(r.exporter_id), "kind": "single",
                     "consignee": f"Illustrative importer {ref[-4:]}", "consignee_country": r.country,
                     "end_user": f"Illustrative motor maker {ref[-4:]}", "end_user_country": r.country,
                     "end_use": "permanent magnets for electric motors (ILLUSTRATIVE)", "end_use_class": "civil",
                     "destination": r.country, "quantity_kg": float(q), "value_usd": 0.0, "consumed_kg": 0.0,
                     "state": "approved", "submitted_on": start - dt.timedelta(days=40),
                     "review_due": start + dt.timedelta(days=20), "decided_on": start, "valid_from": start,
                     "valid_to": start.replace(year=start.year + 1) - dt.timedelta(days=1), "conditions": "",
                     "screening_band": "not_screened", "screening": json.dumps({"note": "illustrative"}),
                     "data_status": ILLUSTRATIVE, "created_by": "demo"})
    insert_rows(session, models.Licence.__table__, rows)
    ids = dict(session.execute(text("SELECT code, id FROM export_licence WHERE data_status = 'illustrative'")).all())
    insert_rows(session, models.LicenceEvent.__table__, [
        {"licence_id": ids[r["code"]], "username": "demo", "from_state": "", "to_state": "approved",
         "reason": "ILLUSTRATIVE licence made by the demo to match the synthetic ledger"} for r in rows])
    insert_rows(session, models.LicenceLine.__table__, [
        {"licence_id": ids[r["code"]], "form": "magnet_ndfeb", "hs_code": "8505111000", "composition": "",
         "quantity_kg": r["quantity_kg"], "value_usd": 0.0, "items": ""} for r in rows])
    return len(rows)


def seed(*, session: Session, seed: int = 7) -> dict[str, int]:
    """Control list, illustrative quota standards and licences, a synthetic screening list, and the ledger's
    exports applied to the licences."""
    counts = {f"export_{k}": v for k, v in service.seed_control_list(session=session).items()}
    counts["export_quota_standards"] = licences.seed_illustrative_standards(session=session,
                                                                            effective_from=dt.date(2020, 1, 1))
    rng = np.random.default_rng(seed)
    counts["export_licences"] = _illustrative_licences(session, ledger_exports(session=session), rng)
    applied = reapply_all(session=session)
    counts["export_flags"] = applied["flagged"]
    loaded = screening.load_list(session=session, name=DEMO_LIST, entities=screening.read_csv_list(
        synth.synthetic_list(DEMO_LIST_SIZE, seed=seed).to_csv(index=False)), source_name="restrat synth",
        licence=synth.SYNTHETIC_LICENCE, data_status="synthetic")
    counts["screening_entries"] = loaded["added"]
    return counts
