"""Emission standards as dated data (pure): normalising limit tables and resolving, per outlet and pollutant,
the limit in force on every day.

An outlet is bound by every limit row of its medium whose facility class is the outlet's (existing or new),
'unspecified', or 'special' when the outlet lies in a sensitive area; whose discharge type and process are the
outlet's or 'unspecified'; and, for a local standard, whose region the facility lies in. Where several bind on a day the
strictest applies (lowest upper limit, highest lower limit): a local standard may only tighten the national one.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from restrat.environment.units import CANONICAL, conversion_factors
from restrat.errors import InputError, Problem

DATA = Path(str(resources.files("restrat.environment") / "data"))
MEDIA = ("water", "air")
FACILITY_CLASSES = ("existing", "new", "special", "unspecified")
DISCHARGES = ("direct", "indirect", "workshop_outlet", "stack", "unspecified")
STATUSES = ("seen", "recalled", "official", "local", "illustrative")
EPOCH = dt.date(1970, 1, 1)
OPEN_END_DAY = (dt.date(9999, 12, 31) - EPOCH).days
LIMIT_COLUMNS = ["standard", "scope", "region", "pollutant", "medium", "facility_class", "discharge", "process",
                 "limit_low", "limit_high", "unit", "valid_from", "valid_to", "status", "source", "note"]
# the sourced file's discharge words -> ours
_DISCHARGE_WORDS = {"workshop outlet": "workshop_outlet"}


@cache
def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, dtype=str, keep_default_na=False)


def pollutants() -> pd.DataFrame:
    """The pollutant list: code, name, medium, canonical unit, aliases, HJ 212 code (recalled, see docs)."""
    return _csv("pollutants.csv").copy()


def standards_meta() -> pd.DataFrame:
    """Per standard: the date from which a facility counts as new, and the averaging periods restrat assumes."""
    return _csv("standards.csv").copy()


def substitution_rules() -> pd.DataFrame:
    """Dated missing-data substitution rules (ILLUSTRATIVE defaults, replaceable)."""
    df = _csv("substitution_rules.csv").copy()
    for c in ("min_gap_periods", "max_gap_periods", "parameter"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    return df


def escalation_rules(*, on: dt.date | None = None) -> pd.DataFrame:
    """Escalation levels (warning, fine, suspension) with their thresholds, those in force on a date."""
    df = _csv("escalation_rules.csv").copy()
    for c in ("rank", "window_days", "min_episodes", "min_peak_ratio", "min_exceeding_values", "score_penalty"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    if on is not None:
        day = on.isoformat()  # ISO dates compare as text
        df = df[((df.valid_from == "") | (df.valid_from <= day)) & ((df.valid_to == "") | (df.valid_to >= day))]
    return df.reset_index(drop=True)


@cache
def _alias_lookup() -> pd.Series:
    """code by (lower-case alias, medium), from the shipped pollutant list (built once)."""
    pol = pollutants()
    table = pd.concat([
        pol[["code", "medium"]].assign(alias=pol.code.str.lower()),
        pol.assign(alias=pol.aliases.str.split(";")).explode("alias")[["code", "medium", "alias"]],
    ])
    table["alias"] = table.alias.str.strip().str.lower()
    table = table[table.alias != ""].drop_duplicates(["alias", "medium"])
    return table.set_index(["alias", "medium"]).code


def pollutant_codes(names: pd.Series, media: pd.Series) -> pd.Series:
    """Resolve pollutant names, aliases or codes (case-insensitive) within their medium; '' where unknown."""
    lookup = _alias_lookup()
    keys = pd.MultiIndex.from_arrays([names.astype(str).str.strip().str.lower(), media.astype(str)])
    return pd.Series(lookup.reindex(keys).fillna("").to_numpy(), index=names.index)


def _dates(values: pd.Series, field: str, problems: list[Problem]) -> pd.Series:
    text = values.astype(str).str.strip()
    parsed = pd.to_datetime(text.where(text != ""), format="%Y-%m-%d", errors="coerce")
    bad = (text != "") & parsed.isna()
    for i in np.flatnonzero(bad.to_numpy())[:100]:
        problems.append(Problem(row=int(i) + 1, field=field, rule="must be a date YYYY-MM-DD", value=text.iat[i]))
    return parsed.dt.date.astype(object).where(parsed.notna(), None)


def normalise_limits(raw: pd.DataFrame, *, standard: str | None = None, status: str | None = None,
                     scope: str | None = None, region: str | None = None) -> pd.DataFrame:
    """Check and normalise a limit table (the shipped files' columns, or LIMIT_COLUMNS). A value 'a-b' is a range
    (pH). Units are converted to the pollutant's canonical unit. Raises InputError naming row, field and rule."""
    df = raw.astype(object).where(raw.notna(), "").astype(str).replace({"nan": "", "None": ""}).reset_index(drop=True)
    problems: list[Problem] = []
    required = ["pollutant", "medium", "limit_value", "limit_unit"]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError([Problem(field=c, rule="column is required in a limit table") for c in missing])
    for c, default in (("facility_class", "unspecified"), ("discharge", "unspecified"), ("valid_from", ""),
                       ("valid_to", ""), ("source", ""), ("note", ""), ("process", "unspecified"),
                       ("status", status or ""), ("standard", standard or ""), ("region", region or ""),
                       ("scope", scope or "")):
        if c not in df.columns:
            df[c] = default
    if standard:
        df["standard"] = standard
    if "instrument" in raw.columns and not standard:
        df["standard"] = df.instrument.where(df.instrument != "", df.standard)
    if status:
        df["status"] = status
    df["medium"] = df.medium.str.strip().str.lower()
    df["facility_class"] = df.facility_class.str.strip().str.lower().replace("", "unspecified")
    df["discharge"] = df.discharge.str.strip().str.lower().replace(_DISCHARGE_WORDS).replace("", "unspecified")
    df["process"] = df.process.replace("", "unspecified")
    df["scope"] = np.where(df.scope != "", df.scope, np.where(df.region != "", "local", "national"))
    for field, allowed in (("medium", MEDIA), ("facility_class", FACILITY_CLASSES), ("discharge", DISCHARGES),
                           ("status", STATUSES), ("scope", ("national", "local"))):
        bad = ~df[field].isin(allowed)
        for i in np.flatnonzero(bad.to_numpy())[:100]:
            problems.append(Problem(row=int(i) + 1, field=field, rule=f"must be one of {', '.join(allowed)}",
                                    value=df[field].iat[i]))
    for i in np.flatnonzero((df.standard.str.strip() == "").to_numpy())[:100]:
        problems.append(Problem(row=int(i) + 1, field="standard", rule="names the standard (e.g. GB 26451-2011)"))
    df["code"] = pollutant_codes(df.pollutant, df.medium)
    for i in np.flatnonzero(((df.code == "") & df.medium.isin(MEDIA)).to_numpy())[:100]:
        problems.append(Problem(row=int(i) + 1, field="pollutant", value=df.pollutant.iat[i],
                                rule=f"unknown pollutant in {df.medium.iat[i]}; see `restrat environment pollutants`"))
    pol = pollutants().set_index("code")
    canon_unit = df.code.map(pol.unit)
    dims = pd.Series([CANONICAL.get((m, u)) for m, u in zip(df.medium, canon_unit, strict=True)])
    factor, unit_problems = conversion_factors(df.limit_unit.where(df.code != "", "mg/L"), dims.where(df.code != ""))
    problems += unit_problems
    text = df.limit_value.str.strip()
    is_range = text.str.match(r"^\s*[\d.]+\s*-\s*[\d.]+\s*$")
    parts = text.str.split("-", n=1, expand=True).reindex(columns=[0, 1])
    low = pd.to_numeric(parts[0].where(is_range), errors="coerce")
    high = pd.to_numeric(parts[1].where(is_range, text), errors="coerce")
    bad_value = high.isna() | (high < 0) | (is_range & (low > high))
    for i in np.flatnonzero(bad_value.to_numpy())[:100]:
        problems.append(Problem(row=int(i) + 1, field="limit_value", value=text.iat[i],
                                rule="a non-negative number, or a range 'low-high' (pH)"))
    valid_from = _dates(df.valid_from, "valid_from", problems)
    valid_to = _dates(df.valid_to, "valid_to", problems)
    order = pd.Series([a is not None and b is not None and b < a for a, b in zip(valid_from, valid_to, strict=True)])
    for i in np.flatnonzero(order.to_numpy())[:100]:
        problems.append(Problem(row=int(i) + 1, field="valid_to", rule="is before valid_from",
                                value=df.valid_to.iat[i]))
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.row or 0, p.field)))
    out = pd.DataFrame({
        "standard": df.standard.str.strip(), "scope": df.scope, "region": df.region.str.strip(),
        "pollutant": df.code, "medium": df.medium, "facility_class": df.facility_class, "discharge": df.discharge,
        "process": df.process, "limit_low": (low * factor).where(is_range),
        "limit_high": high * factor, "unit": canon_unit, "valid_from": valid_from, "valid_to": valid_to,
        "status": df.status, "source": df.source, "note": df.note})
    return out[LIMIT_COLUMNS]


