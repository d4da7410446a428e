"""Missing-data substitution (pure): the gaps of regular series filled by the dated rule in force for each gap.

A gap is a run of missing periods between two reported values of one series (gaps before the first or after the
last value are not filled: the series may have started or stopped). Methods:
`mean_adjacent` (mean of the values either side), `lookback_max` (highest value of the `parameter` periods before
the gap) and `limit_multiple` (`parameter` times the upper limit in force at the gap, so the gap counts as an
exceedance). Every substituted value names its rule."""

from __future__ import annotations

import numpy as np
import pandas as pd

from restrat.environment.evaluation import KEY_SHIFT, segments_index


def gaps(key: np.ndarray, t: np.ndarray, period_s: np.ndarray) -> pd.DataFrame:
    """Interior gaps of each series (input sorted by key then time): key, position before, missing periods."""
    if len(key) < 2:
        return pd.DataFrame({"key": [], "before": [], "missing": []}, dtype=np.int64)
    p = period_s[key[:-1]]
    same = key[1:] == key[:-1]
    missing = np.where(same & (p > 0), (t[1:] - t[:-1]) // np.maximum(p, 1) - 1, 0)
    at = np.flatnonzero(missing > 0)
    return pd.DataFrame({"key": key[at], "before": at, "missing": missing[at]})


def substitute(key: np.ndarray, t: np.ndarray, value: np.ndarray, *, period_s: np.ndarray, medium: np.ndarray,
               pollutant: np.ndarray, rules: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """Substituted values for every interior gap: key, t, value, rule_id. medium[key] and pollutant[key] name each
    series; rules carry rule_id, medium, pollutant ('*' = any), min/max_gap_periods, method, parameter and
    valid_from/valid_to (ISO dates); segments are the limit segments used by evaluation (key, start, end, low,
    high in seconds)."""
    found = gaps(key, t, period_s)
    out_cols = ["key", "t", "value", "rule_id"]
    if found.empty or rules.empty:
        return pd.DataFrame(columns=out_cols)
    found["t_before"] = t[found.before]
    found["v_before"] = value[found.before]
    found["v_after"] = value[found.before + 1]
    found["medium"] = medium[found.key]
    found["pollutant"] = pollutant[found.key]
    found["day"] = pd.to_datetime(found.t_before, unit="s").dt.strftime("%Y-%m-%d")
    cand = found.reset_index(names="gap").merge(rules, how="cross")
    fits = ((cand.medium_y == "*") | (cand.medium_y == cand.medium_x)) \
        & ((cand.pollutant_y == "*") | (cand.pollutant_y == cand.pollutant_x)) \
        & (cand.missing >= cand.min_gap_periods) & (cand.missing <= cand.max_gap_periods.fillna(np.inf)) \
        & ((cand.valid_from == "") | (cand.valid_from <= cand.day)) \
        & ((cand.valid_to == "") | (cand.valid_to >= cand.day))
    chosen = cand[fits].sort_values(["gap", "min_gap_periods"]).drop_duplicates("gap")
    if chosen.empty:
        return pd.DataFrame(columns=out_cols)
    chosen["fill"] = np.nan
    ma = chosen.method == "mean_adjacent"
    chosen.loc[ma, "fill"] = (chosen.v_before[ma] + chosen.v_after[ma]) / 2
    lb = (chosen.method == "lookback_max").to_numpy()
    if lb.any():
        comp = (key << KEY_SHIFT) | t
        gap_key = chosen.key.to_numpy(np.int64)[lb]
        window = chosen.parameter.to_numpy(float)[lb].astype(np.int64) * period_s[gap_key]
        lo = np.searchsorted(comp, (gap_key << KEY_SHIFT) | (chosen.t_before.to_numpy(np.int64)[lb] - window),
                             side="left")
        hi = chosen.before.to_numpy(np.int64)[lb] + 1  # the window ends with the value before the gap
        chosen.loc[lb, "fill"] = np.maximum.reduceat(value, np.column_stack([lo, hi]).ravel())[::2]
    lm = chosen.method == "limit_multiple"
    if lm.any() and len(segments):
        seg_comp, seg = segments_index(segments)
        comp = (chosen.key[lm].to_numpy(np.int64) << KEY_SHIFT) | chosen.t_before[lm].to_numpy(np.int64)
        idx = np.maximum(np.searchsorted(seg_comp, comp, side="right") - 1, 0)
        ok = seg.key.to_numpy()[idx] == chosen.key[lm].to_numpy()
        chosen.loc[lm, "fill"] = np.where(ok, seg.high.to_numpy(float)[idx], np.nan) * chosen.parameter[lm]
    chosen = chosen.dropna(subset=["fill"])
    reps = chosen.missing.to_numpy(np.int64)
    step = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps) + 1
    keys = np.repeat(chosen.key.to_numpy(np.int64), reps)
    return pd.DataFrame({"key": keys, "t": np.repeat(chosen.t_before.to_numpy(np.int64), reps) + step * period_s[keys],
                         "value": np.repeat(chosen.fill.to_numpy(float), reps),
                         "rule_id": np.repeat(chosen.rule_id.to_numpy(), reps)})
