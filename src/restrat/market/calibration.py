"""Base-year data of the market model, calibrated from the shipped reference data plus labelled assumptions.

Real data (each with its file): USGS MCS 2026 mine production by country for the base year and reserves, USGS
prices, China's mining quotas (national and by group), IEA magnet demand paths, demand shares by application,
US apparent consumption. Everything else comes from `data/assumptions.toml`, where each entry has a reason.

Calibration: a linear inverse demand per (application, element, market) passes through the base-year quantity and
price with the assumed elasticity; each source's marginal cost at its base-year output equals the value of its
element basket at base-year prices net of separation and transport. The base year then clears at the observed
volumes and prices; `fit` solves it and reports the gaps.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from restrat.catalog import reference
from restrat.catalog.service import ELEMENTS

ASSUMPTIONS = Path(str(resources.files("restrat.market") / "data" / "assumptions.toml"))
REGIONS = ("china", "malaysia", "united_states", "rest_of_world")
REGION_COUNTRY = {"china": "China", "malaysia": "Malaysia", "united_states": "United States"}
IEA_FILE = "ree_iea_critical_minerals_outlook_demand_supply.csv"
SHARES_FILE = "ree_demand_shares_secondary.csv"
SHARE_NAMES = {"Magnets (NdFeB)": "magnets", "Catalysts": "catalysts", "Polishing powders": "polishing",
               "Metallurgy": "metallurgy", "Glass": "glass", "Ceramics": "ceramics",
               "Battery alloys": "battery_alloys", "Other": "other"}


@dataclass(frozen=True)
class Base:
    """The calibrated base year: tables the scenario layer turns into model inputs."""

    base_year: int
    elements: list[str]
    prices: pd.DataFrame  # element, price_usd_per_kg, product, source, status
    players: pd.DataFrame  # code, name, china
    sources: pd.DataFrame  # one row per source, base_t, capacity_t, costs, slope, routes...
    composition: np.ndarray  # (S, E)
    routes: pd.DataFrame  # source, region, cost_usd_per_kg, primary
    applications: pd.DataFrame  # code, label, elasticity, substitution_multiple, substitutable_share, ...
    segments: pd.DataFrame  # application, element, market, q0_t, p0
    markets: pd.DataFrame  # market, share, status, basis
    sep_capacity_t: pd.Series  # by region, base-year output capacity
    china_quota: dict[str, float]  # mining_total_t, mining_ionic_t, separation_t
    reserves_t: pd.Series  # by country
    demand_scaling: pd.DataFrame  # element, intensity_demand_t, supply_t, factor
    assumptions: dict[str, Any]


@cache
def load_assumptions(path: str | None = None) -> dict[str, Any]:
    """The assumptions file as a dict (cached)."""
    with open(path or ASSUMPTIONS, "rb") as f:
        return tomllib.load(f)


def assumption_table(assumptions: dict[str, Any] | None = None) -> pd.DataFrame:
    """Every assumption as a row: section, item, value, status, reason (for reports and pages)."""
    a = assumptions or load_assumptions()
    rows: list[dict[str, Any]] = []
    for section, body in a.items():
        if isinstance(body, list):
            for entry in body:
                if entry.get("status") in ("assumption", "derived"):
                    value = {k: v for k, v in entry.items() if k not in ("status", "reason", "name")}
                    rows.append({"section": section, "item": entry.get("code", ""), "value": value,
                                 "status": entry["status"], "reason": entry.get("reason", "")})
            continue
        if section == "demand":
            for code, app in body.get("applications", {}).items():
                rows.append({"section": "demand", "item": code,
                             "value": {k: v for k, v in app.items() if k not in ("reason", "label")},
                             "status": "assumption", "reason": app["reason"]})
        values = {k: v for k, v in body.items() if k not in ("status", "reason", "applications")
                  and not k.endswith("_reason")}
        reasons = [body.get("reason", "")] + [v for k, v in body.items() if k.endswith("_reason")]
        rows.append({"section": section, "item": "", "value": values, "status": body.get("status", "assumption"),
                     "reason": "; ".join(r for r in reasons if r)})
    return pd.DataFrame(rows)


def _num(frame: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_numeric(frame[col], errors="coerce")


def base_prices(year: int, assumptions: dict[str, Any]) -> pd.DataFrame:
    """Base-year oxide price per element: USGS (newest year up to the base year), else the assumed value."""
    usgs = reference.read("ree_prices_usgs_annual_latest_edition.csv")
    usgs = usgs[usgs["element"].isin(ELEMENTS) & usgs["product"].str.contains("oxide")]
    usgs = usgs.assign(year=_num(usgs, "year"), price=_num(usgs, "price_usd_per_kg"))
    usgs = usgs[usgs.year <= year].sort_values("year").groupby("element").tail(1)
    seen = pd.DataFrame({"element": usgs["element"], "price_usd_per_kg": usgs.price,
                         "product": usgs["product"] + " " + usgs["purity"], "year": usgs.year.astype(int),
                         "source": "USGS MCS (" + usgs["from_mcs_edition"] + "), Argus; ree_prices_usgs_mcs.csv",
                         "status": np.where(usgs["estimated"] == "yes", "seen (USGS estimate)", "seen")})
    assumed = assumptions["elements"]["price_usd_per_kg"]
    rest = pd.DataFrame({"element": list(assumed), "price_usd_per_kg": list(assumed.values()), "product": "oxide",
                         "year": year, "source": "assumptions.toml [elements]", "status": "assumption"})
    prices = pd.concat([seen, rest[~rest.element.isin(seen.element)]], ignore_index=True)
    return prices.set_index("element").reindex(ELEMENTS).reset_index()


def _profiles(assumptions: dict[str, Any]) -> dict[str, np.ndarray]:
    """Element shares (summing to 1) of each profile named in the assumptions."""
    dist = reference.read("ree_deposit_distribution_recalled.csv")
    dist = dist.assign(value=_num(dist, "value").fillna(0.0))  # 'trace' and blanks count as zero
    table = dist.pivot_table(index="deposit", columns="element", values="value", aggfunc="sum")
    table = table.reindex(columns=ELEMENTS, fill_value=0.0).fillna(0.0)
    out = {}
    for key, deposit in assumptions["profiles"].items():
        if key in ("status", "reason"):
            continue
        vec = table.loc[deposit].to_numpy(dtype=float)
        out[key] = vec / vec.sum()
    for key, mix in assumptions["special_profiles"].items():
        if key in ("status", "reason"):
            continue
        vec = np.array([float(mix.get(e, 0.0)) for e in ELEMENTS])
        out[key] = vec / vec.sum()
    return out


def _china_split(base_china_t: float) -> tuple[dict[tuple[str, str], float], float]:
    """China's base-year output by (quota group, ore type) and the ionic mining quota.

    The ionic quota is the latest annual ionic figure in cn_quota_national.csv (19,150 t, unchanged 2018-2023);
    rock is the rest of China's output; within each ore type the groups share as in the 2023 first batch."""
    nat = reference.read("cn_quota_national.csv")
    nat = nat.assign(year=_num(nat, "year"), t=_num(nat, "tonnes_reo"))
    ionic = nat[(nat.kind == "mining") & (nat.ore_type == "ionic") & (nat.batch == "all")
                & nat.status.isin(["seen", "derived"])].sort_values("year")
    ionic_t = float(ionic.t.iloc[-1])
    groups = reference.read("cn_quota_groups.csv")
    g = groups[(groups.year == "2023") & (groups.batch == "1") & (groups.kind == "mining")
               & groups.ore_type.isin(["rock", "ionic"])]
    g = g.assign(t=_num(g, "tonnes_reo"))
    g = g.assign(share=g.t / g.groupby("ore_type").t.transform("sum"))
    per_type = {"ionic": ionic_t, "rock": base_china_t - ionic_t}
    split = {(r.group_name_en, r.ore_type): float(r.share) * per_type[r.ore_type] for r in g.itertuples()}
    return split, ionic_t


