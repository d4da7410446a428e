"""Industry service: concentration and merger screening on capacity, ledger production or quota, with group
ownership over time from the registry; access-condition checks; facility clusters. No web framework here."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from restrat.catalog import reference
from restrat.errors import InputError, Problem
from restrat.industry import access, clusters, scale, valuechain, valueday
from restrat.industry import concentration as conc
from restrat.registry import models as registry_models

DATA = Path(str(resources.files("restrat.industry") / "data"))
EPOCH = dt.date(1970, 1, 1)
MEASURES = {
    "capacity": ("stage", "ore_type", "region", "country", "year"),
    "production": ("stage", "ore_type", "region", "country", "year"),
    "quota": ("stage", "ore_type", "year"),
}
UNITS = {"capacity": "t REO/yr", "production": "t REO", "quota": "t REO"}
QUOTA_STAGE = {"mining": "mining", "smelting_separation": "separation"}
QUOTA_SOURCE = "cn_quota_groups.csv (shipped reference data; each row's source URL is in the file)"


def _day(d: dt.date) -> int:
    return (d - EPOCH).days


def _days(values: pd.Series) -> pd.Series:
    """Dates (or None) as day numbers since 1970-01-01; missing stays NaN."""
    return (pd.to_datetime(values) - pd.Timestamp(EPOCH)).dt.days


def query_frame(session: Session, stmt: Any, columns: list[str], params: dict[str, Any] | None = None
                ) -> pd.DataFrame:
    """A query's rows as a DataFrame. Rows go in as plain tuples: pandas probes SQLAlchemy Row objects for
    namedtuple fields, which costs microseconds per row (seconds on a large result)."""
    rows = [tuple(r) for r in session.execute(stmt, params or {})]
    return pd.DataFrame(rows, columns=columns)


def _check_request(measure: str, by: list[str], n: int) -> None:
    problems = []
    if measure not in MEASURES:
        problems.append(Problem(field="measure", rule=f"must be one of {list(MEASURES)}", value=measure))
    else:
        problems += [Problem(field="by", rule=f"must be among {list(MEASURES[measure])} for {measure}", value=b)
                     for b in by if b not in MEASURES[measure]]
    if n < 1:
        problems.append(Problem(field="n", rule="must be at least 1", value=n))
    if problems:
        raise InputError(problems)


def memberships(*, session: Session) -> pd.DataFrame:
    """Every group membership with its dates as day numbers (valid_to open-ended = NaN)."""
    stmt = (select(registry_models.GroupMembership.enterprise_id, registry_models.EnterpriseGroup.code.label("group"),
                   registry_models.GroupMembership.valid_from, registry_models.GroupMembership.valid_to,
                   registry_models.GroupMembership.share_pct)
            .join(registry_models.EnterpriseGroup))
    m = query_frame(session, stmt, ["enterprise_id", "group", "valid_from", "valid_to", "share_pct"])
    m["from_day"] = _days(m.valid_from)
    m["to_day"] = _days(m.valid_to)
    return m


def attach_owners(units: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Units (enterprise_id, enterprise, day) with `owner`: the group holding the largest share of the enterprise
    on that day, else the enterprise itself; `owner_kind` says which."""
    units = units.reset_index(drop=True)
    pairs = units[["enterprise_id", "day"]].reset_index().merge(members, on="enterprise_id")
    live = pairs[(pairs.from_day <= pairs.day) & (pairs.to_day.isna() | (pairs.to_day >= pairs.day))]
    best = live.sort_values(["index", "share_pct"], ascending=[True, False]).drop_duplicates("index")
    group = pd.Series(best.group.to_numpy(), index=best["index"].to_numpy()).reindex(units.index)
    return units.assign(owner=group.fillna(units.enterprise), owner_kind=np.where(group.isna(), "enterprise",
                                                                                  "group"))


