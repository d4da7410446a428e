"""Naive baselines: what the obvious code does, measured beside restrat's set-wise code in the same run."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from restrat.catalog.service import ELEMENTS
from restrat.ledger.models import LedgerBatch, LedgerEvent, LedgerInput
from restrat.registry.models import Facility


def import_row_by_row(*, session: Session, records: list[dict[str, Any]]) -> int:
    """Row-by-row ORM inserts with per-event checks: look up the facility and every input batch, check the batch
    is not over-consumed, hash the event into the chain, flush each event. Returns the over-consumed inputs."""
    prev, over = bytes(32), 0
    next_event = (session.scalar(select(LedgerEvent.id).order_by(LedgerEvent.id.desc()).limit(1)) or 0) + 1
    next_batch = (session.scalar(select(LedgerBatch.id).order_by(LedgerBatch.id.desc()).limit(1)) or 0) + 1
    for rec in records:
        fac = session.scalar(select(Facility).where(Facility.code == rec["facility"]))
        if fac is None:
            raise ValueError(f"unknown facility {rec['facility']}")
        partner = (session.scalar(select(Facility.id).where(Facility.code == rec["partner_facility"]))
                   if rec.get("partner_facility") else None)
        ref = (session.scalar(select(LedgerEvent.id).where(LedgerEvent.uid == rec["shipment_event"]))
               if rec.get("shipment_event") else None)
        digest = hashlib.sha256(json.dumps(rec, sort_keys=True, default=str).encode()).digest()
        prev = hashlib.sha256(prev + digest).digest()
        event = LedgerEvent(id=next_event, uid=rec["event_id"], kind=rec["kind"], facility_id=fac.id,
                            partner_facility_id=partner, at_epoch_s=0, ref_event_id=ref,
                            declared_kg=rec.get("received_kg") or rec.get("stock_reo_kg"),
                            quota_ref=rec.get("quota_id"), licence_ref=rec.get("licence_id"),
                            country=rec.get("country"), import_id=0, digest=digest, chain=prev)
        session.add(event)
        for item in rec.get("inputs") or []:
            batch = session.scalar(select(LedgerBatch).where(LedgerBatch.code == item["batch"]))
            if batch is None:
                raise ValueError(f"unknown batch {item['batch']}")
            used = session.scalar(select(text("COALESCE(SUM(kg), 0)")).select_from(LedgerInput)
                                  .where(LedgerInput.batch_id == batch.id))
            over += used + item["mass_kg"] > batch.gross_kg * (1 + 1e-6)  # accepted and flagged, as in restrat
            session.add(LedgerInput(event_id=next_event, batch_id=batch.id, kg=item["mass_kg"]))
        for o in rec.get("outputs") or []:
            comp = np.array([o["composition"].get(e) or 0.0 for e in ELEMENTS], dtype="<f4").tobytes()
            session.add(LedgerBatch(id=next_batch, code=o["batch"], event_id=next_event,
                                    facility_id=partner if rec["kind"] == "shipment" else fac.id, form=o["form"],
                                    gross_kg=o["mass_kg"], reo_kg=o["mass_kg"] * o["reo_grade"], comp=comp))
            next_batch += 1
        session.flush()
        next_event += 1
    return over


def trace_up_per_batch(*, session: Session, batch: str) -> int:
    """Walk back to the mines one batch at a time: a query for the producing event and one for its inputs."""
    seen, stack = 0, [batch]
    while stack:
        code = stack.pop()
        seen += 1
        b = session.execute(text("SELECT event_id FROM ledger_batch WHERE code = :c"), {"c": code}).first()
        if b is None:
            continue
        stack.extend(c for (c,) in session.execute(text(
            "SELECT b.code FROM ledger_input i JOIN ledger_batch b ON b.id = i.batch_id WHERE i.event_id = :e"),
            {"e": b[0]}))
    return seen


def double_consumption_loop(*, session: Session) -> int:
    """The double-consumption rule as a loop over input rows with a dict of running totals."""
    gross = dict(session.execute(text("SELECT id, gross_kg FROM ledger_batch")).all())
    used: dict[int, float] = {}
    flagged = set()
    for batch_id, kg in session.execute(text("SELECT batch_id, kg FROM ledger_input ORDER BY event_id, id")):
        used[batch_id] = used.get(batch_id, 0.0) + kg
        if used[batch_id] > gross[batch_id] * (1 + 1e-6) + 1e-6:
            flagged.add(batch_id)
    return len(flagged)
