"""Production per facility and day follows the ledger through the import hook: totals match the ledger's batches,
re-importing adds nothing, and concentration on production sees the new events (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from ledger_builders import registry_for_ledger, simple_chain
from sqlalchemy import text
from sqlalchemy.orm import Session

from restrat.industry import service
from restrat.ledger import service as ledger


def _ledger_made_t(session: Session) -> float:
    return session.execute(text("SELECT SUM(b.reo_kg) FROM ledger_batch b JOIN ledger_event e ON e.id = b.event_id "
                                "WHERE e.kind IN ('extraction', 'processing')")).scalar_one() / 1000


def test_production_follows_imports_and_reimport_adds_nothing(session: Session) -> None:
    registry_for_ledger(session)
    ledger.import_records(session=session, records=simple_chain(), username="t")
    session.commit()
    first = service.concentration(session=session, measure="production", by=["stage"])
    assert first.total.sum() == pytest.approx(_ledger_made_t(session))
    ledger.import_records(session=session, records=simple_chain(), username="t")  # same events again
    session.commit()
    again = service.concentration(session=session, measure="production", by=["stage"])
    assert again.total.sum() == pytest.approx(first.total.sum())
    ledger.import_records(session=session, records=simple_chain("B-"), username="t")
    session.commit()
    more = service.concentration(session=session, measure="production", by=["stage"])
    assert more.total.sum() == pytest.approx(2 * first.total.sum())
    assert more.total.sum() == pytest.approx(_ledger_made_t(session))
