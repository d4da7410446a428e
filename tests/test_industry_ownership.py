"""Owners follow group membership over time: a merger changes concentration from its date (SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from restrat.catalog import service as catalog
from restrat.industry import service
from restrat.registry import service as registry


def test_attach_owners_picks_the_group_valid_on_the_day() -> None:
    members = pd.DataFrame({"enterprise_id": [1, 1], "group": ["OLD", "NEW"], "from_day": [100, 200],
                            "to_day": [199.0, float("nan")], "share_pct": [100.0, 100.0]})
    units = pd.DataFrame({"enterprise_id": [1, 1, 1, 2], "enterprise": ["E1", "E1", "E1", "E2"],
                          "day": [99, 199, 200, 150]})
    out = service.attach_owners(units, members)
    assert out.owner.tolist() == ["E1", "OLD", "NEW", "E2"]
    assert out.owner_kind.tolist() == ["enterprise", "group", "group", "enterprise"]


@pytest.fixture
def small_industry(session: Session) -> Session:
    catalog.load_reference(session=session)
    for code in ("G1", "G2"):
        registry.create_group(session=session, code=code, name_en=f"Group {code}")
    for i, cap in enumerate((6000, 3000, 1000), start=1):
        registry.create_enterprise(session=session, code=f"E{i}", name=f"Enterprise {i}", country="China")
        registry.create_facility(session=session, code=f"F{i}", name=f"Mine {i}", enterprise=f"E{i}", stage="mining",
                                 ore_type="ionic", lat=25.0 + i, lon=115.0, capacity_t_reo_per_year=cap,
                                 start_date="2010-01-01")
    registry.join_group(session=session, enterprise="E1", group="G1", valid_from=dt.date(2015, 1, 1))
    registry.join_group(session=session, enterprise="E2", group="G2", valid_from=dt.date(2015, 1, 1))
    registry.join_group(session=session, enterprise="E2", group="G1", valid_from=dt.date(2021, 12, 1))
    session.commit()
    return session


def test_capacity_concentration_changes_on_the_merger_date(small_industry: Session) -> None:
    before = service.concentration(session=small_industry, measure="capacity", by=[], on=dt.date(2021, 11, 30))
    after = service.concentration(session=small_industry, measure="capacity", by=[], on=dt.date(2021, 12, 1))
    assert before.hhi.iloc[0] == pytest.approx(60**2 + 30**2 + 10**2)
    assert after.hhi.iloc[0] == pytest.approx(90**2 + 10**2)
    assert after.leader.iloc[0] == "G1" and after.owners.iloc[0] == 2


def test_capacity_by_year_counts_owners_at_each_year_end(small_industry: Session) -> None:
    out = service.concentration(session=small_industry, measure="capacity", by=["year"], years=[2020, 2021])
    assert out.set_index("year").owners.to_dict() == {2020: 3, 2021: 2}


def test_merger_of_unknown_owner_names_the_owner(small_industry: Session) -> None:
    from restrat.errors import InputError

    with pytest.raises(InputError) as e:
        service.screen_merger(session=small_industry, owners=["G1", "NOPE"], into="X", measure="capacity")
    assert e.value.problems[0].field == "owners" and e.value.problems[0].value == "NOPE"
