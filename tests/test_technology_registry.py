"""Innovation registry: dated append-only records, one transaction per import, idempotent re-import, bad input
named by section, row, field and rule with nothing written (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from restrat.catalog.service import load_reference
from restrat.errors import InputError
from restrat.registry import service as registry
from restrat.technology import models, service


def base_registry(session: Session) -> None:
    load_reference(session=session)
    for code in ("ENT-A", "ENT-B"):
        registry.create_enterprise(session=session, code=code, name=f"{code} Co", country="China")
    registry.import_facilities(session=session, rows=[
        {"code": "FAC-A", "name": "Plant A", "enterprise": "ENT-A", "stage": "separation", "lat": 40.0, "lon": 110.0,
         "technology_level": 2, "start_date": "2010-01-01"}])


def bundle() -> dict[str, list[dict[str, Any]]]:
    return {
        "institutions": [{"code": "INST-1", "name": "Institute One", "kind": "institute", "country": "China"},
                         {"code": "UNI-1", "name": "University One", "kind": "university", "country": "China"}],
        "projects": [{"code": "P1", "title": "Separation process", "field": "separation_extraction",
                      "lead_enterprise": "ENT-A", "start_date": "2020-01-01", "end_date": "2023-12-31",
                      "partners": "INST-1;UNI-1"},
                     {"code": "P2", "title": "Magnet process", "field": "magnets", "lead_enterprise": "ENT-B",
                      "start_date": "2021-06-01", "partners": "ENT-A"}],
        "budgets": [{"project": "P1", "recorded_on": "2020-01-01", "budget_cny": 1_000_000},
                    {"project": "P1", "recorded_on": "2021-01-01", "budget_cny": 1_500_000}],
        "readiness": [{"project": "P1", "assessed_on": "2020-01-01", "level": 3},
                      {"project": "P1", "assessed_on": "2022-01-01", "level": 7}],
        "patents": [{"number": "PAT-1", "title": "Cascade", "field": "separation_extraction", "project": "P1",
                     "filed_on": "2021-03-01", "holders": "ENT-A;INST-1"}],
        "patent_status": [{"patent": "PAT-1", "status": "granted", "status_on": "2022-09-01"}],
        "industrialisation": [{"project": "P1", "stage": "pilot", "facility": "FAC-A", "reached_on": "2021-01-01"},
                              {"project": "P1", "stage": "production", "facility": "FAC-A",
                               "reached_on": "2022-01-01", "forms": "separated_oxide"}],
        "facility_levels": [{"facility": "FAC-A", "level_on": "2022-01-01", "level": 4}],
    }


def counts(session: Session) -> dict[str, int]:
    tables = (models.Institution, models.Project, models.ProjectPartner, models.Budget, models.Readiness,
              models.Patent, models.PatentHolder, models.PatentStatus, models.Industrialisation, models.FacilityLevel)
    return {t.__tablename__: session.scalar(select(func.count()).select_from(t)) for t in tables}


def test_import_records_every_section_and_reimport_changes_nothing(session: Session) -> None:
    base_registry(session)
    written = service.import_bundle(session=session, bundle=bundle(), username="tester")
    session.commit()
    assert written["projects"] == 2 and written["partners"] == 3 and written["patent_holders"] == 2
    assert written["patent_status"] == 2  # "filed" on the filing date plus "granted"
    before = counts(session)
    again = service.import_bundle(session=session, bundle=bundle(), username="tester")
    session.commit()
    assert set(again.values()) == {0} and counts(session) == before
    p = service.projects_frame(session=session).set_index("code")
    assert p.at["P1", "budget_cny"] == 1_500_000 and p.at["P1", "readiness"] == 7
    assert p.at["P1", "partners"] == "INST-1;UNI-1" and p.at["P2", "partners"] == "ENT-A"
    pats = service.patents_frame(session=session, on=dt.date(2022, 1, 1)).set_index("number")
    assert pats.at["PAT-1", "status"] == "filed" and pats.at["PAT-1", "holders"] == "ENT-A;INST-1"
    assert service.patents_frame(session=session).set_index("number").at["PAT-1", "status"] == "granted"
    levels = service.facility_levels(session=session)
    assert levels[["level_on", "level", "basis"]].values.tolist() == [[dt.date(2010, 1, 1), 2, "registry"],
                                                                      [dt.date(2022, 1, 1), 4, ""]]


def test_a_changed_record_is_refused_and_a_new_dated_record_is_added(session: Session) -> None:
    base_registry(session)
    service.import_bundle(session=session, bundle=bundle())
    session.commit()
    with pytest.raises(InputError) as e:
        service.import_bundle(session=session, bundle={"readiness": [
            {"project": "P1", "assessed_on": "2022-01-01", "level": 8}]})
    session.rollback()
    assert e.value.problems[0].field == "readiness.assessed_on" and "never overwritten" in e.value.problems[0].rule
    service.record(session=session, section="readiness", project="P1", assessed_on="2023-01-01", level=8)
    session.commit()
    levels = session.execute(text("SELECT level FROM tech_readiness ORDER BY assessed_on")).scalars().all()
    assert levels == [3, 7, 8]


@pytest.mark.parametrize(("section", "row", "field", "rule"), [
    ("projects", {"code": "PX", "title": "t", "field": "magnets", "lead_enterprise": "NOPE",
                  "start_date": "2020-01-01"}, "projects.lead_enterprise", "unknown enterprise"),
    ("projects", {"code": "PX", "title": "t", "field": "magnets", "lead_enterprise": "ENT-A",
                  "start_date": "2020-01-01", "partners": "INST-404"}, "projects.partners",
     "unknown enterprise or institute"),
    ("projects", {"code": "PX", "title": "t", "field": "magnets", "lead_enterprise": "ENT-A",
                  "start_date": "2020-01-01", "end_date": "2019-12-31"}, "projects.end_date",
     "must not be before start_date"),
    ("patents", {"number": "PAT-X", "title": "t", "field": "magnets", "project": "P404", "filed_on": "2021-01-01",
                 "holders": "ENT-A"}, "patents.project", "links to a project that does not exist"),
    ("readiness", {"project": "P1", "assessed_on": "2021-01-01", "level": 10}, "readiness.level",
     "must be a whole number from 1 to 9"),
    ("readiness", {"project": "P1", "assessed_on": "2021-01-01", "level": 0}, "readiness.level",
     "must be a whole number from 1 to 9"),
    ("readiness", {"project": "P1", "assessed_on": "2019-01-01", "level": 2}, "readiness.assessed_on",
     "must not be before the project's start_date"),
    ("industrialisation", {"project": "P1", "stage": "production", "facility": "FAC-404",
                           "reached_on": "2022-01-01"}, "industrialisation.facility", "unknown facility"),
    ("industrialisation", {"project": "P1", "stage": "production", "facility": "FAC-A", "reached_on": "2022-01-01",
                           "forms": "unobtainium"}, "industrialisation.forms", "unknown product form"),
    ("institutions", {"code": "I2", "name": "x", "kind": "lab", "country": "China"}, "institutions.kind",
     "must be one of"),
])
def test_bad_rows_name_section_row_field_and_rule_and_write_nothing(session: Session, section: str,
                                                                     row: dict[str, Any], field: str,
                                                                     rule: str) -> None:
    base_registry(session)
    service.import_bundle(session=session, bundle=bundle())
    session.commit()
    before = counts(session)
    good = {"code": "P9", "title": "fine", "field": "recycling", "lead_enterprise": "ENT-B",
            "start_date": "2024-01-01"}
    batch = {"projects": [good], section: [row]} if section != "projects" else {"projects": [good, row]}
    with pytest.raises(InputError) as e:
        service.import_bundle(session=session, bundle=batch)
    session.rollback()
    problem = e.value.problems[0]
    assert problem.field == field and rule in problem.rule
    assert problem.row == (2 if section == "projects" else 1)
    assert counts(session) == before  # not even the good project P9


def test_enterprise_writes_only_its_own_projects(session: Session) -> None:
    base_registry(session)
    service.import_bundle(session=session, bundle=bundle())
    session.commit()
    ent_a = session.scalar(text("SELECT id FROM enterprise WHERE code = 'ENT-A'"))
    mine = service.Viewer(role="enterprise", enterprise_id=ent_a)
    service.may_write(session=session, viewer=mine, bundle={"readiness": [{"project": "P1"}]})
    with pytest.raises(PermissionError):
        service.may_write(session=session, viewer=mine, bundle={"readiness": [{"project": "P2"}]})
    with pytest.raises(PermissionError):
        service.may_write(session=session, viewer=mine, bundle={"projects": [{"code": "P7", "lead_enterprise":
                                                                              "ENT-B"}]})
    with pytest.raises(PermissionError):
        service.may_write(session=session, viewer=service.Viewer(role="analyst"), bundle={"projects": []})


def test_enterprise_sees_projects_it_leads_or_joins_and_association_none(session: Session) -> None:
    base_registry(session)
    service.import_bundle(session=session, bundle=bundle())
    session.commit()
    ids = dict(session.execute(text("SELECT code, id FROM enterprise")).all())
    seen = {code: set(service.projects_frame(session=session, viewer=service.Viewer(role="enterprise",
                                                                                    enterprise_id=i)).code)
            for code, i in ids.items()}
    assert seen == {"ENT-A": {"P1", "P2"}, "ENT-B": {"P2"}}
    assert service.projects_frame(session=session, viewer=service.Viewer(role="association")).empty
    assert set(service.projects_frame(session=session, viewer=service.Viewer(role="analyst")).code) == {"P1", "P2"}
    with pytest.raises(PermissionError):
        service.get_project(session=session, code="P1", viewer=service.Viewer(role="enterprise",
                                                                              enterprise_id=ids["ENT-B"]))
