"""Licences: the state machine refuses every illegal move, roles and reasons are enforced, the review clock counts
working days, quota standards for military and civil end use, exact licence use by ledger exports (directly, through
the ledger import, and with real concurrent writers) and the flags. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from collections.abc import Iterator

import pandas as pd
import pytest
from ledger_builders import registry_for_ledger, simple_chain, t
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from restrat.catalog.service import ELEMENTS
from restrat.errors import Forbidden, InputError
from restrat.exports import licences, models, service
from restrat.ledger.format import read_records
from restrat.ledger.importer import import_events
from restrat.store.db import session_factory

D = dt.date
ON = D(2025, 6, 2)  # a Monday
MAGNET = {"form": "magnet_ndfeb", "hs_code": "8505111000", "composition": "Nd:0.7;Pr:0.25;Dy:0.05",
          "quantity_kg": 1000, "value_usd": 80_000}


@pytest.fixture
def ready(db: Engine) -> Iterator[Session]:
    """Catalog, control list, the ledger builders' registry (exporter E-DOWN) and illustrative standards."""
    with session_factory(db)() as s:
        with s.begin():
            registry_for_ledger(s)
            service.seed_control_list(session=s)
            licences.seed_illustrative_standards(session=s, effective_from=D(2025, 1, 1))
        yield s


def _apply(s: Session, **over: object) -> models.Licence:
    fields = {"exporter": "E-DOWN", "consignee": "Magnet GmbH", "consignee_country": "Germany",
              "end_user": "Motor AG", "end_user_country": "DE", "end_use": "EV traction motors",
              "end_use_class": "civil", "destination": "Germany", "lines": [MAGNET], "username": "exporter",
              "on": ON}
    fields.update(over)
    return licences.create_application(session=s, **fields)  # type: ignore[arg-type]


def _approved(s: Session, quantity: float = 1000.0, destination: str = "Germany") -> str:
    lic = _apply(s, lines=[{**MAGNET, "quantity_kg": quantity}], destination=destination)
    for to, role, reason in (("submitted", "enterprise", ""), ("under_review", "regulator", ""),
                             ("approved", "regulator", "end use verified")):
        licences.transition(session=s, code=lic.code, to=to, username="u", role=role, reason=reason, on=ON,
                            enterprise_id=lic.exporter_id)
    s.commit()
    return lic.code


def test_application_without_end_use_declaration_writes_nothing(ready: Session) -> None:
    with pytest.raises(InputError) as err:
        _apply(ready, end_use_class=None, end_use="", destination="Atlantis",
               lines=[{**MAGNET, "form": "magnet", "quantity_kg": 0}])
    fields = {p.field for p in err.value.problems}
    assert {"end_use_class", "end_use", "destination", "form", "quantity_kg"} <= fields
    ready.rollback()
    assert ready.scalar(select(func.count(models.Licence.id))) == 0


def test_every_illegal_transition_is_refused_and_legal_ones_are_logged(ready: Session) -> None:
    states = licences.STATES
    for start, to in itertools.product(states, states):
        if (start, to) in licences.TRANSITIONS:
            continue
        lic = _apply(ready)
        lic.state = start
        with pytest.raises(InputError, match="cannot go from"):
            licences.transition(session=ready, code=lic.code, to=to, username="admin", role="admin", reason="x")
        ready.rollback()
    code = _approved(ready)
    trail = [(e.from_state, e.to_state) for e in licences.history(session=ready, code=code)]
    assert trail == [("", "draft"), ("draft", "submitted"), ("submitted", "under_review"),
                     ("under_review", "approved")]


def test_roles_reasons_and_conditions_are_enforced(ready: Session) -> None:
    lic = _apply(ready)
    with pytest.raises(Forbidden):
        licences.transition(session=ready, code=lic.code, to="submitted", username="r", role="regulator")
    with pytest.raises(Forbidden):
        licences.transition(session=ready, code=lic.code, to="submitted", username="e", role="enterprise",
                            enterprise_id=lic.exporter_id + 99)
    licences.transition(session=ready, code=lic.code, to="submitted", username="e", role="enterprise",
                        enterprise_id=lic.exporter_id, on=ON)
    with pytest.raises(Forbidden):
        licences.transition(session=ready, code=lic.code, to="under_review", username="e", role="enterprise",
                            enterprise_id=lic.exporter_id)
    licences.transition(session=ready, code=lic.code, to="under_review", username="r", role="regulator")
    with pytest.raises(InputError, match="reason"):
        licences.transition(session=ready, code=lic.code, to="denied", username="r", role="regulator")
    with pytest.raises(InputError, match="conditions"):
        licences.transition(session=ready, code=lic.code, to="approved_with_conditions", username="r",
                            role="regulator", reason="ok")
    done = licences.transition(session=ready, code=lic.code, to="approved_with_conditions", username="r",
                               role="regulator", reason="ok", conditions="no re-export", on=ON)
    assert done.valid_from == ON and done.valid_to == D(2026, 6, 1)  # single licence: one year


