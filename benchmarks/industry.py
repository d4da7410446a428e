"""Industry benchmarks (issue 7): concentration on ledger production and the value chain over a large ledger, and
facility clustering, each beside a naive baseline measured in the same run.

    python -m benchmarks.industry [--events 1000000] [--facilities 10000] [--naive-events 50000]
                                  [--naive-facilities 1000]

The ledger is generated and imported once into benchmarks/.cache/industry-<events>.db (SQLite) and reused."""

from __future__ import annotations

import argparse
import math
import os
import struct
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text

from restrat.catalog.service import ELEMENTS
from restrat.industry import clusters, production, service, valuechain, valueday
from restrat.industry import concentration as conc
from restrat.ledger import synth
from restrat.ledger.chain import unpack_comp
from restrat.ledger.consumers import Written
from restrat.ledger.format import frames_from_table
from restrat.ledger.importer import import_events
from restrat.store.db import make_engine, session_factory
from restrat.store.migrate import upgrade

CACHE = Path(__file__).resolve().parent / ".cache"


def ledger_db(events: int, seed: int) -> str:
    """An SQLite database holding a generated ledger of about `events` events (built once, then reused)."""
    path = CACHE / f"industry-{events}-s{seed}.db"
    url = f"sqlite:///{path}"
    if path.exists():
        engine = make_engine(url)
        upgrade(engine=engine)  # a cache built before a migration gets it (and its backfill) once
        engine.dispose()
        return url
    CACHE.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    upgrade(engine=engine)
    generated = synth.generate(events=events, seed=seed, anomaly_rate=0.0)
    with session_factory(engine)() as s, s.begin():
        synth.load_registry(session=s, ledger=generated)
        import_events(session=s, frames=frames_from_table(generated.events), source_name="bench", username="bench")
    engine.dispose()
    return url


def naive_production_hhi(url: str, limit: int) -> tuple[float, int]:
    """The obvious way: read the first `limit` producing events row by row and add them up per owner in a Python
    loop, asking the registry for the owner of each event's enterprise on its day."""
    engine = make_engine(url)
    t = time.perf_counter()
    with engine.connect() as conn:
        members = conn.execute(text("SELECT m.enterprise_id, g.code, m.valid_from, m.valid_to FROM group_membership m "
                                    "JOIN enterprise_group g ON g.id = m.group_id")).all()
        fac = dict(conn.execute(text("SELECT f.id, f.enterprise_id FROM facility f")).all())
        ent = dict(conn.execute(text("SELECT id, code FROM enterprise")).all())
        rows = conn.execute(text("SELECT e.facility_id, e.at_epoch_s, b.reo_kg FROM ledger_event e JOIN ledger_batch b "
                                 "ON b.event_id = e.id WHERE e.kind IN ('extraction', 'processing') LIMIT :n"),
                            {"n": limit}).all()
        totals: dict[tuple[str, int], float] = {}
        for facility_id, at, kg in rows:
            day = pd.Timestamp(at, unit="s").date()
            enterprise = fac[facility_id]
            owner = ent[enterprise]
            for e, group, start, end in members:
                if e == enterprise and str(start) <= str(day) and (end is None or str(day) <= str(end)):
                    owner = group
            key = (owner, day.year)
            totals[key] = totals.get(key, 0.0) + kg / 1000
    per_year: dict[int, float] = {}
    for (_, year), v in totals.items():
        per_year[year] = per_year.get(year, 0.0) + v
    hhi = {y: sum((v / per_year[y] * 100) ** 2 for (_, yy), v in totals.items() if yy == y) for y in per_year}
    engine.dispose()
    assert all(0 < h <= 10_000 + 1e-6 for h in hhi.values())
    return time.perf_counter() - t, len(rows)


def setwise_production_hhi(url: str) -> tuple[float, int, pd.DataFrame]:
    """restrat: daily production per facility (kept by the import hook), owners attached set-wise, HHI and CR-4
    per cell."""
    engine = make_engine(url)
    with session_factory(engine)() as s:
        events = s.execute(text("SELECT COUNT(*) FROM ledger_event")).scalar_one()
        t = time.perf_counter()
        out = service.concentration(session=s, measure="production", by=["stage", "year"])
        seconds = time.perf_counter() - t
    engine.dispose()
    return seconds, events, out