def _facilities(session: Session) -> pd.DataFrame:
    f = registry_models.Facility
    stmt = select(f.id, f.code, f.name, f.enterprise_id, registry_models.Enterprise.code.label("enterprise"), f.stage,
                  f.ore_type, f.region, f.country, f.capacity_t_reo_per_year, f.start_date, f.end_date,
                  f.operating_status, f.data_status).join(registry_models.Enterprise)
    cols = ["facility_id", "code", "name", "enterprise_id", "enterprise", "stage", "ore_type", "region", "country",
            "capacity", "start_date", "end_date", "operating_status", "data_status"]
    df = query_frame(session, stmt, cols)
    df["start_day"] = _days(df.start_date)
    df["end_day"] = _days(df.end_date)
    return df


def capacity_frame(*, session: Session, days: list[dt.date]) -> pd.DataFrame:
    """Capacity of active facilities operating on each day, with its owner then (t REO/yr)."""
    fac = _facilities(session)
    fac = fac[(fac.operating_status == "active") & fac.capacity.notna()]
    when = pd.DataFrame({"day": [_day(d) for d in days], "year": [d.year for d in days]})
    cells = fac.merge(when, how="cross")
    cells = cells[(cells.start_day.isna() | (cells.start_day <= cells.day))
                  & (cells.end_day.isna() | (cells.end_day >= cells.day))]
    cells = attach_owners(cells, memberships(session=session))
    return cells.assign(value=cells.capacity.astype(float))


def production_frame(*, session: Session, years: list[int] | None = None) -> pd.DataFrame:
    """REO (t) each facility made by extraction or processing, per day (industry_production_day, kept by the
    ledger's import hook), owned by whoever owned the enterprise that day."""
    where, params = "", {}
    if years:
        where = " WHERE day >= :a AND day < :b"
        params = {"a": _day(dt.date(min(years), 1, 1)), "b": _day(dt.date(max(years) + 1, 1, 1))}
    made = query_frame(session, text(f"SELECT facility_id, day, reo_kg FROM industry_production_day{where}"),
                       ["facility_id", "day", "reo_kg"], params)
    fac = _facilities(session).drop(columns=["capacity", "name", "data_status"])
    cells = made.merge(fac, on="facility_id")
    cells = attach_owners(cells, memberships(session=session))
    cells["year"] = (pd.Timestamp(EPOCH) + pd.to_timedelta(cells.day, unit="D")).dt.year
    if years:
        cells = cells[cells.year.isin(years)]
    return cells.assign(value=cells.reo_kg.astype(float) / 1000.0)


@cache
def _quota_rows() -> pd.DataFrame:
    q = reference.read("cn_quota_groups.csv")
    q["tonnes_reo"] = pd.to_numeric(q.tonnes_reo, errors="coerce")
    overlap = pd.read_csv(DATA / "quota_overlapping_rows.csv", dtype=str)
    q = q.merge(overlap[["year", "batch", "group_name_en"]].assign(_overlap=True),
                on=["year", "batch", "group_name_en"], how="left")
    q = q[q.tonnes_reo.notna() & ~q.batch.str.contains("+", regex=False) & q._overlap.isna()]
    key = ["year", "batch", "group_name_en", "kind"]
    has_total = q.assign(t=q.ore_type == "total").groupby(key).t.transform("any")
    q = q[(q.ore_type == "total") | ~has_total]
    return q.drop(columns=["_overlap"]).reset_index(drop=True)


def quota_frame(*, session: Session | None = None) -> pd.DataFrame:
    """Group quota allocations from cn_quota_groups.csv, one row per group, year, batch, stage and ore type.

    Row rules (see docs/industry.md): share-only rows and batch sums such as "1+2" are left out, and so are rows
    listed in industry/data/quota_overlapping_rows.csv; where a group's batch has a 'total' row its rock/ionic
    rows (included in that total) are left out. Owners are registry group codes where a group has that English
    name, else the name as printed."""
    q = _quota_rows().copy()
    names = {}
    if session is not None:
        names = dict(session.execute(select(registry_models.EnterpriseGroup.name_en,
                                            registry_models.EnterpriseGroup.code)).all())
    q["owner"] = q.group_name_en.replace(names)
    q["stage"] = q.kind.map(QUOTA_STAGE)
    return q.assign(year=q.year.astype(int), value=q.tonnes_reo.astype(float))


