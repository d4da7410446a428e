"""Quota consumption from ledger events: extraction uses the mine's mining quota (REO of its outputs), processing
at a separation plant uses the plant's separation quota (REO of the inputs it consumes).

The arithmetic is pure and set-wise (`per_event`, `deltas`, `crossings`); the write is one upsert per chunk of
quota keys that adds to the stored total inside the writer's transaction (`used_g = used_g + x`), so concurrent
writers serialise on the row (SQLite: the database write lock; PostgreSQL: the row lock) and never lose an update.
The event that takes a facility over its limit is flagged once: the infraction's key is unique."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Table, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from restrat.ledger import kinds as K
from restrat.ledger.consumers import Written
from restrat.quota import models
from restrat.quota.amounts import facility_limits_kg
from restrat.store.bulk import chunks, lookup

MINING, SEPARATION = "mining", "smelting_separation"
EVENT_COLUMNS = ("event_id", "facility_id", "kind", "at_epoch_s", "reo_in_kg", "reo_out_kg")
KEY = ["facility_id", "year", "kind"]
LEDGER_CHUNK = 200_000  # events per step of a count from the ledger tables


@dataclass
class ConsumptionResult:
    events_counted: int
    quotas_touched: int
    infractions_new: int
    last_event_id: int


def per_event(events: pd.DataFrame, stage_of: pd.Series) -> pd.DataFrame:
    """Quota use of each event (event_id, facility_id, year, kind, at_epoch_s, grams): extraction by REO out,
    processing at a separation plant by REO in; other events use no quota."""
    kind = events["kind"].to_numpy(dtype=object)
    fac = events["facility_id"].to_numpy(dtype=np.int64)
    separation_plants = stage_of.index[stage_of.to_numpy(dtype=object) == "separation"].to_numpy(dtype=np.int64)
    mining = kind == K.EXTRACTION
    separating = (kind == K.PROCESSING) & np.isin(fac, separation_plants)
    sel = np.flatnonzero(mining | separating)
    mining = mining[sel]
    grams = np.rint(np.where(mining, events["reo_out_kg"].to_numpy(dtype=float)[sel],
                             events["reo_in_kg"].to_numpy(dtype=float)[sel]) * 1000.0)
    keep = np.nan_to_num(grams) > 0
    sel, mining, grams = sel[keep], mining[keep], grams[keep]
    at = events["at_epoch_s"].to_numpy(dtype=np.int64)[sel]
    return pd.DataFrame({
        "event_id": events["event_id"].to_numpy(dtype=np.int64)[sel], "facility_id": fac[sel],
        "year": (at.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970),
        "kind": np.where(mining, MINING, SEPARATION), "at_epoch_s": at, "grams": grams.astype(np.int64)})


def deltas(use: pd.DataFrame) -> pd.DataFrame:
    """Per quota key: grams to add, event count and the date of the last event, sorted by key (the lock order)."""
    g = use.groupby(KEY, sort=True)
    out = g.agg(grams=("grams", "sum"), events=("event_id", "size"), last_at=("at_epoch_s", "max")).reset_index()
    out["on"] = pd.to_datetime(out["last_at"], unit="s", utc=True).dt.date
    return out


def crossings(use: pd.DataFrame, totals: pd.DataFrame) -> pd.DataFrame:
    """The first event of each key whose running total passes the key's limit, given the stored total after the
    write (used_g) and the limit (limit_kg, NaN when the facility holds no quota)."""
    t = totals.assign(before=totals["used_g"] - totals["grams"])
    limit_g = np.rint(t["limit_kg"].fillna(0.0).to_numpy() * 1000.0)
    t = t.assign(limit_g=limit_g)[t["used_g"].to_numpy() > limit_g]
    if t.empty:
        return t.assign(event_id=pd.Series(dtype=np.int64), infraction=pd.Series(dtype=object))
    ev = use.merge(t[KEY + ["before", "limit_g", "used_g", "limit_kg"]], on=KEY)
    ev = ev.sort_values(KEY + ["at_epoch_s", "event_id"], kind="stable")
    ev["running"] = ev["before"] + ev.groupby(KEY, sort=False)["grams"].cumsum()
    first = ev[ev["running"] > ev["limit_g"]].groupby(KEY, sort=False).head(1)
    return first.assign(infraction=np.where(first["limit_kg"].isna(), "no_quota", "over_quota"))


def _insert(session: Session) -> Callable[[Table], object]:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _add_usage(session: Session, d: pd.DataFrame) -> pd.DataFrame:
    """Add each key's grams to its stored total (one upsert per chunk) and return the totals after the write."""
    table = models.QuotaUsage.__table__
    ins = _insert(session)(table)
    stmt = ins.on_conflict_do_update(
        index_elements=KEY,
        set_={"used_g": table.c.used_g + ins.excluded.used_g, "events": table.c.events + ins.excluded.events,
              "updated_at": ins.excluded.updated_at},
    ).returning(table.c.facility_id, table.c.year, table.c.kind, table.c.used_g)
    now = pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime()
    rows = [{"facility_id": f, "year": y, "kind": k, "used_g": g, "events": n, "updated_at": now}
            for f, y, k, g, n in zip(d["facility_id"].tolist(), d["year"].tolist(), d["kind"].tolist(),
                                     d["grams"].tolist(), d["events"].tolist(), strict=True)]
    back = []
    for part in chunks(rows, columns=6):
        back.extend(session.execute(stmt.values(list(part))).all())
    return pd.DataFrame(back, columns=KEY + ["used_g"])


