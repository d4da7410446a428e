"""Technology export control: the catalogue and 1E902 checked at dates around each change, applications keep the
check made at their date (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from restrat.catalog.service import load_reference
from restrat.errors import InputError
from restrat.exports import service as exports
from restrat.registry import service as registry
from restrat.technology import control, service

D = dt.date


@pytest.fixture
def listed(session: Session) -> Session:
    load_reference(session=session)
    exports.seed_control_list(session=session)
    session.commit()
    return session


@pytest.mark.parametrize(("field", "on", "status", "items", "suspended"), [
    # 2023 catalogue revision, effective 2023-12-21: extraction/separation prohibited, mining restricted
    ("separation_extraction", D(2023, 12, 20), "not_listed", "", ""),
    ("separation_extraction", D(2023, 12, 21), "technology_prohibited", "TECH-CAT-2023-P;TECH-CAT-2023-R", ""),
    ("mining_beneficiation", D(2023, 12, 21), "technology_restricted", "TECH-CAT-2023-R", ""),
    # 1E902 (Announcement No. 62, dated by its issue 2025-10-09), suspended 2025-11-07 to 2026-11-10
    ("recycling", D(2025, 10, 8), "not_listed", "", ""),
    ("recycling", D(2025, 10, 9), "technology_licence", "1E902.a", ""),
    ("recycling", D(2025, 11, 6), "technology_licence", "1E902.a", ""),
    ("recycling", D(2025, 11, 7), "not_listed", "", "1E902.a"),
    ("recycling", D(2026, 11, 10), "not_listed", "", "1E902.a"),
    ("recycling", D(2026, 11, 11), "technology_licence", "1E902.a", ""),
    ("production_lines", D(2025, 10, 9), "technology_licence", "1E902.b", ""),
    ("mining_beneficiation", D(2025, 10, 9), "technology_licence", "1E902.a;TECH-CAT-2023-R", ""),
    ("magnets", D(2025, 11, 7), "technology_prohibited", "TECH-CAT-2023-P", "1E902.a"),
    ("phosphors", D(2025, 10, 9), "not_listed", "", ""),
])
def test_status_at_dates_around_each_change(listed: Session, field: str, on: dt.date, status: str, items: str,
                                            suspended: str) -> None:
    row = control.status_on(session=listed, fields=[field], on=on).iloc[0]
    assert (row.status, row["items"], row.suspended_items) == (status, items, suspended)


def test_undated_catalogue_items_are_shown_but_never_apply(listed: Session) -> None:
    row = control.status_on(session=listed, fields=["ionic_leaching"], on=D(2020, 1, 1)).iloc[0]
    assert row.status == "not_listed" and row.undated_items == "053301J"


def test_history_cuts_periods_at_every_change(listed: Session) -> None:
    h = control.history(session=listed, fields=["recycling"], until=D(2027, 1, 1))
    assert [(r.start, r.end, r.status) for r in h.itertuples()] == [
        (D(2023, 12, 21), D(2025, 10, 8), "not_listed"), (D(2025, 10, 9), D(2025, 11, 6), "technology_licence"),
        (D(2025, 11, 7), D(2026, 11, 10), "not_listed"), (D(2026, 11, 11), D(2027, 1, 1), "technology_licence")]


def test_application_keeps_the_check_made_at_its_date(listed: Session) -> None:
    registry.create_enterprise(session=listed, code="ENT", name="Ent", country="China")
    service.import_bundle(session=listed, bundle={"projects": [
        {"code": "R1", "title": "recycling", "field": "recycling", "lead_enterprise": "ENT",
         "start_date": "2020-01-01"}]})
    during = service.apply_for_export(session=listed, project="R1", recipient="Buyer", recipient_country="Japan",
                                      applied_on=D(2025, 10, 20), username="t")
    suspended = service.apply_for_export(session=listed, project="R1", recipient="Buyer", recipient_country="Japan",
                                         applied_on=D(2025, 12, 1), username="t")
    listed.commit()
    assert (during.control_status, during.items) == ("technology_licence", "1E902.a")
    assert (suspended.control_status, suspended.suspended_items) == ("not_listed", "1E902.a")
    assert service.applications_frame(session=listed).code.tolist() == [during.code, suspended.code]
    with pytest.raises(InputError):
        service.apply_for_export(session=listed, project="R1", recipient=" ", recipient_country="Japan",
                                 applied_on=D(2025, 12, 1), username="t")


def test_checking_without_a_loaded_control_list_says_so(session: Session) -> None:
    with pytest.raises(InputError) as e:
        control.status_on(session=session, fields=["magnets"], on=D(2025, 1, 1))
    assert "not loaded" in str(e.value)
