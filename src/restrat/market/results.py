"""Turn one equilibrium into the documented long-format result tables (set-wise, no loop over rows).

`markets`: one row per (year, element, market): price (USD/kg), demand, substituted demand, sales from China's
separation plants and from plants outside China, stock, consumer spending. Prices are given separately for China's
domestic market and for the markets outside China, so an export restriction shows as a price gap.
`supply`: one row per (year, source): mined, separated where, emissions, cumulative extraction, depletion.
`summary`: one row per (year, metric) for the scenario-level indicators (China's shares, revenues, surpluses, ...).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from restrat.market.model import Inputs, Solution, aggregate_demand

KT = 1000.0  # model quantities are kt; tables are in t
MARKET_COLUMNS = ["year", "element", "market", "price_usd_per_kg", "demand_t", "substituted_t", "from_china_t",
                  "from_outside_t", "stock_t", "consumer_spend_musd"]
SUPPLY_COLUMNS = ["year", "source", "country", "player", "ore_type", "mined_t", "separated_in_china_t",
                  "separated_outside_t", "capacity_t", "emissions_kt_co2e", "cumulative_t", "reserves_t",
                  "depletion_share"]


def tables(inp: Inputs, sol: Solution, *, reserves_t: pd.Series) -> dict[str, pd.DataFrame]:
    """The three result tables of one solved scenario run."""
    lay = sol.layout
    years = inp.years
    n_t, n_e, n_m = len(years), len(inp.elements), len(inp.markets)
    china_r = inp.regions.index("china")
    china_m = inp.markets.index("china")

    # --- markets ------------------------------------------------------------------------------------------------
    clr_em = lay.clearing.element.to_numpy() * n_m + lay.clearing.market.to_numpy()
    seg_em = inp.segments.element.to_numpy() * n_m + inp.segments.market.to_numpy()
    demand = np.zeros((n_t, n_e * n_m))
    subst = np.zeros((n_t, n_e * n_m))
    demand[:, clr_em] = sol.q
    np.add.at(subst.T, seg_em, sol.z.T)
    sales = lay.sales
    sale_em = sales.element.to_numpy() * n_m + sales.market.to_numpy()
    from_cn = sales.region.to_numpy() == china_r
    cn = np.zeros((n_t, n_e * n_m))
    out = np.zeros((n_t, n_e * n_m))
    np.add.at(cn.T, sale_em[from_cn], sol.y[:, from_cn].T)
    np.add.at(out.T, sale_em[~from_cn], sol.y[:, ~from_cn].T)
    price = sol.price.reshape(n_t, n_e * n_m)
    markets = pd.DataFrame({
        "year": np.repeat(years, n_e * n_m),
        "element": np.tile(np.repeat(inp.elements, n_m), n_t),
        "market": np.tile(inp.markets, n_t * n_e),
        "price_usd_per_kg": price.ravel(),
        "demand_t": demand.ravel() * KT, "substituted_t": subst.ravel() * KT,
        "from_china_t": cn.ravel() * KT, "from_outside_t": out.ravel() * KT,
        "stock_t": sol.stock.reshape(n_t, -1).ravel() * KT,
    })
    markets["consumer_spend_musd"] = np.nan_to_num(markets.price_usd_per_kg) * markets.demand_t / KT

    # --- supply -------------------------------------------------------------------------------------------------
    r_src = lay.routes.source.to_numpy()
    r_reg = lay.routes.region.to_numpy()
    n_s = len(inp.sources)
    mined = np.zeros((n_t, n_s))
    sep_cn = np.zeros((n_t, n_s))
    np.add.at(mined.T, r_src, sol.x.T)
    np.add.at(sep_cn.T, r_src[r_reg == china_r], sol.x[:, r_reg == china_r].T)
    src = inp.sources.reset_index(drop=True)
    cumulative = np.cumsum(mined, axis=0)
    supply = pd.DataFrame({
        "year": np.repeat(years, n_s), "source": np.tile(src.code, n_t), "country": np.tile(src.country, n_t),
        "player": np.tile(src.player, n_t), "ore_type": np.tile(src.ore_type, n_t),
        "mined_t": mined.ravel() * KT, "separated_in_china_t": sep_cn.ravel() * KT,
        "separated_outside_t": (mined - sep_cn).ravel() * KT, "capacity_t": inp.mine_cap.T.ravel() * KT,
        "emissions_kt_co2e": (mined * inp.emission[None, :]).ravel(), "cumulative_t": cumulative.ravel() * KT,
    })
    supply["reserves_t"] = supply.country.map(reserves_t)
    # depletion is a country's cumulative extraction over its USGS reserves (NaN where USGS gives none)
    supply["depletion_share"] = (supply.groupby(["country", "year"]).cumulative_t.transform("sum")
                                 / supply.reserves_t)

    # --- summary ------------------------------------------------------------------------------------------------
    p = np.nan_to_num(sol.price)  # (T, E, M)
    revenue_by_sale = sol.y * p[:, sales.element.to_numpy(), sales.market.to_numpy()]  # M USD
    seller = np.where(sales.seller.to_numpy() >= 0, inp.players.code.to_numpy()[sales.seller.to_numpy()], "")
    rev = pd.DataFrame(revenue_by_sale.T).groupby(from_cn).sum()
    china_revenue = rev.loc[True].to_numpy() if True in rev.index else np.zeros(n_t)
    outside_revenue = rev.loc[False].to_numpy() if False in rev.index else np.zeros(n_t)
    mine_cost = (sol.x * (inp.mine_cost[r_src].T + inp.routes.cost.to_numpy()[None, :])).sum(axis=1) + \
        0.5 * (inp.mine_slope.T * mined ** 2).sum(axis=1)
    big_a, big_b = aggregate_demand(inp, lay)
    use = sol.q.copy()
    np.add.at(use.T, lay.seg_clearing, sol.z.T)
    gross = (big_a.T * use - 0.5 * big_b.T * use ** 2).sum(axis=1)
    spend = (sol.q * p[:, lay.clearing.element.to_numpy(), lay.clearing.market.to_numpy()]).sum(axis=1) + \
        (sol.z * inp.sub_price.T).sum(axis=1)
    ore = src.ore_type.isin(["rock", "ionic", "monazite"]).to_numpy()  # mined ore: not recycling, not by-products
    china_src = src.country.eq("China").to_numpy()
    sep_total = mined.sum(axis=1)
    ore_total = mined[:, ore].sum(axis=1)
    strategic_players = inp.players.code[inp.players.strategic].tolist()
    metrics = {
        "world_mined_t": ore_total * KT,
        "china_mine_share": np.divide(mined[:, china_src & ore].sum(axis=1), ore_total, out=np.zeros(n_t),
                                      where=ore_total > 0),
        "china_separation_share": np.divide(sep_cn.sum(axis=1), sep_total, out=np.zeros(n_t), where=sep_total > 0),
        "china_exports_t": cn.reshape(n_t, n_e, n_m)[:, :, [m for m in range(n_m) if m != china_m]].sum(
            axis=(1, 2)) * KT,
        "revenue_china_separators_musd": china_revenue,
        "revenue_outside_separators_musd": outside_revenue,
        "producer_surplus_musd": china_revenue + outside_revenue - mine_cost,
        "consumer_spend_musd": spend,
        "consumer_surplus_musd": gross - spend,
        "emissions_kt_co2e": (mined * inp.emission[None, :]).sum(axis=1),
        "world_stock_t": sol.stock.sum(axis=(1, 2)) * KT,
        "substituted_t": sol.z.sum(axis=1) * KT,
    }
    for code in strategic_players:
        metrics[f"revenue_{code}_musd"] = revenue_by_sale[:, seller == code].sum(axis=1)
    by_country = pd.DataFrame(mined.T * KT).groupby(src.country.to_numpy()).sum()
    for country, row in by_country.iterrows():
        metrics[f"mined_t:{country}"] = row.to_numpy()
        if country in reserves_t.index:  # share of USGS reserves extracted since the first model year
            metrics[f"depletion_share:{country}"] = np.cumsum(row.to_numpy()) / float(reserves_t[country])
    summary = pd.DataFrame({"year": np.tile(years, len(metrics)), "metric": np.repeat(list(metrics), n_t),
                            "value": np.concatenate(list(metrics.values()))})
    return {"markets": markets[MARKET_COLUMNS], "supply": supply[SUPPLY_COLUMNS], "summary": summary}
