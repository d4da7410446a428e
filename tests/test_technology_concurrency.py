"""Concurrent writers of the innovation registry lose nothing and duplicate nothing (real threads, SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import Engine, text
from test_technology_registry import base_registry, bundle

from restrat.exports import service as exports
from restrat.store.db import session_factory
from restrat.technology import service

WRITERS = 4


def test_concurrent_imports_and_applications_lose_and_duplicate_nothing(db: Engine) -> None:
    factory = session_factory(db)
    with factory() as s, s.begin():
        base_registry(s)
        exports.seed_control_list(session=s)
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def write(i: int) -> None:
        try:
            mine = {**bundle(), "budgets": [*bundle()["budgets"], {"project": "P2", "recorded_on": f"2024-0{i + 1}-01",
                                                                    "budget_cny": 1000 * (i + 1)}]}
            start.wait()
            with factory() as s, s.begin():
                service.import_bundle(session=s, bundle=mine, username=f"writer-{i}")
            with factory() as s, s.begin():
                service.apply_for_export(session=s, project="P1", recipient=f"R{i}", recipient_country="Japan",
                                         applied_on=dt.date(2025, 10, 20), username=f"writer-{i}")
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with factory() as s:
        count = {t: s.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in (
            "tech_project", "tech_project_partner", "tech_readiness", "tech_patent", "tech_patent_holder",
            "tech_industrialisation", "tech_budget")}
        codes = s.execute(text("SELECT code FROM tech_export_application")).scalars().all()
    assert count == {"tech_project": 2, "tech_project_partner": 3, "tech_readiness": 2, "tech_patent": 1,
                     "tech_patent_holder": 2, "tech_industrialisation": 2, "tech_budget": 2 + WRITERS}
    assert len(set(codes)) == WRITERS and all(c.startswith("TEA-2025-") for c in codes)