def measure_frame(*, session: Session, measure: str, by: list[str], on: dt.date | None = None,
                  years: list[int] | None = None) -> pd.DataFrame:
    """The owner/value rows concentration is computed on, for a measure."""
    if measure == "capacity":
        if "year" in by:
            span = years or list(range(2010, (on or dt.date.today()).year + 1))
            return capacity_frame(session=session, days=[dt.date(y, 12, 31) for y in span])
        return capacity_frame(session=session, days=[on or dt.date.today()])
    if measure == "production":
        return production_frame(session=session, years=years)
    frame = quota_frame(session=session)
    return frame[frame.year.isin(years)] if years else frame


def concentration(*, session: Session, measure: str = "capacity", by: list[str] | None = None,
                  on: dt.date | None = None, years: list[int] | None = None, n: int = 4) -> pd.DataFrame:
    """HHI and CR-n per cell of the `by` dimensions, on capacity (at a date, or at each year end when `year` is a
    dimension), ledger production or quota."""
    by = list(by or [])
    _check_request(measure, by, n)
    frame = measure_frame(session=session, measure=measure, by=by, on=on, years=years)
    return conc.concentration(frame, by=by, n=n)


def owner_shares(*, session: Session, measure: str = "capacity", by: list[str] | None = None,
                 on: dt.date | None = None, years: list[int] | None = None) -> pd.DataFrame:
    """Each owner's value and share per cell."""
    by = list(by or [])
    _check_request(measure, by, 1)
    return conc.shares(measure_frame(session=session, measure=measure, by=by, on=on, years=years), by=by)


def merger_rules() -> pd.DataFrame:
    """The merger-screening guidelines as dated rows (industry/data/merger_screening.csv)."""
    rules = pd.read_csv(DATA / "merger_screening.csv", dtype={"share_presumption_pct_above": float})
    rules["effective_date"] = pd.to_datetime(rules.effective_date).dt.date
    return rules.sort_values("effective_date").reset_index(drop=True)


def merger_rule(*, on: dt.date | None = None) -> pd.Series:
    """The screening guideline in force on a date (the newest one effective by then)."""
    day = on or dt.date.today()
    rules = merger_rules()
    live = rules[rules.effective_date <= day]
    if live.empty:
        raise InputError(Problem(field="guideline_on", rule=f"no merger guideline in force before "
                                                            f"{rules.effective_date.min()}", value=str(day)))
    return live.iloc[-1]


def screen_merger(*, session: Session, owners: list[str], into: str, measure: str = "capacity",
                  by: list[str] | None = None, on: dt.date | None = None, years: list[int] | None = None,
                  n: int = 4, guideline_on: dt.date | None = None, cost_curve_path: Path | None = None
                  ) -> pd.DataFrame:
    """Change in HHI and CR-n per cell if `owners` merged into `into`, screened by the guideline in force, with the
    scale effect on the parties' unit cost from the cost-curve assumption."""
    by = list(by or [])
    _check_request(measure, by, n)
    frame = measure_frame(session=session, measure=measure, by=by, on=on, years=years)
    known = set(frame.owner)
    missing = [o for o in owners if o not in known]
    problems = [Problem(field="owners", rule=f"no {measure} owned by this owner in the data", value=o)
                for o in missing]
    if len(set(owners)) < 2 and not (len(owners) == 1 and into not in owners):
        problems.append(Problem(field="owners", rule="name at least two owners, or one owner moving into a new "
                                                     "group", value=owners))
    if problems:
        raise InputError(problems)
    screened = conc.screen_merger(frame, by=by, owners=owners, into=into, rule=merger_rule(on=guideline_on), n=n)
    effects = scale.scale_effects(frame, by=by, owners=owners, curve=cost_curve(path=cost_curve_path))
    if by:
        return screened.merge(effects, on=by, how="left")
    return pd.concat([screened, effects.reindex(range(len(screened)))], axis=1)


