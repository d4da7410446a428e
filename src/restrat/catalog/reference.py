"""Reference data shipped inside the package (copied from the project's data room with SOURCES.md)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd

DATA = Path(str(resources.files("restrat.catalog") / "data"))
REFERENCE = DATA / "reference"

# What each shipped reference file is, for the reference-data pages; provenance detail is in SOURCES.md.
DATASETS: dict[str, dict[str, str]] = {
    "ree_usgs_mcs_world_mine_production.csv": {"title": "World mine production by country (USGS MCS)",
                                               "licence": "public domain (USGS)", "aspect": "4"},
    "ree_usgs_mcs_world_reserves.csv": {"title": "World reserves by country (USGS MCS)",
                                        "licence": "public domain (USGS)", "aspect": "4"},
    "cn_quota_national.csv": {"title": "China national mining and separation quotas", "licence": "third-party",
                              "aspect": "4"},
    "cn_quota_groups.csv": {"title": "China quota allocations to enterprise groups", "licence": "third-party",
                            "aspect": "4"},
    "cn_penalties.csv": {"title": "Penalties under the rare earth and export control rules",
                         "licence": "third-party", "aspect": "4"},
    "cn_access_conditions.csv": {"title": "Industry access conditions (2012, 2016)", "licence": "third-party",
                                 "aspect": "1"},
    "ree_facilities_thirdparty_approx.csv": {"title": "Facilities (approximate, third-party)",
                                             "licence": "third-party", "aspect": "3"},
    "cn_hs_codes.csv": {"title": "Chinese tariff lines for rare earth products", "licence": "third-party",
                        "aspect": "6"},
    "cn_export_control_measures.csv": {"title": "Export control measures 2014-2025", "licence": "third-party",
                                       "aspect": "6"},
    "cn_export_control_items.csv": {"title": "Dual-use control list items 1C902-1C913", "licence": "third-party",
                                    "aspect": "6"},
    "cn_export_quota.csv": {"title": "Export quotas 2005-2014", "licence": "third-party", "aspect": "6"},
    "cn_exports_actual.csv": {"title": "Actual exports against quota 2011-2013", "licence": "third-party",
                              "aspect": "6"},
    "ree_trade_uncomtrade_china_us_2020_2024.csv": {"title": "China and US trade, HS 2846 and 280530 (UN Comtrade)",
                                                    "licence": "UN Comtrade terms", "aspect": "6"},
    "ree_china_customs_trade_from_news.csv": {"title": "China customs tonnages reported in news",
                                              "licence": "third-party", "aspect": "6"},
    "gb26451_emission_limits.csv": {"title": "GB 26451-2011 emission limits (sourced)", "licence": "third-party",
                                    "aspect": "5"},
    "gb26451_emission_limits_recalled.csv": {"title": "GB 26451-2011 emission limits (RECALLED, unverified)",
                                             "licence": "none", "aspect": "5"},
    "ree_prices_usgs_mcs.csv": {"title": "Prices by element (USGS MCS, Argus)", "licence": "public domain (USGS)",
                                "aspect": "7"},
    "ree_prices_china_domestic_daily_2013_2024.csv": {"title": "China domestic daily prices (third-party, unverified)",
                                                      "licence": "third-party", "aspect": "7"},
    "ree_prices_komis_daily_fob_china.csv": {"title": "KOMIS daily prices FOB China", "licence": "third-party",
                                             "aspect": "7"},
    "ree_iea_critical_minerals_outlook_demand_supply.csv": {"title": "IEA outlook: magnet REE demand and supply",
                                                            "licence": "CC BY 4.0 (IEA)", "aspect": "2"},
    "ree_demand_shares_secondary.csv": {"title": "Demand shares by application and element (secondary)",
                                        "licence": "third-party", "aspect": "2"},
    "ree_deposit_distribution_recalled.csv": {"title": "Element distribution by deposit (RECALLED, unverified)",
                                              "licence": "none", "aspect": "4"},
    "ree_element_classes.csv": {"title": "Element classification schemes", "licence": "third-party",
                                "aspect": "catalog"},
    "ree_element_properties_mendeleev.csv": {"title": "Element properties (mendeleev 1.3.0)", "licence": "MIT",
                                             "aspect": "catalog"},
}


@cache
def _read(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def read(name: str) -> pd.DataFrame:
    """A shipped reference CSV as strings (empty cells are ''); a copy the caller may change."""
    path = REFERENCE / name
    if not path.is_file():
        path = DATA / name
    if not path.is_file():
        raise FileNotFoundError(f"no shipped data file {name!r}")
    return _read(str(path)).copy()
