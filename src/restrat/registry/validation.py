"""Set-wise validation of facility rows (pure: DataFrames in, problems out)."""

from __future__ import annotations

import pandas as pd

from restrat.errors import Problem

ORE_TYPES = ("rock", "ionic", "secondary", "none")
CUSTODY_MODELS = ("identity_preserved", "segregated", "mass_balance")
OPERATING_STATUSES = ("active", "project", "deposit", "closed", "suspended")
FACILITY_FIELDS = ("code", "name", "enterprise", "stage", "ore_type", "country", "region", "lat", "lon",
                   "capacity_t_reo_per_year", "start_date", "end_date", "technology_level", "custody_model",
                   "operating_status", "data_status", "source", "note")
REQUIRED = ("code", "name", "enterprise", "stage", "lat", "lon")


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | s.astype(str).str.strip().eq("")


def _problems(df: pd.DataFrame, mask: pd.Series, field: str, rule: str) -> list[Problem]:
    return [Problem(row=int(r), field=field, rule=rule, value=v) for r, v in zip(df.loc[mask, "_row"],
                                                                               df.loc[mask, field], strict=True)]


def check_facilities(df: pd.DataFrame, *, stages: set[str], enterprises: set[str]) -> list[Problem]:
    """Every broken rule in facility rows; df must carry a '_row' column with the source row number."""
    out: list[Problem] = []
    for col in REQUIRED:
        if col not in df:
            return [Problem(field=col, rule="required column is missing")]
        out += _problems(df, _blank(df[col]), col, "is required")
    present = ~_blank(df["stage"])
    out += _problems(df, present & ~df["stage"].isin(stages), "stage", f"must be one of {sorted(stages)}")
    present = ~_blank(df["enterprise"])
    out += _problems(df, present & ~df["enterprise"].isin(enterprises), "enterprise",
                     "unknown enterprise (register it first)")
    if "ore_type" in df:
        ore = df["ore_type"].fillna("none").replace("", "none")
        out += _problems(df, ~ore.isin(ORE_TYPES), "ore_type", f"must be one of {list(ORE_TYPES)}")
    if "custody_model" in df:
        cm = df["custody_model"]
        out += _problems(df, ~_blank(cm) & ~cm.isin(CUSTODY_MODELS), "custody_model",
                         f"must be one of {list(CUSTODY_MODELS)}")
    if "operating_status" in df:
        st = df["operating_status"]
        out += _problems(df, ~_blank(st) & ~st.isin(OPERATING_STATUSES), "operating_status",
                         f"must be one of {list(OPERATING_STATUSES)}")
    for col, lo, hi in (("lat", -90, 90), ("lon", -180, 180)):
        num = pd.to_numeric(df[col], errors="coerce")
        bad = ~_blank(df[col]) & (num.isna() | (num < lo) | (num > hi))
        out += _problems(df, bad, col, f"must be a number from {lo} to {hi}")
    if "capacity_t_reo_per_year" in df:
        col = df["capacity_t_reo_per_year"]
        num = pd.to_numeric(col, errors="coerce")
        out += _problems(df, ~_blank(col) & (num.isna() | (num < 0)), "capacity_t_reo_per_year",
                         "must be a non-negative number of t REO per year")
    if "technology_level" in df:
        col = df["technology_level"]
        num = pd.to_numeric(col, errors="coerce")
        out += _problems(df, ~_blank(col) & (num.isna() | ~num.isin([1, 2, 3, 4, 5])), "technology_level",
                         "must be a whole number from 1 to 5")
    dates = {}
    for col in ("start_date", "end_date"):
        if col in df:
            parsed = pd.to_datetime(df[col], errors="coerce", format="%Y-%m-%d")
            out += _problems(df, ~_blank(df[col]) & parsed.isna(), col, "must be a date YYYY-MM-DD")
            dates[col] = parsed
    if len(dates) == 2:
        out += _problems(df, dates["end_date"] < dates["start_date"], "end_date", "must not be before start_date")
    dup = ~_blank(df["code"]) & df["code"].duplicated(keep="first")
    out += _problems(df, dup, "code", "appears twice in this import")
    return sorted(out, key=lambda p: (p.row or 0, p.field))