def test_review_clock_is_45_working_days_from_submission(ready: Session) -> None:
    lic = _apply(ready)
    licences.transition(session=ready, code=lic.code, to="submitted", username="e", role="admin", on=ON)
    assert lic.review_due == D(2025, 8, 4)  # 9 weeks of Mon-Fri after Monday 2 June
    clock = licences.review_clock(lic, on=D(2025, 8, 5))
    assert clock["working_days_left"] == -1 and clock["overdue"]
    assert licences.review_clock(lic, on=ON)["working_days_left"] == 45


def test_military_standard_refuses_approval_and_civil_annual_total_is_capped(ready: Session) -> None:
    mil = _apply(ready, end_use_class="military")
    for to in ("submitted", "under_review"):
        licences.transition(session=ready, code=mil.code, to=to, username="a", role="admin", on=ON)
    with pytest.raises(InputError, match="military quota standard"):
        licences.transition(session=ready, code=mil.code, to="approved", username="a", role="admin", reason="x",
                            on=ON)
    ready.rollback()
    # Civil Dy: 10,000 kg per licence and 100,000 kg a year per exporter (illustrative standard).
    with pytest.raises(InputError, match="allows 10,000 kg per licence"):
        _approved(ready, quantity=10_001)
    ready.rollback()
    for _ in range(10):
        _approved(ready, quantity=10_000)
    with pytest.raises(InputError, match="total would reach 110,000 kg"):
        _approved(ready, quantity=10_000)


def _exports(rows: list[tuple[int, str, str, float]], day: dt.date = D(2025, 7, 1)) -> pd.DataFrame:
    at = int(pd.Timestamp(day).timestamp())
    comp = dict.fromkeys(ELEMENTS, 0.0) | {"Nd": 0.7, "Pr": 0.25, "Dy": 0.05}
    return pd.DataFrame([{"event_id": e, "at_epoch_s": at + e, "licence_ref": ref, "country": c, "kg": kg,
                          "form": "magnet_ndfeb", **comp} for e, ref, c, kg in rows])


def test_exports_use_the_licence_exactly_and_break_rules_are_flagged(ready: Session) -> None:
    code = _approved(ready, quantity=1000)
    ex = _exports([(1, code, "Germany", 600), (2, code, "Germany", 500), (3, code, "DEU", 400),
                   (4, "", "Japan", 10), (5, code, "Japan", 1), (6, "EXL-NOPE", "Germany", 5)])
    assert licences.apply_exports(session=ready, exports=ex) == {"exports": 6, "consumed": 2, "flagged": 4}
    ready.commit()
    assert licences.apply_exports(session=ready, exports=ex)["exports"] == 0  # each event counts once
    usage = licences.licence_usage(session=ready, code=code)
    assert usage["consumed_kg"] == 1000 and set(usage["uses"].event_id) == {1, 3}
    rules = dict(zip(*[licences.list_flags(session=ready)[c] for c in ("event_id", "rule")], strict=True))
    assert rules == {2: "beyond_licence", 4: "no_licence", 5: "destination_mismatch", 6: "unknown_licence"}
    late = _exports([(7, code, "Germany", 1)], day=D(2026, 7, 1))  # valid until 2026-06-01
    early = _exports([(8, code, "Germany", 1)], day=D(2025, 5, 1))  # valid from 2025-06-02
    licences.apply_exports(session=ready, exports=pd.concat([late, early]))
    flags = licences.list_flags(session=ready).set_index("event_id")
    assert flags.rule[7] == "licence_expired" and flags.rule[8] == "licence_not_valid"
    assert flags.reason[7].startswith("licence expired") and "2026-06-01" in flags.detail[7]
    assert list(licences.list_flags(session=ready, rule="beyond_licence").event_id) == [2]
    with pytest.raises(InputError, match="rule"):
        licences.list_flags(session=ready, rule="late")


def test_concurrent_writers_never_overdraw_a_licence(ready: Session, db: Engine) -> None:
    code = _approved(ready, quantity=1000)
    ready.close()
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for k in range(5):
                with session_factory(db)() as s, s.begin():
                    licences.apply_exports(session=s, exports=_exports([(1000 * w + k, code, "Germany", 30.0)]))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(1, 9)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors[:1]
    with session_factory(db)() as s:
        usage = licences.licence_usage(session=s, code=code)
        # 40 exports of 30 kg against 1,000 kg: 33 fit (990 kg), the other 7 are flagged, none is lost.
        assert usage["consumed_kg"] == pytest.approx(990.0)
        assert usage["uses"].kg.sum() == pytest.approx(990.0) and len(usage["uses"]) == 33
        assert (licences.list_flags(session=s).rule == "beyond_licence").sum() == 7


