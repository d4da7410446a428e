"""Scenario files (TOML): levers, horizon and uncertain parameters, validated with errors that name the key.

A scenario is turned into model inputs by `to_inputs`, which applies the levers to the calibrated base year.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from restrat.catalog import reference
from restrat.catalog.service import ELEMENTS
from restrat.errors import InputError, Problem
from restrat.market.calibration import REGION_COUNTRY, REGIONS, Base, growth_index
from restrat.market.model import Cap, Inputs

LIBRARY = Path(str(resources.files("restrat.market") / "scenarios"))
CONDUCTS = ("competitive", "cournot", "coordinated", "coordinated_exports")
IEA_SCENARIOS = ("STEPS", "APS", "NZE")
ELEMENT_CLASSES_SCHEME = "cerium_yttrium_two_group"
BIG = 1e9

# Global numeric knobs a scenario may set, sweep on a grid or draw at random: name -> default.
PARAMETERS: dict[str, float] = {
    "demand_growth_multiplier": 1.0,  # scales each application's growth above or below the base year
    "elasticity_multiplier": 1.0,  # scales every application's price elasticity
    "supply_cost_multiplier": 1.0,  # scales every source's unit cost
    "china_quota_growth": -1.0,  # China's mining and separation quota growth a year (-1: the assumption file's)
    "capacity_growth": -1.0,  # capacity growth a year outside China (-1: the assumption file's)
    "new_mine_capacity_multiplier": 1.0,  # scales prospective projects' capacity
    "substitution_multiple_multiplier": 1.0,  # scales the price multiples at which substitutes take over
    "discount_rate": -1.0,  # (-1: the assumption file's)
}

# Every section and its keys; a key not listed is a typo, reported with the closest valid one.
SCHEMA: dict[str, tuple[str, ...]] = {
    "scenario": ("name", "description", "start_year", "horizon", "seed", "runs", "iea_scenario"),
    "market_power": ("conduct", "merge"),
    "parameters": tuple(PARAMETERS),
    "mining_quota": ("name", "country", "ore_type", "player", "tonnes", "growth", "from_year", "to_year"),
    "separation_quota": ("name", "region", "tonnes", "growth", "from_year", "to_year"),
    "separation_capacity": ("name", "region", "tonnes", "from_year"),
    "export_control": ("name", "elements", "from", "to", "form", "tonnes", "ban", "cut", "from_year", "to_year"),
    "environment": ("name", "country", "ore_type", "cost_usd_per_kg", "capacity_cut", "from_year", "to_year"),
    "new_mine": ("code", "name", "country", "player", "ore_type", "profile", "capacity_t", "start_year",
                 "ramp_years", "unit_cost_usd_per_kg", "routes"),
    "stockpile": ("name", "market", "elements", "target_t", "from_year", "to_year"),
    "history": ("export_quota", "mining_quota", "first_year"),
    "uncertain": tuple(PARAMETERS),
    "grid": tuple(PARAMETERS),
}
LISTS = ("mining_quota", "separation_quota", "separation_capacity", "export_control", "environment", "new_mine",
         "stockpile")
DISTRIBUTIONS = {"uniform": ("low", "high"), "normal": ("mean", "sd"), "triangular": ("low", "mode", "high"),
                 "lognormal": ("mean", "sd")}


@dataclass(frozen=True)
class Scenario:
    """A validated scenario; `levers` keep the file's sections as plain dicts."""

    name: str
    description: str = ""
    start_year: int = 2025
    horizon: int = 20
    seed: int = 7
    runs: int = 1
    iea_scenario: str = "STEPS"
    conduct: str = "competitive"
    merge: dict[str, list[str]] = field(default_factory=dict)
    parameters: dict[str, float] = field(default_factory=dict)
    levers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    uncertain: dict[str, dict[str, Any]] = field(default_factory=dict)
    grid: dict[str, list[float]] = field(default_factory=dict)
    source: str = ""

    @property
    def years(self) -> np.ndarray:
        return np.arange(self.start_year, self.start_year + self.horizon)

    def with_parameters(self, values: dict[str, float]) -> Scenario:
        """The same scenario with some parameters overridden (one run of a sweep)."""
        return replace(self, parameters={**self.parameters, **values})

    def without_cuts(self) -> Scenario:
        """The scenario with its relative export cuts removed: the reference the cuts are measured against."""
        levers = dict(self.levers)
        levers["export_control"] = [c for c in levers.get("export_control", []) if "cut" not in c]
        return replace(self, levers=levers)


