"""The standards library: limits in force around each dated change, facility class, sensitive areas, local standards,
the strictest row winning, recalled rows superseded by an official table, and clear errors for bad tables."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from environment_builders import build_world, limit_on
from sqlalchemy.orm import Session

from restrat.environment import service, standards
from restrat.errors import InputError


def test_shipped_tables_keep_their_status_and_source() -> None:
    lim = standards.reference_limits()
    assert set(lim.status) == {"seen", "recalled"}
    assert (lim[lim.status == "recalled"].source == "none").all()
    assert lim[lim.status == "seen"].source.str.startswith("http").all()
    ph = lim[lim.pollutant == "ph"].iloc[0]
    assert (ph.limit_low, ph.limit_high, ph.unit) == (6.0, 9.0, "pH")
    henan = lim[lim.standard == "DB41/777-2013"]
    assert len(henan) == 5 and (henan.region == "Henan").all() and (henan.scope == "local").all()


def test_facility_class_follows_the_start_date(session: Session) -> None:
    build_world(session)
    classes = service.outlets(session=session).set_index("outlet").facility_class
    assert classes["W1"] == "new" and classes["WS"] == "existing"
    assert service.facility_class_of(dt.date(2011, 9, 30)) == "existing"
    assert service.facility_class_of(dt.date(2011, 10, 1)) == "new"


@pytest.mark.parametrize(("day", "expected"), [("2011-12-31", None), ("2012-01-01", 25.0), ("2013-12-31", 25.0),
                                               ("2014-01-01", 15.0), ("2030-06-01", 15.0)])
def test_ammonia_limit_of_an_existing_facility_around_each_change(session: Session, day: str,
                                                                  expected: float | None) -> None:
    build_world(session)
    assert limit_on(session, "F-OLD", "ammonia_nitrogen", day) == expected


@pytest.mark.parametrize(("day", "expected"), [("2013-12-31", None), ("2014-01-01", 15.0)])
def test_ammonia_limit_of_a_new_facility_starts_in_2014(session: Session, day: str, expected: float | None) -> None:
    build_world(session)
    assert limit_on(session, "F-NEW", "ammonia_nitrogen", day, outlet="W1") == expected


def test_special_limit_applies_only_in_a_sensitive_area(session: Session) -> None:
    build_world(session)
    assert limit_on(session, "F-NEW", "ammonia_nitrogen", "2020-01-01", outlet="W2") == 5.0
    assert limit_on(session, "F-NEW", "ammonia_nitrogen", "2020-01-01", outlet="W1") == 15.0


def test_strictest_row_wins_and_keeps_its_status(session: Session) -> None:
    build_world(session)
    df = service.applicable_limits(session=session, facility="F-NEW", on=dt.date(2020, 1, 1),
                                   pollutant="total_phosphorus", outlet="W1")
    assert df.limit_high.iloc[0] == 0.5 and df.status.iloc[0] == "seen"  # sourced 0.5 beats recalled 1.0
    cod = service.applicable_limits(session=session, facility="F-NEW", on=dt.date(2020, 1, 1), pollutant="cod",
                                    outlet="W1")
    assert cod.limit_high.iloc[0] == 70.0 and cod.status.iloc[0] == "recalled"


@pytest.mark.parametrize(("day", "expected"), [("2013-02-28", None), ("2013-03-01", 0.05)])
def test_local_standard_binds_only_its_region_from_its_date(session: Session, day: str,
                                                            expected: float | None) -> None:
    build_world(session)
    assert limit_on(session, "F-OLD", "total_cadmium", day) == expected
    assert limit_on(session, "F-NEW", "total_cadmium", "2020-01-01") is None


def test_a_stricter_local_standard_with_its_own_dates_tightens_the_national_limit(session: Session) -> None:
    build_world(session)
    rows = standards.normalise_limits(pd.DataFrame([{
        "pollutant": "COD", "medium": "water", "facility_class": "new", "discharge": "direct", "limit_value": "50",
        "limit_unit": "mg/L", "valid_from": "2021-07-01", "valid_to": "2023-06-30", "source": "test"}]),
        standard="DB36/TEST", status="local", region="Jiangxi", scope="local")
    service.load_limits(session=session, rows=rows, username="t")
    assert limit_on(session, "F-NEW", "cod", "2021-06-30", outlet="W1") == 70.0
    assert limit_on(session, "F-NEW", "cod", "2021-07-01", outlet="W1") == 50.0
    assert limit_on(session, "F-NEW", "cod", "2023-06-30", outlet="W1") == 50.0
    assert limit_on(session, "F-NEW", "cod", "2023-07-01", outlet="W1") == 70.0


def test_official_table_supersedes_recalled_rows_and_reload_changes_nothing(session: Session) -> None:
    build_world(session)
    official = pd.DataFrame([{"pollutant": "cod", "medium": "water", "facility_class": "new", "discharge": "direct",
                              "limit_value": "100", "limit_unit": "mg/L", "valid_from": "2011-10-01",
                              "source": "official text"}])
    rows = standards.normalise_limits(official, standard="GB 26451-2011", status="official")
    first = service.load_limits(session=session, rows=rows, username="regulator")
    assert (first["added"], first["superseded"]) == (1, 1)
    cod = service.applicable_limits(session=session, facility="F-NEW", on=dt.date(2020, 1, 1), pollutant="cod",
                                    outlet="W1")
    assert cod.limit_high.iloc[0] == 100.0 and cod.status.iloc[0] == "official"
    again = service.load_limits(session=session, rows=rows, username="regulator")
    assert (again["added"], again["unchanged"]) == (0, 1)
    assert service.load_reference_standards(session=session)["added"] == 0
    kept = service.limits_table(session=session, pollutant="cod", include_superseded=True)
    assert (kept.status == "recalled").sum() == 1 and kept.superseded_by_load.notna().sum() == 1


def test_a_bad_limit_table_names_row_field_and_rule() -> None:
    bad = pd.DataFrame([
        {"pollutant": "cod", "medium": "water", "limit_value": "70", "limit_unit": "mg/L"},
        {"pollutant": "unobtainium", "medium": "water", "limit_value": "1", "limit_unit": "mg/L"},
        {"pollutant": "cod", "medium": "water", "limit_value": "9-6", "limit_unit": "mg/L"},
        {"pollutant": "sulfur dioxide", "medium": "air", "limit_value": "300", "limit_unit": "furlongs"},
        {"pollutant": "cod", "medium": "water", "limit_value": "70", "limit_unit": "mg/L", "valid_from": "2020-13-01"},
    ])
    with pytest.raises(InputError) as e:
        standards.normalise_limits(bad, standard="X", status="local")
    found = {(p.row, p.field) for p in e.value.problems}
    assert found == {(2, "pollutant"), (3, "limit_value"), (4, "unit"), (5, "valid_from")}


def test_limits_convert_to_the_canonical_unit() -> None:
    rows = standards.normalise_limits(pd.DataFrame([
        {"pollutant": "total lead", "medium": "water", "limit_value": "200", "limit_unit": "µg/L"},
        {"pollutant": "SO2", "medium": "air", "limit_value": "0.3", "limit_unit": "g/m3"}]), standard="X",
        status="local")
    assert rows.limit_high.tolist() == pytest.approx([0.2, 300.0])
    assert rows.unit.tolist() == ["mg/L", "mg/m3"]


def test_a_limit_set_for_one_process_binds_only_outlets_of_that_process(session: Session) -> None:
    build_world(session)
    service.add_outlet(session=session, facility="F-NEW", code="A2", medium="air", discharge="stack",
                       process="metal_smelting")
    rows = standards.normalise_limits(pd.DataFrame([{
        "pollutant": "particulate matter", "medium": "air", "facility_class": "new", "discharge": "stack",
        "process": "metal_smelting", "limit_value": "30", "limit_unit": "mg/m3", "valid_from": "2011-10-01"}]),
        standard="GB 26451-2011", status="official")
    service.load_limits(session=session, rows=rows, username="regulator")
    assert limit_on(session, "F-NEW", "particulate_matter", "2020-01-01", outlet="A2") == 30.0
    assert limit_on(session, "F-NEW", "particulate_matter", "2020-01-01", outlet="A1") is None  # recalled 50 superseded