COST_CURVE = DATA / "cost_curve.csv"


def cost_curve(*, path: Path | None = None) -> pd.DataFrame:
    """The cost-curve assumption per stage (elasticity, reference scale and unit cost, status, reason):
    industry/data/cost_curve.csv unless given; every row an ILLUSTRATIVE assumption."""
    return scale.read_cost_curve(path or COST_CURVE)


def vertical_integration(*, session: Session, years: list[int] | None = None) -> pd.DataFrame:
    """Per owner and year: the share of the REO its processing plants consumed that came from inside the same
    owner (its own extraction or processing, or a shipment from a facility it owned that day). Inputs arriving by
    import count as outside supply."""
    where, params = "", {}
    if years:
        where = " AND pe.at_epoch_s >= :a AND pe.at_epoch_s < :b"
        params = {"a": _day(dt.date(min(years), 1, 1)) * 86400, "b": _day(dt.date(max(years) + 1, 1, 1)) * 86400}
    sql = ("SELECT pe.facility_id, pe.at_epoch_s / 86400, se.facility_id, se.kind, SUM(i.kg / b.gross_kg * b.reo_kg) "
           "FROM ledger_input i JOIN ledger_event pe ON pe.id = i.event_id JOIN ledger_batch b ON b.id = i.batch_id "
           f"JOIN ledger_event se ON se.id = b.event_id WHERE pe.kind = 'processing'{where} "
           "GROUP BY pe.facility_id, pe.at_epoch_s / 86400, se.facility_id, se.kind")
    used = query_frame(session, text(sql), ["facility_id", "day", "supplier_id", "supplier_kind", "reo_kg"], params)
    cols = ["owner", "owner_kind", "year", "input_t", "inside_t", "vi_pct"]
    if used.empty:
        return pd.DataFrame(columns=cols)
    fac = _facilities(session)[["facility_id", "enterprise_id", "enterprise"]]
    members = memberships(session=session)
    user = attach_owners(used.merge(fac, on="facility_id"), members)
    supplier = attach_owners(user[["supplier_id", "day"]].merge(
        fac.rename(columns={"facility_id": "supplier_id"}), on="supplier_id", how="left").assign(
        enterprise_id=lambda d: d.enterprise_id.fillna(-1).astype(int), enterprise=lambda d: d.enterprise.fillna("")),
        members)
    inside = (user.owner.to_numpy() == supplier.owner.to_numpy()) & (user.supplier_kind != "import").to_numpy()
    user = user.assign(year=(pd.Timestamp(EPOCH) + pd.to_timedelta(user.day, unit="D")).dt.year,
                       input_t=user.reo_kg / 1000.0, inside_t=np.where(inside, user.reo_kg / 1000.0, 0.0))
    out = user.groupby(["owner", "owner_kind", "year"], as_index=False)[["input_t", "inside_t"]].sum()
    out["vi_pct"] = 100.0 * out.inside_t / out.input_t
    return out.sort_values(["year", "input_t"], ascending=[True, False]).reset_index(drop=True)[cols]


# ---- access conditions ----------------------------------------------------------------------------------------


def access_conditions(*, on: dt.date | None = None) -> pd.DataFrame:
    """The access conditions (cn_access_conditions.csv) with derived end dates; those in force on a date if given."""
    rules = access.dated_conditions(reference.read("cn_access_conditions.csv"))
    return access.in_force(rules, on) if on else rules


def access_checks(*, session: Session, on: dt.date | None = None, only_short: bool = False) -> pd.DataFrame:
    """Every facility operating in China on a date checked against the access conditions then in force."""
    day = on or dt.date.today()
    fac = _facilities(session)
    live = fac[(fac.country == "China") & (fac.start_day.isna() | (fac.start_day <= _day(day)))
               & (fac.end_day.isna() | (fac.end_day >= _day(day)))]
    checks = access.check(live, access_conditions(on=day), mapping=access.mapping(DATA))
    return checks[checks.verdict == "falls_short"] if only_short else checks


