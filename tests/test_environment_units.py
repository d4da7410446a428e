"""Unit normalisation: factors to the canonical unit and clear errors for unknown units and units of the wrong kind."""

from __future__ import annotations

import pandas as pd
import pytest

from restrat.environment.units import conversion_factors


@pytest.mark.parametrize(("unit", "dimension", "factor"), [
    ("mg/L", "conc_water", 1.0), ("µg/L", "conc_water", 0.001), ("ug/l", "conc_water", 0.001),
    ("μg/L", "conc_water", 0.001), ("g/L", "conc_water", 1000.0), ("g/m3", "conc_water", 1.0),
    ("mg/m³", "conc_air", 1.0), ("mg/Nm3", "conc_air", 1.0), ("µg/m3", "conc_air", 0.001),
    ("g/m3", "conc_air", 1000.0), ("L/s", "flow", 3.6), ("m3/s", "flow", 3600.0), ("m3/d", "flow", 1 / 24),
    ("pH", "ph", 1.0), ("", "ph", 1.0),
])
def test_factor_to_the_canonical_unit(unit: str, dimension: str, factor: float) -> None:
    factors, problems = conversion_factors(pd.Series([unit]), pd.Series([dimension]))
    assert problems == [] and factors[0] == pytest.approx(factor)


def test_unknown_units_and_units_of_the_wrong_kind_are_named_by_row() -> None:
    factors, problems = conversion_factors(pd.Series(["mg/L", "ppb", "mg/m3", ""]),
                                           pd.Series(["conc_water", "conc_water", "conc_water", "conc_air"]))
    assert [(p.row, p.field) for p in problems] == [(2, "unit"), (4, "unit"), (3, "unit")]
    assert "unknown unit" in problems[0].rule and "conc_air unit" in problems[2].rule
    assert factors[0] == 1.0
