"""The allocation LP: hand-solved small cases, the LP's own optimality (duals, against an independent solver),
bounds from stability and penalties, infeasible requests explained, and the service on the demo database."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog
from sqlalchemy import Engine, func, select

from restrat.errors import InputError
from restrat.quota import models, optimiser, service
from restrat.store.db import session_factory


def _policy(**overrides: object) -> optimiser.Policy:
    p = optimiser.load_policy(**overrides)
    p.weights = {"technology_level": 1.0, "recovery_rate": 0.0, "environmental_compliance": 0.0}
    return p


def _facilities(**cols: list) -> pd.DataFrame:
    n = len(cols["code"])
    base = {"group": ["G1"] * n, "ore_type": ["rock"] * n, "capacity_t": [10.0] * n, "last_t": [0.0] * n,
            "penalised": [False] * n}
    return pd.DataFrame(base | cols)


def test_hand_solved_case_fills_the_best_facility_and_prices_each_ore_type() -> None:
    fac = _facilities(code=["A", "B", "C"], ore_type=["rock", "rock", "ionic"], technology_level=[1.0, 0.5, 0.2])
    r = optimiser.solve(facilities=fac, targets={"rock": 15, "ionic": 5}, policy=_policy())
    # By hand: rock 15 t -> A takes its 10 t (score 1), B the other 5 (0.5); ionic 5 t -> C. Score 10 + 2.5 + 1.
    assert r.facilities["x"].tolist() == pytest.approx([10, 5, 5]) and r.objective == pytest.approx(13.5)
    # One more rock tonne goes to B (0.5), one more ionic tonne to C (0.2); A's capacity is worth 1 - 0.5.
    assert r.rows.set_index("name")["dual"].to_dict() == pytest.approx({"rock": 0.5, "ionic": 0.2})
    assert r.facilities.set_index("code").loc["A", ["binding", "reduced_cost"]].tolist() == ["capacity",
                                                                                             pytest.approx(0.5)]
    assert r.explanations[0] == ("Each extra tonne of rock-type quota is worth 0.500 score points, because it would "
                                 "go to B (score 0.500), the facility with room left between its bounds.")
    assert any("ionic-clay quota is worth 0.200" in line for line in r.explanations)


def test_a_minimum_group_share_binds_and_its_cost_is_the_score_given_up() -> None:
    fac = _facilities(code=["A", "B"], group=["G1", "G2"], capacity_t=[100.0, 100.0], technology_level=[1.0, 0.4])
    r = optimiser.solve(facilities=fac, targets={"total": 50}, policy=_policy(min_group_share={"G2": 0.3}))
    # Without the share A takes all 50 t; G2 must get 15 t, each costing 1 - 0.4 = 0.6 score points.
    assert r.facilities["x"].tolist() == pytest.approx([35, 15])
    rows = r.rows.set_index("name")
    assert rows.loc["G2", "binding"] and rows.loc["G2", "dual"] == pytest.approx(-0.6)
    assert any(line.startswith("The minimum share of group G2 binds (15 t): it costs 0.600") for line in r.explanations)


def test_stability_and_penalty_bound_the_change_against_last_year() -> None:
    fac = _facilities(code=["A", "B", "C"], capacity_t=[100.0] * 3, last_t=[10.0, 10.0, 10.0],
                      penalised=[False, False, True], technology_level=[1.0, 0.1, 1.0])
    r = optimiser.solve(facilities=fac, targets={"total": 30}, policy=_policy(max_change=0.2, penalty_reduction=0.1))
    f = r.facilities.set_index("code")
    # A is capped at 12 (+20%), C, penalised, at 9 (-10%); B, the weakest, takes the rest but not below 8 (-20%).
    assert f["x"].to_dict() == pytest.approx({"A": 12, "B": 9, "C": 9})
    assert f.loc["A", "binding"] == "stability cap" and f.loc["C", "binding"] == "penalty cap"
    # With 27 t the weakest, B, is held at its floor of 8 t (-20%); A and C, equally good, share the other 19 t.
    r2 = optimiser.solve(facilities=fac, targets={"total": 27}, policy=_policy(max_change=0.2, penalty_reduction=0.1))
    f2 = r2.facilities.set_index("code")
    assert f2.loc["B", ["x", "binding"]].tolist() == [pytest.approx(8), "stability floor"]
    assert f2.loc["A", "x"] + f2.loc["C", "x"] == pytest.approx(19)


def test_the_lp_is_optimal_by_its_own_duals_and_matches_an_independent_solver() -> None:
    rng = np.random.default_rng(3)
    n = 300
    fac = _facilities(code=[f"F{i}" for i in range(n)], group=rng.choice(["G1", "G2", "G3"], n).tolist(),
                      ore_type=rng.choice(["rock", "ionic"], n, p=[0.7, 0.3]).tolist(),
                      capacity_t=rng.uniform(100, 1000, n).tolist(),
                      last_t=np.where(rng.random(n) < 0.6, rng.uniform(50, 600, n), 0).tolist(),
                      penalised=(rng.random(n) < 0.05).tolist(), technology_level=rng.random(n).tolist())
    policy = _policy(min_group_share={"G3": 0.35})
    targets = {"rock": 60_000.0, "ionic": 25_000.0}
    r = optimiser.solve(facilities=fac, targets=targets, policy=policy)
    f, rows = r.facilities, r.rows
    x, c, lo, hi, rc = (f[k].to_numpy() for k in ("x", "score", "lo", "hi", "reduced_cost"))
    # Primal feasibility.
    assert (x >= lo - 1e-6).all() and (x <= hi + 1e-6).all()
    assert np.allclose(rows["activity"][rows["kind"] == "ore"], rows["rhs"][rows["kind"] == "ore"])
    # Dual feasibility for a maximisation: a column's reduced cost is >= 0 only at its upper bound, <= 0 only at its
    # lower bound, and 0 strictly between; reduced cost = score - sum of its rows' duals.
    a = np.vstack([(f["ore_type"] == "rock"), (f["ore_type"] == "ionic"), (f["group"] == "G3")]).astype(float)
    assert np.allclose(rc, c - rows["dual"].to_numpy() @ a, atol=1e-7)
    assert ((rc <= 1e-7) | (x >= hi - 1e-6)).all() and ((rc >= -1e-7) | (x <= lo + 1e-6)).all()
    # Strong duality: the score equals the dual objective.
    dual_obj = rows["dual"].to_numpy() @ rows["rhs"].to_numpy() + np.where(rc > 0, rc * hi, rc * lo).sum()
    assert r.objective == pytest.approx(dual_obj, rel=1e-9)
    # SciPy's linprog on the same programme, dense, reaches the same optimum.
    ref = linprog(-c, A_ub=-a[2:3], b_ub=[-0.35 * 85_000], A_eq=a[:2], b_eq=[60_000, 25_000],
                  bounds=list(zip(lo, hi, strict=True)), method="highs-ipm")
    assert ref.status == 0 and -ref.fun == pytest.approx(r.objective, rel=1e-7)


@pytest.mark.parametrize(("targets", "overrides", "field", "words"), [
    ({"rock": 100.0, "ionic": 5.0}, {}, "rock quota", "can take at most 20 t"),
    ({"rock": 10.0, "ionic": 1.0}, {}, "ionic quota", "stability floors"),
    ({"total": 20.0}, {"min_group_share": {"G1": 0.7, "G2": 0.5}}, "min_group_share", "add up to 120%"),
    ({"total": 20.0}, {"min_group_share": {"G9": 0.1}}, "min_group_share", "group G9 has no eligible facility"),
    ({"total": -3.0}, {}, "total", "must be a finite number"),
])
def test_an_infeasible_request_names_the_constraints_that_conflict(targets: dict, overrides: dict, field: str,
                                                                   words: str) -> None:
    fac = _facilities(code=["A", "B", "C"], group=["G1", "G1", "G2"], ore_type=["rock", "rock", "ionic"],
                      last_t=[0, 0, 8], technology_level=[1.0, 0.5, 0.2])
    with pytest.raises(InputError) as e:
        optimiser.solve(facilities=fac, targets=targets, policy=_policy(**overrides))
    assert any(p.field == field and words in p.rule for p in e.value.problems), e.value.lines()


def test_policy_values_outside_zero_to_one_are_refused() -> None:
    with pytest.raises(InputError, match="max_change"):
        optimiser.load_policy(max_change=1.5)


def test_allocating_on_the_demo_saves_within_the_plan_or_writes_nothing(demo_db: Engine) -> None:
    with session_factory(demo_db)() as s, s.begin():
        result = service.allocate(session=s, year=2027, kind="mining", total=27_000,
                                  policy=optimiser.load_policy(ionic_share=0.18))
        assert sum(f["allocated_t_reo"] for f in result["facilities"]) == pytest.approx(27_000)
        assert result["split"] == "ionic share 18.00% as given" and result["explanations"]
        penalised = [f for f in result["facilities"] if f["penalised"]]
        # Mines that went over their 2026 quota get at most 90% of it in 2027 (the policy's reduction).
        assert penalised and all(f["allocated_t_reo"] <= 0.9 * f["last_year_t_reo"] + 1e-6 for f in penalised)
        # No 2027 plan is issued: recording the result is refused and nothing is written.
        with pytest.raises(InputError, match="no plan issued for 2027 mining batch all"):
            service.allocate(session=s, year=2027, kind="mining", total=27_000,
                             policy=optimiser.load_policy(ionic_share=0.18), save=True)
        assert s.scalar(select(func.count()).select_from(models.QuotaAllocation).where(
            models.QuotaAllocation.year == 2027)) == 0


def test_the_ore_split_comes_from_the_latest_published_national_split_when_no_plan_exists(demo_db: Engine) -> None:
    with session_factory(demo_db)() as s:
        targets, why = service.ore_targets(session=s, year=2025, kind="mining", total=100_000, ionic_share=None)
    # 2024's full-year split is not published; 2023: rock 235,850 (seen) and ionic 19,150 (derived).
    assert targets["ionic"] == pytest.approx(100_000 * 19_150 / 255_000)
    assert "from the 2023 national quota" in why