# ---- clusters -------------------------------------------------------------------------------------------------


def facility_clusters(*, session: Session, eps_km: float = 60.0, min_samples: int = 3,
                      stages: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DBSCAN clusters of facilities on great-circle distance: (facilities with their cluster, cluster summary
    with stages present, chain completeness and capacity by stage)."""
    if eps_km <= 0:
        raise InputError(Problem(field="eps_km", rule="must be above 0", value=eps_km))
    if min_samples < 1:
        raise InputError(Problem(field="min_samples", rule="must be at least 1", value=min_samples))
    f = registry_models.Facility
    stmt = select(f.code, f.name, f.stage, f.lat, f.lon, f.capacity_t_reo_per_year, f.country, f.region,
                  f.data_status)
    frame = query_frame(session, stmt, ["code", "name", "stage", "lat", "lon", "capacity_t_reo_per_year", "country",
                                        "region", "data_status"])
    chain = stages or clusters.CHAIN_STAGES
    labelled = clusters.label(frame, eps_km=eps_km, min_samples=min_samples)
    return labelled, clusters.summary(labelled, chain=chain)


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain dicts with missing values as None (JSON has no NaN)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def cluster_records(summary: pd.DataFrame) -> list[dict]:
    """Cluster summaries with capacity by stage gathered into one mapping."""
    cap_cols = [c for c in summary.columns if c.startswith("capacity_")]
    rows = records(summary.drop(columns=cap_cols))
    caps = summary[cap_cols].rename(columns=lambda c: c.removeprefix("capacity_")).to_dict("records")
    return [{**r, "capacity_by_stage_t_reo": c} for r, c in zip(rows, caps, strict=True)]


# ---- value chain ----------------------------------------------------------------------------------------------

VALUE_KEYS = {"national": [], "country": ["country"], "group": ["owner"], "cluster": ["cluster"]}
STAGE_PRICES = DATA / "value_chain_prices.csv"
OXIDE_PRICE_FILE = "ree_prices_usgs_annual_latest_edition.csv"
UNCLUSTERED = "unclustered"


def stage_prices(*, path: Path | None = None) -> pd.DataFrame:
    """The stage price table: each product form's factor on the oxide value of its REO, with status (seen or an
    ILLUSTRATIVE assumption), structure class and reason (industry/data/value_chain_prices.csv unless given)."""
    from restrat.catalog import service as catalog

    return valuechain.read_stage_prices(path or STAGE_PRICES, forms=set(catalog.product_form_table().code))


def oxide_price_table() -> pd.DataFrame:
    """USGS annual oxide prices (USD/kg) per element and year, the separation stage's real price."""
    from restrat.catalog.service import ELEMENTS

    return valuechain.oxide_prices(reference.read(OXIDE_PRICE_FILE), elements=ELEMENTS)