def hook_cost(url: str) -> tuple[float, int]:
    """The import hook's own work for a whole ledger handed over as one import: the events with their REO out,
    aggregated per facility and day and upserted into a copy of the table (rolled back)."""
    engine = make_engine(url)
    with session_factory(engine)() as s:
        events = service.query_frame(s, text(
            "SELECT e.id, e.kind, e.facility_id, e.at_epoch_s, COALESCE(o.reo, 0) FROM ledger_event e LEFT JOIN "
            "(SELECT event_id, SUM(reo_kg) AS reo FROM ledger_batch GROUP BY event_id) o ON o.event_id = e.id"),
            ["event_id", "kind", "facility_id", "at_epoch_s", "reo_out_kg"])
        s.execute(text("DELETE FROM industry_production_day"))
        t = time.perf_counter()
        production.on_import(session=s, written=Written(events=events, inputs=pd.DataFrame(),
                                                        outputs=pd.DataFrame(), in_comp=np.zeros((0, len(ELEMENTS))),
                                                        out_comp=np.zeros((0, len(ELEMENTS)))))
        seconds = time.perf_counter() - t
        s.rollback()
    engine.dispose()
    return seconds, len(events)


MADE_SQL = ("SELECT f.stage, e.at_epoch_s / 86400, b.form, b.reo_kg, b.comp FROM ledger_batch b "
            "JOIN ledger_event e ON e.id = b.event_id JOIN facility f ON f.id = e.facility_id "
            "WHERE e.kind IN ('extraction', 'processing') LIMIT :n")
USED_SQL = ("SELECT f.stage, e.at_epoch_s / 86400, b.form, i.kg / b.gross_kg * b.reo_kg, b.comp FROM ledger_input i "
            "JOIN ledger_event e ON e.id = i.event_id JOIN ledger_batch b ON b.id = i.batch_id "
            "JOIN facility f ON f.id = e.facility_id WHERE e.kind = 'processing' LIMIT :n")


def setwise_value_chain(url: str, by: str) -> tuple[float, pd.DataFrame]:
    """restrat: element REO made and consumed per facility, day and form (kept by the import hook) valued set-wise,
    value per tonne and value added per stage and year, multiplier and product structure."""
    engine = make_engine(url)
    with session_factory(engine)() as s:
        t = time.perf_counter()
        out = service.value_chain(session=s, by=by)
        seconds = time.perf_counter() - t
    engine.dispose()
    return seconds, out["stages"]


def naive_value_chain(url: str, limit: int) -> tuple[float, int, dict[str, float]]:
    """The obvious way: read the first `limit` produced and the first `limit` consumed batches, unpack each
    composition with struct and price it element by element from a dict, totals per stage in Python (timed from the
    query on). Checked against the set-wise valuation of the same rows."""
    prices = service.oxide_price_table()
    factors = service.stage_prices().set_index("form").factor_of_oxide_value.to_dict()
    table = {(r.element, int(r.year)): float(r.usd_per_kg) for r in prices.itertuples()}
    first = int(prices.year.min())
    engine = make_engine(url)
    t = time.perf_counter()
    with engine.connect() as conn:
        rows = {role: conn.execute(text(sql), {"n": limit}).all() for role, sql in (("out", MADE_SQL),
                                                                                      ("in", USED_SQL))}
    totals: dict[str, float] = {}
    for role, part in rows.items():
        for stage, day, form, reo_kg, comp in part:
            year = pd.Timestamp(int(day), unit="D").year
            fractions = struct.unpack(f"<{len(ELEMENTS)}f", comp)
            value = 0.0
            for element, f in zip(ELEMENTS, fractions, strict=True):
                for y in range(year, first - 1, -1):  # the latest price year at or before the batch's
                    if (element, y) in table:
                        value += f * table[(element, y)]
                        break
            key = f"{stage}:{role}"
            totals[key] = totals.get(key, 0.0) + reo_kg * value * factors.get(form, 0.0)
    seconds = time.perf_counter() - t
    for role, part in rows.items():  # the same rows valued set-wise give the same totals
        frame = pd.DataFrame([r[:4] for r in part], columns=["stage", "day", "form", "reo_kg"])
        comp = np.frombuffer(b"".join(bytes(r[4]) for r in part), dtype="<f4").reshape(-1, len(ELEMENTS))
        years = (pd.Timestamp(0) + pd.to_timedelta(frame.day, unit="D")).dt.year.to_numpy()
        valued = valuechain.value_batches(frame, comp.astype(float), years, prices, service.stage_prices(),
                                          elements=ELEMENTS)
        for stage, v in valued.groupby("stage").value_usd.sum().items():
            assert math.isclose(v, totals[f"{stage}:{role}"], rel_tol=1e-6), (stage, role)
    engine.dispose()
    return seconds, sum(len(p) for p in rows.values()), totals


