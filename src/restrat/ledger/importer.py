"""Import events: lock the ledger head, drop events already recorded, validate set-wise, write in bulk, extend
the hash chain. One transaction: any problem writes nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import text
from sqlalchemy.orm import Session

from restrat.catalog.service import product_form_table
from restrat.errors import InputError, Problem
from restrat.ledger import consumers
from restrat.ledger import kinds as K
from restrat.ledger.chain import Canonical, digests, pack_comp, unpack_comp
from restrat.ledger.format import EventFrames, arrow_strings
from restrat.ledger.hashjob import HashJob, digest_and_chain, worth_a_child
from restrat.ledger.validation import Context, Plan, check
from restrat.store.bulk import PendingWrite, lookup

EVENT_COLUMNS = ("id", "uid", "kind", "facility_id", "partner_facility_id", "at_epoch_s", "ref_event_id",
                 "declared_kg", "declared_comp", "quota_ref", "licence_ref", "country", "note", "import_id",
                 "digest", "chain")
BATCH_COLUMNS = ("id", "code", "event_id", "facility_id", "form", "gross_kg", "reo_kg", "comp")
INPUT_COLUMNS = ("event_id", "batch_id", "kg")


@dataclass
class ImportResult:
    import_id: int
    events_new: int
    events_skipped: int
    batches_new: int
    first_event_id: int | None
    last_event_id: int | None
    head_chain_hex: str
    seconds: float


def _null_below_zero(ids: np.ndarray) -> np.ndarray:
    return np.where(ids < 0, None, ids.astype(object))


def canonical(frames: EventFrames) -> Canonical:
    """The canonical content of the events in frames, as the chain digests it."""
    ev = frames.events
    kind = ev["kind"].fillna("")
    declared = np.where(kind == K.RECEIPT, ev["received_kg"].to_numpy(dtype=float),
                        np.where(kind == K.STOCK_COUNT, ev["stock_reo_kg"].to_numpy(dtype=float), np.nan))
    ref = ev["shipment_event"].where(kind == K.RECEIPT, ev["corrects"].where(kind == K.CORRECTION))
    has_comp = (kind == K.STOCK_COUNT).to_numpy() & ~np.isnan(frames.stock_comp).any(axis=1)
    # the packed composition of each stock count that declares one, NULL elsewhere
    at_comp = pa.array(np.cumsum(has_comp) - 1, mask=~has_comp)
    declared_comp = pc.take(pack_comp(frames.stock_comp[has_comp]), at_comp)
    outs = frames.outputs
    out_comp = frames.out_comp
    return Canonical(
        uid=arrow_strings(ev["uid"]), kind=arrow_strings(ev["kind"]), at=ev["at"].to_numpy(dtype=np.int64),
        facility=arrow_strings(ev["facility"]), partner=arrow_strings(ev["partner_facility"]),
        ref_uid=arrow_strings(ref), declared_kg=declared, quota_ref=arrow_strings(ev["quota_id"]),
        licence_ref=arrow_strings(ev["licence_id"]), country=arrow_strings(ev["country"]),
        note=arrow_strings(ev["note"]), declared_comp=declared_comp,
        in_ev=frames.inputs["ev"].to_numpy(), in_batch=arrow_strings(frames.inputs["batch"]),
        in_kg=frames.inputs["kg"].to_numpy(dtype=float),
        out_ev=outs["ev"].to_numpy(), out_batch=arrow_strings(outs["batch"]), out_form=arrow_strings(outs["form"]),
        out_kg=outs["kg"].to_numpy(dtype=float), out_reo_kg=outs["kg"].to_numpy(dtype=float) * outs["grade"].to_numpy(
            dtype=float), out_comp=pack_comp(np.nan_to_num(out_comp) if np.isnan(out_comp).any() else out_comp),
    )


def subset(frames: EventFrames, keep: np.ndarray) -> EventFrames:
    """The frames restricted to the events where keep is True, positions renumbered."""
    if keep.all():
        return frames
    new_pos = np.cumsum(keep) - 1
    ins = frames.inputs[keep[frames.inputs["ev"].to_numpy()]].copy()
    ins["ev"] = new_pos[ins["ev"].to_numpy()]
    out_mask = keep[frames.outputs["ev"].to_numpy()]
    outs = frames.outputs[out_mask].copy()
    outs["ev"] = new_pos[outs["ev"].to_numpy()]
    return EventFrames(events=frames.events[keep].reset_index(drop=True), inputs=ins.reset_index(drop=True),
                       outputs=outs.reset_index(drop=True), out_comp=frames.out_comp[out_mask],
                       stock_comp=frames.stock_comp[keep])


def _lock_head(session: Session) -> tuple[int, int, bytes]:
    """Take the ledger's write lock (the head row, created if missing) and read where the chain ends. The first
    statement writes, so SQLite takes its write lock before anything is read."""
    session.execute(text("INSERT INTO ledger_head (id, last_event_id, last_batch_id, last_chain, updated_at) "
                         "VALUES (1, 0, 0, :zero, CURRENT_TIMESTAMP) ON CONFLICT (id) DO NOTHING"), {"zero": bytes(32)})
    session.execute(text("UPDATE ledger_head SET updated_at = CURRENT_TIMESTAMP WHERE id = 1"))
    row = session.execute(text("SELECT last_event_id, last_batch_id, last_chain FROM ledger_head WHERE id = 1")).one()
    return int(row[0]), int(row[1]), bytes(row[2])


def _context(session: Session, frames: EventFrames, *, ledger_empty: bool) -> Context:
    facilities = pd.DataFrame(session.execute(text("SELECT code, id FROM facility")).all(), columns=["code", "id"])
    batches = pd.DataFrame(columns=["code", "id", "facility_id", "at", "gross_kg", "reo_kg", "form", "comp"])
    events = pd.DataFrame(columns=["uid", "id", "kind", "partner_facility_id", "at"])
    taken: set[str] = set()
    if not ledger_empty:
        # Only a ledger that already holds events can be referenced; an empty one skips these string sets.
        produced = set(frames.outputs["batch"].dropna())
        wanted = sorted(set(frames.inputs["batch"].dropna()) - produced)
        if wanted:
            batches = pd.DataFrame(lookup(session, "SELECT b.code, b.id, b.facility_id, e.at_epoch_s, b.gross_kg, "
                                          "b.reo_kg, b.form, b.comp FROM ledger_batch b JOIN ledger_event e "
                                          "ON e.id = b.event_id WHERE b.code IN {keys}", wanted),
                                   columns=["code", "id", "facility_id", "at", "gross_kg", "reo_kg", "form", "comp"])
        refs = pd.concat([frames.events["shipment_event"], frames.events["corrects"]]).dropna().unique().tolist()
        if refs:
            events = pd.DataFrame(lookup(session, "SELECT uid, id, kind, partner_facility_id, at_epoch_s "
                                         "FROM ledger_event WHERE uid IN {keys}", refs),
                                  columns=["uid", "id", "kind", "partner_facility_id", "at"])
        taken = {r[0] for r in lookup(session, "SELECT code FROM ledger_batch WHERE code IN {keys}", sorted(produced))}
    return Context(facilities=facilities.set_index("code"), forms=set(product_form_table().code),
                   batches=batches.set_index("code"), events=events.set_index("uid"), taken_batch_codes=taken)


def _text(values: pa.Array | list) -> pd.Series | list:
    """An Arrow string column as a pandas one without copying it value by value."""
    return values.to_pandas() if isinstance(values, pa.Array) else values


def _written(new: EventFrames, c: Canonical, plan: Plan, ctx: Context, event_ids: np.ndarray,
             batch_ids: np.ndarray, in_batch: np.ndarray) -> consumers.Written:
    """The rows just written, for the capabilities that follow the ledger (quota and licence use)."""
    outs, ins = new.outputs, new.inputs
    out_ev, in_ev = outs["ev"].to_numpy(), ins["ev"].to_numpy()
    from_file = plan.in_source == "file"
    pos = np.clip(plan.in_ref, 0, max(len(outs) - 1, 0))
    # as stored: the ledger keeps compositions as float32 (and so do the matrices handed over, half the bytes)
    out_comp = new.out_comp.astype(np.float32)
    in_comp = out_comp[pos] if len(outs) else np.zeros((len(ins), out_comp.shape[1]), dtype=np.float32)
    per_kg = c.out_reo_kg[pos] / c.out_kg[pos] if len(outs) else np.zeros(len(ins))
    in_form = pc.take(c.out_form, pa.array(pos)) if len(outs) else pa.nulls(len(ins), pa.string())
    if not from_file.all():  # inputs that are batches of earlier imports
        db = ctx.batches.reindex(ins["batch"][~from_file])
        per_kg[~from_file] = db["reo_kg"].to_numpy(dtype=float) / db["gross_kg"].to_numpy(dtype=float)
        db_form = np.full(len(ins), None, dtype=object)
        db_form[~from_file] = db["form"].to_numpy(dtype=object)
        in_form = pc.if_else(pa.array(from_file), in_form, pa.array(db_form, type=pa.string()))
        in_comp[~from_file] = unpack_comp([bytes(b) for b in db["comp"]], width=in_comp.shape[1])
    inputs = pd.DataFrame({"event_id": event_ids[in_ev], "batch_id": in_batch, "kg": c.in_kg,
                           "reo_kg": c.in_kg * per_kg, "form": _text(in_form)})
    outputs = pd.DataFrame({"event_id": event_ids[out_ev], "batch_id": batch_ids, "facility_id": plan.out_facility_id,
                            "form": _text(c.out_form), "kg": c.out_kg, "reo_kg": c.out_reo_kg})
    n = len(event_ids)
    events = pd.DataFrame({
        "event_id": event_ids, "uid": _text(c.uid), "kind": _text(c.kind), "facility_id": plan.facility_id,
        "partner_facility_id": plan.partner_id, "at_epoch_s": c.at, "quota_ref": _text(c.quota_ref),
        "licence_ref": _text(c.licence_ref), "country": _text(c.country),
        "reo_in_kg": np.bincount(in_ev, weights=inputs["reo_kg"].to_numpy(), minlength=n) if len(ins) else 0.0,
        "reo_out_kg": np.bincount(out_ev, weights=c.out_reo_kg, minlength=n) if len(outs) else 0.0})
    return consumers.Written(events=events, inputs=inputs, outputs=outputs, in_comp=in_comp, out_comp=out_comp)


def import_events(*, session: Session, frames: EventFrames, source_name: str = "request",
                  username: str = "system") -> ImportResult:
    """Validate and append events in one transaction; events already in the ledger with the same content are
    skipped, and an event id reused with different content is refused."""
    started = time.perf_counter()
    last_event, last_batch, last_chain = _lock_head(session)
    keep = np.ones(len(frames), dtype=bool)
    known: dict[str, bytes] = {}
    if last_event > 0 and len(frames):
        uids = frames.events["uid"].dropna().tolist()
        known = dict(lookup(session, "SELECT uid, digest FROM ledger_event WHERE uid IN {keys}", uids))
    if known:
        dig = np.array(digests(canonical(frames)), dtype=object)
        uid_arr = frames.events["uid"].to_numpy(dtype=object)
        stored = np.array([known.get(u) for u in uid_arr], dtype=object)
        present = np.array([s is not None for s in stored])
        same = np.array([s is not None and bytes(s) == d for s, d in zip(stored, dig, strict=True)])
        clash = present & ~same
        if clash.any():
            rows = frames.events["row"].to_numpy()[clash]
            raise InputError([Problem(row=int(r), field="event_id",
                                      rule="already in the ledger with different content; send a correction "
                                           "event instead", value=u)
                              for r, u in zip(rows[:1000], uid_arr[clash][:1000], strict=False)],
                             source=source_name)
        keep = ~present
    new = subset(frames, keep)
    n = len(new)
    # Hashing needs no database: a big import hashes in a forked process on the other core while this one
    # validates and writes; the event rows, which carry the chain, are written last.
    job = HashJob(lambda: canonical(new), last_chain, events=n) if worth_a_child(n) else None
    pending: list[PendingWrite] = []
    try:
        ctx = _context(session, new, ledger_empty=last_event == 0)
        problems, plan = check(new, ctx)
        if problems:
            raise InputError(problems, source=source_name)
        assert plan is not None
        n_out = len(new.outputs)
        import_id = int(session.execute(text("SELECT COALESCE(MAX(id), 0) + 1 FROM ledger_import")).scalar_one())
        if n == 0:
            session.execute(text("INSERT INTO ledger_import (id, at, username, source_name, events_new, "
                                 "events_skipped, head_chain_hex) VALUES (:i, CURRENT_TIMESTAMP, :u, :s, 0, :k, :h)"),
                            {"i": import_id, "u": username, "s": source_name, "k": int((~keep).sum()),
                             "h": last_chain.hex()})
            return ImportResult(import_id, 0, int((~keep).sum()), 0, None, None, last_chain.hex(),
                                time.perf_counter() - started)

        event_ids = np.arange(last_event + 1, last_event + 1 + n, dtype=np.int64)
        batch_ids = np.arange(last_batch + 1, last_batch + 1 + n_out, dtype=np.int64)
        c = canonical(new)
        outs = new.outputs
        in_batch = np.where(plan.in_source == "file", batch_ids[np.clip(plan.in_ref, 0, max(n_out - 1, 0))]
                            if n_out else -1, plan.in_ref)
        # each write is staged as soon as it is made, so the inputs are staged while the batches are copied in
        pending += [PendingWrite(session, "ledger_batch", dict(zip(BATCH_COLUMNS, (
            batch_ids, c.out_batch, event_ids[outs["ev"].to_numpy()], plan.out_facility_id, c.out_form, c.out_kg,
            c.out_reo_kg, c.out_comp), strict=True))),
            PendingWrite(session, "ledger_input", dict(zip(INPUT_COLUMNS, (
                event_ids[new.inputs["ev"].to_numpy()], in_batch, c.in_kg), strict=True)))]
        for write in pending:
            write.finish()
        new_dig, links = job.result() if job is not None else digest_and_chain(c, last_chain)
        ref_ids = np.where(plan.ref_kind == "file", event_ids[np.clip(plan.ref_index, 0, n - 1)],
                           np.where(plan.ref_kind == "db", plan.ref_index, -1))
        pending.append(PendingWrite(session, "ledger_event", dict(zip(EVENT_COLUMNS, (
            event_ids, c.uid, c.kind, plan.facility_id, _null_below_zero(plan.partner_id), c.at,
            _null_below_zero(ref_ids), np.where(np.isnan(c.declared_kg), None, c.declared_kg), c.declared_comp,
            c.quota_ref, c.licence_ref, c.country, c.note, np.full(n, import_id), new_dig, links), strict=True))))
        # The consumers run while the event rows are staged: they receive every row in `written` and never read
        # this import's rows back, so the event rows can land after them, in the same transaction.
        if consumers.CONSUMERS:
            consumers.notify(session=session, written=_written(new, c, plan, ctx, event_ids, batch_ids, in_batch))
        pending[-1].finish()
    except BaseException:
        if job is not None:
            job.cancel()
        for write in pending:
            write.discard()
        raise

    head = links[-1].as_py()
    session.execute(text("UPDATE ledger_head SET last_event_id = :e, last_batch_id = :b, last_chain = :c "
                         "WHERE id = 1"), {"e": int(event_ids[-1]), "b": last_batch + n_out, "c": head})
    session.execute(text("INSERT INTO ledger_import (id, at, username, source_name, events_new, events_skipped, "
                         "first_event_id, last_event_id, head_chain_hex) VALUES (:i, CURRENT_TIMESTAMP, :u, :s, :n, "
                         ":k, :f, :l, :h)"),
                    {"i": import_id, "u": username, "s": source_name[:300], "n": n, "k": int((~keep).sum()),
                     "f": int(event_ids[0]), "l": int(event_ids[-1]), "h": head.hex()})
    return ImportResult(import_id, n, int((~keep).sum()), n_out, int(event_ids[0]), int(event_ids[-1]), head.hex(),
                        time.perf_counter() - started)