def test_the_ledger_import_applies_exports_to_licences_in_the_same_transaction(ready: Session, db: Engine) -> None:
    code = _approved(ready, quantity=150, destination="Japan")
    events = simple_chain() + [
        {"event_id": "E1", "kind": "export", "time": t(160), "facility": "SEP", "country": "Japan",
         "licence_id": code, "inputs": [{"batch": "DY", "mass_kg": 100}]},
        {"event_id": "E2", "kind": "export", "time": t(161), "facility": "SEP", "country": "Japan",
         "licence_id": code, "inputs": [{"batch": "DY", "mass_kg": 80}]},
        {"event_id": "E3", "kind": "export", "time": t(162), "facility": "SEP", "country": "Japan",
         "inputs": [{"batch": "LACE", "mass_kg": 500}]},
    ]
    with session_factory(db)() as s, s.begin():
        import_events(session=s, frames=read_records(events), source_name="test")
    with session_factory(db)() as s:
        usage = licences.licence_usage(session=s, code=code)
        assert usage["consumed_kg"] == pytest.approx(100.0)
        flags = licences.list_flags(session=s)
        assert sorted(flags.rule) == ["beyond_licence", "no_licence"]
        assert "EXPORT-LICENCE" in flags.set_index("rule").detail["no_licence"]


