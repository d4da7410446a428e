"""The market QP on cases solved by hand: competitive price at marginal cost, the textbook monopoly and Cournot
duopoly, an export quota's price gap, joint production's floor price, stocks across years, infeasibility."""

from __future__ import annotations

import highspy
import numpy as np
import pandas as pd
import pytest

from restrat.market.model import Cap, Infeasible, Inputs, layout, solve


def market(*, alpha: float = 100.0, beta: float = 1.0, cost: float = 20.0, slope: float = 0.0,
           capacity: float = 1e6, players: int = 1, strategic: bool = False, elements: tuple[str, ...] = ("Nd",),
           composition: list[float] | None = None, markets: tuple[str, ...] = ("china",), years: int = 1,
           alphas: list[float] | None = None, hold: float = 1.0, stock_max: float = 0.0) -> Inputs:
    """`players` identical mines (one each) in China selling every element to every market."""
    n_e, n_m = len(elements), len(markets)
    comp = np.tile(np.asarray(composition or [1.0 / n_e] * n_e), (players, 1))
    seg = pd.DataFrame([(f"app-{e}", e, m) for e in range(n_e) for m in range(n_m)],
                       columns=["application", "element", "market"])
    k = len(seg)
    a = np.asarray(alphas, dtype=float) if alphas is not None else np.full(n_e, alpha)
    return Inputs(
        elements=list(elements), years=np.arange(2025, 2025 + years), markets=list(markets), regions=["china"],
        players=pd.DataFrame({"code": [f"P{i}" for i in range(players)], "name": "player",
                              "strategic": strategic}),
        sources=pd.DataFrame({"code": [f"S{i}" for i in range(players)], "country": "China",
                              "player": [f"P{i}" for i in range(players)], "ore_type": "rock"}),
        composition=comp, mine_cap=np.full((players, years), capacity), mine_cost=np.full((players, years), cost),
        mine_slope=np.full((players, years), slope), emission=np.zeros(players),
        routes=pd.DataFrame({"source": range(players), "region": 0, "cost": 0.0}), recovery=np.ones(1),
        sep_cap=np.full((1, years), 1e9), sales_cost=np.zeros((1, n_m)), segments=seg,
        alpha=np.repeat(a[seg.element.to_numpy()][:, None], years, axis=1), beta=np.full((k, years), beta),
        sub_price=np.full((k, years), 1e6), sub_cap=np.zeros((k, years)), stock0=np.zeros((n_e, n_m)),
        stock_min=np.zeros((n_e, n_m, years)), stock_max=np.full((n_e, n_m, years), stock_max),
        hold_cost=np.full(n_e, hold), discount_rate=0.05)


def test_one_mine_one_element_competitive_price_equals_marginal_cost() -> None:
    # p = 100 - q and MC = 20 + 0.5 q cross at q = 53.33, p = 46.67
    sol = solve(market(cost=20.0, slope=0.5))
    assert sol.price[0, 0, 0] == pytest.approx(20 + 0.5 * 160 / 3, rel=1e-5)
    assert sol.q[0, 0] == pytest.approx(160 / 3, rel=1e-5)


def test_a_solve_after_another_highs_user_started_the_solver_with_more_threads_still_succeeds() -> None:
    # the quota optimiser runs HiGHS with its default thread count in the same process (the web app, the test suite)
    other = highspy.Highs()
    other.setOptionValue("output_flag", False)
    other.setOptionValue("threads", 2)
    other.addVar(0.0, 1.0)
    other.changeColCost(0, -1.0)
    other.run()
    assert other.getModelStatus() == highspy.HighsModelStatus.kOptimal
    sol = solve(market(cost=20.0, slope=0.5))
    assert sol.price[0, 0, 0] == pytest.approx(20 + 0.5 * 160 / 3, rel=1e-5)


def test_binding_capacity_prices_at_the_demand_curve_above_cost() -> None:
    sol = solve(market(cost=20.0, capacity=50.0))
    assert sol.price[0, 0, 0] == pytest.approx(50.0, rel=1e-5)


def test_monopolist_follows_the_textbook_formula() -> None:
    # max (a - b q) q - c q: q = (a - c) / 2b = 40, p = (a + c) / 2 = 60
    sol = solve(market(strategic=True))
    assert sol.q[0, 0] == pytest.approx(40.0, rel=1e-5)
    assert sol.price[0, 0, 0] == pytest.approx(60.0, rel=1e-5)


def test_cournot_duopoly_follows_the_textbook_formula() -> None:
    # n symmetric Cournot firms: Q = n (a - c) / ((n + 1) b), p = (a + n c) / (n + 1)
    sol = solve(market(players=2, strategic=True))
    assert sol.q[0, 0] == pytest.approx(2 * 80 / 3, rel=1e-5)
    assert sol.price[0, 0, 0] == pytest.approx((100 + 2 * 20) / 3, rel=1e-5)
    assert sol.y[0] == pytest.approx(np.full(2, 80 / 3), rel=1e-4)


