"""The industrialisation pipeline and its economic effect, as pure set-wise functions on DataFrames.

- Durations: days from a project's start to its first pilot line and to its first production.
- Attribution: a batch a facility makes in a product form is made with the technology of the latest production
  record for that facility and form on or before the batch's time (as-of join), so each batch counts once.
- Value: the rare earth content of each batch at the annual oxide price of its element in the batch's year (the
  latest price year at or before it), i.e. the value of the contained REO, not the product's own market price."""

from __future__ import annotations

import numpy as np
import pandas as pd

from restrat.catalog import reference
from restrat.catalog.service import ELEMENTS

PRICE_FILE = "ree_prices_usgs_annual_latest_edition.csv"
PRICE_SOURCE = ("USGS Mineral Commodity Summaries annual average oxide prices (Argus Non-Ferrous Markets as credited "
                "by USGS), newest edition per year: ree_prices_usgs_annual_latest_edition.csv (derived from "
                "ree_prices_usgs_mcs.csv)")
DAYS_PER_YEAR = 365.25


def durations(projects: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """Per project (columns project_id, start_date): first pilot and production dates from steps (project_id, stage,
    reached_on) and the days from start to each."""
    first = (steps.groupby(["project_id", "stage"]).reached_on.min().unstack("stage")
             .reindex(columns=["pilot", "production"]))
    out = projects.merge(first, left_on="project_id", right_index=True, how="left")
    out = out.rename(columns={"pilot": "pilot_on", "production": "production_on"})
    start = pd.to_datetime(out.start_date)
    for col, days in (("pilot_on", "days_to_pilot"), ("production_on", "days_to_production")):
        out[days] = (pd.to_datetime(out[col]) - start).dt.days.astype(float)
    out["years_to_production"] = (out.days_to_production / DAYS_PER_YEAR).astype(float).round(2)
    return out


def oxide_prices() -> pd.DataFrame:
    """Annual oxide prices (USD/kg) per element and year from the shipped USGS series; oxide products only."""
    p = reference.read(PRICE_FILE)
    p = p[p.element.isin(ELEMENTS) & p["product"].str.contains("oxide")]
    return pd.DataFrame({"element": p.element, "year": p.year.astype(int),
                         "usd_per_kg": pd.to_numeric(p.price_usd_per_kg, errors="coerce")}).dropna()


def price_matrix(prices: pd.DataFrame, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each year asked (rows) and element (columns, catalog order): the price of the latest price year at or
    before it (NaN when none), and that price year (0 when none)."""
    wide = prices.pivot_table(index="year", columns="element", values="usd_per_kg", aggfunc="last") \
        .reindex(columns=list(ELEMENTS))
    if not len(years):
        return np.zeros((0, len(ELEMENTS))), np.zeros((0, len(ELEMENTS)), dtype=int)
    span = np.arange(min(int(wide.index.min()), int(years.min())), int(years.max()) + 1)
    known = wide.reindex(span)
    year_of = pd.DataFrame(np.where(known.notna(), span[:, None], np.nan), index=span, columns=known.columns)
    row = years.astype(int) - int(span[0])
    price = known.ffill().to_numpy()[row]
    used = year_of.ffill().fillna(0).to_numpy().astype(int)[row]
    return price, used


def attribute(batches: pd.DataFrame, changes: pd.DataFrame) -> pd.DataFrame:
    """Batches (facility_id, form, at as datetime64) with the project whose technology made them and the day it
    reached production there: the latest change (facility_id, form, reached_on, project_id) for the same facility
    and form on or before the batch. Batches with none are dropped."""
    if not len(batches) or not len(changes):
        return batches.assign(project_id=pd.Series(dtype=int), reached_on=pd.Series(dtype=object)).iloc[0:0]
    left = batches.assign(_t=pd.to_datetime(batches["at"]).astype("datetime64[ns]")).sort_values("_t")
    right = changes.assign(_t=pd.to_datetime(changes.reached_on).astype("datetime64[ns]"))
    right = right[["facility_id", "form", "_t", "project_id", "reached_on"]].sort_values("_t")
    joined = pd.merge_asof(left, right, on="_t", by=["facility_id", "form"], direction="backward")
    return joined[joined.project_id.notna()].drop(columns="_t").astype({"project_id": int})


def value(batches: pd.DataFrame, comp: np.ndarray, prices: pd.DataFrame) -> pd.DataFrame:
    """Per batch (rows aligned with comp, REO fractions per element): value in USD of the contained REO at oxide
    prices, the REO kg without a price, and the oldest price year used."""
    years = pd.to_datetime(batches["at"]).dt.year.to_numpy()
    price, used = price_matrix(prices, years)
    kg = comp * batches.reo_kg.to_numpy(dtype=float)[:, None]
    priced = ~np.isnan(price)
    out = batches.copy()
    out["year"] = years
    out["value_usd"] = np.einsum("ij,ij->i", kg, np.nan_to_num(price))
    out["unpriced_reo_kg"] = np.einsum("ij,ij->i", kg, ~priced)
    present = (kg > 0) & priced
    out["price_year"] = np.where(present, used, 9999).min(axis=1, initial=9999)
    out.loc[out.price_year == 9999, "price_year"] = 0
    return out


def benefit(valued: pd.DataFrame) -> pd.DataFrame:
    """Per project and year: batches, gross output t, REO t, value USD, REO t without a price, oldest price year."""
    v = valued.assign(price_year=valued.price_year.where(valued.price_year > 0))
    g = v.groupby(["project_id", "year"])
    out = pd.DataFrame({"batches": g.size(), "output_t": g.gross_kg.sum() / 1000, "reo_t": g.reo_kg.sum() / 1000,
                        "value_usd": g.value_usd.sum(), "unpriced_reo_t": g.unpriced_reo_kg.sum() / 1000,
                        "price_year": g.price_year.min().fillna(0).astype(int)})
    return out.reset_index()