def test_flagged_ledger_exports_show_in_the_anomaly_scan_with_their_reason_and_alert_the_facility(
        ready: Session, db: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from restrat.ledger import service as ledger

    code = _approved(ready, quantity=150, destination="Japan")  # valid 2025-06-02 to 2026-06-01
    events = simple_chain() + [
        {"event_id": "OK", "kind": "export", "time": t(160), "facility": "SEP", "country": "Japan",
         "licence_id": code, "inputs": [{"batch": "DY", "mass_kg": 100}]},
        {"event_id": "OVER", "kind": "export", "time": t(161), "facility": "SEP", "country": "Japan",
         "licence_id": code, "inputs": [{"batch": "DY", "mass_kg": 80}]},
        {"event_id": "NONE", "kind": "export", "time": t(162), "facility": "SEP", "country": "Japan",
         "inputs": [{"batch": "LACE", "mass_kg": 500}]},
        {"event_id": "ELSEWHERE", "kind": "export", "time": t(163), "facility": "SEP", "country": "Korea",
         "licence_id": code, "inputs": [{"batch": "DY", "mass_kg": 1}]},
        {"event_id": "LATE", "kind": "export", "time": t(560), "facility": "SEP", "country": "Japan",
         "licence_id": code, "inputs": [{"batch": "DY", "mass_kg": 1}]},
    ]
    with session_factory(db)() as s, s.begin():
        import_events(session=s, frames=read_records(events), source_name="test")
    with session_factory(db)() as s:
        flags = licences.list_flags(session=s).set_index("uid")
        assert flags.rule.to_dict() == {"OVER": "beyond_licence", "NONE": "no_licence",
                                        "ELSEWHERE": "destination_mismatch", "LATE": "licence_expired"}
        assert set(flags.facility) == {"SEP"} and str(flags.day["LATE"]) == "2026-07-15"
        counts = licences.flag_counts(session=s).set_index("rule")
        assert counts.exports.sum() == 4 and counts.kg["beyond_licence"] == pytest.approx(80.0)
        found = ledger.scan(session=s)
        exported = found[found.kind.str.startswith("export_")].set_index("kind")
        assert set(exported.index) == {"export_beyond_licence", "export_no_licence", "export_destination_mismatch",
                                       "export_licence_expired"}
        assert exported.event_uids["export_no_licence"] == ["NONE"]
        assert exported.rule["export_beyond_licence"].startswith("beyond the licensed quantity: exceeds what remains")
        assert exported.facility_code.eq("SEP").all() and exported.unit.eq("kg").all()
        stored = ledger.record_findings(session=s, findings=found, username="regulator")
        s.commit()
        latest = ledger.latest_findings(session=s)
        assert latest["scan_id"] == stored["scan_id"] and latest["counts"]["export_no_licence"] == 1
        assert stored["alerts"] >= 4  # each at the exporting facility, at least
    from restrat.cli import run
    from restrat.store.db import get_engine

    monkeypatch.setenv("RESTRAT_DATABASE_URL", db.url.render_as_string(hide_password=False))
    get_engine.cache_clear()
    try:
        assert run(["exports", "licence", "flags", "--rule", "licence_expired", "--json"]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert [f["uid"] for f in printed["flags"]] == ["LATE"] and printed["flags"][0]["day"] == "2026-07-15"
        assert sum(c["exports"] for c in printed["counts"]) == 4
        assert run(["exports", "licence", "flags", "--rule", "late"]) == 2
        assert "rule" in capsys.readouterr().err
    finally:
        get_engine.cache_clear()


def test_the_ledger_imports_export_control_only_when_a_scan_or_an_import_runs() -> None:
    import subprocess
    import sys

    code = ("import sys, restrat.ledger.service, restrat.ledger.anomalies, restrat.ledger.consumers; "
            "print(sorted(m for m in sys.modules if m.startswith('restrat.exports')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def test_content_rule_prices_chinese_origin_controlled_content_against_the_dated_threshold(ready: Session,
                                                                                           db: Engine) -> None:
    from restrat.exports import content

    with session_factory(db)() as s, s.begin():
        import_events(session=s, frames=read_records(simple_chain()), source_name="test")
    with session_factory(db)() as s:
        suspended = content.content_share(session=s, batch="DY", kg_used=10, product_value_usd=1_000,
                                          on=D(2026, 6, 1))
        assert suspended["rule"] is None and suspended["outcome"] == "rule not in force on this date"
        small = content.content_share(session=s, batch="DY", kg_used=10, product_value_usd=1_000, on=D(2026, 12, 1))
        dy = next(r for r in small["elements"] if r["element"] == "Dy")
        assert dy["chinese_origin_share"] == pytest.approx(1.0) and dy["controlled"]
        assert small["controlled_chinese_value_usd"] == pytest.approx(10 * dy["price_usd_per_kg"])
        assert small["threshold_value_share"] == 0.001 and small["outcome"] == "licence required"
        big = content.content_share(session=s, batch="DY", kg_used=10, product_value_usd=1e7, on=D(2026, 12, 1))
        assert big["outcome"] == "below the de minimis threshold"
        with pytest.raises(InputError, match="kg_used"):
            content.content_share(session=s, batch="DY", kg_used=1e9, product_value_usd=1, on=D(2026, 12, 1))
        # A product of several batches: the controlled value adds up over them, each traced on its own.
        both = content.content_share(session=s, inputs=[("DY", 10), ("LACE", 100)], product_value_usd=1_000,
                                     on=D(2026, 12, 1))
        assert [u["batch"] for u in both["inputs"]] == ["DY", "LACE"]
        assert both["reo_kg_used"] == pytest.approx(small["reo_kg_used"] + both["inputs"][1]["reo_kg_used"])
        assert both["controlled_chinese_value_usd"] >= small["controlled_chinese_value_usd"]
        assert any("share = " in step and "threshold 0.1000%" in step for step in both["steps"])
        with pytest.raises(InputError) as err:
            content.content_share(session=s, inputs=[("DY", 10), ("NOPE", 1), ("LACE", -1)], product_value_usd=1,
                                  on=D(2026, 12, 1))
        assert {(p.row, p.field) for p in err.value.problems} == {(2, "batch"), (3, "kg_used")}
        # A new dated threshold closes the open period the day before; the old threshold still applies before.
        content.add_rule(session=s, measure_id="MOFCOM-2025-61", threshold_value_share=0.005,
                         effective_from=D(2027, 1, 1), note="test")
        assert content.rule_on(session=s, on=D(2026, 12, 31))["threshold_value_share"] == 0.001
        assert content.rule_on(session=s, on=D(2027, 1, 1))["threshold_value_share"] == 0.005
        listed = content.rules(session=s)
        assert listed.effective_to.iloc[0] == D(2026, 12, 31) and pd.isna(listed.effective_to.iloc[1])
        assert "2025-11-07 to 2026-11-10" in listed.suspended.iloc[0]
        with pytest.raises(InputError) as err:
            content.add_rule(session=s, measure_id="NOPE", threshold_value_share=2, effective_from=D(2026, 1, 1),
                             elements=["Xx"])
        assert {p.field for p in err.value.problems} == {"measure_id", "threshold_value_share", "elements",
                                                         "effective_from"}


def test_content_rule_file_errors_name_row_and_field(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "rules.csv"
    path.write_text("measure_id,elements,threshold_value_share,effective_from,effective_to,note\n"
                    "MOFCOM-2025-61,,0.001,2025-12-01,,ok\n"
                    "NOPE,,0.001,2025-12-01,,x\n"
                    "MOFCOM-2025-61,Xx,1.5,2026-01-01,2025-01-01,x\n")
    m = service.measures_frame()
    with pytest.raises(InputError) as err:
        service.content_rule_rows(m, path)
    assert {(p.row, p.field) for p in err.value.problems} == {(2, "measure_id"), (3, "elements"),
                                                              (3, "threshold_value_share"), (3, "effective_from")}
    assert service.content_rule_rows(m)[0]["threshold_value_share"] == 0.001