@cache
def _iea_points(scenario: str, path: str) -> tuple[np.ndarray, np.ndarray]:
    """Years and values of one IEA magnet rare earth demand path (sheet 1), base year first (cached: every run of
    a sweep needs them)."""
    iea = reference.read(IEA_FILE)
    rows = iea[(iea.dataset == "total demand (IEA sheet 1)") & (iea.category == path)
               & iea.scenario.isin(["base year", scenario])]
    pts = rows.assign(year=_num(rows, "year"), value=_num(rows, "value")).sort_values("year")
    if pts.empty:
        raise ValueError(f"no IEA path {path!r} for scenario {scenario!r}")
    return pts.year.to_numpy(dtype=float), pts.value.to_numpy(dtype=float)


def _iea_index(scenario: str, path: str, base_year: int, years: np.ndarray) -> np.ndarray:
    """IEA magnet rare earth demand path (sheet 1) as an index on the base year, linear between IEA years."""
    pts_year, pts_value = _iea_points(scenario, path)
    base = float(np.interp(base_year, pts_year, pts_value))
    return np.interp(years, pts_year, pts_value) / base


def growth_index(base: Base, years: np.ndarray, *, iea_scenario: str = "STEPS",
                 multiplier: float = 1.0) -> np.ndarray:
    """Demand index per application and year (A, T) relative to the base year; multiplier scales the growth."""
    apps = base.applications
    out = np.empty((len(apps), len(years)))
    for i, app in enumerate(apps.itertuples()):
        if isinstance(app.iea_path, str) and app.iea_path:
            idx = _iea_index(iea_scenario, app.iea_path, base.base_year, years)
        else:
            idx = (1.0 + float(app.growth)) ** (years - base.base_year)
        out[i] = 1.0 + (idx - 1.0) * multiplier
    return np.maximum(out, 0.05)


