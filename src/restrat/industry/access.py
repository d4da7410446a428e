"""Industry access conditions as dated rules, and the set-wise check of facilities against them (pure)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

CAPACITY_METRIC = "min_annual_capacity"
CAPACITY_UNIT = "t REO/yr"
# Facility verdicts, worst first: the overall verdict is the worst of its checks.
VERDICTS = ("falls_short", "indeterminate", "meets", "not_assessed")


def dated_conditions(raw: pd.DataFrame) -> pd.DataFrame:
    """Conditions with numeric values, one row per ore type, and end dates: a version applies as a whole from its
    effective date until the day before the next version takes effect (the 2016 conditions replaced 2012's)."""
    rules = raw.assign(ore_type=raw.ore_type.str.split(";")).explode("ore_type")
    rules["effective_date"] = pd.to_datetime(rules.effective_date).dt.date
    starts = sorted(rules.effective_date.unique())
    ends = {s: (n - dt.timedelta(days=1)) for s, n in zip(starts, starts[1:], strict=False)}
    rules["end_date"] = rules.effective_date.map(ends)
    rules["threshold"] = pd.to_numeric(rules.value, errors="coerce")
    return rules.reset_index(drop=True)


def in_force(rules: pd.DataFrame, on: dt.date) -> pd.DataFrame:
    """The rules that applied on a date."""
    live = (rules.effective_date <= on) & rules.end_date.map(lambda d: pd.isna(d) or d >= on).astype(bool)
    return rules[live].reset_index(drop=True)


def mapping(data_dir: Path) -> pd.DataFrame:
    """How registry stages and ore types map onto the conditions' stages and ore types (access_mapping.csv)."""
    return pd.read_csv(data_dir / "access_mapping.csv", dtype=str, keep_default_na=False)


def _passes(value: pd.Series, operator: pd.Series, threshold: pd.Series) -> np.ndarray:
    return np.select([operator == ">=", operator == ">", operator == "<=", operator == "<"],
                     [value >= threshold, value > threshold, value <= threshold, value < threshold],
                     default=value == threshold)


def check(facilities: pd.DataFrame, rules: pd.DataFrame, *, mapping: pd.DataFrame) -> pd.DataFrame:
    """One row per facility: verdict (falls_short / indeterminate / meets / not_assessed / no_conditions) with
    the reasons, from the rules in force. Only capacity minima in t REO/yr can be checked from the registry;
    other metrics are listed as not assessed. Where the registry's ore type stands for several of the conditions'
    ore types, a capacity between their minima is indeterminate."""
    base = facilities[["facility_id", "code", "name", "stage", "ore_type", "capacity", "data_status"]]
    m = base.merge(mapping, left_on="stage", right_on="registry_stage")
    m = m[(m.registry_ore_type == "*") | (m.registry_ore_type == m.ore_type)]
    m = m.merge(rules, left_on=["condition_stage", "condition_ore_type"], right_on=["stage", "ore_type"],
                suffixes=("", "_rule"))
    m = m[m.metric != "standalone_mining_allowed"]  # no monazite-only mines in the registry's ore types
    checkable = (m.metric == CAPACITY_METRIC) & (m.unit == CAPACITY_UNIT) & m.capacity.notna()
    m["passes"] = np.where(checkable, _passes(m.capacity.fillna(0), m.operator, m.threshold), False)
    m["checkable"] = checkable
    key = ["facility_id", "metric", "condition_stage"]
    g = m.groupby(key, as_index=False).agg(
        checkable=("checkable", "all"), all_pass=("passes", "all"), any_pass=("passes", "any"),
        low=("threshold", "min"), high=("threshold", "max"), unit=("unit", "first"), version=("version", "first"),
        ore_types=("condition_ore_type", lambda s: "/".join(sorted(set(s)))), operator=("operator", "first"),
        source=("source", "first"), capacity=("capacity", "first"))
    g["verdict"] = np.select([~g.checkable, g.all_pass, ~g.any_pass], ["not_assessed", "meets", "falls_short"],
                             default="indeterminate")
    g["reason"] = _reasons(g) if len(g) else pd.Series(dtype=str)
    g["rank"] = g.verdict.map({v: i for i, v in enumerate(VERDICTS)})
    worst = g.sort_values(["facility_id", "rank"]).drop_duplicates("facility_id").set_index("facility_id")
    short = g[g.verdict.isin(["falls_short", "indeterminate"])]
    reasons = short.groupby("facility_id").reason.agg("; ".join)
    notes = g[g.verdict == "not_assessed"].groupby("facility_id").reason.agg("; ".join)
    out = base.set_index("facility_id").copy()
    out["verdict"] = worst.verdict.reindex(out.index).fillna("no_conditions")
    out["version"] = worst.version.reindex(out.index)
    out["reasons"] = reasons.reindex(out.index).fillna("")
    out["not_assessed"] = notes.reindex(out.index).fillna("")
    out["source"] = worst.source.reindex(out.index).fillna("")
    out["rank"] = out.verdict.map({v: i for i, v in enumerate(VERDICTS)}).fillna(len(VERDICTS))
    return out.sort_values(["rank", "code"]).drop(columns=["rank"]).reset_index()


def _reasons(g: pd.DataFrame) -> pd.Series:
    bounds = np.where(g.low == g.high, g.high.map("{:,.0f}".format),
                      g.low.map("{:,.0f}".format) + " to " + g.high.map("{:,.0f}".format))
    cap = g.capacity.map(lambda c: "not recorded" if pd.isna(c) else f"{c:,.0f} t REO/yr")
    what = (g.version.astype(str) + " conditions, " + g.condition_stage + " (" + g.ore_types + "): "
            + g.metric.str.replace("_", " ") + " " + g.operator + " " + pd.Series(bounds, index=g.index) + " "
            + g.unit.fillna(""))
    unassessed = np.where(g.metric != CAPACITY_METRIC, "the registry holds no " + g.metric.str.replace("_", " "),
                          np.where(g.unit != CAPACITY_UNIT, "threshold in " + g.unit.fillna("")
                                   + ", registry capacity in t REO/yr", "capacity not recorded"))
    verdict_text = np.select(
        [g.verdict == "falls_short", g.verdict == "indeterminate", g.verdict == "meets"],
        ["capacity " + cap + " is below the minimum",
         "capacity " + cap + " meets some ore types' minimum but not all; the registry does not record which "
         "ore the facility uses",
         "capacity " + cap + " meets it"],
        default=pd.Series(unassessed, index=g.index).radd("not assessed: "))
    return what + " — " + pd.Series(verdict_text, index=g.index)
