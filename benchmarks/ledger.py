"""Ledger benchmark stages. Each stage runs in its own process (`python -m benchmarks.ledger STAGE ...`) so its
peak memory is its own; it prints one JSON object."""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from benchmarks import naive
from restrat.ledger import anomalies, consumers, service, synth
from restrat.ledger.format import read_events
from restrat.ledger.importer import import_events
from restrat.store.bulk import write_columns
from restrat.store.db import make_engine, session_factory
from restrat.store.migrate import upgrade


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fresh(url: str, data: Path) -> Any:
    engine = make_engine(url)
    upgrade(engine=engine)
    ledger = synth.SynthLedger(events=None, facilities=pd.read_csv(data / "facilities.csv"),  # type: ignore[arg-type]
                               quotas=pd.read_csv(data / "quotas.csv"), truth=[])
    with session_factory(engine)() as s, s.begin():
        synth.load_registry(session=s, ledger=ledger)
    return engine


def generate(data: Path, events: int, seed: int) -> dict[str, Any]:
    t = time.perf_counter()
    ledger = synth.generate(events=events, seed=seed, anomaly_rate=0.01)
    synth.write(ledger, data)
    return {"events": len(ledger.events), "seconds": time.perf_counter() - t, "peak_mb": _peak_mb()}


def import_fast(data: Path, url: str, ledger_only: bool = False) -> dict[str, Any]:
    """The validated import of the whole file in one transaction; ledger_only leaves out the capabilities that
    follow each import (quota and licence use, industry production), to show what they cost."""
    if ledger_only:
        consumers.CONSUMERS = ()
    engine = _fresh(url, data)
    t = time.perf_counter()
    frames = read_events(data / "events.parquet")
    with session_factory(engine)() as s, s.begin():
        result = import_events(session=s, frames=frames, source_name="bench", username="bench")
    seconds = time.perf_counter() - t
    return {"events": result.events_new, "seconds": seconds, "events_per_s": result.events_new / seconds,
            "peak_mb": _peak_mb()}


RAW_TABLES = ("ledger_batch", "ledger_input", "ledger_event")


def raw_insert(data: Path, url: str, source: str) -> dict[str, Any]:
    """The ceiling: the rows an import stored (read back from source), inserted into a fresh ledger with the
    importer's own writer, with no reading, validation or hashing."""
    engine = _fresh(url, data)
    src = make_engine(source)
    with src.connect() as conn:
        rows = {t: conn.exec_driver_sql(f"SELECT * FROM {t}").all() for t in RAW_TABLES}
        names = {t: [c[1] for c in conn.exec_driver_sql(f"PRAGMA table_info({t})")] for t in RAW_TABLES}
    counts = {t: len(r) for t, r in rows.items()}
    columns = {t: {k: np.array(v, dtype=object) for k, v in zip(names[t], zip(*rows.pop(t), strict=True), strict=True)}
               for t in RAW_TABLES}
    with session_factory(engine)() as s, s.begin():
        t = time.perf_counter()
        for table in RAW_TABLES:
            write_columns(s, table, columns[table])
        s.flush()
    seconds = time.perf_counter() - t
    n = counts["ledger_event"]
    return {"events": n, "rows": sum(counts.values()), "seconds": seconds,
            "events_per_s": n / seconds, "peak_mb": _peak_mb()}


def import_naive(data: Path, url: str, limit: int) -> dict[str, Any]:
    engine = _fresh(url, data)
    records = pq.read_table(data / "events.parquet").slice(0, limit).to_pylist()
    t = time.perf_counter()
    with session_factory(engine)() as s, s.begin():
        naive.import_row_by_row(session=s, records=records)
    seconds = time.perf_counter() - t
    return {"events": len(records), "seconds": seconds, "events_per_s": len(records) / seconds,
            "peak_mb": _peak_mb()}


def _pct(values: list[float]) -> dict[str, float]:
    a = np.asarray(values) * 1000
    return {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)), "n": len(values)}


def trace(data: Path, url: str, samples: int) -> dict[str, Any]:
    engine = make_engine(url)
    codes = [c for c in pq.read_table(data / "events.parquet", columns=["outputs"]).column("outputs").to_pylist()
             for c in [o["batch"] for o in c] if c.startswith("MAGNET-")]
    pick = random.Random(7).sample(codes, min(samples, len(codes)))
    fast, slow, sizes = [], [], []
    with session_factory(engine)() as s:
        service.trace(session=s, batch=pick[0], direction="up")  # warm the page cache for both
        for code in pick:
            t = time.perf_counter()
            r = service.trace(session=s, batch=code, direction="up")
            fast.append(time.perf_counter() - t)
            sizes.append(len(r["nodes"]))
            t = time.perf_counter()
            naive.trace_up_per_batch(session=s, batch=code)
            slow.append(time.perf_counter() - t)
    return {"restrat": _pct(fast), "naive": _pct(slow), "median_nodes": float(np.median(sizes)),
            "peak_mb": _peak_mb()}


def scan(data: Path, url: str) -> dict[str, Any]:
    engine = make_engine(url)
    truth = [json.loads(line) for line in (data / "truth.jsonl").read_text().splitlines() if line.strip()]
    with session_factory(engine)() as s:
        t = time.perf_counter()
        tables = anomalies.load_tables(session=s)
        loaded = time.perf_counter() - t
        findings = anomalies.scan(tables)
        seconds = time.perf_counter() - t
        t = time.perf_counter()
        one = anomalies.scan(anomalies.load_tables(session=s), rules=("consumption",))
        one_rule = time.perf_counter() - t
        t = time.perf_counter()
        n_loop = naive.double_consumption_loop(session=s)
        loop = time.perf_counter() - t
    if n_loop != int((one["kind"] == "double_consumption").sum()):
        raise AssertionError("the naive loop and the set-wise rule disagree")
    score = anomalies.score(findings, truth)
    return {"seconds": seconds, "load_seconds": loaded, "recall": score["recall"], "precision": score["precision"],
            "findings": score["findings"], "truth": score["truth"], "by_kind": score["by_kind"],
            "one_rule_seconds": one_rule, "naive_one_rule_seconds": loop, "naive_flagged": n_loop,
            "peak_mb": _peak_mb()}


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ledger")
    p.add_argument("stage", choices=["generate", "import", "raw-insert", "naive-import", "trace", "scan"])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--url", default="")
    p.add_argument("--source", default="", help="raw-insert: the database whose stored rows are re-inserted")
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--limit", type=int, default=20_000)
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--ledger-only", action="store_true", help="import: without the capabilities that follow it")
    a = p.parse_args(argv)
    if a.stage == "generate":
        out = generate(a.data, a.events, a.seed)
    elif a.stage == "import":
        out = import_fast(a.data, a.url, a.ledger_only)
    elif a.stage == "raw-insert":
        out = raw_insert(a.data, a.url, a.source)
    elif a.stage == "naive-import":
        out = import_naive(a.data, a.url, a.limit)
    elif a.stage == "trace":
        out = trace(a.data, a.url, a.samples)
    else:
        out = scan(a.data, a.url)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