def _demand_shares(assumptions: dict[str, Any]) -> pd.Series:
    """Share of base-year REO demand per application (secondary shares; magnets split by the IEA clean-tech
    share; phosphors taken out of 'Other')."""
    shares = reference.read(SHARES_FILE)
    s = shares[(shares.dimension == "application") & shares.year.str.startswith("~2024")]
    s = pd.Series(_num(s, "value").to_numpy() / 100.0, index=s["item"].map(SHARE_NAMES).to_numpy())
    iea = reference.read(IEA_FILE)
    sheet = iea[(iea.dataset == "total demand (IEA sheet 1)") & (iea.scenario == "base year")]
    clean = float(_num(sheet[sheet.category == "clean-tech share of demand"], "value").iloc[0])
    apps = assumptions["demand"]["applications"]
    phosphors = float(apps["phosphors"]["share_of_demand"])
    out = {"magnets_clean_tech": s["magnets"] * clean, "magnets_other": s["magnets"] * (1 - clean),
           "phosphors": phosphors, "other": s["other"] - phosphors}
    out.update({k: s[k] for k in s.index if k not in ("magnets", "other")})
    return pd.Series(out).reindex(list(apps))


def _market_shares(assumptions: dict[str, Any]) -> pd.DataFrame:
    """Demand share per market: China from the secondary shares file, the US from USGS apparent consumption."""
    shares = reference.read(SHARES_FILE)
    china = float(_num(shares[(shares.dimension == "demand") & shares["item"].str.contains("China share")],
                       "value").iloc[0]) / 100.0
    us = reference.read("ree_usgs_mcs_us_salient_statistics.csv")
    us = us[us["item"] == "US apparent consumption, compounds and metals"]
    us = us.assign(year=_num(us, "year"), v=_num(us, "value"))
    us = us[us.year == assumptions["model"]["base_year"]].sort_values("mcs_edition").iloc[-1]
    world = reference.read("ree_usgs_mcs_world_mine_production.csv")
    world = world[(world.mcs_edition == "MCS2026") & (world.data_year == str(assumptions["model"]["base_year"]))
                  & (world.country == "World total (rounded)")]
    us_share = float(us.v) / float(_num(world, "mine_production_t_reo").iloc[0])
    names = assumptions["markets"]["names"]
    return pd.DataFrame({"market": names, "share": [china, us_share, 1.0 - china - us_share],
                         "status": ["secondary", "derived", "derived"],
                         "basis": ["China share of total rare earth demand, ree_demand_shares_secondary.csv",
                                   f"US apparent consumption {us.v:,.0f} t ({us.mcs_edition}) over world mine "
                                   "production", "the remainder"]})