def value_cells(*, session: Session, years: list[int] | None = None, prices_path: Path | None = None
                ) -> pd.DataFrame:
    """Valued ledger flows per facility, day, role and form: 'out' = batches made by extraction or processing
    (valued in their own year), 'in' = batches consumed by processing (valued in the consuming year), with REO
    (t), its priced part (t) and value (USD); `day` is the first day of a period with one year and one owner per
    facility. Reads industry_value_day (element REO per facility, day, role and form, kept by the ledger's import
    hook), summed in SQL per such period; valuation is linear in the element REO, so nothing is lost."""
    from restrat.catalog.service import ELEMENTS

    where, params = "", {}
    if years:
        where = " WHERE day >= :a AND day < :b"
        params = {"a": _day(dt.date(min(years), 1, 1)), "b": _day(dt.date(max(years) + 1, 1, 1))}
    first, last = session.execute(text(f"SELECT MIN(day), MAX(day) FROM {valueday.TABLE}{where}"), params).one()
    frame = pd.DataFrame()
    if first is not None:
        # Sum the days of each period in which no year ends and no group membership starts or ends: inside one,
        # the year (prices) and every facility's owner are the same, so the period's first day stands for all.
        members = memberships(session=session)
        y0 = (pd.Timestamp(EPOCH) + pd.Timedelta(days=int(first))).year
        y1 = (pd.Timestamp(EPOCH) + pd.Timedelta(days=int(last))).year
        cuts = {_day(dt.date(y, 1, 1)) for y in range(y0, y1 + 2)}
        cuts |= {int(d) for d in pd.concat([members.from_day, members.to_day + 1]).dropna() if first < d <= last}
        cuts_sorted = sorted(cuts)
        period = "CASE " + " ".join(f"WHEN day < {b} THEN {a}" for a, b in zip(cuts_sorted, cuts_sorted[1:],
                                                                            strict=False)) + " END"
        sums = ", ".join(f"SUM({c})" for c in valueday.VALUE_COLUMNS)
        cols = ["facility_id", "day", "role", "form", *valueday.VALUE_COLUMNS]
        frame = query_frame(session, text(
            f"SELECT facility_id, {period} AS period, role, form, {sums} FROM {valueday.TABLE}{where} "
            "GROUP BY facility_id, period, role, form"), cols, params)
    out_cols = ["facility_id", "day", "form", "role", "reo_t", "priced_t", "value_usd"]
    if frame.empty:
        return pd.DataFrame(columns=out_cols)
    years_of = (pd.Timestamp(EPOCH) + pd.to_timedelta(frame.day, unit="D")).dt.year.to_numpy()
    uniq, inv = np.unique(years_of, return_inverse=True)
    price, _ = valuechain.price_matrix(oxide_price_table(), uniq, elements=ELEMENTS)
    p = price[inv]
    el = frame[list(valueday.EL_COLUMNS)].to_numpy(dtype=float)
    priced = ~np.isnan(p)
    factor = frame.form.map(stage_prices(path=prices_path).set_index("form").factor_of_oxide_value).fillna(0.0)
    return frame.assign(reo_t=frame.reo_kg / 1000.0, priced_t=np.where(priced, el, 0.0).sum(axis=1) / 1000.0,
                        value_usd=(el * np.nan_to_num(p)).sum(axis=1) * factor.to_numpy())[out_cols]


def _value_dims(session: Session, cells: pd.DataFrame, by: str, eps_km: float, min_samples: int) -> pd.DataFrame:
    """Cells with year, stage (of the facility), country, owner (group or enterprise that day) and cluster."""
    fac = _facilities(session)[["facility_id", "code", "enterprise_id", "enterprise", "stage", "country"]]
    out = cells.merge(fac, on="facility_id")
    out["year"] = (pd.Timestamp(EPOCH) + pd.to_timedelta(out.day, unit="D")).dt.year
    if by == "group":
        out = attach_owners(out, memberships(session=session))
    if by == "cluster":
        labelled, _ = facility_clusters(session=session, eps_km=eps_km, min_samples=min_samples)
        label = dict(zip(labelled.code, labelled.cluster, strict=True))
        out["cluster"] = out.code.map(label).fillna(clusters.NOISE).astype(int).astype(str).replace(
            str(clusters.NOISE), UNCLUSTERED)
    return out


def _check_value_request(by: str, eps_km: float, min_samples: int) -> None:
    problems = []
    if by not in VALUE_KEYS:
        problems.append(Problem(field="by", rule=f"must be one of {list(VALUE_KEYS)}", value=by))
    if eps_km <= 0:
        problems.append(Problem(field="eps_km", rule="must be above 0", value=eps_km))
    if min_samples < 1:
        problems.append(Problem(field="min_samples", rule="must be at least 1", value=min_samples))
    if problems:
        raise InputError(problems)


