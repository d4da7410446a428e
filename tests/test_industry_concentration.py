"""Concentration maths against hand-computed cases and the real group quota allocations (cn_quota_groups.csv),
and merger screening under the dated US DOJ/FTC guidelines."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from restrat.errors import InputError
from restrat.industry import concentration as conc
from restrat.industry import service


def _market(values: dict[str, float], **cell: str) -> pd.DataFrame:
    return pd.DataFrame({"owner": list(values), "value": list(values.values()), **{k: v for k, v in cell.items()}})


def test_hhi_and_cr_n_match_hand_computation() -> None:
    out = conc.concentration(_market({"A": 50, "B": 30, "C": 20}), by=[], n=2)
    assert out.hhi.iloc[0] == pytest.approx(50**2 + 30**2 + 20**2)  # 3,800
    assert out.cr_n.iloc[0] == pytest.approx(80)
    assert out.leader.iloc[0] == "A" and out.owners.iloc[0] == 3


def test_rows_of_one_owner_add_up_and_cells_are_separate() -> None:
    frame = pd.concat([_market({"A": 30, "B": 10}, stage="mining"), _market({"A": 30}, stage="mining"),
                       _market({"C": 1, "D": 1, "E": 2}, stage="separation")])
    out = conc.concentration(frame, by=["stage"], n=1).set_index("stage")
    assert out.loc["mining", "hhi"] == pytest.approx((60 / 70 * 100) ** 2 + (10 / 70 * 100) ** 2)
    assert out.loc["separation", "hhi"] == pytest.approx(25**2 + 25**2 + 50**2)
    assert out.loc["separation", "cr_n"] == pytest.approx(50) and out.loc["separation", "leader"] == "E"


def test_merger_delta_is_twice_the_product_of_the_merging_shares() -> None:
    rule = service.merger_rule(on=dt.date(2024, 6, 1))
    out = conc.screen_merger(_market({"A": 50, "B": 30, "C": 20}), by=[], owners=["B", "C"], into="BC", rule=rule)
    assert out.delta_hhi.iloc[0] == pytest.approx(2 * 30 * 20)
    assert out.hhi_post.iloc[0] == pytest.approx(5000) and out.merged_share_pct.iloc[0] == pytest.approx(50)
    assert bool(out.presumed_harmful.iloc[0])


def test_unconcentrated_market_with_a_small_merger_is_not_presumed_harmful() -> None:
    rule = service.merger_rule(on=dt.date(2024, 6, 1))
    market = _market({f"F{i}": 10 for i in range(10)})  # HHI 1,000
    out = conc.screen_merger(market, by=[], owners=["F0", "F1"], into="F01", rule=rule).iloc[0]
    assert out.hhi_post == pytest.approx(1200) and out.delta_hhi == pytest.approx(200)
    assert out.significant_increase and not out.highly_concentrated and not out.presumed_harmful


def test_share_above_thirty_percent_is_presumed_harmful_under_2023_guidelines_only() -> None:
    market = _market({"A": 20, "B": 15, **{f"s{i}": 1 for i in range(65)}})  # HHI 690
    new = conc.screen_merger(market, by=[], owners=["A", "B"], into="AB",
                             rule=service.merger_rule(on=dt.date(2024, 1, 1))).iloc[0]
    old = conc.screen_merger(market, by=[], owners=["A", "B"], into="AB",
                             rule=service.merger_rule(on=dt.date(2015, 1, 1))).iloc[0]
    assert new.hhi_post == pytest.approx(1290) and new.delta_hhi == pytest.approx(600)
    assert new.presumed_harmful and new.guideline.endswith("2023")
    assert not old.presumed_harmful and old.guideline.endswith("2010")


def test_the_guideline_in_force_changes_on_its_effective_date() -> None:
    assert service.merger_rule(on=dt.date(2023, 12, 17)).highly_concentrated_hhi_above == 2500
    assert service.merger_rule(on=dt.date(2023, 12, 18)).highly_concentrated_hhi_above == 1800
    with pytest.raises(InputError, match="no merger guideline"):
        service.merger_rule(on=dt.date(2009, 1, 1))


def _quota_cells() -> pd.DataFrame:
    return conc.concentration(service.quota_frame(), by=["stage", "year"]).set_index(["stage", "year"])


def test_quota_hhi_2024_matches_the_two_groups_allocations() -> None:
    # 2024 batch 1 mining: CNRE 94,500 (rock) and CREG 40,400 (total, its 10,140 ionic included).
    total = 94_500 + 40_400
    expected = (94_500 / total * 100) ** 2 + (40_400 / total * 100) ** 2
    cell = _quota_cells().loc[("mining", 2024)]
    assert cell.total == total and cell.hhi == pytest.approx(expected) and cell.leader == "China Northern Rare " \
                                                                                           "Earth (CNRE)"


def test_quota_hhi_2023_sums_batches_without_double_counting() -> None:
    # CNRE 80,943 + 85,700 + 12,000; CREG (28,114 + 7,434) + 31,600 + 3,000; Xiamen 1,966; Guangdong 1,543.
    # Batch "1+2" sums and the consolidated CREG ionic row are left out.
    by_group = [178_643, 70_148, 1_966, 1_543]
    total = sum(by_group)
    cell = _quota_cells().loc[("mining", 2023)]
    assert cell.total == total and cell.owners == 4
    assert cell.hhi == pytest.approx(sum((v / total * 100) ** 2 for v in by_group))
    assert cell.cr_n == pytest.approx(100)


def test_creg_formation_screened_on_the_2020_mining_quota() -> None:
    # 2020 batch 1 mining: CNRE 35,375; China Southern 13,875 + 4,250; Chinalco 7,175 + 1,250.
    frame = service.quota_frame()
    frame = frame[frame.year == 2020]
    total = 35_375 + 18_125 + 8_425
    out = conc.screen_merger(frame, by=["stage"], owners=["China Southern Rare Earth", "Chinalco Rare Earth"],
                             into="CREG", rule=service.merger_rule(on=dt.date(2024, 1, 1))).set_index("stage")
    mining = out.loc["mining"]
    assert mining.delta_hhi == pytest.approx(2 * (18_125 / total * 100) * (8_425 / total * 100))
    assert mining.presumed_harmful and mining.merged_share_pct == pytest.approx(26_550 / total * 100)


def test_bad_measure_and_dimension_name_the_field(session) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as e:
        service.concentration(session=session, measure="quota", by=["region"])
    assert e.value.problems[0].field == "by"
    with pytest.raises(InputError) as e:
        service.concentration(session=session, measure="sales", by=[])
    assert e.value.problems[0].field == "measure"
