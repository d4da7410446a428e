"""Compliance evaluation, set-wise over numpy arrays (pure: arrays in, tables out).

A *series* is one (outlet, pollutant) stream of values, identified by an integer key. Values are first averaged
over the period the standard prescribes for the series (0 = each value on its own), then each average is compared
with the limit in force at the start of its period: `value > high` or `value < low` (pH) is an exceedance, and
its ratio is `max(value / high, low / value)`. Consecutive exceedances of a series (no compliant value between
them) form one episode: start, end (the end of its last averaging period; for values compared one by one, the time
of the last), number of values, peak ratio.

Evaluating a stream cut at period boundaries gives the same result as evaluating the whole (`combine`), so the
service evaluates long histories chunk by chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

KEY_SHIFT = 33  # series key in the high bits, seconds since 1970 (< 2^33, until year 2242) in the low bits
SERIES_COLUMNS = ["key", "evaluated", "exceeded", "unlimited", "first_t", "first_exceed", "last_t", "last_exceed"]
EPISODE_COLUMNS = ["key", "start", "end", "values", "peak_ratio", "peak_value", "limit_high", "limit_low"]


@dataclass
class Evaluation:
    """Per-series counts, exceedance episodes and (optionally) every evaluated value."""

    series: pd.DataFrame  # SERIES_COLUMNS; first/last_* describe the first and last evaluated value
    episodes: pd.DataFrame  # EPISODE_COLUMNS, times in seconds
    values: pd.DataFrame | None = None  # key, t, value, low, high, ratio, exceed (when asked for)


def segments_index(segments: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Sort limit segments (key, start, end, low, high) for look-up; returns composite starts and the table."""
    seg = segments.sort_values(["key", "start"], kind="stable").reset_index(drop=True)
    comp = (seg.key.to_numpy(np.int64) << KEY_SHIFT) | seg.start.to_numpy(np.int64)
    return comp, seg