def reference_limits() -> pd.DataFrame:
    """The two shipped GB 26451-2011 tables, normalised: the sourced values (with the Henan DB41/777-2013 heavy-metal
    values as a local standard for Henan) and the recalled, unverified values."""
    from restrat.catalog import reference

    seen = reference.read("gb26451_emission_limits.csv")
    effective = standards_meta().set_index("standard").new_source_from.get("GB 26451-2011", "")
    undated = (seen.valid_from == "") & (seen.instrument == "GB 26451-2011")
    seen.loc[undated, "note"] = seen.loc[undated, "note"] + f"; valid_from not stated in the source, the standard's " \
        f"recalled effective date {effective} used"
    seen.loc[undated, "valid_from"] = effective
    henan = seen.instrument.str.startswith("DB41")
    national = normalise_limits(seen[~henan], status="seen")
    local = normalise_limits(seen[henan], status="seen", standard="DB41/777-2013", scope="local", region="Henan")
    recalled = reference.read("gb26451_emission_limits_recalled.csv")
    recalled = recalled.assign(note=recalled.note + " (confidence: " + recalled.confidence + ")")
    unverified = normalise_limits(recalled, status="recalled", standard="GB 26451-2011")
    return pd.concat([national, local, unverified], ignore_index=True)


def _day(values: pd.Series, *, default: int, plus: int = 0) -> np.ndarray:
    days = np.array([(v - EPOCH).days + plus if v is not None and v == v else default for v in values],
                    dtype=np.int64)
    return days


