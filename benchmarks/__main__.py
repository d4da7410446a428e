"""`make bench`: the ledger benchmarks of issue 3 on a generated ledger, each beside a naive baseline.

    python -m benchmarks [--events 1000000] [--seed 1] [--no-postgres] [--naive-events 20000]

The generated ledger is cached in benchmarks/.cache; results are printed as a Markdown table and written to
benchmarks/.cache/ledger-results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

from benchmarks import markdown_table
from restrat.store.db import make_engine

HERE = Path(__file__).resolve().parent
PG_ADMIN = os.environ.get("RESTRAT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def stage(name: str, data: Path, **kw: Any) -> dict[str, Any]:
    args = [sys.executable, "-m", "benchmarks.ledger", name, "--data", str(data)]
    for k, v in kw.items():
        args += [f"--{k.replace('_', '-')}"] if v is True else [f"--{k.replace('_', '-')}", str(v)]
    shown = " ".join(str(k if v is True else v) for k, v in kw.items() if not str(v).startswith(("sqlite", "postgres")))
    print(f"  running {name} {shown}",
          file=sys.stderr, flush=True)
    done = subprocess.run(args, capture_output=True, text=True, cwd=HERE.parent)
    if done.returncode:
        sys.exit(f"stage {name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class _PgDatabase:
    """A fresh PostgreSQL database for one stage, dropped afterwards."""

    def __enter__(self) -> str:
        self.name = f"restrat_bench_{uuid.uuid4().hex[:8]}"
        self.admin = make_engine(PG_ADMIN)
        with self.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f'CREATE DATABASE "{self.name}"'))
        return PG_ADMIN.rsplit("/", 1)[0] + f"/{self.name}"

    def __exit__(self, *exc: object) -> None:
        with self.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def _pg_up() -> bool:
    try:
        with make_engine(PG_ADMIN).connect() as c:
            c.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means no server
        return False


def _sqlite(path: Path) -> str:
    for p in path.parent.glob(path.name + "*"):
        p.unlink()
    return f"sqlite:///{path}"


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--naive-events", type=int, default=20_000, help="events for the row-by-row baseline")
    ap.add_argument("--no-postgres", action="store_true")
    a = ap.parse_args()
    data = HERE / ".cache" / f"ledger-{a.events}-s{a.seed}"
    r: dict[str, Any] = {"events_requested": a.events, "seed": a.seed}
    if not (data / "events.parquet").is_file():
        r["generate"] = stage("generate", data, events=a.events, seed=a.seed)
    db = _sqlite(data / "bench.db")
    r["sqlite_import"] = stage("import", data, url=db)
    r["sqlite_import_ledger_only"] = stage("import", data, url=_sqlite(data / "bare.db"), ledger_only=True)
    r["sqlite_raw_insert"] = stage("raw-insert", data, url=_sqlite(data / "raw.db"), source=db)
    r["sqlite_naive_import"] = stage("naive-import", data, url=_sqlite(data / "naive.db"), limit=a.naive_events)
    r["trace"] = stage("trace", data, url=db)
    r["scan"] = stage("scan", data, url=db)
    if not a.no_postgres and _pg_up():
        with _PgDatabase() as url:
            r["pg_import"] = stage("import", data, url=url)
        with _PgDatabase() as url:
            r["pg_import_ledger_only"] = stage("import", data, url=url, ledger_only=True)
        with _PgDatabase() as url:
            r["pg_naive_import"] = stage("naive-import", data, url=url, limit=a.naive_events)
    (data.parent / "ledger-results.json").write_text(json.dumps(r, indent=2))
    print(report(r))


def report(r: dict[str, Any]) -> str:
    si, sn, tr, sc = r["sqlite_import"], r["sqlite_naive_import"], r["trace"], r["scan"]
    raw, bare = r["sqlite_raw_insert"], r["sqlite_import_ledger_only"]
    rows = [
        ("Import with full validation, SQLite (events/s)", f"{si['events_per_s']:,.0f}",
         f"{sn['events_per_s']:,.0f}", f"{si['events_per_s'] / sn['events_per_s']:.0f}x",
         f"{si['events']:,} events in {si['seconds']:.1f} s incl. reading the file; peak {si['peak_mb']:,.0f} MB"),
        ("Same import, ledger alone (events/s)", f"{bare['events_per_s']:,.0f}", "", "",
         f"without the capabilities that follow each import (quota and licence use, industry tables): "
         f"they take {1 - si['events_per_s'] / bare['events_per_s']:.0%} of the import time"),
        ("Same rows, raw insert only (events/s)", f"{raw['events_per_s']:,.0f}", "", "",
         f"{raw['rows']:,} stored rows re-inserted by the same writer, no reading, validation or hashing; "
         f"validated ledger import = {bare['events_per_s'] / raw['events_per_s']:.2f} of it"),
    ]
    if "pg_import" in r:
        pi, pn = r["pg_import"], r["pg_naive_import"]
        rows.append(("Import with full validation, PostgreSQL (events/s)", f"{pi['events_per_s']:,.0f}",
                     f"{pn['events_per_s']:,.0f}", f"{pi['events_per_s'] / pn['events_per_s']:.0f}x",
                     f"{pi['events']:,} events in {pi['seconds']:.1f} s; peak {pi['peak_mb']:,.0f} MB"))
        if "pg_import_ledger_only" in r:
            pb = r["pg_import_ledger_only"]
            rows.append(("Same import on PostgreSQL, ledger alone (events/s)", f"{pb['events_per_s']:,.0f}", "", "",
                         f"the capabilities that follow each import take "
                         f"{1 - pi['events_per_s'] / pb['events_per_s']:.0%} of the import time there"))
    rows += [
        ("Trace a magnet batch to its mines, p99 (ms)", f"{tr['restrat']['p99_ms']:.1f}",
         f"{tr['naive']['p99_ms']:.1f}", f"{tr['naive']['p99_ms'] / tr['restrat']['p99_ms']:.1f}x",
         f"p50 {tr['restrat']['p50_ms']:.1f} ms vs {tr['naive']['p50_ms']:.1f} ms; {tr['restrat']['n']} batches, "
         f"median {tr['median_nodes']:.0f} nodes"),
        ("Anomaly scan, all 9 rules incl. loading the tables (s)", f"{sc['seconds']:.1f}", "",  "",
         f"recall {sc['recall']:.3f}, precision {sc['precision']:.3f} on {sc['truth']:,} injected; "
         f"load {sc['load_seconds']:.1f} s; peak {sc['peak_mb']:,.0f} MB"),
        ("Double-consumption rule incl. loading (s)", f"{sc['one_rule_seconds']:.2f}",
         f"{sc['naive_one_rule_seconds']:.2f}", f"{sc['naive_one_rule_seconds'] / sc['one_rule_seconds']:.1f}x",
         "naive: a Python loop over input rows with a dict of running totals; same findings"),
    ]
    return markdown_table(rows)


if __name__ == "__main__":
    main()
