"""Quota plans and allocations: the real history as loaded, the allocation tree with its totals, dated changes,
and bad input that names row, field and rule and writes nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from ledger_builders import registry_for_ledger
from sqlalchemy import Engine, func, select

from restrat.catalog import reference
from restrat.errors import InputError
from restrat.quota import models, service
from restrat.registry import service as registry
from restrat.store.db import session_factory


def test_real_history_rock_and_ionic_add_up_to_the_published_national_totals() -> None:
    nat = reference.read("cn_quota_national.csv")
    nat = nat[nat["status"].isin(("seen", "derived")) & (nat["tonnes_reo"] != "")]
    nat["t"] = nat["tonnes_reo"].astype(float)
    wide = nat.pivot_table(index=["year", "kind", "batch"], columns="ore_type", values="t", aggfunc="sum").dropna()
    gap = (wide["rock"] + wide["ionic"] - wide["total"]).abs()
    # Every year and batch with all three figures adds up, except the 40 t the source itself shows for 2022 batch 2
    # (rock 101,500 + ionic 7,660 = 109,160 against 109,200; noted in the data and in REGULATORY.md).
    assert len(wide) >= 14
    assert gap.drop(("2022", "mining", "2")).max() == 0 and gap[("2022", "mining", "2")] == 40


def test_published_group_allocations_stay_within_their_national_batch(demo_db: Engine) -> None:
    with session_factory(demo_db)() as s:
        groups = service.group_history(session=s)
        nat = pd.DataFrame(service.national_history(session=s))
    g = groups[groups["tonnes_reo"].notna() & groups["group_id"].notna() & (groups["ore_type"] == "total")]
    per = g.groupby(["year", "kind", "batch"])["tonnes_reo"].sum()
    batches = nat[(nat["ore_type"] == "total") & nat["tonnes_reo"].notna()].set_index(
        ["year", "kind", "batch"])["tonnes_reo"]
    both = per.to_frame("groups").join(batches.rename("national"), how="inner")
    assert len(both) >= 4 and (both["groups"] <= both["national"]).all()
    assert len(nat) == len(reference.read("cn_quota_national.csv"))


@pytest.fixture
def planned(db: Engine) -> Engine:
    """The small registry with a group over the mines' enterprise, and a 2025 mining plan of 100 t rock, 20 t
    ionic in batch 1."""
    with session_factory(db)() as s, s.begin():
        registry_for_ledger(s)
        registry.create_group(session=s, code="G1", name_en="Group One")
        registry.join_group(session=s, enterprise="E-UP", group="G1", valid_from=dt.date(2020, 1, 1))
        for ore, t in (("rock", 100), ("ionic", 20)):
            service.issue_plan(session=s, year=2025, kind="mining", ore_type=ore, batch="1", tonnes_reo=t,
                               issued_on=dt.date(2025, 1, 5), username="test")
    return db


TREE = [
    {"code": "G1-R", "year": "2025", "kind": "mining", "ore_type": "rock", "batch": "1", "level": "group",
     "holder": "G1", "tonnes_reo": "80"},
    {"code": "E-UP-R", "year": "2025", "kind": "mining", "ore_type": "rock", "batch": "1", "level": "enterprise",
     "holder": "E-UP", "tonnes_reo": "70", "parent": "G1-R"},
    {"code": "MINE-R-1", "year": "2025", "kind": "mining", "ore_type": "rock", "batch": "1", "level": "facility",
     "holder": "MINE-R", "tonnes_reo": "60", "parent": "E-UP-R"},
    {"code": "MINE-I-1", "year": "2025", "kind": "mining", "ore_type": "ionic", "batch": "1", "level": "facility",
     "holder": "MINE-I", "tonnes_reo": "15"},
]


def _count(engine: Engine) -> int:
    with session_factory(engine)() as s:
        return int(s.scalar(select(func.count()).select_from(models.QuotaAllocation)))


def _import(engine: Engine, rows: list[dict]) -> dict[str, int]:
    with session_factory(engine)() as s, s.begin():
        return service.import_allocations(session=s, rows=rows, username="test")


def test_allocations_go_down_the_tree_and_reimporting_changes_nothing(planned: Engine) -> None:
    assert _import(planned, TREE) == {"allocations_new": 4, "allocations_skipped": 0}
    assert _import(planned, TREE) == {"allocations_new": 0, "allocations_skipped": 4}
    with session_factory(planned)() as s:
        df = service.allocations(session=s, year=2025).set_index("code")
    assert df.loc["MINE-R-1", "parent"] == "E-UP-R" and df.loc["E-UP-R", "parent"] == "G1-R"
    assert df.loc["MINE-R-1", ["level", "facility", "enterprise"]].tolist() == ["facility", "MINE-R", "E-UP"]
    assert df["in_force_t_reo"].sum() == 225


@pytest.mark.parametrize(("change", "row", "field", "rule"), [
    ({"code": "MINE-R-1", "tonnes_reo": "75"}, 3, "tonnes_reo", "allocations under E-UP-R exceed it by 5.0"),
    ({"code": "G1-R", "tonnes_reo": "120"}, 1, "tonnes_reo", "beyond the plan's 100.0 t"),
    ({"code": "MINE-I-1", "tonnes_reo": "-1"}, 4, "tonnes_reo", "must be zero or more"),
    ({"code": "MINE-I-1", "tonnes_reo": "lots"}, 4, "tonnes_reo", "must be a number"),
    ({"code": "MINE-I-1", "ore_type": "rock", "parent": ""}, 4, "ore_type", "does not match the mine's ore type"),
    ({"code": "MINE-I-1", "holder": "SEP"}, 4, "holder", "facility's stage does not take this kind of quota"),
    ({"code": "MINE-I-1", "holder": "NOPE"}, 4, "holder", "no facility with this code"),
    ({"code": "MINE-I-1", "batch": "2"}, 4, "batch", "no plan issued for 2025 mining batch 2"),
    ({"code": "MINE-I-1", "year": "20x5"}, 4, "year", "must be a year"),
])
def test_bad_allocations_name_row_field_and_rule_and_write_nothing(planned: Engine, change: dict, row: int,
                                                                   field: str, rule: str) -> None:
    rows = [dict(r) for r in TREE]
    target = next(r for r in rows if r["code"] == change["code"])
    target.update(change)
    with pytest.raises(InputError) as e:
        _import(planned, rows)
    assert any(p.row == row and p.field == field and rule in p.rule for p in e.value.problems), e.value.lines()
    assert _count(planned) == 0


def test_allocation_to_a_closed_facility_is_refused(planned: Engine) -> None:
    with session_factory(planned)() as s, s.begin():
        registry.get_facility(session=s, code="MINE-I").end_date = dt.date(2024, 6, 30)
    with pytest.raises(InputError) as e:
        _import(planned, TREE)
    assert [(p.row, p.field) for p in e.value.problems] == [(4, "holder")]
    assert "facility is closed" in e.value.problems[0].rule and _count(planned) == 0


def test_an_allocation_recorded_with_other_content_must_change_by_a_dated_record(planned: Engine) -> None:
    _import(planned, TREE)
    with pytest.raises(InputError, match="record a dated change instead"):
        _import(planned, [{**TREE[3], "tonnes_reo": "12"}])


def test_a_dated_change_applies_from_its_date_and_keeps_the_earlier_amount(planned: Engine) -> None:
    _import(planned, TREE)
    with session_factory(planned)() as s, s.begin():
        service.record_change(session=s, target="allocation", key="MINE-I-1", tonnes_reo=18,
                              effective_on=dt.date(2025, 7, 1), reason="batch 2 top-up", username="test")
        service.record_change(session=s, target="plan", key="2025/mining/rock/1", tonnes_reo=90,
                              effective_on=dt.date(2025, 3, 1), reason="cut", username="test")
    with session_factory(planned)() as s:
        def amount(day: dt.date) -> float:
            df = service.allocations(session=s, year=2025, on=day).set_index("code")
            return float(df.loc["MINE-I-1", "in_force_t_reo"])

        assert (amount(dt.date(2025, 6, 30)), amount(dt.date(2025, 7, 1))) == (15, 18)
        pl = service.plans(session=s, on=dt.date(2025, 2, 1)).set_index("ore_type")
        assert pl.loc["rock", ["issued_t_reo", "in_force_t_reo", "changes"]].tolist() == [100, 100, 1]
        later = service.plans(session=s, on=dt.date(2025, 3, 1)).set_index("ore_type")
        assert later.loc["rock", "in_force_t_reo"] == 90


@pytest.mark.parametrize(("key", "tonnes", "rule"), [
    ("MINE-R-1", 71, "with its siblings it would exceed E-UP-R"),
    ("E-UP-R", 50, "below the 60.0 t REO already allocated under E-UP-R"),
    ("G1-R", 101, "allocations would exceed the 2025 mining plan (rock: 100.0 t REO)"),
    ("plan:2025/mining/rock/1", 79, "below the 80.0 t REO already allocated under this plan"),
])
def test_a_change_that_breaks_the_tree_or_the_plan_is_refused(planned: Engine, key: str, tonnes: float,
                                                              rule: str) -> None:
    _import(planned, TREE)
    with pytest.raises(InputError, match=rule.replace("(", r"\(").replace(")", r"\)")), \
            session_factory(planned)() as s, s.begin():
        target, _, key = key.rpartition(":")
        service.record_change(session=s, target=target or "allocation", key=key, tonnes_reo=tonnes,
                              effective_on=dt.date(2025, 6, 1), reason="test", username="test")


@pytest.mark.parametrize(("fields", "field"), [
    ({"tonnes_reo": -5}, "tonnes_reo"), ({"tonnes_reo": "many"}, "tonnes_reo"), ({"kind": "smelting"}, "kind"),
    ({"ore_type": "rock", "kind": "smelting_separation"}, "ore_type"), ({"batch": "1"}, "batch"),
])
def test_bad_plans_are_refused(planned: Engine, fields: dict, field: str) -> None:
    args = {"year": 2025, "kind": "mining", "ore_type": "rock", "batch": "9", "tonnes_reo": 10} | fields
    with pytest.raises(InputError) as e, session_factory(planned)() as s, s.begin():
        service.issue_plan(session=s, issued_on=dt.date(2025, 1, 1), username="test", **args)
    assert e.value.problems[0].field == field


def test_facility_allocations_sum_per_group_of_their_enterprise_on_the_first_of_january(planned: Engine) -> None:
    _import(planned, TREE)
    with session_factory(planned)() as s:
        by = service.allocations_by_group(session=s, kind="mining")
    # Both mines belong to E-UP, a member of Group One since 2020: 60 t rock + 15 t ionic at facility level.
    assert by[["year", "group_name_en", "in_force_t_reo"]].values.tolist() == [[2025, "Group One", 75.0]]
