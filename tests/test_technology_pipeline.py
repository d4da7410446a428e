"""Pipeline durations, attribution of ledger output to the technology in use, and its value at oxide prices, on
hand-worked cases; indicators from a small ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from ledger_builders import IONIC, ROCK, registry_for_ledger, simple_chain
from sqlalchemy.orm import Session

from restrat.catalog.service import ELEMENTS
from restrat.ledger.format import read_records
from restrat.ledger.importer import import_events
from restrat.technology import pipeline, service

EL = {e: i for i, e in enumerate(ELEMENTS)}


def test_durations_count_days_from_start_to_first_pilot_and_first_production() -> None:
    projects = pd.DataFrame({"project_id": [1, 2, 3], "start_date": [dt.date(2020, 1, 1), dt.date(2021, 3, 1),
                                                                       dt.date(2022, 1, 1)]})
    steps = pd.DataFrame({"project_id": [1, 1, 1, 2], "stage": ["pilot", "production", "production", "pilot"],
                          "reached_on": [dt.date(2021, 1, 1), dt.date(2023, 1, 1), dt.date(2022, 1, 1),
                                         dt.date(2021, 3, 11)]})
    out = pipeline.durations(projects, steps).set_index("project_id")
    assert out.at[1, "days_to_pilot"] == 366  # 2020 is a leap year
    assert out.at[1, "production_on"] == dt.date(2022, 1, 1)  # the first production counts
    assert out.at[1, "days_to_production"] == 731 and out.at[1, "years_to_production"] == 2.0
    assert out.at[2, "days_to_pilot"] == 10 and np.isnan(out.at[2, "days_to_production"])
    assert np.isnan(out.at[3, "days_to_pilot"])


def test_each_batch_goes_to_the_latest_process_change_of_its_facility_and_form() -> None:
    batches = pd.DataFrame({"facility_id": [1, 1, 1, 1, 2], "form": ["metal", "metal", "metal", "alloy", "metal"],
                            "at": pd.to_datetime(["2021-06-01", "2022-06-01", "2020-06-01", "2022-06-01",
                                                  "2022-06-01"]),
                            "_k": range(5)})
    changes = pd.DataFrame({"facility_id": [1, 1, 2], "form": ["metal", "metal", "alloy"],
                            "reached_on": [dt.date(2021, 1, 1), dt.date(2022, 1, 1), dt.date(2020, 1, 1)],
                            "project_id": [10, 20, 30]})
    out = pipeline.attribute(batches, changes).set_index("_k")
    assert out.project_id.to_dict() == {0: 10, 1: 20}  # 2020 batch predates any change; others' forms differ


def test_value_is_contained_reo_at_the_latest_oxide_price_of_each_element() -> None:
    prices = pd.DataFrame({"element": ["Nd", "Pr", "Nd", "Dy"], "year": [2024, 2024, 2025, 2023],
                           "usd_per_kg": [50.0, 60.0, 70.0, 300.0]})
    comp = np.zeros((2, len(ELEMENTS)))
    comp[0, [EL["Nd"], EL["Pr"]]] = [0.75, 0.25]
    comp[1, [EL["Dy"], EL["Ho"]]] = [0.5, 0.5]
    batches = pd.DataFrame({"at": pd.to_datetime(["2026-03-01", "2024-07-01"]), "reo_kg": [1000.0, 10.0],
                            "gross_kg": [1000.0, 20.0], "project_id": [1, 2]})
    out = pipeline.value(batches, comp, prices)
    # 2026 uses the 2025 Nd price (70) and the 2024 Pr price (60): 750*70 + 250*60
    assert out.value_usd.tolist() == pytest.approx([750 * 70 + 250 * 60, 5 * 300.0])
    assert out.unpriced_reo_kg.tolist() == [0.0, 5.0]  # Ho has no price
    assert out.price_year.tolist() == [2024, 2023]
    summary = pipeline.benefit(out).set_index("project_id")
    assert summary.at[1, "reo_t"] == 1.0 and summary.at[2, "output_t"] == 0.02
    assert summary.at[2, "unpriced_reo_t"] == 0.005


def _small_ledger(session: Session) -> None:
    registry_for_ledger(session)
    import_events(session=session, frames=read_records(simple_chain()), source_name="test")
    service.import_bundle(session=session, bundle={
        "projects": [{"code": "OLD", "title": "old process", "field": "separation_extraction",
                      "lead_enterprise": "E-DOWN", "start_date": "2018-01-01"},
                     {"code": "NEW", "title": "new process", "field": "separation_extraction",
                      "lead_enterprise": "E-DOWN", "start_date": "2022-07-01"}],
        "industrialisation": [{"project": "OLD", "stage": "production", "facility": "SEP", "reached_on": "2019-01-01",
                               "forms": "separated_oxide"},
                              {"project": "NEW", "stage": "pilot", "facility": "SEP", "reached_on": "2023-01-01"},
                              {"project": "NEW", "stage": "production", "facility": "SEP",
                               "reached_on": "2025-01-02", "forms": "separated_oxide"}]})
    session.commit()


def test_benefit_from_the_ledger_matches_the_hand_worked_value(session: Session) -> None:
    _small_ledger(session)
    got = service.benefit(session=session)
    assert got.code.tolist() == ["NEW"]  # separation on 2025-01-04 runs the process changed on 2025-01-02
    keep = 0.97
    reo = {"Pr": 5000 * ROCK["Pr"] + 1800 * IONIC["Pr"], "Nd": 5000 * ROCK["Nd"] + 1800 * IONIC["Nd"],
           "Dy": 1800 * IONIC["Dy"], "La": 5000 * ROCK["La"] + 1800 * IONIC["La"],
           "Ce": 5000 * ROCK["Ce"] + 1800 * IONIC["Ce"]}
    # USGS annual oxide prices for 2025 (Pr 74, Nd 73, La 1.0, Ce 1.71); Dy has none after 2024 (260)
    price = {"Pr": 74.0, "Nd": 73.0, "Dy": 260.0, "La": 1.0, "Ce": 1.71}
    row = got.iloc[0]
    assert row.year == 2025 and row.batches == 3
    assert row.reo_t == pytest.approx(keep * sum(reo.values()) / 1000, rel=1e-6)
    assert row.value_usd == pytest.approx(keep * sum(reo[e] * price[e] for e in reo), rel=1e-5)
    assert row.price_year == 2024 and row.unpriced_reo_t == 0
    p = service.projects_frame(session=session).set_index("code")
    assert p.at["NEW", "days_to_pilot"] == 184 and p.at["NEW", "days_to_production"] == 916


def test_indicators_share_of_output_with_recent_processes_and_high_end_share(session: Session) -> None:
    _small_ledger(session)
    table = service.indicators(session=session, recent_years=5)
    assert list(table.columns) == ["indicator", "field", "year", "value", "unit", "source"]
    get = table.set_index(["indicator", "field", "year"]).value
    separated = 0.97 * (5000 * 0.98 + 1800 * 0.24)  # Pr, Nd, La, Ce of rock; Pr, Nd, Dy, La, Ce of ionic
    extracted = 5000 + 1800
    assert get[("share_output_processes_last_5y", "all", 2025)] == pytest.approx(
        100 * separated / (separated + extracted), rel=1e-5)
    assert get[("high_end_share", "all", 2025)] == 0.0
    assert get[("projects_started", "separation_extraction", 2018)] == 1
    assert get[("median_years_to_production", "all", 2019)] == pytest.approx(1.0, abs=0.01)
    assert "ILLUSTRATIVE" not in " ".join(table.source)
