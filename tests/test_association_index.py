"""Reference index and disclosure control, pure: hand-computed trimmed mean, the three-member and p% dominance
rules, dated rules, and statistics computed from published cells only."""

from __future__ import annotations

import pandas as pd
import pytest

from restrat.association import index as idx
from restrat.association import service

RULE = pd.DataFrame({"effective_date": ["2000-01-01"], "min_contributors": [3], "dominance_pct": [50.0],
                     "trim_pct": [20.0]})


def _subs(rows: list[tuple[int, float, float]], period: str = "2024-03", product: str = "Dy_oxide") -> pd.DataFrame:
    return pd.DataFrame([{"enterprise_id": e, "product": product, "currency": "CNY", "period": period, "price": p,
                          "volume_t": v} for e, p, v in rows])


def _cells(subs: pd.DataFrame, rules: pd.DataFrame = RULE) -> pd.DataFrame:
    return idx.cells(idx.with_rules(subs, rules))


def test_trimmed_mean_matches_hand_computation() -> None:
    # Volumes laid end to end: 10 on [0, .4], 20 on [.4, .7], 30 on [.7, 1]; the band [.2, .8] keeps .2, .3, .1.
    cell = _cells(_subs([(1, 10.0, 40), (2, 20.0, 30), (3, 30.0, 30)])).iloc[0]
    assert cell.index_price == pytest.approx((10 * 0.2 + 20 * 0.3 + 30 * 0.1) / 0.6)
    assert not cell.suppressed and cell.contributors == 3 and cell.top_share_pct == pytest.approx(40)


def test_an_outlier_in_a_tail_does_not_move_the_index() -> None:
    base = [(1, 100.0, 10), (2, 101.0, 10), (3, 102.0, 10), (4, 103.0, 10), (5, 104.0, 10)]
    low = _cells(_subs(base + [(6, 1.0, 5)])).iloc[0].index_price
    high = _cells(_subs(base + [(6, 1e6, 5)])).iloc[0].index_price
    assert 100 < low < 104 and 100 < high < 104


def test_fewer_than_three_members_is_suppressed_and_publishes_nothing() -> None:
    table = _cells(_subs([(1, 10.0, 30), (2, 12.0, 30), (2, 13.0, 30)]))
    assert table.iloc[0].suppressed and table.iloc[0].reason == "fewer contributors than the minimum"
    pub = idx.published(table).iloc[0]
    assert pub.suppressed and pd.isna(pub.contributors) and pd.isna(pub.volume_t) and pd.isna(pub.index_price)
    assert set(idx.published(table).columns) == set(idx.PUBLISHED)


@pytest.mark.parametrize(("top", "suppressed"), [(50.0, False), (50.5, True)])
def test_dominance_rule_suppresses_above_p_percent(top: float, suppressed: bool) -> None:
    rest = (100 - top) / 2
    cell = _cells(_subs([(1, 10.0, top), (2, 11.0, rest), (3, 12.0, rest)])).iloc[0]
    assert bool(cell.suppressed) is suppressed


def test_dominance_counts_a_members_volume_over_all_its_submissions() -> None:
    cell = _cells(_subs([(1, 10.0, 30), (1, 10.5, 30), (2, 11.0, 20), (3, 12.0, 20)])).iloc[0]
    assert cell.top_share_pct == pytest.approx(60) and cell.suppressed


def test_published_index_mixes_at_least_two_members() -> None:
    # Member 2 holds the whole middle of the volume (49 %); the band still reaches members 1 and 3.
    cell = _cells(_subs([(1, 10.0, 25.5), (2, 20.0, 49), (3, 30.0, 25.5)])).iloc[0]
    assert not cell.suppressed and cell.index_price not in (10.0, 20.0, 30.0)


def test_rules_are_dated_and_apply_from_the_month_they_take_effect() -> None:
    rules = pd.concat([RULE, pd.DataFrame({"effective_date": ["2024-03-01"], "min_contributors": [4],
                                           "dominance_pct": [50.0], "trim_pct": [20.0]})])
    three = [(1, 10.0, 30), (2, 11.0, 30), (3, 12.0, 40)]
    table = _cells(pd.concat([_subs(three, "2024-02"), _subs(three, "2024-03")]), rules).set_index("period")
    assert not table.loc["2024-02", "suppressed"] and table.loc["2024-03", "suppressed"]


def test_statistics_use_published_cells_only() -> None:
    ok = [(1, 10.0, 30), (2, 11.0, 30), (3, 12.0, 40)]
    subs = pd.concat([_subs(ok, "2024-01"), _subs([(1, 999.0, 10), (2, 999.0, 10)], "2024-02"),
                      _subs(ok, "2024-03")])
    stats = idx.stability(idx.published(_cells(subs))).iloc[0]
    assert stats.months_published == 2 and stats.months_suppressed == 1
    assert stats.latest_period == "2024-03" and stats.mean_index < 12 and stats.cv_pct == pytest.approx(0)


def test_shipped_rule_is_three_members_and_fifty_percent() -> None:
    rule = service.disclosure_rules().iloc[-1]
    assert (rule.min_contributors, rule.dominance_pct) == (3, 50)
    assert 100 - 2 * rule.trim_pct > rule.dominance_pct  # the band is always wider than one member's share


def test_bad_rows_name_row_field_and_rule() -> None:
    rows = pd.DataFrame([{"product": "Dy_oxide", "price_date": "2024-01-05", "price": "10", "currency": "CNY",
                          "volume_t": "3"},
                         {"product": "Gold", "price_date": "2024-13-01", "price": "-1", "currency": "yuan",
                          "volume_t": "0"}])
    _, problems = service.check_rows(rows)
    assert {(p.row, p.field) for p in problems} == {(2, "product"), (2, "price_date"), (2, "price"),
                                                     (2, "currency"), (2, "volume_t")}
