"""Value chain maths, pure and set-wise: value of ledger batches at stage prices, value per tonne REO and value
added per chain stage, the multiplier from ore to the most downstream stage, and the product-structure balance.

A batch's value is its REO (kg) times the oxide value of its composition (sum over elements of the REO fraction
times that element's USGS oxide price in USD/kg) times its form's factor from `value_chain_prices.csv`: 1 for
separated oxides (the one stage the data room prices), an ILLUSTRATIVE assumption for every other form.
REO of elements without a price that year (or any earlier year) is left unvalued and counted as unpriced."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from restrat.errors import InputError, Problem

STATUSES = ("seen", "assumption")
STRUCTURE = ("raw", "intermediate", "functional", "high_end", "other")
PRICE_COLUMNS = ("form", "factor_of_oxide_value", "status", "structure", "basis", "reason")


def read_stage_prices(path: Path, *, forms: set[str]) -> pd.DataFrame:
    """The stage price table (one row per product form), checked: every catalog form once, a factor >= 0, a status
    and structure class from the known lists. Bad rows raise InputError naming row, field and rule."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing_cols = [c for c in PRICE_COLUMNS if c not in raw.columns]
    if missing_cols:
        raise InputError([Problem(field=c, rule="column missing") for c in missing_cols], source=str(path))
    factor = pd.to_numeric(raw.factor_of_oxide_value, errors="coerce")
    problems: list[Problem] = []
    checks = [(~raw.form.isin(forms), "form", f"must be a catalog product form ({', '.join(sorted(forms))})"),
              (raw.form.duplicated(), "form", "appears more than once"),
              (factor.isna() | (factor < 0), "factor_of_oxide_value", "must be a number >= 0"),
              (~raw.status.isin(STATUSES), "status", f"must be one of {list(STATUSES)}"),
              (~raw.structure.isin(STRUCTURE), "structure", f"must be one of {list(STRUCTURE)}")]
    for bad, field, rule in checks:
        problems += [Problem(row=int(i) + 2, field=field, rule=rule, value=raw.at[i, field])
                     for i in raw.index[bad.to_numpy()]]
    problems += [Problem(field="form", rule="catalog product form has no price row", value=f)
                 for f in sorted(forms - set(raw.form))]
    if problems:
        raise InputError(problems, source=str(path))
    return raw.assign(factor_of_oxide_value=factor.astype(float))


def oxide_prices(raw: pd.DataFrame, *, elements: tuple[str, ...]) -> pd.DataFrame:
    """Annual oxide prices (USD/kg) per element and year from the USGS series; the mean where an edition lists
    the same oxide twice (Tb4O7 under two labels). Mixed products (NdPr oxide) are not an element's price."""
    p = raw[raw.element.isin(elements) & raw["product"].str.contains("oxide", case=False)]
    p = pd.DataFrame({"element": p.element, "year": p.year.astype(int),
                      "usd_per_kg": pd.to_numeric(p.price_usd_per_kg, errors="coerce")}).dropna()
    return p.groupby(["element", "year"], as_index=False).usd_per_kg.mean()


