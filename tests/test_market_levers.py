"""Export controls act on their product form: a concentrate ban stops ore on its way to be separated abroad and
leaves oxide trade alone; an oxide ban stops separated oxide and opens a price gap, leaving ore routes alone;
finished magnets are not a traded form and a lever naming them is refused with the reason."""

from __future__ import annotations

import pytest

from restrat.errors import InputError
from restrat.market import service
from restrat.market.sweep import RunResult

HEAD = '[scenario]\nname = "forms"\nhorizon = 2\n'
CONCENTRATE_BAN = '[[export_control]]\nform = "concentrate"\nfrom = "United States"\nto = ["china"]\nban = true\n'
OXIDE_BAN = ('[[export_control]]\nform = "oxide"\nfrom = "china"\nto = ["united_states"]\nelements = ["Dy", "Tb"]\n'
             'ban = true\n')


def _run(extra: str) -> RunResult:
    return service.run_scenario(scenario=service.parse_scenario(text=HEAD + extra, source="forms.toml"))


def _us_ore_to_china(r: RunResult) -> float:
    return float(r.supply[r.supply.country == "United States"].separated_in_china_t.sum())


def _dy(r: RunResult, market: str, column: str) -> float:
    row = r.markets[(r.markets.element == "Dy") & (r.markets.market == market) & (r.markets.year == 2026)]
    return float(row[column].iloc[0])


@pytest.fixture(scope="module")
def runs() -> dict[str, RunResult]:
    return {"none": _run(""), "concentrate": _run(CONCENTRATE_BAN), "oxide": _run(OXIDE_BAN)}


def test_a_concentrate_ban_stops_ore_going_abroad_and_leaves_oxide_trade_alone(runs: dict[str, RunResult]) -> None:
    assert _us_ore_to_china(runs["none"]) > 1000.0
    assert _us_ore_to_china(runs["concentrate"]) == pytest.approx(0.0, abs=1e-6)
    assert _dy(runs["concentrate"], "united_states", "from_china_t") > 10.0


def test_an_oxide_ban_stops_oxide_and_opens_a_price_gap_but_leaves_ore_routes_alone(
        runs: dict[str, RunResult]) -> None:
    assert _dy(runs["oxide"], "united_states", "from_china_t") == pytest.approx(0.0, abs=1e-6)
    assert _dy(runs["oxide"], "united_states", "price_usd_per_kg") > _dy(runs["oxide"], "china",
                                                                         "price_usd_per_kg") + 10
    assert _us_ore_to_china(runs["oxide"]) > 1000.0


def test_a_ban_on_finished_magnets_is_refused_naming_the_field_and_the_reason() -> None:
    with pytest.raises(InputError) as caught:
        _run('[[export_control]]\nform = "magnet"\nfrom = "china"\nban = true\n')
    message = str(caught.value)
    assert "export_control[0].form" in message and "not traded forms" in message