def value_chain(*, session: Session, by: str = "national", years: list[int] | None = None,
                prices_path: Path | None = None, eps_km: float = 60.0, min_samples: int = 3) -> dict[str, Any]:
    """Value chain from the ledger per year and `by` cell (national, country, group, cluster): per stage the REO
    made, value per tonne REO, value of inputs and value added; the multiplier from ore to the most downstream
    stage with output; the product-structure balance; and the stage prices used with their status."""
    from restrat.catalog import service as catalog

    _check_value_request(by, eps_km, min_samples)
    sp = stage_prices(path=prices_path)
    cells = _value_dims(session, value_cells(session=session, years=years, prices_path=prices_path), by, eps_km,
                        min_samples)
    keys = VALUE_KEYS[by] + ["year"]
    chain = catalog.stage_table().sort_values("position").code.tolist()
    stages = valuechain.stage_table(cells, keys=keys, chain=chain)
    return {"by": by, "stages": stages, "multipliers": valuechain.multipliers(stages, keys=keys),
            "structure": valuechain.structure(cells, keys=keys, classes=sp.set_index("form").structure),
            "stage_prices": sp, "oxide_prices": oxide_price_table()}


def value_flows(*, session: Session, year: int | None = None, prices_path: Path | None = None) -> pd.DataFrame:
    """Value (USD) moving along the chain, as Sankey links: the value of the inputs each stage consumed from the
    stage whose form it was (by the catalog's form stage), the value each stage added, and the value of what each
    stage made that no stage consumed in the period (sold on, exported or stocked)."""
    from restrat.catalog import service as catalog

    cells = value_cells(session=session, years=[year] if year else None, prices_path=prices_path)
    cols = ["source", "target", "flow", "value_usd"]
    if cells.empty:
        return pd.DataFrame(columns=cols)
    form_stage = catalog.product_form_table().set_index("code").stage
    fac = _facilities(session)[["facility_id", "stage"]]
    c = cells.merge(fac, on="facility_id").assign(form_stage=lambda d: d.form.map(form_stage))
    used = c[c.role == "in"].groupby(["form_stage", "stage"], as_index=False).value_usd.sum()
    links = [used.rename(columns={"form_stage": "source", "stage": "target"}).assign(flow="input")]
    made = c[c.role == "out"].groupby("stage").value_usd.sum()
    bought = c[c.role == "in"].groupby("stage").value_usd.sum().reindex(made.index, fill_value=0.0)
    added = (made - bought).clip(lower=0.0)
    links.append(pd.DataFrame({"source": "value added", "target": added.index, "flow": "value_added",
                               "value_usd": added.to_numpy()}))
    passed_on = used.groupby("form_stage").value_usd.sum().reindex(made.index, fill_value=0.0)
    left = (made - passed_on).clip(lower=0.0)
    links.append(pd.DataFrame({"source": left.index, "target": "sold, exported or stocked", "flow": "left_chain",
                               "value_usd": left.to_numpy()}))
    out = pd.concat(links, ignore_index=True)[cols]
    out = out[out.value_usd > 1e-6]
    return out.sort_values("value_usd", ascending=False).reset_index(drop=True)


def cluster_value_added(*, session: Session, summary: pd.DataFrame, eps_km: float = 60.0, min_samples: int = 3,
                        year: int | None = None) -> pd.DataFrame:
    """The cluster summary with the value its facilities made and added (USD, ledger, the year given or the latest
    year with production): `value_year`, `value_made_usd`, `value_added_usd` (NaN where a cluster made nothing)."""
    result = value_chain(session=session, by="cluster", years=[year] if year else None, eps_km=eps_km,
                         min_samples=min_samples)
    st = result["stages"]
    out = summary.copy()
    if st.empty:
        return out.assign(value_year=np.nan, value_made_usd=np.nan, value_added_usd=np.nan)
    latest = int(year or st.year.max())
    per = st[st.year == latest].groupby("cluster")[["output_value_usd", "value_added_usd"]].sum()
    key = out.cluster.astype(str)
    return out.assign(value_year=latest, value_made_usd=key.map(per.output_value_usd),
                      value_added_usd=key.map(per.value_added_usd))