def test_binding_export_quota_opens_the_expected_price_gap() -> None:
    # China supplies both markets at MC 20; exports to the rest of the world capped at 30:
    # inside p = 20, outside p = 100 - 30 = 70, the gap (50) is the quota's shadow value
    inp = market(markets=("china", "rest_of_world"))
    sales = layout(inp).sales
    inp.caps.append(Cap("export quota", "sales", (sales.market == 1).to_numpy(), np.array([30.0])))
    sol = solve(inp)
    assert sol.price[0, 0, 0] == pytest.approx(20.0, rel=1e-5)
    assert sol.price[0, 0, 1] == pytest.approx(70.0, rel=1e-5)
    assert sol.cap_duals["export quota"][0] == pytest.approx(50.0, rel=1e-4)


def test_joint_production_surplus_element_falls_to_its_floor_while_the_scarce_one_rises() -> None:
    # one ore, half A and half B; B's demand is weak (intercept 5), so B is in surplus: its price falls to the
    # free-disposal floor 0 and A alone pays the ore's cost: 0.5 p_A = MC = 20 -> p_A = 40
    weak_b = solve(market(elements=("Nd", "Ce"), alphas=[100.0, 5.0], composition=[0.5, 0.5]))
    assert weak_b.price[0, 1, 0] == pytest.approx(0.0, abs=1e-5)
    assert weak_b.price[0, 0, 0] == pytest.approx(40.0, rel=1e-5)
    # when A's demand grows, A's price rises and B stays at the floor
    strong_a = solve(market(elements=("Nd", "Ce"), alphas=[150.0, 5.0], composition=[0.5, 0.5], slope=0.5))
    weaker = solve(market(elements=("Nd", "Ce"), alphas=[100.0, 5.0], composition=[0.5, 0.5], slope=0.5))
    assert strong_a.price[0, 0, 0] > weaker.price[0, 0, 0] + 5
    assert strong_a.price[0, 1, 0] == pytest.approx(0.0, abs=1e-5)


def test_year_blocks_equal_the_joint_solution_when_no_stock_is_worth_holding() -> None:
    inp = market(years=4, slope=0.3, markets=("china", "rest_of_world"), stock_max=1e6)
    by_year, joint = solve(inp), solve(inp, joint=True)
    assert by_year.method == "by year" and joint.method == "joint"
    assert by_year.price == pytest.approx(joint.price, rel=1e-5)


def test_a_price_jump_next_year_makes_stocks_worth_holding_and_the_whole_horizon_is_solved_at_once() -> None:
    # demand doubles in year 2; a store costing 1/yr carries cheap year-1 material forward
    inp = market(years=2, slope=1.0, capacity=40.0, stock_max=1e6, hold=1.0)
    inp.alpha[:, 1] = 300.0
    sol = solve(inp)
    assert sol.method == "joint"
    assert sol.stock[0, 0, 0] > 1.0
    # arbitrage is exhausted: next year's discounted price equals this year's price plus holding cost
    assert sol.price[1, 0, 0] / 1.05 == pytest.approx(sol.price[0, 0, 0] + 1.0, rel=1e-4)


def test_a_price_jump_mid_horizon_links_only_the_years_around_it_and_equals_the_joint_solution() -> None:
    # demand is high in years 1-2, low in 3-4 and high again in 5-6: stock bought in the low years is carried into
    # year 5, but nothing is worth carrying out of the high years 1-2 into the low ones
    inp = market(years=6, slope=1.0, capacity=40.0, stock_max=1e6, hold=1.0)
    inp.alpha[:, :2] = 300.0
    inp.alpha[:, 4:] = 300.0
    linked, joint = solve(inp), solve(inp, joint=True)
    assert linked.method == "linked years" and len(linked.linked) == 1 and linked.linked[0].startswith("2027-")
    assert linked.stock[3, 0, 0] > 1.0 and linked.stock[:2, 0, 0] == pytest.approx([0.0, 0.0], abs=1e-9)
    assert linked.price == pytest.approx(joint.price, rel=1e-5)
    assert linked.objective == pytest.approx(joint.objective, rel=1e-7)


def test_infeasible_stockpile_target_names_the_conflicting_constraints() -> None:
    inp = market(capacity=10.0, stock_max=1e6)
    inp.stock_min[:, :, 0] = 50.0  # a 50 t stockpile from a 10 t mine in the first year
    with pytest.raises(Infeasible) as caught:
        solve(inp)
    assert "mine capacity" in caught.value.conflicts
    assert "stockpile target" in caught.value.conflicts
