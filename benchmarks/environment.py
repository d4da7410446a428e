"""Environment benchmarks (issue 6): compliance check of 10 M monitoring records beside a naive pandas row loop,
ingestion throughput through the workspace and checks into the official record, and the HJ 212 listener on
loopback (one logger on one connection, each upload stored in its own transaction and acknowledged, beside a logger
that reconnects for every message, so that its access password is verified against the argon2 hash every time).

    python -m benchmarks.environment [--records 10000000] [--naive 100000] [--ingest 200000] [--messages 300]
                                     [--no-postgres]

Prints a Markdown table. The records are ILLUSTRATIVE (generated): 2,000 series (60% gas hourly, 30% water with
daily averages, 10% pH value by value), each with a limit change half-way.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import socket
import threading
import time
import uuid
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text

from restrat.environment import evaluation
from restrat.store.db import make_engine, session_factory
from restrat.store.migrate import upgrade

H, D = 3_600, 86_400
START = int((dt.datetime(2025, 1, 1) - dt.datetime(1970, 1, 1)).total_seconds())
PG_ADMIN = os.environ.get("RESTRAT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def generate(records: int, series: int = 2_000, seed: int = 1) -> dict[str, Any]:
    """Hourly values of `series` series, sorted by series and time, with limit segments and averaging periods."""
    rng = np.random.default_rng(seed)
    hours = records // series
    key = np.repeat(np.arange(series, dtype=np.int64), hours)
    t = START + np.tile(np.arange(hours, dtype=np.int64) * H, series)
    kind = rng.choice([0, 1, 2], size=series, p=[0.6, 0.3, 0.1])  # gas hourly, water daily, pH each value
    period_s = np.where(kind == 0, H, np.where(kind == 1, D, 0)).astype(np.int64)
    high = np.where(kind == 2, 9.0, 100.0)
    low = np.where(kind == 2, 6.0, np.nan)
    base = np.where(kind[key] == 2, 7.5, 55.0)
    spread = np.where(kind[key] == 2, 0.8, 25.0)
    value = base + spread * rng.standard_normal(len(key))
    half = START + (hours // 2) * H
    seg = pd.DataFrame({
        "key": np.r_[np.arange(series), np.arange(series)],
        "start": np.r_[np.zeros(series, np.int64), np.full(series, half)],
        "end": np.r_[np.full(series, half), np.full(series, START + 10 * 365 * D)],
        "low": np.r_[low, low], "high": np.r_[high, high * 0.9]})
    return {"key": key, "t": t, "value": value, "period_s": period_s, "segments": seg}


def naive(key: np.ndarray, t: np.ndarray, value: np.ndarray, period_s: np.ndarray,
          segments: pd.DataFrame) -> tuple[int, int, int]:
    """The obvious code: a pandas row loop averaging into buckets, looking up each bucket's limit, and following
    episodes row by row. Returns (evaluated, exceeded, episodes)."""
    frame = pd.DataFrame({"key": key, "t": t, "value": value})
    by_key = {k: list(g.itertuples(index=False)) for k, g in segments.groupby("key")}
    sums: dict[tuple[int, int], list[float]] = {}
    for row in frame.itertuples(index=False):
        p = period_s[row.key]
        bucket = row.t - row.t % p if p else row.t
        acc = sums.setdefault((row.key, bucket), [0.0, 0])
        acc[0] += row.value
        acc[1] += 1
    evaluated = exceeded = episodes = 0
    last: tuple[int, bool] | None = None
    for (k, bucket), (total, n) in sums.items():
        mean = total / n
        seg = next((s for s in by_key.get(k, []) if s.start <= bucket < s.end), None)
        if seg is None:
            continue
        evaluated += 1
        over = mean > seg.high or (seg.low == seg.low and mean < seg.low)
        if over:
            exceeded += 1
            if last is None or last[0] != k or not last[1]:
                episodes += 1
        last = (k, over)
    return evaluated, exceeded, episodes


def bench_evaluate(records: int, naive_records: int) -> list[dict[str, Any]]:
    data = generate(records)
    rows = []
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        result = evaluation.evaluate(data["key"], data["t"], data["value"], period_s=data["period_s"],
                                     segments=data["segments"])
        best = min(best, time.perf_counter() - started)
    rows.append({"work": f"compliance check, {records:,} records (set-wise, best of 3)", "seconds": best,
                 "rate": records / best, "unit": "records/s",
                 "note": f"{int(result.series.exceeded.sum()):,} averages over the limit, "
                         f"{len(result.episodes):,} episodes"})
    sub = {k: data[k][:naive_records] for k in ("key", "t", "value")}
    started = time.perf_counter()
    n_eval, n_over, n_eps = naive(sub["key"], sub["t"], sub["value"], data["period_s"], data["segments"])
    slow = time.perf_counter() - started
    check = evaluation.evaluate(sub["key"], sub["t"], sub["value"], period_s=data["period_s"],
                                segments=data["segments"])
    same = (int(check.series.evaluated.sum()), int(check.series.exceeded.sum()), len(check.episodes)) == (
        n_eval, n_over, n_eps)
    rows.append({"work": f"naive pandas row loop, first {naive_records:,} records", "seconds": slow,
                 "rate": naive_records / slow, "unit": "records/s",
                 "note": "same counts as set-wise" if same else "COUNTS DIFFER from set-wise"})
    return rows


def _world(session: Any, outlets: int) -> None:
    from restrat.catalog import service as catalog
    from restrat.environment import service
    from restrat.registry import service as registry

    catalog.load_reference(session=session)
    registry.create_enterprise(session=session, code="BENCH", name="Bench Co (ILLUSTRATIVE)", country="China")
    registry.create_facility(session=session, code="BENCH-1", name="Bench plant (ILLUSTRATIVE)", enterprise="BENCH",
                             stage="separation", country="China", lat=30, lon=110, start_date="2015-01-01")
    for i in range(outlets):
        service.add_outlet(session=session, facility="BENCH-1", code=f"A{i:02d}", medium="air", discharge="stack")
    service.load_reference_standards(session=session)


def bench_ingest(url: str, label: str, rows_wanted: int) -> list[dict[str, Any]]:
    from restrat.environment import service

    engine = make_engine(url)
    upgrade(engine=engine)
    pollutants = ["sulfur_dioxide", "nitrogen_oxides", "particulate_matter", "gas_flow"]
    hours = 24 * 365
    outlets = max(1, rows_wanted // (len(pollutants) * hours))
    with session_factory(engine)() as s, s.begin():
        _world(s, outlets)
    times = pd.date_range("2025-01-01", periods=hours, freq="h").strftime("%Y-%m-%dT%H:%M:%S")
    rng = np.random.default_rng(2)
    frame = pd.concat([pd.DataFrame({"facility": "BENCH-1", "outlet": f"A{i:02d}", "pollutant": p, "time": times,
                                     "value": rng.gamma(4, 20, hours).round(3),
                                     "unit": "m3/h" if p == "gas_flow" else "mg/m3"})
                       for i in range(outlets) for p in pollutants], ignore_index=True)
    started = time.perf_counter()
    with session_factory(engine)() as s, s.begin():
        result = service.submit(session=s, raw=frame, source_name="bench", channel="api", username="bench")
    first = time.perf_counter() - started
    started = time.perf_counter()
    with session_factory(engine)() as s, s.begin():
        again = service.submit(session=s, raw=frame, source_name="bench again", channel="api", username="bench")
    second = time.perf_counter() - started
    started = time.perf_counter()
    with session_factory(engine)() as s:
        comp = service.compliance(session=s, start=dt.date(2025, 1, 1), end=dt.date(2026, 1, 1))
    evaluated = time.perf_counter() - started
    engine.dispose()
    n = len(frame)
    return [
        {"work": f"ingest {n:,} values, {label} (checks, workspace, official record)", "seconds": first,
         "rate": result["rows_new"] / first, "unit": "values/s", "note": f"{result['rows_new']:,} new"},
        {"work": f"re-ingest the same file, {label} (all duplicates)", "seconds": second, "rate": n / second,
         "unit": "values/s", "note": f"{again['rows_duplicate']:,} duplicates, {again['rows_new']} new"},
        {"work": f"compliance of the ingested year from the database, {label}", "seconds": evaluated,
         "rate": n / evaluated, "unit": "values/s", "note": f"{int(comp.evaluated.sum()):,} values evaluated"},
    ]


def bench_listener(url: str, label: str, messages: int) -> list[dict[str, Any]]:
    from restrat.environment import hj212, service

    engine = make_engine(url)
    upgrade(engine=engine)
    with session_factory(engine)() as s, s.begin():
        _world(s, 0)
        service.add_outlet(session=s, facility="BENCH-1", code="HJ", medium="air", discharge="stack", mn="BENCHMN01")
        service.register_logger(session=s, mn="BENCHMN01", password="bench-1", username="bench")
    loop = asyncio.new_event_loop()
    holder: dict[str, asyncio.Server] = {}
    started = threading.Event()

    async def start() -> None:
        holder["server"] = await hj212.serve(service.hj212_platform(engine=engine), port=0)
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    started.wait(30)
    port = holder["server"].sockets[0].getsockname()[1]
    rng = np.random.default_rng(3)

    def upload(i: int) -> bytes:
        at = dt.datetime(2025, 1, 1) + dt.timedelta(hours=i)
        cp = ";".join(f"{code}-Avg={rng.gamma(4, 20):.3f},{code}-Flag=N" for code in ("a21026", "a21002", "a34013"))
        return hj212.frame(f"QN={hj212.new_qn(at)};ST=31;CN=2061;PW=bench-1;MN=BENCHMN01;Flag=5;"
                           f"CP=&&DataTime={at:%Y%m%d%H%M%S};{cp};a00000-Avg=20000,a00000-Flag=N&&").encode()

    def run(first: int, count: int, reconnect: bool) -> float:
        began = time.perf_counter()
        sock = None
        for i in range(first, first + count):
            if sock is None or reconnect:
                if sock is not None:
                    sock.close()
                sock = socket.create_connection(("127.0.0.1", port), timeout=60)
                reader = sock.makefile("rb")
            sock.sendall(upload(i))
            assert hj212.parse(reader.readline()).cn == "9014"
        if sock is not None:
            sock.close()
        return time.perf_counter() - began

    kept = run(0, messages, reconnect=False)
    naive_n = max(1, messages // 3)
    again = run(messages, naive_n, reconnect=True)
    async def stop() -> None:  # close the server and end its connections before the loop stops
        holder["server"].close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()
    with session_factory(engine)() as s:
        stored = s.scalar(text("SELECT COUNT(*) FROM env_value"))
    engine.dispose()
    return [
        {"work": f"HJ 212 listener, {label}: hourly uploads on one connection, stored and acknowledged",
         "seconds": kept, "rate": messages / kept, "unit": "messages/s",
         "note": f"{messages:,} messages of 4 values; {stored:,} values stored in all"},
        {"work": f"HJ 212 listener, {label}: a logger reconnecting for every message (naive)", "seconds": again,
         "rate": naive_n / again, "unit": "messages/s",
         "note": f"{naive_n:,} messages; the access password is verified (argon2) on each connection"},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--naive", type=int, default=100_000)
    parser.add_argument("--ingest", type=int, default=200_000)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = bench_evaluate(args.records, args.naive)
    tmp = f"/tmp/restrat-bench-env-{uuid.uuid4().hex[:8]}.db"
    rows += bench_ingest(f"sqlite:///{tmp}", "SQLite", args.ingest)
    os.remove(tmp)
    rows += bench_listener(f"sqlite:///{tmp}", "SQLite", args.messages)
    os.remove(tmp)
    if not args.no_postgres:
        name = f"restrat_bench_env_{uuid.uuid4().hex[:8]}"
        admin = make_engine(PG_ADMIN)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            rows += bench_ingest(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", "PostgreSQL", args.ingest)
        finally:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    fast, slow = rows[0]["rate"], rows[1]["rate"]
    print("| work | seconds | rate | note |\n|---|---:|---:|---|")
    for r in rows:
        print(f"| {r['work']} | {r['seconds']:.2f} | {r['rate']:,.0f} {r['unit']} | {r['note']} |")
    print(f"\nset-wise / naive: {fast / slow:,.0f}x; target >= 2,000,000 records/s: "
          f"{'met' if fast >= 2_000_000 else 'NOT met'}; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
