"""Set-wise checks of technology import sections (pure: DataFrames in, problems out).

Each section is a table of text cells; a problem names the section and column as its field and the section's row."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from restrat.errors import Problem

PATENT_STATUSES = ("filed", "published", "granted", "lapsed", "revoked", "expired")
INSTITUTION_KINDS = ("institute", "university")
INDUSTRIALISATION_STAGES = ("pilot", "production")
READINESS_LEVELS = (1, 9)
FACILITY_LEVELS = (1, 5)


@dataclass(frozen=True)
class Section:
    """The columns of one import section and the rules on each."""

    columns: tuple[str, ...]
    key: tuple[str, ...]
    required: tuple[str, ...]
    dates: tuple[str, ...] = ()
    whole: dict[str, tuple[int, int]] = field(default_factory=dict)
    nonneg: tuple[str, ...] = ()
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)


COMMON = ("data_status", "source")
SECTIONS: dict[str, Section] = {
    "institutions": Section(("code", "name", "kind", "country", "region", *COMMON), ("code",),
                            ("code", "name", "kind", "country"), choices={"kind": INSTITUTION_KINDS}),
    "projects": Section(("code", "title", "field", "lead_enterprise", "start_date", "end_date", "partners",
                         *COMMON), ("code",), ("code", "title", "field", "lead_enterprise", "start_date"),
                        dates=("start_date", "end_date")),
    "partners": Section(("project", "partner", "joined_on", *COMMON), ("project", "partner"),
                        ("project", "partner", "joined_on"), dates=("joined_on",)),
    "budgets": Section(("project", "recorded_on", "budget_cny", "note", *COMMON), ("project", "recorded_on"),
                       ("project", "recorded_on", "budget_cny"), dates=("recorded_on",), nonneg=("budget_cny",)),
    "readiness": Section(("project", "assessed_on", "level", "note", *COMMON), ("project", "assessed_on"),
                         ("project", "assessed_on", "level"), dates=("assessed_on",),
                         whole={"level": READINESS_LEVELS}),
    "patents": Section(("number", "title", "field", "project", "filed_on", "holders", *COMMON), ("number",),
                       ("number", "title", "field", "filed_on", "holders"), dates=("filed_on",)),
    "patent_status": Section(("patent", "status", "status_on", *COMMON), ("patent", "status_on", "status"),
                             ("patent", "status", "status_on"), dates=("status_on",),
                             choices={"status": PATENT_STATUSES}),
    "industrialisation": Section(("project", "stage", "facility", "reached_on", "forms", "note", *COMMON),
                                 ("project", "stage", "facility"),
                                 ("project", "stage", "facility", "reached_on"), dates=("reached_on",),
                                 choices={"stage": INDUSTRIALISATION_STAGES}),
    "facility_levels": Section(("facility", "level_on", "level", "basis", *COMMON), ("facility", "level_on"),
                               ("facility", "level_on", "level"), dates=("level_on",),
                               whole={"level": FACILITY_LEVELS}),
}
ORDER = tuple(SECTIONS)


def blank(s: pd.Series) -> pd.Series:
    """True where a cell is empty."""
    return s.isna() | s.astype(str).str.strip().eq("")


def problems_at(section: str, df: pd.DataFrame, mask: pd.Series, column: str, rule: str) -> list[Problem]:
    """One problem per row where mask holds, naming the section's column and the row's value."""
    if not mask.any():
        return []
    values = df.loc[mask, column] if column in df else pd.Series(None, index=df.index[mask])
    return [Problem(row=int(r), field=f"{section}.{column}", rule=rule, value=v)
            for r, v in zip(df.loc[mask, "_row"], values, strict=True)]


def split_codes(cell: object) -> list[str]:
    """Codes in a ';'-separated cell, stripped, empty ones dropped."""
    return [c.strip() for c in str(cell or "").split(";") if c.strip()]


def check_section(section: str, df: pd.DataFrame) -> list[Problem]:
    """Every rule of one section broken by its rows (columns, required cells, dates, numbers, choices, duplicate
    keys, end before start); df must carry '_row'."""
    spec = SECTIONS[section]
    unknown = [c for c in df.columns if c not in spec.columns and c != "_row"]
    out = [Problem(field=f"{section}.{c}", rule=f"unknown column; expected some of {list(spec.columns)}")
           for c in unknown]
    for col in spec.required:
        if col not in df:
            out.append(Problem(field=f"{section}.{col}", rule="required column is missing"))
        else:
            out += problems_at(section, df, blank(df[col]), col, "is required")
    if out and any(p.row is None for p in out):
        return out
    parsed: dict[str, pd.Series] = {}
    for col in spec.dates:
        if col in df:
            parsed[col] = pd.to_datetime(df[col], errors="coerce", format="%Y-%m-%d")
            out += problems_at(section, df, ~blank(df[col]) & parsed[col].isna(), col, "must be a date YYYY-MM-DD")
    if "start_date" in parsed and "end_date" in parsed:
        out += problems_at(section, df, parsed["end_date"] < parsed["start_date"], "end_date",
                           "must not be before start_date")
    for col, (lo, hi) in spec.whole.items():
        if col in df:
            num = pd.to_numeric(df[col], errors="coerce")
            bad = ~blank(df[col]) & (num.isna() | (num % 1 != 0) | (num < lo) | (num > hi))
            out += problems_at(section, df, bad, col, f"must be a whole number from {lo} to {hi}")
    for col in spec.nonneg:
        if col in df:
            num = pd.to_numeric(df[col], errors="coerce")
            out += problems_at(section, df, ~blank(df[col]) & (num.isna() | (num < 0)), col,
                               "must be a number >= 0")
    for col, allowed in spec.choices.items():
        if col in df:
            out += problems_at(section, df, ~blank(df[col]) & ~df[col].isin(allowed), col,
                               f"must be one of {list(allowed)}")
    keyed = [k for k in spec.key if k in df]
    if len(keyed) == len(spec.key):
        dup = df.duplicated(list(spec.key), keep="first") & ~df[list(spec.key)].apply(blank).any(axis=1)
        out += problems_at(section, df, dup, spec.key[-1], f"{'/'.join(spec.key)} appears twice in this import")
    return out