def value_hook_cost(url: str) -> tuple[float, float, int]:
    """The value-chain import hook's own work for the whole ledger handed over as one import (element REO per
    facility, day, role and form, from the compositions the import hands over; rolled back), and a full rebuild."""
    engine = make_engine(url)
    with session_factory(engine)() as s:
        events = service.query_frame(s, text("SELECT id, kind, facility_id, at_epoch_s FROM ledger_event ORDER BY id"),
                                     ["event_id", "kind", "facility_id", "at_epoch_s"])
        outputs = service.query_frame(s, text("SELECT event_id, id, facility_id, form, reo_kg, comp FROM ledger_batch"),
                                      ["event_id", "batch_id", "facility_id", "form", "reo_kg", "comp"])
        inputs = service.query_frame(s, text(
            "SELECT i.event_id, i.batch_id, i.kg, i.kg / b.gross_kg * b.reo_kg, b.form, b.comp FROM ledger_input i "
            "JOIN ledger_batch b ON b.id = i.batch_id"), ["event_id", "batch_id", "kg", "reo_kg", "form", "comp"])
        written = Written(events=events, inputs=inputs.drop(columns="comp"), outputs=outputs.drop(columns="comp"),
                          in_comp=unpack_comp([bytes(b) for b in inputs.comp]),
                          out_comp=unpack_comp([bytes(b) for b in outputs.comp]))
        s.execute(text("DELETE FROM industry_value_day"))
        t = time.perf_counter()
        valueday.on_import(session=s, written=written)
        hook_s = time.perf_counter() - t
        s.rollback()
        t = time.perf_counter()
        valueday.rebuild(s.connection())
        rebuild_s = time.perf_counter() - t
        s.rollback()
    engine.dispose()
    return hook_s, rebuild_s, len(events)


def random_facilities(n: int, seed: int) -> pd.DataFrame:
    """n facilities scattered around 40 regional centres in China, stages drawn at random."""
    rng = np.random.default_rng(seed)
    centres = np.column_stack([rng.uniform(21, 45, 40), rng.uniform(98, 125, 40)])
    pick = rng.integers(0, 40, n)
    stages = np.array(clusters.CHAIN_STAGES + ["recycling"])
    return pd.DataFrame({"code": [f"F{i}" for i in range(n)], "name": "f", "stage": stages[rng.integers(0, 7, n)],
                         "lat": centres[pick, 0] + rng.normal(0, 0.4, n),
                         "lon": centres[pick, 1] + rng.normal(0, 0.4, n),
                         "capacity_t_reo_per_year": rng.uniform(100, 5000, n), "region": "r", "country": "China"})


