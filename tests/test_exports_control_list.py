"""Control list as dated data and classification on the real list entries, at dates before, during and after each
measure and the November 2025 suspension; set-wise bulk classification agrees with one-by-one; bad input names the
row and field. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from restrat.catalog.service import load_reference
from restrat.errors import InputError
from restrat.exports import models, service
from restrat.store.db import session_factory

D = dt.date


@pytest.fixture
def listed(db: Engine) -> Iterator[Session]:
    """A session on a database holding the catalog and the seeded control list."""
    with session_factory(db)() as s:
        with s.begin():
            load_reference(session=s)
            service.seed_control_list(session=s)
        yield s


def _elements(s: Session, on: dt.date) -> set[str]:
    rows = service.applicable_on(session=s, on=on)
    return set(rows[rows.licence == "dual_use_licence"].element.dropna())


def test_seed_keeps_every_shipped_item_with_its_source_and_marks_inferred_codes(listed: Session) -> None:
    entries = listed.scalars(select(models.ControlEntry)).all()
    codes = {e.item_code: e for e in entries}
    assert {f"1C9{n:02d}.{s}" for n in range(2, 14) for s in "abc"} <= set(codes)
    assert all(e.source for e in entries)
    assert {c for c, e in codes.items() if e.code_status == "inferred"} == {
        f"1C9{n:02d}.{s}" for n in (5, 6, 7, 8, 13) for s in "abc"}
    assert codes["1C902.a"].hs_codes == "2805301910;3824999922;8486909110"


def test_announcement_18_applies_from_4_april_2025_and_was_never_suspended(listed: Session) -> None:
    ann18 = {"Sm", "Gd", "Tb", "Dy", "Lu", "Sc", "Y"}
    assert _elements(listed, D(2025, 4, 3)) == set()
    assert _elements(listed, D(2025, 4, 4)) == ann18
    assert ann18 <= _elements(listed, D(2025, 12, 1))
    assert ann18 <= _elements(listed, D(2026, 11, 29))


def test_announcement_57_items_apply_until_the_suspension_and_again_after_it_lapses(listed: Session) -> None:
    ann57 = {"Ho", "Er", "Tm", "Eu", "Yb"}
    assert not ann57 & _elements(listed, D(2025, 10, 8))
    assert ann57 <= _elements(listed, D(2025, 10, 9))  # issue date, the sources give no effective date
    assert ann57 <= _elements(listed, D(2025, 11, 6))
    assert not ann57 & _elements(listed, D(2025, 11, 7))  # suspended by Announcement No. 70
    assert not ann57 & _elements(listed, D(2026, 11, 10))  # last day of the suspension
    assert ann57 <= _elements(listed, D(2026, 11, 11))
    lapsed = {r["measure_id"]: r for r in service.lapsed_suspensions(session=listed, on=D(2026, 11, 29))}
    assert lapsed["MOFCOM-GAC-2025-57"]["applies_again_from"] == D(2026, 11, 11)
    assert lapsed["MOFCOM-GAC-2025-57"]["by_measure"] == "MOFCOM-GAC-2025-70"
    suspended = service.suspended_on(session=listed, on=D(2026, 1, 1))
    assert set(suspended.item_code) >= {"1C909.a", "1C913.c", "1E902.a"}


def test_export_quota_era_then_export_licence_without_volume_limit(listed: Session) -> None:
    def licences(on: dt.date) -> set[str]:
        return set(service.applicable_on(session=listed, on=on).licence)

    assert licences(D(2004, 12, 31)) == set()
    assert licences(D(2010, 6, 1)) == {"export_quota_licence"}
    assert licences(D(2014, 12, 31)) == {"export_quota_licence"}
    assert licences(D(2015, 1, 1)) == {"export_licence"}
    assert "technology_prohibited" in licences(D(2023, 12, 21))


def test_diff_between_dates_names_added_removed_and_the_events_in_between(listed: Session) -> None:
    d = service.diff(session=listed, start=D(2025, 10, 20), end=D(2025, 11, 20))
    assert set(d.change) == {"removed"}
    assert {f"1C9{n:02d}.{s}" for n in (9, 10, 11, 12, 13) for s in "abc"} <= set(d.item_code)
    added = service.diff(session=listed, start=D(2025, 4, 3), end=D(2025, 4, 4))
    assert set(added.change) == {"added"} and len(added) == 21
    # Suspended and back again: no net change, but the events say what happened.
    assert service.diff(session=listed, start=D(2025, 11, 1), end=D(2026, 11, 29)).empty
    events = service.events_between(session=listed, start=D(2025, 11, 1), end=D(2026, 11, 29))
    assert {(e["date"], e["event"]) for e in events} >= {(D(2025, 11, 7), "suspended"),
                                                          (D(2026, 11, 11), "suspension lapses")}
    with pytest.raises(InputError, match="end"):
        service.diff(session=listed, start=D(2026, 1, 2), end=D(2026, 1, 1))


def test_timeline_cuts_suspended_measures_into_periods(listed: Session) -> None:
    periods = service.timeline(session=listed)
    ho = periods[periods.item_code == "1C909.a"].sort_values("start")
    assert list(ho.state) == ["in_force", "suspended", "in_force"]
    assert list(ho.start) == [D(2025, 10, 9), D(2025, 11, 7), D(2026, 11, 11)]
    assert ho.end.iloc[1] == D(2026, 11, 10) and ho.end.iloc[2] is None


@pytest.mark.parametrize(("on", "items", "licence"), [
    (D(2024, 6, 1), set(), ""),                                   # magnets were not on the list
    (D(2025, 4, 4), {"1C904.a", "1C905.a"}, "dual_use_licence"),  # Tb and Dy in the magnet: Announcement 18
    (D(2026, 11, 29), {"1C904.a", "1C905.a"}, "dual_use_licence"),
])
def test_a_tb_dy_ndfeb_magnet_is_classified_by_date(listed: Session, on: dt.date, items: set[str],
                                                    licence: str) -> None:
    r = service.classify_product(session=listed, form="magnet_ndfeb", hs_code="8505111000",
                                 composition="Nd:0.7;Pr:0.24;Dy:0.05;Tb:0.01", on=on)
    assert {i["item_code"] for i in r["items"]} == items
    assert r["licence"] == licence and r["controlled"] == bool(items)
    assert all("any content counts" in i["reason"] and "magnet_ndfeb" in i["reason"] for i in r["items"])


def test_holmium_oxide_before_during_and_after_the_suspension(listed: Session) -> None:
    def classify(on: dt.date) -> dict:
        return service.classify_product(session=listed, form="separated_oxide", hs_code="2846901999",
                                        composition="Ho:1", on=on)

    assert {i["item_code"] for i in classify(D(2025, 10, 20))["items"]} == {"1C909.b", "EXPORT-LICENCE"}
    during = classify(D(2026, 3, 1))
    assert {i["item_code"] for i in during["items"]} == {"EXPORT-LICENCE"}
    assert {i["item_code"] for i in during["suspended"]} == {"1C909.b"}
    after = classify(D(2026, 11, 29))
    assert after["licence"] == "dual_use_licence"
    assert any("issue date assumed" in i["reason"] for i in after["items"])


def test_single_element_hs_line_supplies_the_composition_and_inferred_codes_are_marked(listed: Session) -> None:
    r = service.classify_product(session=listed, form="separated_oxide", hs_code="2846901930", on=D(2025, 6, 1))
    assert {i["item_code"] for i in r["items"]} == {"1C903.b", "EXPORT-LICENCE"}  # Gd oxide line
    dy = service.classify_product(session=listed, form="metal", composition="Dy:1", on=D(2025, 6, 1))
    assert any("[item code inferred]" in i["reason"] for i in dy["items"] if i["item_code"] == "1C905.a")


def test_technology_is_prohibited_by_the_2023_catalogue(listed: Session) -> None:
    r = service.classify_product(session=listed, form="technology", on=D(2024, 1, 1))
    assert r["licence"] == "technology_prohibited"
    assert service.classify_product(session=listed, form="technology", on=D(2023, 12, 20))["items"] == []


def test_bulk_classification_matches_one_by_one_on_random_lines(listed: Session) -> None:
    rng = np.random.default_rng(5)
    forms = ["magnet_ndfeb", "separated_oxide", "metal", "separated_salt", "catalyst", "alloy", "phosphor"]
    elements = ["Nd", "Pr", "Dy", "Tb", "Ho", "Eu", "La", "Ce", "Y", "Sm"]
    days = [D(2014, 1, 1), D(2020, 1, 1), D(2025, 5, 1), D(2025, 10, 20), D(2026, 5, 1), D(2026, 11, 29)]
    lines = []
    for i in range(60):
        chosen = rng.choice(elements, size=int(rng.integers(1, 4)), replace=False)
        shares = rng.dirichlet(np.ones(len(chosen))) * 0.999
        lines.append({"line": f"L{i}", "form": rng.choice(forms), "hs_code": "",
                      "composition": ";".join(f"{e}:{s:.4f}" for e, s in zip(chosen, shares, strict=True)),
                      "date": days[int(rng.integers(len(days)))].isoformat()})
    bulk = service.classify(session=listed, lines=pd.DataFrame(lines)).lines.set_index("line")
    for line in lines:
        one = service.classify_product(session=listed, form=line["form"], composition=line["composition"],
                                       on=D.fromisoformat(line["date"]))
        assert bulk.loc[line["line"], "licence"] == one["licence"], line
        assert set(filter(None, bulk.loc[line["line"], "items"].split(";"))) == {i["item_code"] for i in one["items"]}


def test_bad_lines_name_row_field_and_rule_and_nothing_is_classified(listed: Session) -> None:
    lines = pd.DataFrame([
        {"form": "magnet_ndfeb", "hs_code": "8505111000", "composition": "Nd:0.7"},
        {"form": "magnet", "hs_code": "8505111000", "composition": ""},
        {"form": "metal", "hs_code": "1234567890", "composition": ""},
        {"form": "metal", "hs_code": "12a", "composition": ""},
        {"form": "metal", "hs_code": "", "composition": "Xx:0.5"},
        {"form": "metal", "hs_code": "", "composition": "Nd:0.8;Pr:0.4"},
        {"form": "metal", "hs_code": "", "composition": "Nd:1.5"},
    ])
    with pytest.raises(InputError) as err:
        service.classify(session=listed, lines=lines, on=D(2026, 1, 1))
    found = {(p.row, p.field) for p in err.value.problems}
    assert found == {(2, "form"), (3, "hs_code"), (4, "hs_code"), (5, "composition"), (6, "composition"),
                     (7, "composition")}
    assert any("unknown HS code" in p.rule for p in err.value.problems)
    with pytest.raises(InputError, match="date"):
        service.classify(session=listed, lines=lines.head(1), on=None)


def test_reseeding_replaces_the_list_instead_of_adding_to_it(listed: Session) -> None:
    before = listed.scalar(select(func.count(models.ControlEntry.id)))
    service.seed_control_list(session=listed)
    listed.commit()
    assert listed.scalar(select(func.count(models.ControlEntry.id))) == before
    assert listed.scalar(select(func.count(models.ControlListVersion.id))) == 1
