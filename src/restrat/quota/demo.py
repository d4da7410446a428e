"""ILLUSTRATIVE quota positions for the demo's synthetic ledger: plans for its years, separation quotas for its
plants (one set below what the plant separates, so the demo shows a separation infraction), capacities and group
links for the synthetic facilities so the optimiser can plan the next year. Nothing here is a real figure."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from restrat.ledger.format import frames_from_table
from restrat.ledger.synth import SynthLedger
from restrat.quota import service
from restrat.registry import models as registry_models
from restrat.store.bulk import insert_rows

SOURCE = "restrat quota demo: ILLUSTRATIVE, not a real quota"
HEADROOM, TIGHT = 1.15, 0.9  # separation quota vs what the plant separates in the ledger; TIGHT for one plant
CAPACITY_FACTOR = 12.0  # the synthetic ledger spans about a month; capacity is a year of it, with room
CAPACITY_NOTE = "capacity ILLUSTRATIVE (restrat quota demo: about a year of its synthetic ledger throughput)"
REGION_GROUP = {"Inner Mongolia": "CNRE", "Jiangxi": "CREG"}


def processed_reo(ledger: SynthLedger) -> pd.DataFrame:
    """REO each synthetic separation plant consumes in processing, per year (kg), from the generated events."""
    f = frames_from_table(ledger.events)
    outs = f.outputs.assign(reo=f.outputs["kg"] * f.outputs["grade"])
    per_kg = (outs.set_index("batch")["reo"] / outs.set_index("batch")["kg"]).groupby(level=0).first()
    ev = f.events
    ins = f.inputs.assign(reo=f.inputs["kg"].to_numpy() * per_kg.reindex(f.inputs["batch"]).to_numpy(),
                          facility=ev["facility"].to_numpy()[f.inputs["ev"].to_numpy()],
                          kind=ev["kind"].to_numpy()[f.inputs["ev"].to_numpy()],
                          year=pd.to_datetime(ev["at"].to_numpy()[f.inputs["ev"].to_numpy()], unit="s").year)
    seps = set(ledger.facilities.loc[ledger.facilities["stage"] == "separation", "code"])
    ins = ins[(ins["kind"] == "processing") & ins["facility"].isin(seps)]
    return ins.groupby(["facility", "year"], as_index=False)["reo"].sum()


def seed(*, session: Session, ledger: SynthLedger) -> dict[str, int]:
    """Plans, separation allocations, capacities and group links for the synthetic ledger (before its import, so
    the import counts its quota use); all labelled illustrative."""
    sep = processed_reo(ledger).sort_values(["year", "facility"]).reset_index(drop=True)
    tight = sep.groupby("year").head(1).index
    factor = np.where(sep.index.isin(tight), TIGHT, HEADROOM)
    sep["tonnes"] = [math.ceil(v) for v in sep["reo"].to_numpy() * factor / 1000]
    mining = ledger.quotas.groupby(["year", "ore_type"], as_index=False)["tonnes_reo"].sum()
    plans = 0
    for r in mining.itertuples():
        service.issue_plan(session=session, year=int(r.year), kind="mining", ore_type=r.ore_type, batch="all",
                           tonnes_reo=math.ceil(r.tonnes_reo * 1.05), issued_on=dt.date(int(r.year), 1, 15),
                           username="demo", data_status="illustrative", source=SOURCE)
        plans += 1
    for year, part in sep.groupby("year"):
        service.issue_plan(session=session, year=int(year), kind="smelting_separation", ore_type="total",
                           batch="all", tonnes_reo=math.ceil(part["tonnes"].sum() * 1.05),
                           issued_on=dt.date(int(year), 1, 15), username="demo", data_status="illustrative",
                           source=SOURCE)
        plans += 1
    alloc = service.import_allocations(session=session, username="demo", source_name="quota demo", rows=pd.DataFrame({
        "code": "QS-" + sep["facility"] + "-" + sep["year"].astype(str), "year": sep["year"].astype(str),
        "kind": "smelting_separation", "ore_type": "total", "batch": "all", "level": "facility",
        "holder": sep["facility"], "tonnes_reo": sep["tonnes"].astype(str), "data_status": "illustrative",
        "source": SOURCE}))
    _capacities_and_groups(session, ledger, sep)
    return {"quota_plan": plans, "quota_allocation_separation": alloc["allocations_new"]}


def _capacities_and_groups(session: Session, ledger: SynthLedger, sep: pd.DataFrame) -> None:
    """Give the synthetic mines and plants a capacity (a year of their ledger throughput, with room) and link their
    enterprises to the group of their region, so the optimiser can plan the next year for them."""
    mine_t = ledger.quotas.groupby("facility")["tonnes_reo"].max()
    sep_t = sep.groupby("facility")["tonnes"].max()
    cap = pd.concat([mine_t, sep_t]) * CAPACITY_FACTOR
    session.execute(text("UPDATE facility SET capacity_t_reo_per_year = :c, note = :n WHERE code = :code")
                    .bindparams(bindparam("c"), bindparam("n"), bindparam("code")),
                    [{"c": float(round(v, -1)), "code": k, "n": CAPACITY_NOTE} for k, v in cap.items()])
    fac = ledger.facilities[ledger.facilities["stage"].isin(("mining", "separation"))]
    groups = dict(session.execute(text("SELECT code, id FROM enterprise_group")).all())
    ents = dict(session.execute(text("SELECT code, id FROM enterprise WHERE code LIKE 'E-SYN-%'")).all())
    rows = [{"enterprise_id": ents[e], "group_id": groups[REGION_GROUP[r]], "valid_from": dt.date(2022, 1, 1),
             "valid_to": None, "share_pct": 100.0, "source": SOURCE}
            for e, r in zip(fac["enterprise"], fac["region"], strict=True)
            if e in ents and REGION_GROUP.get(r) in groups]
    insert_rows(session, registry_models.GroupMembership.__table__, rows)
