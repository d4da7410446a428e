"""Export control benchmarks, each beside a naive baseline measured in the same run.

    python -m benchmarks.exports [--names 10000] [--entries 100000] [--lines 100000]

1. Screening: names (half variants of listed parties, half unlisted) against a SYNTHETIC list, with recall (by kind
   of change) and the false-positive rate; median of three runs; baselines: a plain pure-Python pairwise loop
   (difflib ratio on the same keys, on a sample of queries, rate extrapolated) and RapidFuzz without blocking (every
   pair scored in C, on a sample, rate extrapolated).
2. Classification of shipment lines on a date against the seeded control list, set-wise; baseline: a Python loop
   over lines checking every entry (on a sample, rate extrapolated).
Prints a Markdown table."""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from benchmarks import markdown_table
from restrat.catalog.service import ELEMENTS, load_reference
from restrat.exports import screening, service, synth
from restrat.store.db import make_engine, session_factory
from restrat.store.migrate import upgrade

Row = tuple[str, str, str, str, str]


def bench_screening(names: int, entries: int) -> list[Row]:
    listed = synth.synthetic_list(entries, seed=1)
    queries = pd.concat([synth.variants(listed, names // 2, seed=2), synth.unlisted(names - names // 2, seed=3)],
                        ignore_index=True)
    t0 = time.perf_counter()
    index = screening.build_index(listed)
    build_s = time.perf_counter() - t0
    runs = []
    for _ in range(3):  # the machine is shared: the median of three runs
        t0 = time.perf_counter()
        hits = screening.screen(index, queries.name.tolist(), queries.country.tolist())
        runs.append(time.perf_counter() - t0)
    screen_s = float(np.median(runs))
    rate = len(queries) / screen_s
    listed_q = (queries.truth != "").to_numpy()
    truth = hits.merge(queries[["truth"]], left_on="query", right_index=True)
    found = set(truth.loc[truth.entity_key == truth.truth, "query"])
    recall = float(np.mean([i in found for i in np.flatnonzero(listed_q)]))
    by_change = pd.Series([i in found for i in range(len(queries))])[listed_q].groupby(
        queries.change[listed_q]).mean()
    bands = np.asarray(screening.outcome(hits, len(queries)))[~listed_q]
    fp_review, fp_potential = float((bands != "no_match").mean()), float((bands == "potential_match").mean())

    q_keys, _ = screening.normalise(queries.name.tolist(), index.common, fuzzy_common=True)
    sample = q_keys[:5]
    t0 = time.perf_counter()
    for q in sample:  # the plain pairwise baseline: every listed key, one by one, in Python
        best = 0.0
        for k in index.ordered:
            best = max(best, difflib.SequenceMatcher(None, q, k).ratio())
    naive_rate = len(sample) / (time.perf_counter() - t0)
    brute = q_keys[:500]
    t0 = time.perf_counter()
    process.cdist(brute, index.ordered.tolist(), scorer=fuzz.ratio, score_cutoff=75, workers=-1, dtype=np.uint8)
    process.cdist(brute, index.sorted_.tolist(), scorer=fuzz.ratio, score_cutoff=75, workers=-1, dtype=np.uint8)
    brute_rate = len(brute) / (time.perf_counter() - t0)
    n_keys = len(index.label)
    return [
        (f"Screen {len(queries):,} names against {entries:,} parties ({n_keys:,} names and aliases), names/s",
         f"{rate:,.0f}", f"{naive_rate:,.1f}", f"{rate / naive_rate:,.0f}x",
         f"{screen_s:.2f} s, median of {', '.join(f'{r:.2f}' for r in runs)} s (+ index build {build_s:.1f} s, "
         f"once per list version); baseline: pure-Python difflib pairwise loop on {len(sample)} names, rate "
         f"extrapolated; recall {recall:.3f} on {int(listed_q.sum()):,} variants ("
         + ", ".join(f"{k} {v:.3f}" for k, v in by_change.items())
         + f"), false positives {fp_review:.1%} review / {fp_potential:.1%} potential on "
         f"{int((~listed_q).sum()):,} unlisted names (SYNTHETIC list)"),
        ("  same, RapidFuzz without blocking (every pair in C), names/s", f"{rate:,.0f}", f"{brute_rate:,.0f}",
         f"{rate / brute_rate:,.1f}x", f"cdist over all {n_keys:,} keys, both key forms, on {len(brute)} names, "
         "rate extrapolated"),
    ]


def _lines(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    forms = np.array(["magnet_ndfeb", "separated_oxide", "metal", "separated_salt", "alloy", "catalyst",
                      "phosphor", "component"])
    el = np.array(["Nd", "Pr", "Dy", "Tb", "Ho", "Eu", "La", "Ce", "Y", "Sm", "Gd", "Er"])
    comp = np.zeros((n, len(ELEMENTS)))
    picks = rng.integers(len(el), size=(n, 3))
    shares = rng.dirichlet(np.ones(3), size=n) * 0.999
    index = {e: i for i, e in enumerate(ELEMENTS)}
    cols = np.vectorize(index.get)(el[picks])
    np.add.at(comp, (np.repeat(np.arange(n), 3), cols.ravel()), shares.ravel())
    frame = pd.DataFrame(comp, columns=list(ELEMENTS)).round(5)
    frame.insert(0, "form", forms[rng.integers(len(forms), size=n)])
    frame.insert(0, "line", [f"L{i}" for i in range(n)])
    return frame


def naive_classify(lines: pd.DataFrame, windows: pd.DataFrame, on: dt.date) -> int:
    """A Python loop over lines and entries, the way one would write it first."""
    controlled = 0
    for _, line in lines.iterrows():
        for _, w in windows.iterrows():
            end = w.end if w.end is not None and not pd.isna(w.end) else dt.date(9999, 12, 31)
            if not (w.start <= on <= end) or w.state != "in_force":
                continue
            if line.form not in str(w.forms).split(";"):
                continue
            if isinstance(w.element, str) and not line[w.element] > w.min_share:
                continue
            controlled += 1
            break
    return controlled


def bench_classify(n: int) -> list[Row]:
    on = dt.date(2026, 11, 29)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine=engine)
        with session_factory(engine)() as s:
            with s.begin():
                load_reference(session=s)
                service.seed_control_list(session=s)
            lines = _lines(n, seed=4)
            service.classify(session=s, lines=lines.head(1_000), on=on)  # warm-up: one-time library set-up
            t0 = time.perf_counter()
            result = service.classify(session=s, lines=lines, on=on)
            fast_s = time.perf_counter() - t0
            windows = service._rule_windows(s)
            sample = lines.head(2_000)
            t0 = time.perf_counter()
            naive_controlled = naive_classify(sample, windows, on)
            naive_rate = len(sample) / (time.perf_counter() - t0)
        engine.dispose()
    same = int(result.lines.controlled.head(len(sample)).sum()) == naive_controlled
    return [(f"Classify {n:,} shipment lines on a date, lines/s", f"{n / fast_s:,.0f}", f"{naive_rate:,.0f}",
             f"{n / fast_s / naive_rate:,.0f}x",
             f"{fast_s:.2f} s incl. checks and reasons, after a 1,000-line warm-up; "
             f"{int(result.lines.controlled.sum()):,} controlled; baseline: pandas row loop over lines x entries "
             f"on {len(sample):,} lines ({'same' if same else 'DIFFERENT'} controlled count)")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    load = os.getloadavg()
    rows = bench_screening(args.names, args.entries) + bench_classify(args.lines)
    print(f"load average before {load[0]:.1f}, after {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
