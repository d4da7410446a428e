"""Registry: demo seed, facility imports (validated, atomic, idempotent), ownership over time."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from restrat.errors import InputError, NotFound
from restrat.registry import models
from restrat.registry import service as registry
from restrat.store.db import session_factory


def _count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model.__table__)).scalar_one()


def test_demo_seed_holds_real_groups_thirdparty_and_illustrative_facilities(demo_db) -> None:  # type: ignore[no-untyped-def]
    with session_factory(demo_db)() as s:
        counts = registry.facility_counts(session=s)
        assert counts["data_status"]["thirdparty_approx"] == 31
        assert counts["data_status"]["illustrative"] > 50
        assert {"mining", "separation", "metal", "material"} <= set(counts["stage"])
        bayan = registry.list_facilities(session=s, q="Bayan Obo")[0]
        assert bayan.stage == "mining" and bayan.ore_type == "rock" and bayan.data_status == "thirdparty_approx"
        weld = registry.list_facilities(session=s, q="Mount Weld")[0]
        assert weld.capacity_t_reo_per_year == 22_000


def test_demo_seed_is_deterministic_for_a_seed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from restrat.demo.service import illustrative_facilities

    a, b = illustrative_facilities(seed=3), illustrative_facilities(seed=3)
    assert a.equals(b)
    assert not a.equals(illustrative_facilities(seed=4))
    assert a.name.str.contains("illustrative").all()


def test_merger_into_creg_changes_group_membership_from_its_date(demo_db) -> None:  # type: ignore[no-untyped-def]
    with session_factory(demo_db)() as s:
        southern = registry.members(session=s, group="SOUTHERN_RE", on=dt.date(2020, 6, 1))
        assert southern, "the demo gives China Southern RE members before the merger"
        code = southern[0].code
        assert registry.group_of(session=s, enterprise=code, on=dt.date(2020, 6, 1)).code == "SOUTHERN_RE"
        assert registry.group_of(session=s, enterprise=code, on=dt.date(2022, 6, 1)).code == "CREG"
        assert registry.members(session=s, group="SOUTHERN_RE", on=dt.date(2022, 6, 1)) == []


def _enterprise(s) -> None:  # type: ignore[no-untyped-def]
    from restrat.catalog.service import load_reference

    load_reference(session=s)
    registry.create_enterprise(session=s, code="E1", name="Plant Co", country="China")


GOOD = {"code": "F1", "name": "Mine one", "enterprise": "E1", "stage": "mining", "ore_type": "ionic",
        "lat": "25.8", "lon": "114.9", "capacity_t_reo_per_year": "1200"}


def test_facility_import_writes_all_rows_and_reimport_changes_nothing(session, db) -> None:  # type: ignore[no-untyped-def]
    _enterprise(session)
    rows = [GOOD, {**GOOD, "code": "F2", "name": "Plant two", "stage": "separation", "ore_type": ""}]
    registry.import_facilities(session=session, rows=rows)
    session.commit()
    registry.import_facilities(session=session, rows=rows)
    session.commit()
    assert _count(db, models.Facility) == 2
    plant = registry.get_facility(session=session, code="F2")
    assert plant.custody_model == "mass_balance"  # separation plants blend: mass-balance node by default
    assert registry.get_facility(session=session, code="F1").custody_model == "identity_preserved"


def test_bad_facility_rows_are_all_reported_and_nothing_is_written(session, db) -> None:  # type: ignore[no-untyped-def]
    _enterprise(session)
    session.commit()
    rows = [GOOD,
            {**GOOD, "code": "F2", "capacity_t_reo_per_year": "-5"},
            {**GOOD, "code": "F3", "lat": "95"},
            {**GOOD, "code": "F4", "enterprise": "NOPE"},
            {**GOOD, "code": "F5", "stage": "smelting"},
            {**GOOD, "code": "F1"}]
    with pytest.raises(InputError) as info:
        registry.import_facilities(session=session, rows=rows, source_name="f.csv")
    session.rollback()
    found = {(p.row, p.field) for p in info.value.problems}
    assert found == {(2, "capacity_t_reo_per_year"), (3, "lat"), (4, "enterprise"), (5, "stage"), (6, "code")}
    assert "f.csv: row 2, field 'capacity_t_reo_per_year'" in info.value.lines()[0]
    assert _count(db, models.Facility) == 0


def test_single_facility_errors_name_the_field_without_a_row(session) -> None:  # type: ignore[no-untyped-def]
    _enterprise(session)
    with pytest.raises(InputError) as info:
        registry.create_facility(session=session, **{**GOOD, "lon": "200"})
    assert info.value.problems[0].row is None
    assert info.value.problems[0].field == "lon"


def test_unknown_enterprise_lookup_raises_not_found(session) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound):
        registry.get_enterprise(session=session, code="missing")


def test_duplicate_enterprise_code_is_refused(session) -> None:  # type: ignore[no-untyped-def]
    _enterprise(session)
    with pytest.raises(InputError, match="exists"):
        registry.create_enterprise(session=session, code="E1", name="Again", country="China")


def test_joining_a_group_closes_the_previous_membership(session) -> None:  # type: ignore[no-untyped-def]
    _enterprise(session)
    registry.create_group(session=session, code="A", name_en="Group A")
    registry.create_group(session=session, code="B", name_en="Group B")
    registry.join_group(session=session, enterprise="E1", group="A", valid_from=dt.date(2015, 1, 1))
    registry.join_group(session=session, enterprise="E1", group="B", valid_from=dt.date(2020, 1, 1))
    assert registry.group_of(session=session, enterprise="E1", on=dt.date(2019, 12, 31)).code == "A"
    assert registry.group_of(session=session, enterprise="E1", on=dt.date(2020, 1, 1)).code == "B"
    with pytest.raises(InputError, match="share_pct"):
        registry.join_group(session=session, enterprise="E1", group="A", valid_from=dt.date(2021, 1, 1),
                            share_pct=150)
