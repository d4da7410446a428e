"""Access-condition checks on dates around the 2012 and 2016 versions taking effect."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from restrat.industry import access, service


def _facilities() -> pd.DataFrame:
    rows = [("MINE-ROCK-SMALL", "mining", "rock", 3_500), ("MINE-ROCK-MID", "mining", "rock", 10_000),
            ("MINE-ROCK-BIG", "mining", "rock", 25_000), ("MINE-ION-SMALL", "mining", "ionic", 400),
            ("MINE-ION-OK", "mining", "ionic", 600), ("SEP-SMALL", "separation", "none", 2_000),
            ("SEP-MID", "separation", "none", 5_000), ("METAL", "metal", "none", 1_500),
            ("RECYCLER", "recycling", "secondary", 2_000), ("MAGNETS", "material", "none", 9_000),
            ("MINE-NO-CAP", "mining", "ionic", None)]
    return pd.DataFrame([{"facility_id": i, "code": c, "name": c, "stage": s, "ore_type": o, "capacity": cap,
                          "data_status": "illustrative"} for i, (c, s, o, cap) in enumerate(rows)])


def _verdicts(on: dt.date) -> dict[str, str]:
    out = access.check(_facilities(), service.access_conditions(on=on), mapping=access.mapping(service.DATA))
    return dict(zip(out.code, out.verdict, strict=True))


def test_nothing_applies_the_day_before_the_2012_conditions() -> None:
    assert set(_verdicts(dt.date(2012, 8, 5)).values()) == {"no_conditions"}


@pytest.mark.parametrize("on", [dt.date(2012, 8, 6), dt.date(2016, 6, 30)])
def test_2012_conditions_apply_until_the_2016_version(on: dt.date) -> None:
    v = _verdicts(on)
    assert v["MINE-ROCK-SMALL"] == "falls_short" and v["MINE-ION-SMALL"] == "falls_short"
    assert v["MINE-ROCK-MID"] == "indeterminate"  # 5,000 (bastnaesite) <= 10,000 < 20,000 (mixed)
    assert v["MINE-ROCK-BIG"] == "meets" and v["MINE-ION-OK"] == "meets"
    assert v["SEP-SMALL"] == "falls_short" and v["SEP-MID"] == "indeterminate"
    assert v["METAL"] == "not_assessed"  # the 2012 metal minimum is in physical weight, capacity in t REO
    assert v["RECYCLER"] == "no_conditions" and v["MAGNETS"] == "no_conditions"
    assert v["MINE-NO-CAP"] == "not_assessed"


def test_2016_conditions_add_recycling_and_drop_the_metal_minimum() -> None:
    v = _verdicts(dt.date(2016, 7, 1))
    assert v["RECYCLER"] == "falls_short" and v["METAL"] == "no_conditions"
    assert v["MINE-ROCK-SMALL"] == "falls_short" and v["MINE-ION-OK"] == "meets"


def test_reasons_name_version_stage_threshold_and_capacity() -> None:
    out = access.check(_facilities(), service.access_conditions(on=dt.date(2016, 7, 1)),
                       mapping=access.mapping(service.DATA)).set_index("code")
    why = out.loc["RECYCLER", "reasons"]
    assert "2016 conditions" in why and "separation_in_recycling" in why and ">= 3,000" in why
    assert "capacity 2,000 t REO/yr is below the minimum" in why
    assert "no min recovery" in out.loc["MINE-ROCK-BIG", "not_assessed"]
    assert out.loc["RECYCLER", "source"].startswith("https://www.bbjja.com")


def test_versions_are_dated_rows_with_derived_end_dates() -> None:
    rules = service.access_conditions()
    ends = rules.groupby("version").end_date.first()
    assert ends["2012"] == dt.date(2016, 6, 30) and pd.isna(ends["2016"])
    assert set(service.access_conditions(on=dt.date(2016, 7, 1)).version) == {"2016"}