def naive_clusters(frame: pd.DataFrame, eps_km: float, min_samples: int) -> float:
    """Textbook DBSCAN in pure Python: a haversine region query of every point against every other."""
    pts = [(math.radians(a), math.radians(b)) for a, b in zip(frame.lat, frame.lon, strict=True)]
    t = time.perf_counter()

    def near(i: int) -> list[int]:
        la, lo = pts[i]
        out = []
        for j, (lb, lob) in enumerate(pts):
            h = math.sin((lb - la) / 2) ** 2 + math.cos(la) * math.cos(lb) * math.sin((lob - lo) / 2) ** 2
            if 2 * clusters.EARTH_RADIUS_KM * math.asin(math.sqrt(h)) <= eps_km:
                out.append(j)
        return out

    labels = [-2] * len(pts)
    current = -1
    for i in range(len(pts)):
        if labels[i] != -2:
            continue
        seeds = near(i)
        if len(seeds) < min_samples:
            labels[i] = -1
            continue
        current += 1
        labels[i] = current
        queue = [j for j in seeds if j != i]
        while queue:
            j = queue.pop()
            if labels[j] == -1:
                labels[j] = current
            if labels[j] != -2:
                continue
            labels[j] = current
            more = near(j)
            if len(more) >= min_samples:
                queue.extend(more)
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--facilities", type=int, default=10_000)
    p.add_argument("--naive-events", type=int, default=50_000)
    p.add_argument("--naive-facilities", type=int, default=1_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--naive-batches", type=int, default=50_000,
                   help="Produced and consumed batches each valued by the naive value-chain loop.")
    a = p.parse_args()

    url = ledger_db(a.events, a.seed)
    fast_s, events, out = setwise_production_hhi(url)
    naive_s, naive_rows = naive_production_hhi(url, a.naive_events)
    hook_s, hook_events = hook_cost(url)
    value_hook_s, rebuild_s, _ = value_hook_cost(url)
    engine = make_engine(url)
    with session_factory(engine)() as s:
        t = time.perf_counter()
        service.vertical_integration(session=s)
        vi_s = time.perf_counter() - t
    engine.dispose()
    value_s, stages = setwise_value_chain(url, "national")
    value_group_s, _ = setwise_value_chain(url, "group")
    naive_value_s, naive_value_rows, _ = naive_value_chain(url, a.naive_batches)
    valued_rows = int(stages.output_t.count())
    frame = random_facilities(a.facilities, a.seed)
    t = time.perf_counter()
    labelled = clusters.label(frame, eps_km=30, min_samples=5)
    clusters.summary(labelled, chain=clusters.CHAIN_STAGES)
    cluster_s = time.perf_counter() - t
    small = random_facilities(a.naive_facilities, a.seed)
    naive_cluster_s = naive_clusters(small, 30, 5)
    naive_full = naive_cluster_s * (a.facilities / a.naive_facilities) ** 2
    merged = conc.screen_merger(pd.DataFrame({"owner": ["A", "B", "C"], "value": [5.0, 3.0, 2.0]}), by=[],
                                owners=["B", "C"], into="BC", rule=service.merger_rule())
    assert merged.delta_hhi.iloc[0] > 0

    print(f"\nLedger: {events:,} events; {len(out)} (stage, year) cells; {valued_rows} valued (stage, year) cells; "
          f"clusters: {labelled.cluster.max() + 1} found among {a.facilities:,} facilities; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores.\n")
    print("| work | restrat | naive baseline (same run) | ratio | target |")
    print("|---|---|---|---|---|")
    print(f"| production HHI/CR-4 by stage and year, {events:,}-event ledger (SQLite) | {fast_s:.2f} s "
          f"({events / fast_s:,.0f} events/s) | Python row loop over {naive_rows:,} producing events: "
          f"{naive_s:.2f} s ({naive_rows / naive_s:,.0f} events/s) | "
          f"{(events / fast_s) / (naive_rows / naive_s):,.0f}x | < 5 s |")
    with make_engine(url).connect() as conn:
        batches = conn.execute(text(
            "SELECT (SELECT COUNT(*) FROM ledger_batch b JOIN ledger_event e ON e.id = b.event_id "
            "WHERE e.kind IN ('extraction', 'processing')) + (SELECT COUNT(*) FROM ledger_input i JOIN ledger_event e "
            "ON e.id = i.event_id WHERE e.kind = 'processing')")).scalar_one()
    print(f"| value chain (value per t REO, value added, multiplier, structure) by stage and year, same ledger, "
          f"{batches:,} produced and consumed batches | {value_s:.2f} s ({batches / value_s:,.0f} batches/s; "
          f"by group {value_group_s:.2f} s) | Python row loop with struct and a price dict over {naive_value_rows:,} "
          f"batches: {naive_value_s:.2f} s ({naive_value_rows / naive_value_s:,.0f} batches/s), same totals | "
          f"{(batches / value_s) / (naive_value_rows / naive_value_s):,.0f}x | < 5 s |")
    print(f"| concentration and value chain together | {fast_s + value_s:.2f} s | | | < 5 s |")
    print(f"| import hook keeping production per facility and day, {hook_events:,} events as one import | "
          f"{hook_s:.2f} s | | | added to the import's own time |")
    print(f"| import hook keeping element REO made and consumed per facility, day and form (value chain), "
          f"{hook_events:,} events as one import | {value_hook_s:.2f} s | full rebuild from the ledger (the "
          f"migration's backfill): {rebuild_s:.2f} s | | added to the import's own time |")
    print(f"| vertical integration per owner and year, same ledger | {vi_s:.2f} s | | | no naive baseline yet |")
    print(f"| DBSCAN (haversine, ball tree) + chain completeness, {a.facilities:,} facilities | {cluster_s:.2f} s | "
          f"pure-Python DBSCAN on {a.naive_facilities:,}: {naive_cluster_s:.2f} s, O(n²) to {a.facilities:,}: "
          f"~{naive_full:.0f} s | {naive_full / cluster_s:,.0f}x | < 2 s |")


if __name__ == "__main__":
    main()