def _sources(assumptions: dict[str, Any], base_year: int) -> pd.DataFrame:
    """The source list with base-year output (USGS x share, or capacity for sources defined by capacity)."""
    prod = reference.read("ree_usgs_mcs_world_mine_production.csv")
    prod = prod[(prod.mcs_edition == "MCS2026") & (prod.data_year == str(base_year))]
    by_country = pd.Series(_num(prod, "mine_production_t_reo").to_numpy(), index=prod.country.to_numpy())
    split, _ = _china_split(float(by_country["China"]))
    headroom = float(assumptions["supply"]["capacity_headroom"])
    rows = []
    for s in assumptions["source"]:
        row = {"code": s["code"], "name": s["name"], "country": s["country"], "player": s["player"],
               "ore_type": s["ore_type"], "profile": s["profile"], "routes": list(s["routes"]),
               "unit_cost_usd_per_kg": float(s["unit_cost_usd_per_kg"]), "status": s["status"],
               "reason": s["reason"], "start_year": int(s.get("start_year", base_year)),
               "ramp_years": int(s.get("ramp_years", 1))}
        if "quota_group" in s:
            row["base_t"] = split[(s["quota_group"], s["quota_ore_type"])]
            row["capacity_t"] = row["base_t"] * headroom
            row["basis"] = "USGS MCS 2026 China x cn_quota_groups.csv 2023 batch 1 share (derived)"
        elif "share_of_country" in s:
            row["base_t"] = float(by_country[s["country"]]) * float(s["share_of_country"])
            row["capacity_t"] = row["base_t"] * headroom
            row["basis"] = f"USGS MCS 2026 {s['country']} {base_year}"
        else:
            running = row["start_year"] <= base_year
            row["capacity_t"] = float(s["capacity_t"])
            row["base_t"] = row["capacity_t"] / headroom if running else 0.0
            row["basis"] = "assumption"
        rows.append(row)
    return pd.DataFrame(rows)


