"""Vertical integration from the ledger: the share of a plant owner's input REO supplied from inside the owner,
following group membership (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from ledger_builders import registry_for_ledger, simple_chain
from sqlalchemy.orm import Session

from restrat.industry import service
from restrat.ledger import service as ledger
from restrat.registry import service as registry

# simple_chain's separation consumes 10,000 kg of rock concentrate (5,000 kg REO) and 2,000 kg of ionic (1,800).
ROCK_REO, IONIC_REO = 5.0, 1.8


def _vi(session: Session) -> dict[str, float]:
    out = service.vertical_integration(session=session)
    return dict(zip(out.owner, out.vi_pct, strict=True))


def test_separate_enterprises_have_no_integration(session: Session) -> None:
    registry_for_ledger(session)
    ledger.import_records(session=session, records=simple_chain(), username="t")
    out = service.vertical_integration(session=session)
    assert out.owner.tolist() == ["E-DOWN"] and out.input_t.iloc[0] == pytest.approx(ROCK_REO + IONIC_REO)
    assert out.vi_pct.iloc[0] == pytest.approx(0)


def test_a_plant_supplied_by_its_own_mine_is_partly_integrated(session: Session) -> None:
    registry_for_ledger(session, owner_of={"MINE-I": "E-DOWN"})
    ledger.import_records(session=session, records=simple_chain(), username="t")
    assert _vi(session)["E-DOWN"] == pytest.approx(100 * IONIC_REO / (ROCK_REO + IONIC_REO))


@pytest.mark.parametrize(("joins", "expected"), [(dt.date(2025, 1, 1), {"G": 100.0}),
                                                 (dt.date(2025, 1, 10), {"E-DOWN": 0.0})])
def test_a_group_holding_mine_and_plant_is_integrated_from_the_merger_date(session: Session, joins: dt.date,
                                                                            expected: dict[str, float]) -> None:
    registry_for_ledger(session)
    registry.create_group(session=session, code="G", name_en="Group")
    registry.join_group(session=session, enterprise="E-UP", group="G", valid_from=dt.date(2024, 1, 1))
    registry.join_group(session=session, enterprise="E-DOWN", group="G", valid_from=joins)
    ledger.import_records(session=session, records=simple_chain(), username="t")  # separation on 2025-01-04
    assert _vi(session) == pytest.approx(expected)
