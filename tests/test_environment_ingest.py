"""Monitoring ingestion through workspace and checks into the official record: one transaction per file (a bad row
writes nothing), idempotent re-import, conflicts refused, units and time zones normalised, the three file formats,
workspace then promote, enterprise scope, substitution of gaps by dated rules, and evaluation over the record."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from environment_builders import build_world, hourly
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from restrat.environment import service
from restrat.environment.models import MonitoringValue, Submission, WorkspaceValue
from restrat.errors import InputError
from restrat.registry.models import Enterprise

NOW = dt.datetime(2026, 6, 1)


def _count(session: Session, model: type = MonitoringValue) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _submit(session: Session, raw: pd.DataFrame, **kw: object) -> dict:
    return service.submit(session=session, raw=raw, source_name="test", channel="api", username="t", now=NOW, **kw)


def test_a_file_with_one_bad_row_writes_nothing_and_names_row_field_rule(session: Session, tmp_path: Path) -> None:
    build_world(session)
    rows = hourly("F-NEW", "W1", "cod", [30.0, 31.0, 32.0, 33.0])
    rows.loc[2, "unit"] = "furlongs"
    path = tmp_path / "values.csv"
    rows.to_csv(path, index=False)
    with pytest.raises(InputError) as e:
        service.ingest_file(session=session, path=path, username="t")
    (problem,) = e.value.problems
    assert (problem.row, problem.field, problem.value) == (3, "unit", "furlongs") and "C4 unit" in problem.rule
    assert _count(session) == 0 and _count(session, Submission) == 0 and _count(session, WorkspaceValue) == 0


@pytest.mark.parametrize(("column", "value", "field", "check"), [
    ("pollutant", "unobtainium", "pollutant", "C3"), ("outlet", "NOPE", "outlet", "C2"),
    ("time", "2026-03-01T00:30:00", "time", "C5"), ("time", "2027-01-01T00:00:00", "time", "C5"),
    ("value", "-1", "value", "C6"), ("value", "lots", "value", "C6"), ("period", "fortnight", "period", "C7"),
])
def test_each_check_refuses_its_kind_of_bad_row(session: Session, column: str, value: str, field: str,
                                                 check: str) -> None:
    build_world(session)
    rows = hourly("F-NEW", "W1", "cod", [30.0, 31.0]).astype(object)
    rows.loc[1, column] = value
    with pytest.raises(InputError) as e:
        _submit(session, rows)
    assert any(p.row == 2 and p.field == field and check in p.rule for p in e.value.problems)
    assert _count(session) == 0


def test_reimporting_is_idempotent_and_a_changed_value_is_refused(session: Session) -> None:
    build_world(session)
    rows = hourly("F-NEW", "W1", "cod", [30.0, 31.0, 32.0])
    first = _submit(session, rows)
    again = _submit(session, rows)
    assert (first["rows_new"], again["rows_new"], again["rows_duplicate"]) == (3, 0, 3)
    assert _count(session) == 3
    changed = rows.assign(value=[30.0, 99.0, 32.0])
    with pytest.raises(InputError) as e:
        _submit(session, changed)
    assert e.value.problems[0].row == 2 and "C9 record" in e.value.problems[0].rule
    twice = pd.concat([rows, rows.assign(value=[30.0, 31.5, 32.0])], ignore_index=True)
    with pytest.raises(InputError) as e:
        _submit(session, twice)
    assert "C8 duplicates" in e.value.problems[0].rule


def test_units_and_time_offsets_are_normalised(session: Session) -> None:
    build_world(session)
    rows = pd.DataFrame({"facility": "F-NEW", "outlet": ["W1", "W1", "A1"], "pollutant": ["total lead", "COD", "SO2"],
                         "time": ["2026-03-01T09:00:00", "2026-03-01T01:00:00Z", "2026-03-01T09:00:00+08:00"],
                         "value": [250.0, 0.05, 0.2], "unit": ["µg/L", "g/L", "g/m3"]})
    _submit(session, rows)
    stored = {v.pollutant: (v.value, v.at_s) for v in session.scalars(select(MonitoringValue))}
    nine = int((dt.datetime(2026, 3, 1, 9) - dt.datetime(1970, 1, 1)).total_seconds())
    assert stored == {"total_lead": (pytest.approx(0.25), nine), "cod": (pytest.approx(50.0), nine),
                      "sulfur_dioxide": (pytest.approx(200.0), nine)}


def test_csv_parquet_and_json_lines_give_the_same_record(session: Session, tmp_path: Path) -> None:
    build_world(session)
    rows = hourly("F-NEW", "W1", "ammonia_nitrogen", [3.0, 4.5, 5.25])
    rows.to_csv(tmp_path / "a.csv", index=False)
    rows.to_parquet(tmp_path / "a.parquet")
    rows.to_json(tmp_path / "a.jsonl", orient="records", lines=True)
    results = [service.ingest_file(session=session, path=tmp_path / f"a.{ext}", username="t")
               for ext in ("csv", "parquet", "jsonl")]
    assert [(r["channel"], r["rows_new"], r["rows_duplicate"]) for r in results] == [
        ("csv", 3, 0), ("parquet", 0, 3), ("jsonl", 0, 3)]


def test_a_submission_waits_in_the_workspace_until_promoted(session: Session) -> None:
    build_world(session)
    held = _submit(session, hourly("F-NEW", "W1", "cod", [30.0, 31.0]), promote_now=False)
    assert held["status"] == "checked" and _count(session) == 0 and _count(session, WorkspaceValue) == 2
    done = service.promote(session=session, submission_id=held["id"])
    assert done["status"] == "promoted" and done["rows_new"] == 2
    assert _count(session) == 2 and _count(session, WorkspaceValue) == 0


def test_an_enterprise_submits_only_for_its_own_outlets(session: Session) -> None:
    build_world(session)
    own = session.scalar(select(Enterprise.id).where(Enterprise.code == "E-NEW"))
    _submit(session, hourly("F-NEW", "W1", "cod", [30.0]), enterprise_id=own)
    with pytest.raises(InputError) as e:
        _submit(session, hourly("F-OLD", "WS", "total_lead", [0.1]), enterprise_id=own)
    assert "C2 outlet" in e.value.problems[0].rule


def test_gaps_are_filled_by_the_dated_rule_for_their_length_and_measured_values_replace_them(
        session: Session) -> None:
    build_world(session)
    values = [10.0] * 30 + [20.0, 12.0]
    rows = hourly("F-NEW", "A1", "sulfur_dioxide", values, unit="mg/m3", start="2026-03-01T00:00:00")
    keep = [i for i in range(len(rows)) if i not in (5, 6) and not 10 <= i <= 19]  # a 2-hour and a 10-hour gap
    _submit(session, rows.iloc[keep])
    result = service.substitute_missing(session=session, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 3))
    assert result == {"substituted": 12, "by_rule": {"SUB-1": 2, "SUB-2": 10}}
    again = service.substitute_missing(session=session, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 3))
    assert again["substituted"] == 0
    subs = session.scalars(select(MonitoringValue).where(MonitoringValue.method == "substituted")
                           .order_by(MonitoringValue.at_s)).all()
    assert {(s.substitution_rule, s.value, s.flag) for s in subs} == {("SUB-1", 10.0, "S"), ("SUB-2", 10.0, "S")}
    measured = _submit(session, rows.iloc[[5]])
    assert measured["rows_new"] == 1
    assert _count(session) == len(keep) + 12


def test_a_long_gap_is_filled_at_twice_the_limit_and_so_counts_as_an_exceedance(session: Session) -> None:
    build_world(session)
    rows = hourly("F-NEW", "A1", "sulfur_dioxide", [100.0] * 40, unit="mg/m3")
    _submit(session, rows.iloc[[0, 39]])
    assert service.substitute_missing(session=session, start=dt.date(2026, 3, 1),
                                      end=dt.date(2026, 3, 3))["by_rule"] == {"SUB-3": 38}
    eps = service.episodes(session=session, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 3), facility="F-NEW")
    assert eps[["pollutant", "values", "peak_ratio"]].values.tolist() == [["sulfur_dioxide", 38, 2.0]]


def test_service_evaluation_uses_daily_averages_for_water_and_scores_the_facility(session: Session) -> None:
    build_world(session)
    day1 = hourly("F-NEW", "W1", "cod", [60.0] * 23 + [200.0])  # mean 65.8: complies with 70
    day2 = hourly("F-NEW", "W1", "cod", [80.0] * 24, start="2026-03-02T00:00:00")  # mean 80: over
    _submit(session, pd.concat([day1, day2], ignore_index=True))
    comp = service.compliance(session=session, start=dt.date(2026, 1, 1), end=dt.date(2027, 1, 1))
    row = comp.set_index("pollutant").loc["cod"]
    assert (row.evaluated, row.exceeded, row.averaging_s) == (2, 1, 86_400)
    scores = service.environment_scores(session=session, year=2026)
    assert list(scores.columns) == ["facility_id", "score"]
    assert scores.score.tolist() == pytest.approx([100 * 0.5 - 5])  # one episode: a warning


def test_concurrent_writers_lose_nothing_and_record_shared_values_once(db) -> None:  # type: ignore[no-untyped-def]
    import threading

    from restrat.store.db import session_factory

    with session_factory(db)() as s, s.begin():
        build_world(s)
    shared = hourly("F-NEW", "A1", "sulfur_dioxide", [50.0 + i for i in range(48)], unit="mg/m3")
    own = [hourly("F-NEW", "A1", p, [10.0 + i for i in range(48)], unit="mg/m3")
           for p in ("nitrogen_oxides", "particulate_matter", "chlorine", "hydrogen_chloride")]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(own))

    def writer(part: pd.DataFrame) -> None:
        try:
            barrier.wait()
            with session_factory(db)() as s, s.begin():
                service.submit(session=s, raw=pd.concat([shared, part], ignore_index=True), source_name="w",
                               channel="api", username="t", now=NOW)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(p,)) for p in own]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with session_factory(db)() as s:
        assert _count(s) == 48 * (1 + len(own))
        per = dict(s.execute(select(MonitoringValue.pollutant, func.count()).group_by(MonitoringValue.pollutant)).all())
    assert per == {"sulfur_dioxide": 48, "nitrogen_oxides": 48, "particulate_matter": 48, "chlorine": 48,
                   "hydrogen_chloride": 48}