def limit_segments(outlets: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """Per outlet and pollutant, the limit in force as [start_day, end_day) day numbers since 1970 with the
    strictest low and high and the rows they come from.

    outlets: outlet_id, medium, discharge, process, facility_class, special_area, region (of the facility).
    limits: id, pollutant, medium, facility_class, discharge, process, region, limit_low, limit_high, valid_from,
    valid_to, status, standard."""
    cols = ["outlet_id", "pollutant", "start_day", "end_day", "limit_low", "limit_high", "high_id", "low_id",
            "status", "standard"]
    if outlets.empty or limits.empty:
        return pd.DataFrame(columns=cols)
    lim = limits.assign(start_day=_day(limits.valid_from, default=0),
                        end_day=_day(limits.valid_to, default=OPEN_END_DAY, plus=1))
    cand = outlets[["outlet_id", "medium", "discharge", "process", "facility_class", "special_area", "region"]].merge(
        lim, on="medium", suffixes=("", "_limit"))
    cls_ok = (cand.facility_class_limit == cand.facility_class) | (cand.facility_class_limit == "unspecified") \
        | ((cand.facility_class_limit == "special") & cand.special_area.astype(bool))
    dis_ok = (cand.discharge_limit == cand.discharge) | (cand.discharge_limit == "unspecified")
    dis_ok &= (cand.process_limit == cand.process) | (cand.process_limit == "unspecified")
    reg_ok = (cand.region_limit == "") | pd.Series(
        [str(r).lower().startswith(str(lr).lower()) for r, lr in zip(cand.region, cand.region_limit, strict=True)],
        index=cand.index, dtype=bool)
    cand = cand[cls_ok & dis_ok & reg_ok]
    if cand.empty:
        return pd.DataFrame(columns=cols)
    # elementary intervals between every start and end of the rows binding an (outlet, pollutant)
    points = pd.concat([cand[["outlet_id", "pollutant", "start_day"]].rename(columns={"start_day": "day"}),
                        cand[["outlet_id", "pollutant", "end_day"]].rename(columns={"end_day": "day"})])
    points = points.drop_duplicates().sort_values(["outlet_id", "pollutant", "day"])
    points["next_day"] = points.groupby(["outlet_id", "pollutant"]).day.shift(-1)
    pieces = points.dropna(subset=["next_day"]).astype({"next_day": np.int64})
    grid = pieces.merge(cand, on=["outlet_id", "pollutant"])
    grid = grid[(grid.start_day <= grid.day) & (grid.end_day >= grid.next_day)]
    if grid.empty:
        return pd.DataFrame(columns=cols)
    keys = ["outlet_id", "pollutant", "day", "next_day"]
    hi = grid.dropna(subset=["limit_high"]).sort_values(keys + ["limit_high"]).drop_duplicates(keys)
    lo = grid.dropna(subset=["limit_low"]).sort_values(keys + ["limit_low"], ascending=[True] * 4 + [False]) \
        .drop_duplicates(keys)
    seg = hi[keys + ["limit_high", "id", "status", "standard"]].rename(columns={"id": "high_id"}).merge(
        lo[keys + ["limit_low", "id", "status"]].rename(columns={"id": "low_id", "status": "low_status"}),
        on=keys, how="outer")
    seg["status"] = seg.status.fillna(seg.low_status)
    seg = seg.rename(columns={"day": "start_day", "next_day": "end_day"})
    return seg[cols].sort_values(["outlet_id", "pollutant", "start_day"]).reset_index(drop=True)