def _flag(session: Session, found: pd.DataFrame) -> int:
    """Record the infractions found; a key already flagged (by this or another writer) is left as it is."""
    if found.empty:
        return 0
    table = models.QuotaInfraction.__table__
    now = pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime()
    rows = [{"key": f"{i}:{f}:{y}:{k}", "infraction": i, "facility_id": f, "year": y, "kind": k, "event_id": e,
             "limit_kg": 0.0 if lim != lim else lim, "used_kg": u / 1000.0, "detected_at": now}
            for i, f, y, k, e, lim, u in zip(found["infraction"].tolist(), found["facility_id"].tolist(),
                                             found["year"].tolist(), found["kind"].tolist(),
                                             found["event_id"].tolist(), found["limit_kg"].tolist(),
                                             found["used_g"].tolist(), strict=True)]
    stmt = _insert(session)(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id)
    return sum(len(session.execute(stmt.values(list(part))).all()) for part in chunks(rows, columns=9))


def record(*, session: Session, events: pd.DataFrame) -> ConsumptionResult:
    """Count the quota use of events (columns EVENT_COLUMNS) in the caller's transaction: add to the balances,
    flag the events that cross a limit. Does not move the ledger cursor (see `consume_events`)."""
    last = int(events["event_id"].max()) if len(events) else 0
    if events.empty:
        return ConsumptionResult(0, 0, 0, last)
    fac_ids = sorted(set(events["facility_id"].astype(int).tolist()))
    stage_of = pd.Series(dict(lookup(session, "SELECT id, stage FROM facility WHERE id IN {keys}", fac_ids)),
                         dtype=object)
    use = per_event(events, stage_of)
    if use.empty:
        return ConsumptionResult(0, 0, 0, last)
    d = deltas(use)
    after = _add_usage(session, d)
    totals = d.merge(after, on=KEY)
    totals["limit_kg"] = facility_limits_kg(session=session, keys=totals[KEY + ["on"]])
    found = crossings(use, totals)
    return ConsumptionResult(len(use), len(d), _flag(session, found), last)


def _lock_cursor(session: Session) -> int:
    """Take the consumption cursor's row lock (writing first, so SQLite takes its write lock) and read it."""
    session.execute(text("INSERT INTO quota_cursor (id, last_event_id) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"))
    session.execute(text("UPDATE quota_cursor SET last_event_id = last_event_id WHERE id = 1"))
    return int(session.execute(text("SELECT last_event_id FROM quota_cursor WHERE id = 1")).scalar_one())


