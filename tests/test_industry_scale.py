"""Scale effects of a merger on a power-law cost curve: hand-computed unit costs, stages without a curve, the
real 2020 quota cells of the CREG consolidation, and bad cost-curve files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from restrat.errors import InputError
from restrat.industry import scale, service

CURVE = pd.DataFrame({"stage": ["separation"], "elasticity": [0.2], "reference_scale_t_reo": [5000.0],
                      "reference_unit_cost_usd_per_t_reo": [6000.0], "status": ["assumption"], "reason": ["test"]})


def test_pooling_two_equal_parties_cuts_unit_cost_by_two_to_the_minus_elasticity() -> None:
    frame = pd.DataFrame({"stage": ["separation"] * 3, "owner": ["A", "B", "C"], "value": [5000.0, 5000.0, 8000.0]})
    out = scale.scale_effects(frame, by=["stage"], owners=["A", "B"], curve=CURVE).iloc[0]
    assert out.parties_t == 10_000 and out.uncosted_t == 0
    assert out.unit_cost_pre_usd_per_t == pytest.approx(6000.0)
    assert out.unit_cost_post_usd_per_t == pytest.approx(6000.0 * 2 ** -0.2)
    assert out.unit_cost_change_pct == pytest.approx(100 * (2 ** -0.2 - 1))  # -12.9 %
    assert out.annual_saving_usd == pytest.approx(10_000 * 6000.0 * (1 - 2 ** -0.2))


def test_unequal_parties_are_weighted_by_volume_and_uncosted_stages_are_counted() -> None:
    frame = pd.DataFrame({"stage": ["separation", "separation", "waste"], "owner": ["A", "B", "A"],
                          "value": [10_000.0, 2_500.0, 300.0]})
    out = scale.scale_effects(frame, by=[], owners=["A", "B"], curve=CURVE).iloc[0]
    pre = (10_000 * 6000 * 2 ** -0.2 + 2_500 * 6000 * 0.5 ** -0.2) / 12_500
    assert out.unit_cost_pre_usd_per_t == pytest.approx(pre)
    assert out.unit_cost_post_usd_per_t == pytest.approx(6000 * 2.5 ** -0.2)
    assert (out.parties_t, out.uncosted_t) == (12_800, 300)


def test_creg_consolidation_scale_effect_on_the_2020_quota_cells() -> None:
    out = service.screen_merger(session=None, owners=["China Southern Rare Earth", "Chinalco Rare Earth"],
                                into="CREG", measure="quota", by=["stage", "year"], years=[2020]).set_index("stage")
    # Separation 2020: only China Southern's figure is published among the parties, so nothing pools.
    assert out.loc["separation", "unit_cost_change_pct"] == pytest.approx(0.0)
    mining = out.loc["mining"]
    assert mining.unit_cost_change_pct < 0 and mining.annual_saving_usd > 0
    assert mining.parties_t == pytest.approx(mining.total * mining.merged_share_pct / 100)


def test_a_bad_cost_curve_names_row_field_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "curve.csv"
    service.cost_curve().assign(elasticity=["1.2", "0.2", "x", "0.1", "0.1", "0.1", "0.1"]).to_csv(path, index=False)
    with pytest.raises(InputError) as e:
        service.cost_curve(path=path)
    lines = e.value.lines()
    assert any("row 2, field 'elasticity'" in line for line in lines)
    assert any("row 4, field 'elasticity'" in line for line in lines)


def test_shipped_cost_curve_is_labelled_as_an_illustrative_assumption() -> None:
    curve = service.cost_curve()
    assert (curve.status == "assumption").all() and curve.reason.str.contains("ILLUSTRATIVE").all()
