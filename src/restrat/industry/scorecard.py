"""Strategy scorecard: a few indicators per strategy aspect over time, each read through the owning capability's
service functions (industry, technology, quota, environment, exports, association). The indicator list with labels,
units, direction and source is data (industry/data/scorecard_indicators.csv); a year without data gives a row with
no value and a note saying so, never an invented figure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from restrat.errors import InputError, Problem
from restrat.industry import service

INDICATORS = Path(service.DATA) / "scorecard_indicators.csv"
COLUMNS = ["aspect", "indicator", "label", "unit", "better", "year", "value", "status", "note", "source"]
MIN_YEAR, MAX_SPAN = 1990, 30
Series = pd.DataFrame  # year, value, status, note


def indicator_table() -> pd.DataFrame:
    """The indicators of the scorecard: aspect, indicator, label, unit, better (higher/lower/blank), source and the
    note shown for a year without data."""
    return pd.read_csv(INDICATORS, dtype={"aspect": int}, keep_default_na=False)


def _series(values: pd.Series | dict[int, float], status: str = "", note: str = "") -> Series:
    s = pd.Series(values, dtype=float)
    return pd.DataFrame({"year": s.index.astype(int), "value": s.to_numpy(), "status": status, "note": note})


def _year_end(year: int) -> dt.date:
    return min(dt.date(year, 12, 31), dt.date.today())


# ---- aspect 1 --------------------------------------------------------------------------------------------------


def _hhi(session: Session, measure: str, years: list[int]) -> Series:
    c = service.concentration(session=session, measure=measure, by=["stage", "year"], years=years)
    sep = c[c.stage == "separation"].set_index("year").hhi
    return _series(sep)


def hhi_separation_quota(session: Session, years: list[int]) -> Series:
    return _hhi(session, "quota", years)


def hhi_separation_production(session: Session, years: list[int]) -> Series:
    return _hhi(session, "production", years)


def vertical_integration_pct(session: Session, years: list[int]) -> Series:
    vi = service.vertical_integration(session=session, years=years)
    g = vi[vi.owner_kind == "group"].groupby("year")[["input_t", "inside_t"]].sum()
    return _series(100.0 * g.inside_t / g.input_t.where(g.input_t > 0))


def access_meets_pct(session: Session, years: list[int]) -> Series:
    out = {}
    for y in years:
        checks = service.access_checks(session=session, on=_year_end(y))
        assessed = checks[checks.verdict.isin(["meets", "falls_short"])]
        if len(assessed):
            out[y] = 100.0 * float((assessed.verdict == "meets").mean())
    return _series(out)


# ---- aspects 2 and 3: the value chain ------------------------------------------------------------------------


class _ValueChain:
    """The national and per-cluster value chain over the years, computed once for several indicators."""

    def __init__(self, session: Session, years: list[int]) -> None:
        self.national = service.value_chain(session=session, years=years)
        self.cluster = service.value_chain(session=session, by="cluster", years=years)


def high_end_share_pct(vc: _ValueChain) -> Series:
    s = vc.national["structure"]
    return _series(s[s.structure == "high_end"].set_index("year").share_reo_pct.groupby(level=0).sum()
                   .reindex(s.year.unique(), fill_value=0.0))


def value_multiplier(vc: _ValueChain) -> Series:
    m = vc.national["multipliers"]
    return _series(m.set_index("year").multiplier, note="; ".join(sorted({n for n in m.note if n})))


def value_added_in_clusters_pct(vc: _ValueChain) -> Series:
    st = vc.cluster["stages"]
    if st.empty:
        return _series({})
    inside = st[st.cluster != service.UNCLUSTERED].groupby("year").value_added_usd.sum()
    total = st.groupby("year").value_added_usd.sum()
    return _series(100.0 * inside.reindex(total.index, fill_value=0.0) / total.where(total > 0))


def cluster_completeness(session: Session, years: list[int]) -> Series:
    _, summary = service.facility_clusters(session=session)
    if summary.empty:
        return _series({})
    return _series({max(years): 100.0 * float(summary.completeness.mean())},
                   note="registry as it stands today (facilities carry no history of locations)")


def _technology(session: Session, name: str) -> Series:
    from restrat.technology import service as technology

    t = technology.indicators(session=session)
    t = t[(t.indicator == name) & (t.field == "all")]
    return _series(t.set_index("year").value)


# ---- aspect 4 --------------------------------------------------------------------------------------------------


def _national_quota(session: Session, kind: str) -> Series:
    from restrat.quota import service as quota

    n = quota.annual_national(session=session)
    n = n[(n.kind == kind) & (n.ore_type == "total")].drop_duplicates("year", keep="last").set_index("year")
    out = _series(n.tonnes_reo.astype(float))
    out["status"] = n.status.reindex(out.year).to_numpy()
    out["note"] = np.where(out.status == "recalled", "recalled value, unverified", "")
    return out


def quota_compliance_pct(session: Session, years: list[int]) -> Series:
    from restrat.quota import service as quota

    b = quota.balances(session=session)
    b = b[b.year.isin(years) & (b.used_t_reo > 0)]
    covered = np.minimum(b.used_t_reo, b.quota_t_reo.fillna(0.0))
    g = pd.DataFrame({"year": b.year, "covered": covered, "used": b.used_t_reo}).groupby("year").sum()
    return _series(100.0 * g.covered / g.used)


def quota_infractions(session: Session, years: list[int]) -> Series:
    from restrat.quota import service as quota

    b = quota.balances(session=session)
    active = sorted(set(b[b.used_t_reo > 0].year) & set(years))
    found = pd.Series([r["year"] for r in quota.infractions(session=session)], dtype=int).value_counts()
    return _series({y: float(found.get(y, 0)) for y in active})


# ---- aspect 5 --------------------------------------------------------------------------------------------------


def emission_compliance_pct(session: Session, years: list[int]) -> Series:
    from restrat.environment import service as environment

    out = {}
    for y in years:
        c = environment.compliance(session=session, start=dt.date(y, 1, 1), end=dt.date(y + 1, 1, 1))
        if len(c) and c.evaluated.sum() > 0:
            out[y] = 100.0 * (1.0 - float(c.exceeded.sum()) / float(c.evaluated.sum()))
    return _series(out)


def recycling_rate_pct(session: Session, years: list[int]) -> Series:
    from restrat.environment import wastes

    rates = {y: wastes.recycling(session=session, year=y)["recycling_rate"] for y in years}
    return _series({y: 100.0 * float(r) for y, r in rates.items() if r is not None})


# ---- aspect 6 --------------------------------------------------------------------------------------------------


def control_list_entries(session: Session, years: list[int]) -> Series:
    from restrat.exports import service as exports

    if exports.timeline(session=session).empty:
        return _series({})
    return _series({y: float(len(exports.applicable_on(session=session, on=_year_end(y)))) for y in years})


def controlled_exports_licensed_pct(session: Session, years: list[int]) -> Series:
    from restrat.exports import licences
    from restrat.exports import models as export_models

    u = export_models.LicenceUse
    used = pd.DataFrame(session.execute(select(u.at_epoch_s, func.sum(u.kg)).group_by(u.at_epoch_s)).all(),
                        columns=["at_epoch_s", "kg"])
    flags = licences.list_flags(session=session, limit=10**9)
    frames = [used.assign(ok=True), flags[["at_epoch_s", "kg"]].assign(ok=False)]
    both = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else None
    if both is None:
        return _series({})
    both["year"] = pd.to_datetime(both.at_epoch_s.astype("int64"), unit="s").dt.year
    both = both[both.year.isin(years)]
    g = both.assign(ok_kg=both.kg.where(both.ok, 0.0)).groupby("year")[["ok_kg", "kg"]].sum()
    return _series(100.0 * g.ok_kg / g.kg.where(g.kg > 0))


# ---- aspect 7 --------------------------------------------------------------------------------------------------


def _index(session: Session) -> pd.DataFrame:
    from restrat.association import service as association

    idx = association.reference_index(session=session)
    return idx.assign(year=idx.period.str.slice(0, 4).astype(int)) if len(idx) else idx


def price_index_cv_pct(session: Session, years: list[int]) -> Series:
    idx = _index(session)
    if idx.empty:
        return _series({})
    pub = idx[~idx.suppressed.astype(bool) & idx.index_price.notna()]
    per = pub.groupby(["year", "product", "currency"]).index_price.agg(["std", "mean", "size"])
    per = per[per["size"] >= 2]
    return _series((100.0 * per["std"] / per["mean"]).groupby(level=0).mean(),
                   note="coefficient of variation of the published months within the year, mean over products")


def price_cells_published_pct(session: Session, years: list[int]) -> Series:
    idx = _index(session)
    if idx.empty:
        return _series({})
    return _series(100.0 * (~idx.suppressed.astype(bool)).groupby(idx.year).mean())


SESSION_INDICATORS: dict[str, Callable[[Session, list[int]], Series]] = {
    "hhi_separation_quota": hhi_separation_quota, "hhi_separation_production": hhi_separation_production,
    "vertical_integration_pct": vertical_integration_pct, "access_meets_pct": access_meets_pct,
    "patents_filed": lambda s, y: _technology(s, "patents_filed"),
    "median_years_to_production": lambda s, y: _technology(s, "median_years_to_production"),
    "cluster_completeness": cluster_completeness,
    "national_mining_quota_t": lambda s, y: _national_quota(s, "mining"),
    "national_separation_quota_t": lambda s, y: _national_quota(s, "smelting_separation"),
    "quota_compliance_pct": quota_compliance_pct, "quota_infractions": quota_infractions,
    "emission_compliance_pct": emission_compliance_pct, "recycling_rate_pct": recycling_rate_pct,
    "control_list_entries": control_list_entries, "controlled_exports_licensed_pct": controlled_exports_licensed_pct,
    "price_index_cv_pct": price_index_cv_pct, "price_cells_published_pct": price_cells_published_pct,
}
VALUE_INDICATORS: dict[str, Callable[[_ValueChain], Series]] = {
    "high_end_share_pct": high_end_share_pct, "value_multiplier": value_multiplier,
    "value_added_in_clusters_pct": value_added_in_clusters_pct,
}


def check_request(year: int, span: int) -> None:
    """Year and span within bounds, else an InputError naming the field."""
    problems = []
    if not MIN_YEAR <= year <= dt.date.today().year + 1:
        problems.append(Problem(field="year", rule=f"must be between {MIN_YEAR} and next year", value=year))
    if not 1 <= span <= MAX_SPAN:
        problems.append(Problem(field="span", rule=f"must be between 1 and {MAX_SPAN} years", value=span))
    if problems:
        raise InputError(problems)


def scorecard(*, session: Session, year: int, span: int = 5) -> pd.DataFrame:
    """Every indicator for each of the `span` years up to `year` as one tidy table (COLUMNS); a year without
    data has no value and a note saying so."""
    check_request(year, span)
    years = list(range(year - span + 1, year + 1))
    meta = indicator_table()
    vc = _ValueChain(session, years)
    parts = []
    for row in meta.itertuples(index=False):
        fn = SESSION_INDICATORS.get(row.indicator)
        series = fn(session, years) if fn else VALUE_INDICATORS[row.indicator](vc)
        series = series[series.year.isin(years)]
        full = pd.DataFrame({"year": years}).merge(series, on="year", how="left")
        full["note"] = full.note.fillna("").where(full.value.notna() | full.note.fillna("").ne(""), row.absent)
        full["status"] = full.status.fillna("")
        parts.append(full.assign(aspect=row.aspect, indicator=row.indicator, label=row.label, unit=row.unit,
                                 better=row.better, source=row.source))
    return pd.concat(parts, ignore_index=True)[COLUMNS]