def _move_cursor(session: Session, last_event_id: int) -> None:
    session.execute(text("UPDATE quota_cursor SET last_event_id = :e WHERE id = 1 AND last_event_id < :e"),
                    {"e": last_event_id})


def ledger_events(*, session: Session, after: int, upto: int) -> pd.DataFrame:
    """Events after..upto from the ledger tables with their REO in (consumed inputs) and REO out (outputs)."""
    p = {"a": after, "b": upto}
    ev = pd.DataFrame(session.execute(text(
        "SELECT id, facility_id, kind, at_epoch_s FROM ledger_event WHERE id > :a AND id <= :b "
        "AND kind IN ('extraction', 'processing')"), p).all(),
        columns=["event_id", "facility_id", "kind", "at_epoch_s"])
    out = dict(session.execute(text(
        "SELECT b.event_id, SUM(b.reo_kg) FROM ledger_batch b JOIN ledger_event e ON e.id = b.event_id "
        "WHERE e.id > :a AND e.id <= :b AND e.kind = 'extraction' GROUP BY b.event_id"), p).all())
    inp = dict(session.execute(text(
        "SELECT i.event_id, SUM(i.kg * b.reo_kg / b.gross_kg) FROM ledger_input i "
        "JOIN ledger_batch b ON b.id = i.batch_id JOIN ledger_event e ON e.id = i.event_id "
        "WHERE e.id > :a AND e.id <= :b AND e.kind = 'processing' AND b.gross_kg > 0 GROUP BY i.event_id"), p).all())
    ids = ev["event_id"].to_numpy(dtype=np.int64)
    ev["reo_out_kg"] = pd.Series(out, dtype=float).reindex(ids).fillna(0.0).to_numpy()
    ev["reo_in_kg"] = pd.Series(inp, dtype=float).reindex(ids).fillna(0.0).to_numpy()
    return ev


def consume_events(*, session: Session, events: pd.DataFrame) -> ConsumptionResult:
    """The ledger import's post-write consumer: count new events once, first catching up on any events the
    cursor has not reached (written before consumption was switched on)."""
    if events.empty:
        return ConsumptionResult(0, 0, 0, 0)
    cursor = _lock_cursor(session)
    first = int(events["event_id"].min())
    parts = []
    if cursor < first - 1:
        parts.append(ledger_events(session=session, after=cursor, upto=first - 1))
    parts.append(events.loc[events["event_id"] > cursor, list(EVENT_COLUMNS)])
    result = record(session=session, events=pd.concat(parts, ignore_index=True))
    _move_cursor(session, int(events["event_id"].max()))
    return result


def consume_from_ledger(*, session: Session, progress: Callable[[int, int], None] | None = None
                        ) -> ConsumptionResult:
    """Count every ledger event after the cursor, in chunks of event ids; running it again counts nothing."""
    cursor = _lock_cursor(session)
    head = int(session.execute(text("SELECT COALESCE(MAX(id), 0) FROM ledger_event")).scalar_one())
    total = ConsumptionResult(0, 0, 0, cursor)
    for start in range(cursor, head, LEDGER_CHUNK):
        upto = min(head, start + LEDGER_CHUNK)
        r = record(session=session, events=ledger_events(session=session, after=start, upto=upto))
        total = ConsumptionResult(total.events_counted + r.events_counted, total.quotas_touched + r.quotas_touched,
                                  total.infractions_new + r.infractions_new, upto)
        if progress:
            progress(upto - cursor, head - cursor)
    _move_cursor(session, head)
    return total


def on_import(*, session: Session, written: Written) -> None:
    """Ledger consumer (restrat.ledger.consumers): count the quota use of an import's events in its transaction."""
    consume_events(session=session, events=written.events)
