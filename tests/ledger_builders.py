"""Small hand-built ledgers for the tests: a registry of a few facilities and event dicts in the interchange format."""

from __future__ import annotations

import datetime as dt
from typing import Any

from restrat.catalog.service import load_reference
from restrat.registry import service as registry

FACILITIES = [
    ("MINE-R", "Rock mine", "mining", "rock"),
    ("MINE-I", "Ionic mine", "mining", "ionic"),
    ("SEP", "Separation plant", "separation", "none"),
    ("MET", "Metal plant", "metal", "none"),
    ("MAG", "Magnet plant", "material", "none"),
]
ROCK = {"La": 0.25, "Ce": 0.50, "Pr": 0.05, "Nd": 0.18, "Sm": 0.01, "Gd": 0.01}
IONIC = {"La": 0.05, "Ce": 0.02, "Pr": 0.02, "Nd": 0.05, "Sm": 0.03, "Gd": 0.06, "Tb": 0.02, "Dy": 0.10, "Y": 0.65}


def registry_for_ledger(session: Any, *, owner_of: dict[str, str] | None = None) -> None:
    """Catalog plus two enterprises (E-UP owns the mines, E-DOWN the plants) and five facilities."""
    load_reference(session=session)
    registry.create_enterprise(session=session, code="E-UP", name="Upstream Co", country="China")
    registry.create_enterprise(session=session, code="E-DOWN", name="Downstream Co", country="China")
    rows = []
    for code, name, stage, ore in FACILITIES:
        owner = (owner_of or {}).get(code, "E-UP" if stage == "mining" else "E-DOWN")
        rows.append({"code": code, "name": name, "enterprise": owner, "stage": stage, "ore_type": ore,
                     "lat": 25.0, "lon": 115.0})
    registry.import_facilities(session=session, rows=rows)


def t(day: int, hour: int = 0) -> str:
    return (dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=day, hours=hour)).isoformat()


def out(batch: str, form: str, kg: float, grade: float, comp: dict[str, float]) -> dict[str, Any]:
    return {"batch": batch, "form": form, "mass_kg": kg, "reo_grade": grade, "composition": comp}


def mix(parts: list[tuple[float, dict[str, float]]]) -> dict[str, float]:
    """The REO composition of a blend of (REO kg, composition) parts."""
    total: dict[str, float] = {}
    for kg, comp in parts:
        for el, f in comp.items():
            total[el] = total.get(el, 0.0) + kg * f
    s = sum(total.values())
    return {el: v / s for el, v in total.items()}


def simple_chain(prefix: str = "") -> list[dict[str, Any]]:
    """Two mines -> shipments/receipts -> blended separation into PrNd, Dy and La-Ce oxides -> metal."""
    p = prefix
    ev = [
        {"event_id": f"{p}X1", "kind": "extraction", "time": t(0), "facility": "MINE-R", "quota_id": "Q-R",
         "outputs": [out(f"{p}C1", "concentrate", 10_000, 0.5, ROCK)]},
        {"event_id": f"{p}X2", "kind": "extraction", "time": t(0, 2), "facility": "MINE-I", "quota_id": "Q-I",
         "outputs": [out(f"{p}C2", "concentrate", 2_000, 0.9, IONIC)]},
        {"event_id": f"{p}S1", "kind": "shipment", "time": t(1), "facility": "MINE-R", "partner_facility": "SEP",
         "inputs": [{"batch": f"{p}C1", "mass_kg": 10_000}], "outputs": [out(f"{p}C1T", "concentrate", 10_000, 0.5,
                                                                              ROCK)]},
        {"event_id": f"{p}S2", "kind": "shipment", "time": t(1), "facility": "MINE-I", "partner_facility": "SEP",
         "inputs": [{"batch": f"{p}C2", "mass_kg": 2_000}], "outputs": [out(f"{p}C2T", "concentrate", 2_000, 0.9,
                                                                             IONIC)]},
        {"event_id": f"{p}R1", "kind": "receipt", "time": t(2), "facility": "SEP", "partner_facility": "MINE-R",
         "shipment_event": f"{p}S1", "received_kg": 10_000},
        {"event_id": f"{p}R2", "kind": "receipt", "time": t(2), "facility": "SEP", "partner_facility": "MINE-I",
         "shipment_event": f"{p}S2", "received_kg": 2_000},
    ]
    # Separation: rock 5,000 kg REO + ionic 1,800 kg REO; outputs keep 97% of every element.
    rock_reo, ionic_reo = 5_000.0, 1_800.0
    pr = rock_reo * ROCK["Pr"] + ionic_reo * IONIC["Pr"]
    nd = rock_reo * ROCK["Nd"] + ionic_reo * IONIC["Nd"]
    dy = ionic_reo * IONIC["Dy"]
    la = rock_reo * ROCK["La"] + ionic_reo * IONIC["La"]
    ce = rock_reo * ROCK["Ce"] + ionic_reo * IONIC["Ce"]
    keep = 0.97
    ev.append({"event_id": f"{p}P1", "kind": "processing", "time": t(3), "facility": "SEP",
               "inputs": [{"batch": f"{p}C1T", "mass_kg": 10_000}, {"batch": f"{p}C2T", "mass_kg": 2_000}],
               "outputs": [out(f"{p}PRND", "separated_oxide", (pr + nd) * keep, 1.0, {"Pr": pr / (pr + nd),
                                                                                       "Nd": nd / (pr + nd)}),
                           out(f"{p}DY", "separated_oxide", dy * keep, 1.0, {"Dy": 1.0}),
                           out(f"{p}LACE", "separated_oxide", (la + ce) * keep, 1.0, {"La": la / (la + ce),
                                                                                       "Ce": ce / (la + ce)})]})
    return ev
