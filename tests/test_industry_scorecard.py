"""Strategy scorecard: indicators on known data (hand-built ledger, real quota allocations and national quotas),
absent data stated rather than invented, and the standalone report file with its inlined charts."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from test_industry_value_chain import _with_magnets

from restrat.errors import InputError
from restrat.industry import report, scorecard, service
from restrat.store.db import session_factory

REFERENCE = Path(__file__).resolve().parents[1] / "src/restrat/catalog/data/reference"


def _value(table: pd.DataFrame, indicator: str, year: int) -> float:
    return float(table[(table.indicator == indicator) & (table.year == year)].value.iloc[0])


def _note(table: pd.DataFrame, indicator: str, year: int) -> str:
    return str(table[(table.indicator == indicator) & (table.year == year)].note.iloc[0])


def test_every_indicator_has_a_row_per_year_and_absent_data_says_so(session: Session) -> None:
    _with_magnets(session)  # a ledger in 2025 only; no monitoring, licences, prices or control list
    table = scorecard.scorecard(session=session, year=2025, span=2)
    assert len(table) == 2 * len(scorecard.indicator_table())
    assert set(table.aspect) == set(range(1, 8))
    empty = table[table.value.isna()]
    assert (empty.note != "").all()
    assert _note(table, "hhi_separation_production", 2024) == "no separation output in the ledger this year"
    assert np.isnan(_value(table, "emission_compliance_pct", 2025))
    assert "no scrap generated" in _note(table, "recycling_rate_pct", 2025)
    assert "no control list loaded" in _note(table, "control_list_entries", 2025)
    assert np.isnan(_value(table, "price_index_cv_pct", 2025))


def test_ledger_indicators_match_the_hand_built_chain(session: Session) -> None:
    _with_magnets(session)
    table = scorecard.scorecard(session=session, year=2025, span=1)
    assert _value(table, "hhi_separation_production", 2025) == pytest.approx(10_000)  # one owner separates
    structure = service.value_chain(session=session)["structure"].set_index("structure")
    assert _value(table, "high_end_share_pct", 2025) == pytest.approx(structure.loc["high_end", "share_reo_pct"])
    m = service.value_chain(session=session)["multipliers"].iloc[0]
    assert _value(table, "value_multiplier", 2025) == pytest.approx(m.multiplier) and m.multiplier > 1
    # Facilities all stand at one point, so with DBSCAN's default three facilities they form one cluster.
    assert _value(table, "value_added_in_clusters_pct", 2025) == pytest.approx(100)
    assert np.isnan(_value(table, "vertical_integration_pct", 2025))  # no enterprise is in a group


def test_quota_indicators_follow_the_real_allocations_and_national_quotas(demo_db: Engine) -> None:
    with session_factory(demo_db)() as s:
        table = scorecard.scorecard(session=s, year=2024, span=3)
    # 2024 separation: CNRE 88,000 t and CREG 39,000 t (cn_quota_groups.csv).
    assert _value(table, "hhi_separation_quota", 2024) == pytest.approx((88 / 127 * 100) ** 2
                                                                        + (39 / 127 * 100) ** 2)
    national = pd.read_csv(REFERENCE / "cn_quota_national.csv")
    full = national[(national.batch == "all") & (national.ore_type == "total")].set_index(["year", "kind"])
    for year in (2022, 2023, 2024):
        assert _value(table, "national_mining_quota_t", year) == full.loc[(year, "mining"), "tonnes_reo"]
        assert _value(table, "national_separation_quota_t", year) == \
            full.loc[(year, "smelting_separation"), "tonnes_reo"]
    assert _value(table, "control_list_entries", 2024) >= 1


def test_report_file_is_written_with_every_chart_and_plotly_inlined(demo_db: Engine, tmp_path: Path) -> None:
    with session_factory(demo_db)() as s:
        table = scorecard.scorecard(session=s, year=2026)
    out = report.write_report(table, year=2026, out=tmp_path / "r" / "strategy.html", database="demo")
    html = out.read_text(encoding="utf-8")
    with_data = table.groupby("indicator").value.apply(lambda v: v.notna().any())
    figures = re.findall(r'data-figure="ind-([a-z_]+)-figure"', html)
    assert sorted(figures) == sorted(with_data[with_data].index)
    assert report.PLOTLY.read_text(encoding="utf-8")[:2000] in html  # the shipped plotly.js, inlined
    assert not re.search(r'<script[^>]+src=|<link[^>]+href="http', html)  # nothing fetched: opens offline
    assert "Plotly.newPlot" in html and "ILLUSTRATIVE" in html
    assert html.count('class="card scorecard-aspect"') == 7


def test_a_year_out_of_range_is_refused_naming_the_field(session: Session) -> None:
    with pytest.raises(InputError, match="field 'year'"):
        scorecard.scorecard(session=session, year=1800)
    with pytest.raises(InputError, match="field 'span'"):
        scorecard.scorecard(session=session, year=2024, span=0)