def calibrate(*, assumptions: dict[str, Any] | None = None) -> Base:
    """Build the calibrated base year from the reference data and the assumptions."""
    a = assumptions or load_assumptions()
    year = int(a["model"]["base_year"])
    prices = base_prices(year, a)
    p0 = prices.price_usd_per_kg.fillna(0.0).to_numpy()
    profiles = _profiles(a)
    sources = _sources(a, year)
    composition = np.vstack([profiles[p] for p in sources.profile])
    rec = float(a["model"]["recovery"])
    sep_cost = a["separation"]["cost_usd_per_kg"]
    transport = float(a["separation"]["concentrate_transport_usd_per_kg"])

    # routes: one row per (source, region); a region in another country adds concentrate transport
    routes = sources[["code", "country", "routes"]].reset_index(names="source").explode("routes")
    routes = routes.rename(columns={"routes": "region"})
    home = routes.region.map(REGION_COUNTRY)
    abroad = np.where(home.isna(), routes.country.isin(REGION_COUNTRY.values()), home != routes.country)
    routes["cost_usd_per_kg"] = routes.region.map(sep_cost).astype(float) + np.where(abroad, transport, 0.0)
    routes["primary"] = ~routes.duplicated("source")
    routes["region"] = routes.region.map({r: i for i, r in enumerate(REGIONS)})
    routes = routes[["source", "region", "cost_usd_per_kg", "primary"]].reset_index(drop=True)

    # supply slope: marginal cost at base output equals the basket value on the primary route
    primary = routes[routes.primary].set_index("source")
    basket = rec * composition @ p0 - primary.cost_usd_per_kg.reindex(sources.index).to_numpy()
    margin = float(a["supply"]["minimum_margin"])
    cost = np.minimum(sources.unit_cost_usd_per_kg.to_numpy(), basket / (1 + margin))
    base_kt = sources.base_t.to_numpy() / 1000.0
    cap_kt = sources.capacity_t.to_numpy() / 1000.0
    slope_running = (basket - cost) / np.where(base_kt > 0, base_kt, 1.0)
    # a source not yet running: marginal cost at full capacity is 25% above its unit cost
    slope_new = 0.25 * sources.unit_cost_usd_per_kg.to_numpy() / np.maximum(cap_kt, 1e-9)
    sources["calibrated_cost_usd_per_kg"] = np.where(base_kt > 0, cost, sources.unit_cost_usd_per_kg)
    sources["slope_usd_per_kg_per_kt"] = np.where(base_kt > 0, slope_running, slope_new)
    sources["basket_usd_per_kg"] = basket
    sources["emission_t_co2e_per_t"] = sources.ore_type.map(a["emissions"]["t_co2e_per_t"]).astype(float)

    # separation capacity per region: base-year throughput on primary routes, with headroom
    out_t = pd.Series(rec * sources.base_t.to_numpy(), index=sources.index)
    sep_base = out_t.groupby(primary.region.reindex(sources.index).to_numpy()).sum()
    sep_capacity = pd.Series([float(sep_base.get(i, 0.0)) for i in range(len(REGIONS))], index=list(REGIONS))
    sep_capacity = sep_capacity * float(a["separation"]["capacity_headroom"])
    existing = pd.Series(a["separation"]["existing_capacity_t"], dtype=float).reindex(sep_capacity.index).fillna(0.0)
    sep_capacity = np.maximum(sep_capacity, existing)

    # demand: application shares x intensities, scaled per element so the base year clears at observed supply
    apps_cfg = a["demand"]["applications"]
    shares = _demand_shares(a)
    supply_t = rec * composition.T @ sources.base_t.to_numpy()  # (E,)
    total_t = float(supply_t.sum())
    intensity = np.array([[float(a["intensity"][app].get(e, 0.0)) for e in ELEMENTS] for app in apps_cfg])
    intensity = intensity / intensity.sum(axis=1, keepdims=True)
    raw = intensity * shares.to_numpy()[:, None] * total_t  # (A, E) t
    raw_e = raw.sum(axis=0)
    factor = np.divide(supply_t, raw_e, out=np.zeros_like(supply_t), where=raw_e > 0)
    scaled = raw * factor[None, :]
    markets = _market_shares(a)
    seg = pd.DataFrame([(app, e) for app in apps_cfg for e in range(len(ELEMENTS))], columns=["application", "element"])
    seg["t"] = scaled.ravel()
    seg = seg[seg.t > 0].merge(markets[["market", "share"]].reset_index(names="market_idx"), how="cross")
    seg = pd.DataFrame({"application": seg.application, "element": seg.element, "market": seg.market_idx,
                        "q0_t": seg.t * seg.share, "p0": p0[seg.element.to_numpy()]}).reset_index(drop=True)
    applications = pd.DataFrame([{"code": k, "label": v["label"], "elasticity": float(v["elasticity"]),
                                  "substitution_multiple": float(v["substitution_multiple"]),
                                  "substitutable_share": float(v["substitutable_share"]),
                                  "growth": float(v.get("growth", 0.0)), "iea_path": v.get("iea_path", ""),
                                  "share": float(shares[k]), "reason": v["reason"]} for k, v in apps_cfg.items()])

    reserves = reference.read("ree_usgs_mcs_world_reserves.csv")
    reserves = reserves[(reserves.mcs_edition == "MCS2026") & (reserves.country != "World total (rounded)")]
    reserves_t = pd.Series(_num(reserves, "reserves_t_reo").to_numpy(), index=reserves.country.to_numpy()).dropna()
    _, ionic_t = _china_split(float(sources.loc[sources.country == "China", "base_t"].sum()))
    china_mined = sources.country.eq("China") & sources.ore_type.isin(["rock", "ionic"])
    nat = reference.read("cn_quota_national.csv")
    sep_q = nat[(nat.kind == "smelting_separation") & (nat.batch == "all") & (nat.year == str(year))]
    china_quota = {"mining_total_t": float(sources.loc[china_mined, "base_t"].sum()), "mining_ionic_t": ionic_t,
                   "separation_t": float(_num(sep_q, "tonnes_reo").iloc[0])}
    players = pd.DataFrame(a["player"])[["code", "name", "china"]]
    scaling = pd.DataFrame({"element": ELEMENTS, "intensity_demand_t": raw_e, "supply_t": supply_t,
                            "factor": factor})
    return Base(base_year=year, elements=list(ELEMENTS), prices=prices, players=players, sources=sources,
                composition=composition, routes=routes, applications=applications, segments=seg, markets=markets,
                sep_capacity_t=sep_capacity, china_quota=china_quota, reserves_t=reserves_t,
                demand_scaling=scaling, assumptions=a)