def price_matrix(prices: pd.DataFrame, years: np.ndarray, *, elements: tuple[str, ...]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """For each year asked (rows) and element (columns): the price of the latest price year at or before it (NaN
    when none), and that price year (0 when none)."""
    if not len(years):
        return np.zeros((0, len(elements))), np.zeros((0, len(elements)), dtype=int)
    wide = prices.pivot_table(index="year", columns="element", values="usd_per_kg", aggfunc="mean") \
        .reindex(columns=list(elements))
    first = int(min(wide.index.min(), years.min())) if len(wide) else int(years.min())
    span = np.arange(first, int(max(years.max(), wide.index.max() if len(wide) else years.max())) + 1)
    known = wide.reindex(span)
    year_of = pd.DataFrame(np.where(known.notna(), span[:, None], np.nan), index=span, columns=known.columns)
    row = years.astype(int) - first
    return known.ffill().to_numpy()[row], year_of.ffill().fillna(0).to_numpy().astype(int)[row]


def oxide_value(comp: np.ndarray, years: np.ndarray, prices: pd.DataFrame, *, elements: tuple[str, ...]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row (REO fractions per element, the year to price at): oxide value in USD per kg REO of the priced part,
    the priced fraction of the REO, and the latest price year used (0 when nothing is priced)."""
    uniq, inv = np.unique(years.astype(int), return_inverse=True)
    price, used = price_matrix(prices, uniq, elements=elements)
    p, y = price[inv], used[inv]
    priced = ~np.isnan(p)
    frac = np.where(priced, comp, 0.0).sum(axis=1)
    value = np.where(priced, comp * np.nan_to_num(p), 0.0).sum(axis=1)
    per_kg = np.divide(value, frac, out=np.zeros_like(value), where=frac > 0)
    return per_kg, frac, np.where(priced & (comp > 0), y, 0).max(axis=1, initial=0)


def value_batches(frame: pd.DataFrame, comp: np.ndarray, years: np.ndarray, prices: pd.DataFrame,
                  stage_prices: pd.DataFrame, *, elements: tuple[str, ...]) -> pd.DataFrame:
    """Rows with `form` and `reo_kg` (rows aligned with comp) valued at `years`: value_usd, priced_kg (REO with a
    price) and price_year."""
    per_kg, frac, year = oxide_value(comp, years, prices, elements=elements)
    factor = frame.form.map(stage_prices.set_index("form").factor_of_oxide_value).fillna(0.0).to_numpy()
    reo = frame.reo_kg.to_numpy(dtype=float)
    return frame.assign(value_usd=reo * frac * per_kg * factor, priced_kg=reo * frac, price_year=year)


def stage_table(cells: pd.DataFrame, *, keys: list[str], chain: list[str]) -> pd.DataFrame:
    """Per key cell and chain stage, from cells (keys..., stage, role 'out'/'in', reo_t, priced_t, value_usd):
    output REO, its priced part and value, value per tonne of priced REO, the value of the inputs the stage
    consumed, and value added (output value minus input value)."""
    cols = keys + ["stage", "position", "output_t", "unpriced_t", "output_value_usd", "value_per_t_usd",
                   "input_value_usd", "value_added_usd"]
    if cells.empty:
        return pd.DataFrame(columns=cols)
    cells = cells.astype({"reo_t": float, "priced_t": float, "value_usd": float})
    g = cells.pivot_table(index=keys + ["stage"], columns="role", values=["reo_t", "priced_t", "value_usd"],
                          aggfunc="sum", fill_value=0.0)
    g.columns = [f"{a}_{b}" for a, b in g.columns]
    g = g.reindex(columns=[f"{a}_{b}" for a in ("reo_t", "priced_t", "value_usd") for b in ("out", "in")],
                  fill_value=0.0).reset_index()
    out = g[keys + ["stage"]].assign(
        position=g.stage.map({s: i for i, s in enumerate(chain)}),
        output_t=g.reo_t_out, unpriced_t=g.reo_t_out - g.priced_t_out, output_value_usd=g.value_usd_out,
        value_per_t_usd=np.where(g.priced_t_out > 0, g.value_usd_out / g.priced_t_out.where(g.priced_t_out > 0),
                                 np.nan),
        input_value_usd=g.value_usd_in, value_added_usd=g.value_usd_out - g.value_usd_in)
    out = out[out.position.notna()].astype({"position": int})
    return out.sort_values(keys + ["position"]).reset_index(drop=True)[cols]


def multipliers(stages: pd.DataFrame, *, keys: list[str], source: str = "mining") -> pd.DataFrame:
    """Per key cell: value per tonne REO at the most downstream stage with output over that at `source`, with the
    stage used, or NaN and the reason when a cell has no output at one end."""
    cols = keys + ["from_stage", "to_stage", "from_value_per_t_usd", "to_value_per_t_usd", "multiplier", "note"]
    made = stages[(stages.output_t > 0) & stages.value_per_t_usd.notna()]
    if made.empty:
        return pd.DataFrame(columns=cols)
    grouping = keys or (lambda _: 0)
    last = made.sort_values("position").groupby(grouping).tail(1)
    last = last[keys + ["stage", "value_per_t_usd"]].rename(columns={"stage": "to_stage",
                                                                      "value_per_t_usd": "to_value_per_t_usd"})
    first = made[made.stage == source][keys + ["value_per_t_usd"]].rename(
        columns={"value_per_t_usd": "from_value_per_t_usd"})
    out = last.merge(first, on=keys, how="left") if keys else last.assign(
        from_value_per_t_usd=first.from_value_per_t_usd.iloc[0] if len(first) else np.nan)
    out["from_stage"] = source
    out["multiplier"] = out.to_value_per_t_usd / out.from_value_per_t_usd
    out["note"] = np.where(out.from_value_per_t_usd.isna(), f"no priced {source} output in this cell",
                           np.where(out.to_stage == source, f"{source} is the only stage with output", ""))
    out.loc[out.to_stage == source, "multiplier"] = np.nan
    return out.reset_index(drop=True)[cols]


def structure(cells: pd.DataFrame, *, keys: list[str], classes: pd.Series) -> pd.DataFrame:
    """Product-structure balance per key cell: REO made and its value per structure class (raw, intermediate,
    functional, high_end) and each class's share of the REO and of the value made; 'other' (scrap, wastes) is left
    out of the shares."""
    cols = keys + ["structure", "reo_t", "value_usd", "share_reo_pct", "share_value_pct"]
    made = cells[cells.role == "out"].assign(structure=lambda d: d.form.map(classes).fillna("other"))
    made = made[made.structure != "other"]
    if made.empty:
        return pd.DataFrame(columns=cols)
    g = made.groupby(keys + ["structure"], as_index=False)[["reo_t", "value_usd"]].sum()
    if keys:
        tot = g.groupby(keys)[["reo_t", "value_usd"]].transform("sum")
    else:
        tot = pd.DataFrame({"reo_t": g.reo_t.sum(), "value_usd": g.value_usd.sum()}, index=g.index)
    g["share_reo_pct"] = 100.0 * g.reo_t / tot.reo_t.where(tot.reo_t > 0)
    g["share_value_pct"] = 100.0 * g.value_usd / tot.value_usd.where(tot.value_usd > 0)
    g["_o"] = g.structure.map({s: i for i, s in enumerate(STRUCTURE)})
    return g.sort_values(keys + ["_o"]).reset_index(drop=True)[cols]
