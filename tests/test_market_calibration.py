"""Calibration reproduces the base year; assumptions carry status and reason; the scenario library runs; bad
scenario input is refused with the key, the rule and a suggestion; the example scenarios move the market the way
their levers should."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from restrat.errors import InputError
from restrat.market import service
from restrat.market.calibration import load_assumptions


def _parse(text: str):  # type: ignore[no-untyped-def]
    return service.parse_scenario(text=text, source="test.toml")


def _problems(text: str) -> list[str]:
    with pytest.raises(InputError) as caught:
        _parse(text)
    return caught.value.lines()


def test_calibration_reproduces_base_year_volumes_and_prices_within_the_stated_tolerances() -> None:
    fit = service.fit_report()
    assert fit["passed"] is True
    volumes, prices = fit["volumes"], fit["prices"]
    assert set(volumes.country) >= {"China", "United States", "Australia", "Burma"}
    assert volumes.gap.abs().max() <= service.VOLUME_TOLERANCE
    assert prices.gap.abs().max() <= service.PRICE_TOLERANCE
    # the observed side is the shipped USGS data: China 270,000 t and Nd oxide 56 USD/kg in 2024
    assert volumes.set_index("country").observed_t["China"] == pytest.approx(270_000, rel=1e-9)
    assert prices.set_index("element").observed_usd_per_kg["Nd"] == 56.0
    assert prices.set_index("element").status["Ho"] == "assumption"


def test_the_daily_komis_series_agrees_with_the_usgs_base_price_for_nd() -> None:
    check = service.fit_report()["daily_check"].set_index("element")
    assert check.days["Nd"] > 200
    assert check.gap["Nd"] == pytest.approx(0.0, abs=0.01)  # 2024 mean 55.76 against USGS 56


def test_china_shares_in_the_base_year_match_usgs_and_the_iea_refining_share() -> None:
    shares = service.fit_report()["shares"].set_index("indicator")
    assert shares.loc["China's share of mining", "model"] == pytest.approx(
        shares.loc["China's share of mining", "reference"], abs=0.005)
    assert shares.loc["China's share of separation", "model"] == pytest.approx(
        shares.loc["China's share of separation", "reference"], abs=0.02)


def test_every_assumption_has_a_status_and_a_reason() -> None:
    table = service.assumptions()
    assert len(table) > 40
    assert set(table.status) <= {"assumption", "derived"}
    assert (table.reason.str.len() > 10).all()
    a = load_assumptions()
    assert all(s.get("status") and s.get("reason") for s in a["source"])


def test_every_library_scenario_parses_and_the_issue_examples_are_there() -> None:
    names = {s["name"] for s in service.library()}
    assert names >= {"baseline", "medium_heavy_export_cut", "association_coordinates_exports",
                     "consolidation_two_groups", "tighter_environment", "new_mine_outside_china", "export_quota_era"}


def test_a_typo_in_a_key_names_the_key_and_suggests_the_valid_one() -> None:
    lines = _problems('[scenario]\nname = "x"\n[[export_control]]\nelemnts = ["Dy"]\nban = true\n')
    assert any("export_control[0].elemnts" in ln and "did you mean 'elements'" in ln for ln in lines)
    lines = _problems('[scenario]\nname = "x"\nhorizn = 5\n')
    assert any("scenario.horizn" in ln and "did you mean 'horizon'" in ln for ln in lines)
    lines = _problems('[scenaro]\nname = "x"\n')
    assert any("scenario file.scenaro" in ln and "did you mean 'scenario'" in ln for ln in lines)


def test_unknown_elements_countries_and_negative_capacities_are_refused_with_field_and_rule() -> None:
    lines = _problems('[scenario]\nname = "x"\n[[export_control]]\nelements = ["Dy", "Xx"]\nban = true\n'
                      '[[mining_quota]]\ncountry = "Chna"\ntonnes = 1000\n'
                      '[[new_mine]]\ncode = "N"\ncountry = "Canada"\ncapacity_t = -5\nstart_year = 2030\n'
                      'unit_cost_usd_per_kg = 10\nroutes = ["rest_of_world"]\n')
    text = "\n".join(lines)
    assert "export_control[0].elements': unknown element" in text and "'Xx'" in text
    assert "mining_quota[0].country': unknown country; did you mean 'China'?" in text
    assert "new_mine[0].capacity_t': must not be negative (got -5)" in text


def test_an_infeasible_scenario_says_which_constraints_conflict() -> None:
    scn = _parse('[scenario]\nname = "impossible stockpile"\nhorizon = 2\n'
                 '[[stockpile]]\nmarket = "united_states"\nelements = ["Tb"]\ntarget_t = 5000\n'
                 '[[mining_quota]]\ncountry = "China"\ntonnes = 1000\n')
    with pytest.raises(InputError) as caught:
        service.run_scenario(scenario=scn)
    msg = str(caught.value)
    assert "infeasible" in msg and "stockpile target" in msg and "mine capacity" in msg


def test_scenario_from_a_file_on_disk_is_read_and_a_missing_one_suggests_the_library(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[scenario]\nname = "from disk"\nhorizon = 3\n', encoding="utf-8")
    assert service.load_scenario(path=path).horizon == 3
    with pytest.raises(InputError, match="did you mean 'baseline'"):
        service.load_scenario(path="baselin")


def test_cutting_medium_heavy_exports_opens_a_price_gap_between_china_and_outside() -> None:
    res = service.run_scenario(scenario=_parse(
        '[scenario]\nname = "dy ban"\nhorizon = 3\n[[export_control]]\nelements = ["Dy", "Tb"]\nban = true\n'
        'to = ["united_states", "rest_of_world"]\n'))
    gap = service.price_gap(markets=res.markets).set_index(["year", "element"]).gap_usd_per_kg
    assert gap.loc[(2026, "Dy")] > 10 and gap.loc[(2026, "Tb")] > 10
    assert abs(gap.loc[(2026, "Nd")]) < 0.1  # light elements are not controlled
    exported = res.markets[(res.markets.element == "Dy") & (res.markets.market != "china")].from_china_t
    assert exported.max() == pytest.approx(0.0, abs=1e-6)


def test_market_power_raises_prices_and_cuts_china_output_against_the_competitive_baseline() -> None:
    base = service.run_scenario(scenario=_parse('[scenario]\nname = "b"\nhorizon = 2\n'))
    cournot = service.run_scenario(scenario=_parse(
        '[scenario]\nname = "c"\nhorizon = 2\n[market_power]\nconduct = "cournot"\n'
        'merge = { CREG = ["XTC", "GDRE"] }\n'))

    def nd(r):  # type: ignore[no-untyped-def]
        return r.markets.query("element == 'Nd' and market == 'china'").price_usd_per_kg.to_numpy()

    def share(r):  # type: ignore[no-untyped-def]
        return r.summary.query("metric == 'china_mine_share'").value.to_numpy()

    assert (nd(cournot) > nd(base) * 1.05).all()
    assert (share(cournot) < share(base)).all()
    assert "revenue_CNRE_musd" in set(cournot.summary.metric)


def test_results_are_the_documented_long_tables_with_all_17_elements() -> None:
    res = service.run_scenario(scenario=_parse('[scenario]\nname = "b"\nhorizon = 2\n'))
    m = res.markets
    assert list(m.columns[:5]) == ["year", "element", "market", "price_usd_per_kg", "demand_t"]
    assert m.element.nunique() == 17 and set(m.market) == {"china", "united_states", "rest_of_world"}
    assert m[m.element == "Pm"].price_usd_per_kg.isna().all()  # no natural supply, no demand: not traded
    assert np.isfinite(m[m.element != "Pm"].price_usd_per_kg).all()
    assert isinstance(res.supply.depletion_share, pd.Series)
    assert (res.supply.query("country == 'China'").depletion_share.dropna() > 0).all()