def _suggest(word: str, options: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else f"; valid: {', '.join(options)}"


def _check_keys(body: dict[str, Any], allowed: tuple[str, ...], where: str, problems: list[Problem]) -> None:
    for key in body:
        if key not in allowed:
            problems.append(Problem(field=f"{where}.{key}", rule="unknown key" + _suggest(key, allowed)))


def _elements(value: Any, where: str, problems: list[Problem]) -> list[str]:
    """Element symbols from a list or a class name ('light', 'medium_heavy', 'all')."""
    if isinstance(value, str):
        classes = reference.read("ree_element_classes.csv")
        classes = classes[classes.scheme == ELEMENT_CLASSES_SCHEME]
        if value == "all":
            return list(ELEMENTS)
        members = classes.loc[classes["class"] == value, "element"].tolist()
        if not members:
            problems.append(Problem(field=where, rule="unknown element class" +
                                    _suggest(value, ["all", *sorted(set(classes["class"]))]), value=value))
        return members
    out = []
    for v in value:
        if v not in ELEMENTS:
            problems.append(Problem(field=where, rule="unknown element" + _suggest(str(v), list(ELEMENTS)), value=v))
        else:
            out.append(v)
    return out


def _nonneg(body: dict[str, Any], key: str, where: str, problems: list[Problem]) -> None:
    value = body.get(key)
    if value is None:
        return
    if not isinstance(value, int | float) or isinstance(value, bool):
        problems.append(Problem(field=f"{where}.{key}", rule="must be a number", value=value))
    elif value < 0:
        problems.append(Problem(field=f"{where}.{key}", rule="must not be negative", value=value))


def parse(data: dict[str, Any], *, base: Base, source: str = "") -> Scenario:
    """Validate a scenario dict (as read from TOML); every problem is reported at once."""
    problems: list[Problem] = []
    _check_keys(data, tuple(SCHEMA), "scenario file", problems)
    head = data.get("scenario", {})
    _check_keys(head, SCHEMA["scenario"], "scenario", problems)
    if "name" not in head:
        problems.append(Problem(field="scenario.name", rule="is required"))
    countries = sorted(set(base.sources.country) | set(base.reserves_t.index))
    markets = list(base.markets.market)
    players = list(base.players.code)
    for section in LISTS:
        entries = data.get(section, [])
        if not isinstance(entries, list):
            problems.append(Problem(field=section, rule=f"must be a list of tables: write [[{section}]]"))
            continue
        for i, body in enumerate(entries):
            where = f"{section}[{i}]"
            _check_keys(body, SCHEMA[section], where, problems)
            for key in ("tonnes", "capacity_t", "target_t", "cost_usd_per_kg", "unit_cost_usd_per_kg"):
                _nonneg(body, key, where, problems)
            if "country" in body and body["country"] not in countries:
                problems.append(Problem(field=f"{where}.country", rule="unknown country" +
                                        _suggest(body["country"], countries), value=body["country"]))
            if "player" in body and body["player"] not in players:
                problems.append(Problem(field=f"{where}.player", rule="unknown player" +
                                        _suggest(body["player"], players), value=body["player"]))
            if "region" in body and body["region"] not in REGIONS:
                problems.append(Problem(field=f"{where}.region", rule="unknown separation region" +
                                        _suggest(body["region"], list(REGIONS)), value=body["region"]))
            if "elements" in body:
                _elements(body["elements"], f"{where}.elements", problems)
            for key in ("cut", "capacity_cut"):
                if key in body and not 0 <= float(body[key]) <= 1:
                    problems.append(Problem(field=f"{where}.{key}", rule="must be a share between 0 and 1",
                                            value=body[key]))
            if section == "export_control":
                form = body.get("form", "oxide")
                if form not in ("oxide", "concentrate"):
                    problems.append(Problem(field=f"{where}.form", rule="must be 'oxide' or 'concentrate'" + (
                        " (finished magnets and metals are not traded forms in the model: their element content"
                        " trades as oxide; see docs/market.md, Product forms)" if form in ("magnet", "magnets", "metal",
                                                                                      "alloy") else ""), value=form))
                if sum(k in body for k in ("tonnes", "ban", "cut")) != 1:
                    problems.append(Problem(field=where, rule="give exactly one of tonnes, ban or cut"))
                dest = body.get("to", [])
                valid = list(REGIONS) if form == "concentrate" else markets
                for d in [dest] if isinstance(dest, str) else dest:
                    if d not in valid:
                        problems.append(Problem(field=f"{where}.to", rule="unknown destination" +
                                                _suggest(d, valid), value=d))
            if section == "stockpile" and body.get("market") not in markets:
                problems.append(Problem(field=f"{where}.market", rule="unknown market" +
                                        _suggest(str(body.get("market")), markets), value=body.get("market")))
            if section == "new_mine":
                for key in ("code", "country", "capacity_t", "start_year", "unit_cost_usd_per_kg", "routes"):
                    if key not in body:
                        problems.append(Problem(field=f"{where}.{key}", rule="is required"))
                profiles = [k for k in {**base.assumptions["profiles"], **base.assumptions["special_profiles"]}
                            if k not in ("status", "reason")]
                if body.get("profile", "monazite") not in profiles:
                    problems.append(Problem(field=f"{where}.profile", rule="unknown profile" +
                                            _suggest(body["profile"], profiles), value=body["profile"]))
                for r in body.get("routes", []):
                    if r not in REGIONS:
                        problems.append(Problem(field=f"{where}.routes", rule="unknown separation region" +
                                                _suggest(r, list(REGIONS)), value=r))
    power = data.get("market_power", {})
    _check_keys(power, SCHEMA["market_power"], "market_power", problems)
    conduct = power.get("conduct", "competitive")
    if conduct not in CONDUCTS:
        problems.append(Problem(field="market_power.conduct", rule="unknown conduct" + _suggest(conduct, CONDUCTS),
                                value=conduct))
    for target, members in power.get("merge", {}).items():
        for p in [target, *members]:
            if p not in players:
                problems.append(Problem(field=f"market_power.merge.{target}", rule="unknown player" +
                                        _suggest(p, players), value=p))
    params = data.get("parameters", {})
    _check_keys(params, SCHEMA["parameters"], "parameters", problems)
    uncertain = data.get("uncertain", {})
    _check_keys(uncertain, SCHEMA["uncertain"], "uncertain", problems)
    for name, spec in uncertain.items():
        dist = spec.get("distribution") if isinstance(spec, dict) else None
        if dist not in DISTRIBUTIONS:
            problems.append(Problem(field=f"uncertain.{name}.distribution", rule="unknown distribution" +
                                    _suggest(str(dist), list(DISTRIBUTIONS)), value=dist))
            continue
        _check_keys(spec, ("distribution", *DISTRIBUTIONS[dist]), f"uncertain.{name}", problems)
        for key in DISTRIBUTIONS[dist]:
            if key not in spec:
                problems.append(Problem(field=f"uncertain.{name}.{key}", rule=f"is required for {dist}"))
    grid = data.get("grid", {})
    _check_keys(grid, SCHEMA["grid"], "grid", problems)
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            problems.append(Problem(field=f"grid.{name}", rule="must be a non-empty list of values", value=values))
    history = data.get("history", {})
    _check_keys(history, SCHEMA["history"], "history", problems)
    iea = head.get("iea_scenario", "STEPS")
    if iea not in IEA_SCENARIOS:
        problems.append(Problem(field="scenario.iea_scenario", rule="unknown IEA scenario" +
                                _suggest(iea, IEA_SCENARIOS), value=iea))
    horizon = head.get("horizon", 20)
    if not isinstance(horizon, int) or not 1 <= horizon <= 60:
        problems.append(Problem(field="scenario.horizon", rule="must be a whole number of years, 1 to 60",
                                value=horizon))
    if problems:
        raise InputError(problems, source=source or None)
    return Scenario(name=head["name"], description=head.get("description", ""),
                    start_year=int(head.get("start_year", base.base_year + 1)), horizon=int(horizon),
                    seed=int(head.get("seed", 7)), runs=int(head.get("runs", 1)), iea_scenario=iea,
                    conduct=conduct, merge={k: list(v) for k, v in power.get("merge", {}).items()},
                    parameters={k: float(v) for k, v in params.items()},
                    levers={s: list(data.get(s, [])) for s in LISTS}, history=dict(history),
                    uncertain={k: dict(v) for k, v in uncertain.items()},
                    grid={k: [float(x) for x in v] for k, v in grid.items()}, source=source)


def load(path: str | Path, *, base: Base) -> Scenario:
    """Read and validate a scenario file; a name without a path looks in the shipped library."""
    p = Path(path)
    if not p.exists() and (LIBRARY / f"{p.stem}.toml").exists():
        p = LIBRARY / f"{p.stem}.toml"
    if not p.is_file():
        raise InputError(Problem(field="scenario", rule="no such scenario file or library scenario" +
                                 _suggest(p.stem, library_names()), value=str(path)))
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise InputError(Problem(field="scenario file", rule=f"is not valid TOML: {e}"), source=p.name) from e
    return parse(data, base=base, source=p.name)


def library_names() -> list[str]:
    """The example scenarios shipped with restrat."""
    return sorted(p.stem for p in LIBRARY.glob("*.toml"))


def _param(scn: Scenario, name: str, fallback: float) -> float:
    value = scn.parameters.get(name, PARAMETERS[name])
    return fallback if value == -1.0 else float(value)


def _years_mask(body: dict[str, Any], years: np.ndarray) -> np.ndarray:
    return (years >= body.get("from_year", years[0])) & (years <= body.get("to_year", years[-1]))


def _ramp(start: np.ndarray, ramp: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Share of capacity available: 0 before start, rising linearly over ramp years to 1."""
    return np.clip((years[None, :] - start[:, None] + 1) / np.maximum(ramp[:, None], 1), 0.0, 1.0)


def _with_new_mines(base: Base, scn: Scenario) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Sources, composition and routes including the scenario's new mines."""
    mines = scn.levers.get("new_mine", [])
    if not mines:
        return base.sources, base.composition, base.routes
    a = base.assumptions
    profiles = {**a["profiles"], **a["special_profiles"]}
    dist = reference.read("ree_deposit_distribution_recalled.csv")
    dist = dist.assign(value=pd.to_numeric(dist["value"], errors="coerce").fillna(0.0))
    rows, comps, routes = [], [], []
    sep_cost = a["separation"]["cost_usd_per_kg"]
    for i, m in enumerate(mines):
        idx = len(base.sources) + i
        prof = profiles[m.get("profile", "monazite")]
        if isinstance(prof, str):
            vec = dist[dist.deposit == prof].set_index("element")["value"].reindex(ELEMENTS).fillna(0.0).to_numpy()
        else:
            vec = np.array([float(prof.get(e, 0.0)) for e in ELEMENTS])
        comps.append(vec / vec.sum())
        cost = float(m["unit_cost_usd_per_kg"])
        cap = float(m["capacity_t"])
        rows.append({"code": m["code"], "name": m.get("name", m["code"]), "country": m["country"],
                     "player": m.get("player", "FRINGE"), "ore_type": m.get("ore_type", "rock"),
                     "profile": m.get("profile", "monazite"), "routes": list(m["routes"]),
                     "unit_cost_usd_per_kg": cost, "status": "scenario", "reason": "new mine in the scenario",
                     "start_year": int(m["start_year"]), "ramp_years": int(m.get("ramp_years", 3)),
                     "base_t": 0.0, "capacity_t": cap, "basis": "scenario", "calibrated_cost_usd_per_kg": cost,
                     "slope_usd_per_kg_per_kt": 0.25 * cost / max(cap / 1000.0, 1e-9), "basket_usd_per_kg": np.nan,
                     "emission_t_co2e_per_t": float(a["emissions"]["t_co2e_per_t"].get(m.get("ore_type", "rock"),
                                                                                        30.0))})
        for j, r in enumerate(m["routes"]):
            abroad = REGION_COUNTRY.get(r, m["country"] if m["country"] not in REGION_COUNTRY.values() else "")
            extra = 0.0 if abroad == m["country"] else float(a["separation"]["concentrate_transport_usd_per_kg"])
            routes.append({"source": idx, "region": REGIONS.index(r), "cost_usd_per_kg": sep_cost[r] + extra,
                           "primary": j == 0})
    sources = pd.concat([base.sources, pd.DataFrame(rows)], ignore_index=True)
    return (sources, np.vstack([base.composition, *comps]),
            pd.concat([base.routes, pd.DataFrame(routes)], ignore_index=True))


def _players(base: Base, scn: Scenario) -> tuple[pd.DataFrame, dict[str, str]]:
    """Players after mergers and the conduct: which are strategic."""
    mapping = {p: p for p in base.players.code}
    for target, members in scn.merge.items():
        for m in members:
            mapping[m] = target
    china = base.players.set_index("code")["china"]
    if scn.conduct in ("coordinated", "coordinated_exports"):
        for p in base.players.code:
            if china[p] and p != "CN-OTHER":
                mapping[p] = "ASSOCIATION"
    codes = list(dict.fromkeys(mapping.values()))
    names = base.players.set_index("code")["name"].to_dict()
    names["ASSOCIATION"] = "Chinese producers coordinated by the association"
    strategic = [scn.conduct != "competitive" and (c == "ASSOCIATION" or (bool(china.get(c, False))
                                                                          and c != "CN-OTHER")) for c in codes]
    return pd.DataFrame({"code": codes, "name": [names.get(c, c) for c in codes], "strategic": strategic}), mapping


def _history(scn: Scenario, years: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Replay of the export-quota era: (export quota as a share of the mining quota, mining quota index) per
    model year, from cn_export_quota.csv and cn_quota_national.csv (seen values, whole-year totals)."""
    if not scn.history:
        return None, None
    first = int(scn.history.get("first_year", 2010))
    hist_years = first + np.arange(len(years))
    nat = reference.read("cn_quota_national.csv")
    nat = nat[(nat.kind == "mining") & (nat.ore_type == "total") & (nat.batch == "all") & (nat.status == "seen")]
    mining = pd.Series(pd.to_numeric(nat.tonnes_reo).to_numpy(), index=nat.year.astype(int).to_numpy())
    exp = reference.read("cn_export_quota.csv")
    exp = exp[(exp.batch == "all") & (exp.category == "total") & (exp.status == "seen")]
    export = pd.Series(pd.to_numeric(exp.tonnes).to_numpy(), index=exp.year.astype(int).to_numpy())
    missing = [int(y) for y in hist_years if y not in mining.index or y not in export.index]
    if missing:
        raise InputError(Problem(field="history.first_year", rule="the quota files have no seen whole-year "
                                 f"mining and export quotas for {missing}; the horizon must stay within them",
                                 value=first))
    ratio = (export.reindex(hist_years) / mining.reindex(hist_years)).to_numpy()
    index = (mining.reindex(hist_years) / mining[first]).to_numpy()
    return (ratio if scn.history.get("export_quota", True) else None,
            index if scn.history.get("mining_quota", True) else None)


def to_inputs(base: Base, scn: Scenario, *, reference_exports: dict[str, np.ndarray] | None = None) -> Inputs:
    """Apply the scenario's levers and parameters to the base year: the model inputs for its horizon."""
    a = base.assumptions
    years = scn.years
    n_t = len(years)
    dt = years - base.base_year
    sources, composition, routes = _with_new_mines(base, scn)
    players, mapping = _players(base, scn)
    sources = sources.assign(player=sources.player.map(mapping))
    n_e, markets = len(base.elements), list(base.markets.market)
    n_m = len(markets)

    china_g = _param(scn, "china_quota_growth", float(a["supply"]["china_quota_growth"]))
    cap_g = _param(scn, "capacity_growth", float(a["supply"]["capacity_growth"]))
    is_china = sources.country.eq("China").to_numpy()
    growth = np.where(is_china[:, None], (1 + china_g) ** dt[None, :], (1 + cap_g) ** dt[None, :])
    running = sources.base_t.to_numpy() > 0
    new_mult = np.where(running, 1.0, _param(scn, "new_mine_capacity_multiplier", 1.0))
    ramp = _ramp(sources.start_year.to_numpy(), sources.ramp_years.to_numpy(), years)
    scale = np.where(running[:, None], growth, ramp * new_mult[:, None])
    cap_kt = sources.capacity_t.to_numpy()[:, None] / 1000.0 * scale
    slope = sources.slope_usd_per_kg_per_kt.to_numpy()[:, None] / np.where(running[:, None], growth,
                                                                          new_mult[:, None])
    cost = np.repeat(sources.calibrated_cost_usd_per_kg.to_numpy()[:, None], n_t, axis=1)
    cost = cost * _param(scn, "supply_cost_multiplier", 1.0)
    for env in scn.levers.get("environment", []):
        sel = np.ones(len(sources), bool)
        if "country" in env:
            sel &= sources.country.eq(env["country"]).to_numpy()
        if "ore_type" in env:
            sel &= sources.ore_type.eq(env["ore_type"]).to_numpy()
        when = _years_mask(env, years)
        cost[np.ix_(sel, when)] += float(env.get("cost_usd_per_kg", 0.0))
        cap_kt[np.ix_(sel, when)] *= 1.0 - float(env.get("capacity_cut", 0.0))

    rec = np.full(len(REGIONS), float(a["model"]["recovery"]))
    sep_growth = np.array([(1 + china_g) ** dt if r == "china" else (1 + cap_g) ** dt for r in REGIONS])
    sep_cap = base.sep_capacity_t.to_numpy()[:, None] / 1000.0 * sep_growth
    # prospective sources bring separation capacity for their output in their first route's region
    primary = routes[routes.primary]
    newcap = pd.DataFrame(np.where(running[:, None], 0.0, cap_kt) * rec[0]).groupby(
        primary.set_index("source").region.reindex(range(len(sources))).to_numpy()).sum()
    sep_cap[newcap.index.to_numpy().astype(int)] += newcap.to_numpy()
    for extra in scn.levers.get("separation_capacity", []):
        r = REGIONS.index(extra["region"])
        sep_cap[r, _years_mask(extra, years)] += float(extra["tonnes"]) / 1000.0

    home = {"china": "china", "united_states": "united_states"}
    cross = float(a["model"]["cross_border_cost_usd_per_kg"])
    sales_cost = np.array([[0.0 if home.get(r, "rest_of_world") == m else cross for m in markets] for r in REGIONS])

    seg = base.segments
    apps = base.applications.set_index("code")
    gi = growth_index(base, years, iea_scenario=scn.iea_scenario,
                      multiplier=_param(scn, "demand_growth_multiplier", 1.0))
    app_pos = pd.Series(range(len(apps)), index=apps.index)
    q_ref = seg.q0_t.to_numpy()[:, None] / 1000.0 * gi[app_pos.loc[seg.application].to_numpy()]
    eps = np.abs(apps.elasticity.loc[seg.application].to_numpy()) * _param(scn, "elasticity_multiplier", 1.0)
    p0 = seg.p0.to_numpy()
    beta = p0[:, None] / (eps[:, None] * q_ref)
    alpha = p0[:, None] + beta * q_ref
    sub_mult = apps.substitution_multiple.loc[seg.application].to_numpy() * _param(
        scn, "substitution_multiple_multiplier", 1.0)
    sub_price = np.repeat((p0 * sub_mult)[:, None], n_t, axis=1)
    sub_cap = apps.substitutable_share.loc[seg.application].to_numpy()[:, None] * q_ref

    p_elem = base.prices.price_usd_per_kg.fillna(0.0).to_numpy()
    stock_min = np.zeros((n_e, n_m, n_t))
    for pile in scn.levers.get("stockpile", []):
        e_idx = [ELEMENTS.index(e) for e in _elements(pile["elements"], "stockpile.elements", [])]
        stock_min[np.ix_(e_idx, [markets.index(pile["market"])], np.flatnonzero(_years_mask(pile, years)))] = \
            float(pile["target_t"]) / 1000.0

    inp = Inputs(elements=list(base.elements), years=years, markets=markets, regions=list(REGIONS),
                 players=players, sources=sources, composition=composition, mine_cap=cap_kt, mine_cost=cost,
                 mine_slope=slope, emission=sources.emission_t_co2e_per_t.to_numpy(),
                 routes=routes[["source", "region"]].assign(cost=routes.cost_usd_per_kg.to_numpy()),
                 recovery=rec, sep_cap=sep_cap, sales_cost=sales_cost, segments=seg[["application", "element",
                                                                                     "market"]],
                 alpha=alpha, beta=beta, sub_price=sub_price, sub_cap=sub_cap, stock0=np.zeros((n_e, n_m)),
                 stock_min=stock_min, stock_max=np.full((n_e, n_m, n_t), BIG),
                 hold_cost=float(a["model"]["holding_cost_share"]) * p_elem,
                 strategic_markets=np.array([m != "china" for m in markets]) if scn.conduct == "coordinated_exports"
                 else None,
                 discount_rate=_param(scn, "discount_rate", float(a["model"]["discount_rate"])))
    inp.caps.extend(_caps(base, scn, inp, reference_exports))
    return inp


def sales_frame(inp: Inputs) -> pd.DataFrame:
    """The sales layout of the model with names, for selecting export flows."""
    from restrat.market.model import layout

    sales = layout(inp).sales
    return sales.assign(region_name=np.array(inp.regions)[sales.region.to_numpy()],
                        market_name=np.array(inp.markets)[sales.market.to_numpy()],
                        element_name=np.array(inp.elements)[sales.element.to_numpy()])


def export_key(body: dict[str, Any]) -> str:
    """A stable name for an export-control lever (used to match a cut to its reference exports)."""
    if body.get("name"):
        return str(body["name"])
    to = body.get("to", "all")
    elements = body.get("elements", "all")
    dest = ",".join(to) if isinstance(to, list) else to
    what = elements if isinstance(elements, str) else "+".join(elements)
    return f"export {body.get('form', 'oxide')} {body.get('from', 'china')}→{dest} {what}"


def export_selection(inp: Inputs, body: dict[str, Any]) -> np.ndarray:
    """Boolean mask over sales of an oxide export-control lever: from its region to its destination markets."""
    sales = sales_frame(inp)
    elements = _elements(body.get("elements", "all"), "export_control.elements", [])
    origin = body.get("from", "china")
    dest = body.get("to", [m for m in inp.markets if m != origin])
    dest = [dest] if isinstance(dest, str) else dest
    return (sales.region_name.eq(origin) & sales.market_name.isin(dest) & sales.element_name.isin(elements)).to_numpy()


def _caps(base: Base, scn: Scenario, inp: Inputs, reference_exports: dict[str, np.ndarray] | None) -> list[Cap]:
    """Quotas, export controls and reserves as named caps."""
    years = inp.years
    n_t = len(years)
    dt = years - base.base_year
    src = inp.sources
    r_src = inp.routes.source.to_numpy()
    r_reg = inp.routes.region.to_numpy()
    china_g = _param(scn, "china_quota_growth", float(base.assumptions["supply"]["china_quota_growth"]))
    mined = src.ore_type.isin(["rock", "ionic", "monazite"]).to_numpy()
    china_mined = (src.country.eq("China").to_numpy() & mined)[r_src]
    export_ratio, mining_index = _history(scn, years)
    quota_path = base.china_quota["mining_total_t"] / 1000.0 * (
        mining_index if mining_index is not None else (1 + china_g) ** dt)
    caps = [Cap("China mining quota", "mine", china_mined, quota_path, group="baseline"),
            Cap("China ionic-clay mining quota", "mine",
                (src.country.eq("China") & src.ore_type.eq("ionic")).to_numpy()[r_src],
                np.full(n_t, base.china_quota["mining_ionic_t"] / 1000.0), group="baseline"),
            Cap("China separation quota", "separation", china_mined & (r_reg == REGIONS.index("china")),
                base.china_quota["separation_t"] / 1000.0 * (1 + china_g) ** dt, group="baseline")]
    for country, tonnes in base.reserves_t.items():
        sel = src.country.eq(country).to_numpy()[r_src] & mined[r_src]
        if sel.any():
            caps.append(Cap(f"reserves {country}", "cumulative_mine", sel, np.array([tonnes / 1000.0]),
                            group="baseline"))
    if export_ratio is not None:
        body = {"elements": "all", "from": "china"}
        caps.append(Cap("export quota (replay of the ratio to the mining quota)", "sales",
                        export_selection(inp, body), export_ratio * quota_path))
    for i, q in enumerate(scn.levers.get("mining_quota", [])):
        sel = np.ones(len(src), bool)
        for key, col in (("country", "country"), ("ore_type", "ore_type"), ("player", "player")):
            if key in q:
                sel &= src[col].eq(q[key]).to_numpy()
        when = _years_mask(q, years)
        rhs = np.full(n_t, BIG)
        rhs[when] = float(q["tonnes"]) / 1000.0 * (1 + float(q.get("growth", 0.0))) ** np.arange(when.sum())
        caps.append(Cap(q.get("name", f"mining quota {i + 1}"), "mine", sel[r_src] & mined[r_src], rhs))
    for i, q in enumerate(scn.levers.get("separation_quota", [])):
        when = _years_mask(q, years)
        rhs = np.full(n_t, BIG)
        rhs[when] = float(q["tonnes"]) / 1000.0 * (1 + float(q.get("growth", 0.0))) ** np.arange(when.sum())
        caps.append(Cap(q.get("name", f"separation quota {i + 1}"), "separation",
                        r_reg == REGIONS.index(q["region"]), rhs))
    for body in scn.levers.get("export_control", []):
        when = _years_mask(body, years)
        rhs = np.full(n_t, BIG)
        name = export_key(body)
        if body.get("form", "oxide") == "concentrate":
            dest = body.get("to", list(REGIONS))
            dest = [dest] if isinstance(dest, str) else dest
            sel = src.country.eq(body.get("from", "China")).to_numpy()[r_src] & np.isin(
                r_reg, [REGIONS.index(d) for d in dest])
            rhs[when] = 0.0 if body.get("ban") else float(body.get("tonnes", 0.0)) / 1000.0
            caps.append(Cap(name, "mine", sel, rhs))
            continue
        if "cut" in body:
            if reference_exports is None or name not in reference_exports:
                raise ValueError(f"export cut {name!r} needs the reference exports of the scenario without cuts")
            rhs[when] = (1.0 - float(body["cut"])) * reference_exports[name][when]
        else:
            rhs[when] = 0.0 if body.get("ban") else float(body["tonnes"]) / 1000.0
        caps.append(Cap(name, "sales", export_selection(inp, body), rhs))
    return caps
