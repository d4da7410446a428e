"""Unit normalisation of monitoring values (pure): every value is stored in its pollutant's canonical unit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from restrat.errors import Problem

# unit as written (lower case, spaces removed) -> (dimension, factor to the canonical unit of that dimension).
# Canonical: mass concentration in water mg/L, in gas mg/m3 (at standard conditions as reported), flow m3/h, pH.
UNITS: dict[str, tuple[str, float]] = {
    "mg/l": ("conc_water", 1.0), "g/l": ("conc_water", 1000.0), "µg/l": ("conc_water", 1e-3),
    "μg/l": ("conc_water", 1e-3), "ug/l": ("conc_water", 1e-3), "ng/l": ("conc_water", 1e-6),
    "g/m3": ("conc_water", 1.0), "g/m³": ("conc_water", 1.0), "ppm(w/v)": ("conc_water", 1.0),
    "mg/m3": ("conc_air", 1.0), "mg/m³": ("conc_air", 1.0), "mg/nm3": ("conc_air", 1.0), "mg/nm³": ("conc_air", 1.0),
    "µg/m3": ("conc_air", 1e-3), "μg/m3": ("conc_air", 1e-3), "ug/m3": ("conc_air", 1e-3), "µg/m³": ("conc_air", 1e-3),
    "μg/m³": ("conc_air", 1e-3), "ug/m³": ("conc_air", 1e-3), "g/nm3": ("conc_air", 1000.0),
    "m3/h": ("flow", 1.0), "m³/h": ("flow", 1.0), "m3/s": ("flow", 3600.0), "m³/s": ("flow", 3600.0),
    "l/s": ("flow", 3.6), "m3/d": ("flow", 1 / 24), "m³/d": ("flow", 1 / 24), "m3/min": ("flow", 60.0),
    "ph": ("ph", 1.0), "phunits": ("ph", 1.0), "": ("ph", 1.0),
}
# pollutant canonical unit (as in pollutants.csv) -> dimension, by medium for the ambiguous g/m3.
CANONICAL = {("water", "mg/L"): "conc_water", ("air", "mg/m3"): "conc_air", ("water", "m3/h"): "flow",
             ("air", "m3/h"): "flow", ("water", "pH"): "ph"}


def unit_key(unit: str) -> str:
    """The lookup form of a unit as written: lower case, no spaces, '³' kept."""
    return str(unit).strip().lower().replace(" ", "")


def conversion_factors(units: pd.Series, dimensions: pd.Series) -> tuple[np.ndarray, list[Problem]]:
    """Factors that take each value to its canonical unit, and one problem per row whose unit is unknown or of
    the wrong kind for its pollutant (rows are numbered from 1 as in the file)."""
    rows = pd.DataFrame({"unit": units.astype(str).to_numpy(), "dim": dimensions.to_numpy()})
    codes = rows.groupby(["unit", "dim"], sort=False, dropna=False).ngroup().to_numpy()
    uniq = rows.drop_duplicates().reset_index(drop=True)
    uniq["key"] = uniq.unit.map(unit_key)
    known = uniq.key.map(lambda k: UNITS.get(k, (None, np.nan)))
    uniq["unit_dim"] = known.str[0]
    uniq["factor"] = known.str[1].astype(float)
    # g/m3 is a water concentration when the pollutant is in water, and a 1000 mg/m3 gas concentration in air.
    gm3 = uniq.key.isin(["g/m3", "g/m³"]) & (uniq.dim == "conc_air")
    uniq.loc[gm3, ["unit_dim", "factor"]] = ["conc_air", 1000.0]
    # A blank unit is only accepted for pH.
    blank = (uniq.key == "") & (uniq.dim != "ph")
    uniq.loc[blank, ["unit_dim", "factor"]] = [None, np.nan]
    uniq = uniq.iloc[codes].reset_index(drop=True)  # back to one row per input row
    problems: list[Problem] = []
    unknown = uniq.unit_dim.isna() & uniq.dim.notna()
    for i in np.flatnonzero(unknown.to_numpy())[:200]:
        problems.append(Problem(row=int(i) + 1, field="unit", value=uniq.unit.iat[i],
                                rule="unknown unit; use one of mg/L, µg/L, g/L, mg/m3, µg/m3, m3/h, L/s, m3/s, pH"))
    wrong = ~unknown & uniq.dim.notna() & (uniq.unit_dim != uniq.dim)
    for i in np.flatnonzero(wrong.to_numpy())[:200]:
        problems.append(Problem(row=int(i) + 1, field="unit", value=uniq.unit.iat[i],
                                rule=f"is a {uniq.unit_dim.iat[i]} unit but the pollutant is measured as "
                                     f"{uniq.dim.iat[i]}"))
    return uniq.factor.to_numpy(dtype=float), problems
