"""Data-driven list review: indicators come from the shipped data, scores are bounded and ranked, a proposal is a
dated diff against the list in force, the regulator's acceptance makes a new list version from that date and a
rejection changes nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from restrat.catalog.service import load_reference
from restrat.errors import Forbidden, InputError
from restrat.exports import review, service
from restrat.store.db import session_factory

D = dt.date


@pytest.fixture
def listed(db: Engine) -> Iterator[Session]:
    with session_factory(db)() as s:
        with s.begin():
            load_reference(session=s)
            service.seed_control_list(session=s)
        yield s


def test_indicators_are_read_from_the_shipped_data() -> None:
    raw = review.indicators()
    assert raw.loc["Nd", "demand_share"] == 36.0 and raw.loc["Tb", "crustal_abundance_mg_per_kg"] == 1.2
    assert raw.loc["Dy", "demand_growth"] > 0.03  # IEA STEPS clean-tech demand 2024 -> 2040
    assert raw.loc["Dy", "military"] == 1.0 and raw.loc["Nd", "military"] == 0.0


def test_scores_are_bounded_ranked_and_follow_data_coverage() -> None:
    s = review.scores()
    assert s.score.between(0, 1).all() and list(s["rank"]) == list(range(1, len(s) + 1))
    assert s.score.is_monotonic_decreasing
    oxides = s[s.sub_item == "b"].set_index("element")
    assert oxides.loc["Tb", "score"] > oxides.loc["Nd", "score"] > oxides.loc["La", "score"]
    assert oxides.loc["Nd", "coverage"] == pytest.approx(1.0) and oxides.loc["Ho", "coverage"] < 0.6
    heavier = review.scores(review.ReviewParams(weights={"demand_growth": 0, "demand_share": 1.0, "scarcity": 0,
                                                         "price": 0, "military": 0}))
    top = heavier[heavier.sub_item == "b"].iloc[0]
    assert top.element == "Nd"  # the largest demand share wins when only demand counts


def test_accepting_a_proposal_makes_a_new_list_version_from_its_date(listed: Session) -> None:
    day = D(2027, 1, 1)
    params = review.ReviewParams(add_at=0.45, remove_below=0.35)
    p = review.propose(session=listed, effective_date=day, username="analyst", params=params)
    changes = {(c.action, c.element, c.sub_item) for c in review.changes(session=listed, proposal_id=p.id)}
    assert ("add", "Nd", "a") in changes and ("remove", "Y", "b") in changes
    before = service.applicable_on(session=listed, on=day - dt.timedelta(days=1))
    with pytest.raises(Forbidden):
        review.decide(session=listed, proposal_id=p.id, accept=True, username="x", role="analyst", reason="go")
    with pytest.raises(InputError, match="reason"):
        review.decide(session=listed, proposal_id=p.id, accept=True, username="r", role="regulator", reason=" ")
    review.decide(session=listed, proposal_id=p.id, accept=True, username="r", role="regulator", reason="data")
    listed.commit()
    still = service.applicable_on(session=listed, on=day - dt.timedelta(days=1))
    assert list(still.item_code) == list(before.item_code)  # the day before is untouched
    after = service.applicable_on(session=listed, on=day)
    assert "Nd" in set(after.element) and "Y" not in set(after.element)
    diff = service.diff(session=listed, start=day - dt.timedelta(days=1), end=day)
    assert {"added", "removed"} == set(diff.change)
    assert review.versions(session=listed)[-1]["effective_date"] == day
    with pytest.raises(InputError, match="already accepted"):
        review.decide(session=listed, proposal_id=p.id, accept=False, username="r", role="regulator", reason="x")


def test_a_rejected_proposal_leaves_the_list_as_it_was(listed: Session) -> None:
    day = D(2027, 1, 1)
    p = review.propose(session=listed, effective_date=day, username="analyst")
    before = service.applicable_on(session=listed, on=day)
    review.decide(session=listed, proposal_id=p.id, accept=False, username="r", role="regulator", reason="not now")
    listed.commit()
    assert list(service.applicable_on(session=listed, on=day).item_code) == list(before.item_code)
    assert review.get_proposal(session=listed, proposal_id=p.id).version_id is None