def average(key: np.ndarray, t: np.ndarray, value: np.ndarray, period_s: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of the values of each (key, period) (input sorted by key then time); period_s[key] = 0 keeps every
    value. Returns key, period start, mean."""
    step = np.maximum(period_s, 1)[key]  # a period of 0 buckets each value on its own second
    bucket = t - t % step
    if len(key) == 0:
        return key, bucket, value
    change = np.empty(len(key), dtype=bool)
    change[0] = True
    np.not_equal(key[1:], key[:-1], out=change[1:])
    change[1:] |= bucket[1:] != bucket[:-1]
    starts = np.flatnonzero(change)
    if len(starts) == len(key):
        return key, bucket, value
    sums = np.add.reduceat(value, starts)
    counts = np.diff(starts, append=len(key))
    return key[starts], bucket[starts], sums / counts


def evaluate(key: np.ndarray, t: np.ndarray, value: np.ndarray, *, period_s: np.ndarray,
             segments: pd.DataFrame, keep_values: bool = False) -> Evaluation:
    """Evaluate values (int64 key, int64 seconds, float64 value) against the limit segments.

    period_s[key] is the averaging period of each series in seconds (0: each value); segments hold, per key,
    non-overlapping [start, end) second intervals with their low and high limits (NaN: no bound)."""
    key = np.asarray(key, dtype=np.int64)
    t = np.asarray(t, dtype=np.int64)
    value = np.asarray(value, dtype=np.float64)
    comp = (key << KEY_SHIFT) | t
    if len(comp) > 1 and not (comp[1:] >= comp[:-1]).all():
        order = np.argsort(comp, kind="stable")
        key, t, value = key[order], t[order], value[order]
    key, t, value = average(key, t, value, period_s)
    seg_comp, seg = segments_index(segments)
    comp = (key << KEY_SHIFT) | t
    idx = np.searchsorted(seg_comp, comp, side="right") - 1
    safe = np.maximum(idx, 0)
    seg_key = seg.key.to_numpy(np.int64)
    seg_end = seg.end.to_numpy(np.int64)
    found = (idx >= 0) & (seg_key[safe] == key) & (t < seg_end[safe]) if len(seg) else np.zeros(len(key), bool)
    if len(seg):
        low = np.where(found, seg.low.to_numpy(np.float64)[safe], np.nan)
        high = np.where(found, seg.high.to_numpy(np.float64)[safe], np.nan)
    else:
        low = high = np.full(len(key), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        over = value / high
        under = low / value
    ratio = np.fmax(over, under)
    evaluated = found & (np.isfinite(high) | np.isfinite(low))
    exceed = evaluated & ((value > high) | (value < low))
    series = _series(key, t, evaluated, exceed)
    episodes = _episodes(key, t, value, low, high, ratio, evaluated, exceed, period_s)
    values = None
    if keep_values:
        values = pd.DataFrame({"key": key, "t": t, "value": value, "low": low, "high": high, "ratio": ratio,
                               "exceed": exceed, "evaluated": evaluated})
    return Evaluation(series=series, episodes=episodes, values=values)


def _series(key: np.ndarray, t: np.ndarray, evaluated: np.ndarray, exceed: np.ndarray) -> pd.DataFrame:
    if len(key) == 0:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in SERIES_COLUMNS})
    change = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    keys = key[change]
    ev_counts = np.add.reduceat(evaluated.astype(np.int64), change)
    ex_counts = np.add.reduceat(exceed.astype(np.int64), change)
    n = np.diff(change, append=len(key))
    # first and last evaluated value of each series
    ev_idx = np.flatnonzero(evaluated)
    ev_key = key[ev_idx]
    first_pos = np.searchsorted(ev_key, keys, side="left")
    last_pos = np.searchsorted(ev_key, keys, side="right") - 1
    has = ev_counts > 0
    fp = ev_idx[np.minimum(first_pos, max(len(ev_idx) - 1, 0))] if len(ev_idx) else np.zeros(len(keys), np.int64)
    lp = ev_idx[np.maximum(last_pos, 0)] if len(ev_idx) else np.zeros(len(keys), np.int64)
    return pd.DataFrame({
        "key": keys, "evaluated": ev_counts, "exceeded": ex_counts, "unlimited": n - ev_counts,
        "first_t": np.where(has, t[fp], -1), "first_exceed": has & exceed[fp],
        "last_t": np.where(has, t[lp], -1), "last_exceed": has & exceed[lp]})


def _episodes(key: np.ndarray, t: np.ndarray, value: np.ndarray, low: np.ndarray, high: np.ndarray,
              ratio: np.ndarray, evaluated: np.ndarray, exceed: np.ndarray, period_s: np.ndarray) -> pd.DataFrame:
    if not exceed.any():
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("peak_ratio", "peak_value", "limit_high",
                                                                   "limit_low") else "int64")
                             for c in EPISODE_COLUMNS})
    # episodes run over evaluated values only (a value without a limit neither starts nor ends one)
    ev = np.arange(len(key)) if evaluated.all() else np.flatnonzero(evaluated)
    k, x = key[ev], exceed[ev]
    same_prev = np.r_[False, k[1:] == k[:-1]]
    prev_x = np.r_[False, x[:-1]]
    is_start = x & ~(same_prev & prev_x)
    starts = np.flatnonzero(is_start)
    same_next = np.r_[k[1:] == k[:-1], False]
    next_x = np.r_[x[1:], False]
    ends = np.flatnonzero(x & ~(same_next & next_x))
    rows = ev[x]  # positions (in the averaged arrays) of every exceeding value, in order
    run_id = np.cumsum(is_start[x]) - 1
    r = ratio[rows]
    # peak per run: the row of the largest ratio (first one on ties)
    order = np.lexsort((-r, run_id))
    first_of_run = np.r_[True, run_id[order][1:] != run_id[order][:-1]]
    peak_rows = rows[order[first_of_run]]
    s_rows, e_rows = ev[starts], ev[ends]
    return pd.DataFrame({
        "key": key[s_rows], "start": t[s_rows], "end": t[e_rows] + period_s[key[e_rows]],
        "values": ends - starts + 1, "peak_ratio": ratio[peak_rows], "peak_value": value[peak_rows],
        "limit_high": high[peak_rows], "limit_low": low[peak_rows]})


# The values a series has in a part of the stream where it does not appear: nothing evaluated, no first or last
# evaluated value (time -1), no exceedance.
_ABSENT: dict[str, tuple[object, type]] = {"evaluated": (0, np.int64), "exceeded": (0, np.int64),
                                           "unlimited": (0, np.int64), "first_t": (-1, np.int64),
                                           "first_exceed": (False, np.bool_), "last_t": (-1, np.int64),
                                           "last_exceed": (False, np.bool_)}


def _align(series: pd.DataFrame, keys: np.ndarray) -> dict[str, np.ndarray]:
    """The series columns at keys, typed, with the _ABSENT values for keys not in series. (Reindexing the
    frame instead turns integer columns into floats and boolean ones into objects holding NaN.)"""
    pos = pd.Index(series.key.to_numpy(np.int64)).get_indexer(keys)
    present = pos >= 0
    out = {}
    for col, (absent, dtype) in _ABSENT.items():
        values = series[col].to_numpy(dtype)
        out[col] = np.where(present, values[np.maximum(pos, 0)], absent).astype(dtype) if len(values) else \
            np.full(len(keys), absent, dtype=dtype)
    return out


def combine(first: Evaluation, second: Evaluation) -> Evaluation:
    """The evaluation of two consecutive parts of one stream (second starts after first ends, cut at period
    boundaries): counts add, and an episode running at the end of first continues into second."""
    keys = np.union1d(first.series.key.to_numpy(np.int64), second.series.key.to_numpy(np.int64))
    a, b = _align(first.series, keys), _align(second.series, keys)
    a_has, b_has = a["evaluated"] > 0, b["evaluated"] > 0
    series = pd.DataFrame({
        "key": keys,
        "evaluated": a["evaluated"] + b["evaluated"],
        "exceeded": a["exceeded"] + b["exceeded"],
        "unlimited": a["unlimited"] + b["unlimited"],
        "first_t": np.where(a_has, a["first_t"], b["first_t"]),
        "first_exceed": np.where(a_has, a["first_exceed"], b["first_exceed"]),
        "last_t": np.where(b_has, b["last_t"], a["last_t"]),
        "last_exceed": np.where(b_has, b["last_exceed"], a["last_exceed"]),
    })
    ea, eb = first.episodes, second.episodes
    joining = keys[a["last_exceed"] & b["first_exceed"]]
    if len(joining) == 0 or ea.empty or eb.empty:
        episodes = pd.concat([x for x in (ea, eb) if not x.empty] or [ea], ignore_index=True)
        return Evaluation(series=series, episodes=episodes.sort_values(["key", "start"]).reset_index(drop=True))
    tail_idx = ea[ea.key.isin(joining)].groupby("key").start.idxmax()
    head_idx = eb[eb.key.isin(joining)].groupby("key").start.idxmin()
    tail = ea.loc[tail_idx.to_numpy()].set_index("key")
    head = eb.loc[head_idx.to_numpy()].set_index("key").reindex(tail.index)
    peak_from_head = head.peak_ratio > tail.peak_ratio
    merged = tail.copy()
    merged["end"] = head.end
    merged["values"] = tail["values"] + head["values"]
    for col in ("peak_ratio", "peak_value", "limit_high", "limit_low"):
        merged[col] = np.where(peak_from_head, head[col], tail[col])
    rest_a = ea.drop(index=tail_idx.to_numpy())
    rest_b = eb.drop(index=head_idx.to_numpy())
    episodes = pd.concat([x for x in (rest_a, merged.reset_index(), rest_b) if not x.empty], ignore_index=True)
    episodes["values"] = episodes["values"].astype(np.int64)
    return Evaluation(series=series, episodes=episodes.sort_values(["key", "start"]).reset_index(drop=True))


def escalations(episodes: pd.DataFrame, rules: pd.DataFrame, *, until_s: int | None = None) -> pd.DataFrame:
    """The highest escalation level each facility reached: at the end of each of its episodes, the episodes
    (facility_id, end, peak_ratio, values) ending within each rule's window before it are held against the rule's
    thresholds (any one suffices). Returns facility_id, level, rank, action, score_penalty, reached_at (seconds),
    and the episodes, peak ratio and exceeding values that triggered it."""
    cols = ["facility_id", "level", "rank", "action", "score_penalty", "reached_at", "episodes", "peak_ratio",
            "exceeding_values"]
    ep = episodes[["facility_id", "end", "peak_ratio", "values"]]
    if until_s is not None:
        ep = ep[ep.end <= until_s]
    if ep.empty or rules.empty:
        return pd.DataFrame(columns=cols)
    pairs = ep[["facility_id", "end"]].drop_duplicates().merge(ep, on="facility_id", suffixes=("", "_w"))
    grid = pairs.merge(rules, how="cross")
    grid = grid[(grid.end_w <= grid.end) & (grid.end_w > grid.end - grid.window_days * 86_400)]
    per = grid.groupby(["facility_id", "end", "level"], as_index=False).agg(
        episodes=("end_w", "size"), peak_ratio=("peak_ratio", "max"), exceeding_values=("values", "sum"))
    per = per.merge(rules, on="level")
    met = (per.episodes >= per.min_episodes.fillna(np.inf)) | (per.peak_ratio >= per.min_peak_ratio.fillna(np.inf)) \
        | (per.exceeding_values >= per.min_exceeding_values.fillna(np.inf))
    top = per[met].sort_values(["facility_id", "rank", "end"], ascending=[True, False, True])
    top = top.drop_duplicates("facility_id").rename(columns={"end": "reached_at"})
    return top[cols].reset_index(drop=True)


def scores(series: pd.DataFrame, levels: pd.DataFrame) -> pd.DataFrame:
    """Environmental score per facility, 0..100: 100 x compliance rate (share of evaluated values within the
    limit) minus the score penalty of the escalation level reached. series needs facility_id, evaluated,
    exceeded; levels facility_id, score_penalty."""
    per = series.groupby("facility_id", as_index=False)[["evaluated", "exceeded"]].sum()
    per = per[per.evaluated > 0]
    rate = 1.0 - per.exceeded / per.evaluated
    penalty = per.facility_id.map(levels.set_index("facility_id").score_penalty if len(levels) else {}).fillna(0)
    return pd.DataFrame({"facility_id": per.facility_id.to_numpy(np.int64),
                         "score": np.clip(100.0 * rate - penalty.astype(float), 0.0, 100.0).to_numpy()})
