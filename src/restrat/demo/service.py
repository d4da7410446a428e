"""Build the demo database: catalog, real quota history, real groups, third-party facilities, illustrative chain
and an illustrative synthetic traceability ledger with its anomaly scan."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
from sqlalchemy import delete
from sqlalchemy.orm import Session

from restrat.association.demo import seed_demo_prices
from restrat.auth import service as auth
from restrat.catalog import reference
from restrat.catalog import service as catalog
from restrat.environment.demo import seed_environment
from restrat.exports import demo as exports_demo
from restrat.ledger import service as ledger
from restrat.ledger import synth
from restrat.ledger.format import frames_from_table
from restrat.ledger.importer import import_events
from restrat.market import demo as market_demo
from restrat.quota import demo as quota_demo
from restrat.quota import models as quota_models
from restrat.registry import models as registry_models
from restrat.registry import service as registry
from restrat.store.bulk import insert_rows
from restrat.technology import demo as technology_demo

ILLUSTRATIVE = "illustrative"
ILLUSTRATIVE_SOURCE = "restrat demo generator: ILLUSTRATIVE, not real data"
REG_SOURCE = "REGULATORY.md (shipped reference data): group structure 2014-2021 and 2022 notices"

# The six state groups named in the 2020 quota notice and China Rare Earth Group, formed in Dec 2021 from
# Chinalco RE, Minmetals RE and China Southern RE (REGULATORY.md, sources cited there).
GROUPS = [
    ("CNRE", "China Northern Rare Earth (CNRE)", "北方稀土"),
    ("CHINALCO_RE", "Chinalco Rare Earth", "中国稀有稀土"),
    ("MINMETALS_RE", "Minmetals Rare Earth", "五矿稀土"),
    ("SOUTHERN_RE", "China Southern Rare Earth", "南方稀土"),
    ("XIAMEN_TUNGSTEN", "Xiamen Tungsten", "厦门钨业"),
    ("GUANGDONG_RE", "Guangdong Rare Earth Group", "广东稀土"),
    ("CREG", "China Rare Earth Group (CREG)", "中国稀土集团"),
]
CREG_FOUNDED = dt.date(2021, 12, 1)  # "formed in Dec 2021"; the day is not in the sources, first of month used
MERGED_INTO_CREG = ("CHINALCO_RE", "MINMETALS_RE", "SOUTHERN_RE")

# Illustrative production regions: (region, lat, lon, ore type of its mines, owning group before 2021-12).
REGIONS = [
    ("Inner Mongolia (Baotou)", 40.65, 109.84, "rock", "CNRE"),
    ("Sichuan (Liangshan)", 28.55, 102.17, "rock", "CHINALCO_RE"),
    ("Shandong (Weishan)", 34.81, 117.13, "rock", "CNRE"),
    ("Jiangxi (Ganzhou)", 25.83, 114.93, "ionic", "SOUTHERN_RE"),
    ("Fujian (Longyan)", 25.08, 117.02, "ionic", "XIAMEN_TUNGSTEN"),
    ("Guangdong (Meizhou)", 24.29, 116.12, "ionic", "GUANGDONG_RE"),
    ("Guangxi (Chongzuo)", 22.38, 107.36, "ionic", "CHINALCO_RE"),
    ("Hunan (Yongzhou)", 26.42, 111.61, "ionic", "MINMETALS_RE"),
    ("Zhejiang (Ningbo)", 29.87, 121.54, "none", None),
    ("Shanxi (Taiyuan)", 37.87, 112.55, "none", None),
    ("Tianjin", 39.08, 117.20, "none", None),
    ("Jiangsu (Changzhou)", 31.81, 119.97, "none", None),
]
# How many illustrative facilities of each stage, and their capacity range in t REO/year.
STAGE_PLAN = {
    "mining": (16, 1_000, 20_000),
    "separation": (14, 2_000, 25_000),
    "metal": (10, 1_000, 10_000),
    "alloy": (6, 1_000, 8_000),
    "material": (14, 2_000, 15_000),
    "product": (6, 500, 5_000),
    "recycling": (6, 300, 5_000),
    "waste": (2, 100, 2_000),
}
DEMO_USERS = [
    ("admin", "admin-demo", "admin", None),
    ("regulator", "regulator-demo", "regulator", None),
    ("association", "association-demo", "association", None),
    ("analyst", "analyst-demo", "analyst", None),
    ("enterprise", "enterprise-demo", "enterprise", "ILL-SEP-001"),
]
# About 550 daily separation campaigns: enough for every anomaly kind to show a dozen times and for lineage and
# balance pages to have substance, small enough that the whole demo still builds in a few seconds.
DEMO_LEDGER_EVENTS = 12_000
DEMO_LEDGER_ANOMALY_RATE = 0.01
_THIRDPARTY_STAGE = {"mine": "mining", "mine (district)": "mining", "mine/deposit": "mining", "deposit": "mining",
                     "project": "mining", "separation/refining": "separation", "magnet": "material"}
_THIRDPARTY_OPERATOR_GROUP = {"China Northern Rare Earth": "CNRE", "China Rare Earth Group": "CREG"}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "-", text.upper()).strip("-")[:30]


def load_quota_history(*, session: Session, group_ids: dict[str, int]) -> dict[str, int]:
    """Replace the quota history tables with the national and group figures shipped in reference data."""
    session.execute(delete(quota_models.GroupQuota))
    session.execute(delete(quota_models.NationalQuota))
    nat = reference.read("cn_quota_national.csv")
    nat["year"] = nat.year.astype(int)
    nat["tonnes_reo"] = pd.to_numeric(nat.tonnes_reo, errors="coerce")
    nat = nat.astype(object).where(nat.notna(), None)
    grp = reference.read("cn_quota_groups.csv")
    name_to_code = {name: code for code, name, _ in GROUPS}
    grp["group_id"] = grp.group_name_en.map(lambda n: group_ids.get(name_to_code.get(n, "")))
    grp["year"] = grp.year.astype(int)
    grp["tonnes_reo"] = pd.to_numeric(grp.tonnes_reo, errors="coerce")
    grp["share_pct"] = pd.to_numeric(grp.share_pct, errors="coerce")
    grp = grp.drop(columns=["group_name_zh"]).astype(object)
    grp = grp.where(grp.notna(), None)
    return {
        "quota_national": insert_rows(session, quota_models.NationalQuota.__table__, nat.to_dict("records")),
        "quota_group": insert_rows(session, quota_models.GroupQuota.__table__, grp.to_dict("records")),
    }


def thirdparty_facilities() -> pd.DataFrame:
    """The shipped third-party facility list mapped onto registry fields (approximate; labelled so)."""
    src = reference.read("ree_facilities_thirdparty_approx.csv")
    rows = []
    for i, r in enumerate(src.itertuples(index=False), start=1):
        stage = _THIRDPARTY_STAGE[r.stage]
        text = f"{r.name} {r.note}".lower()
        ore = ("ionic" if ("ion-adsorption" in text or "clay" in text) else "rock") if stage == "mining" else "none"
        cap = re.search(r"approx\.\s*([\d.]+)\s*kt", r.capacity_or_size_in_source)
        status = r.status_in_source or "unknown"
        op_status = ("project" if "project" in status or r.stage == "project" else
                     "deposit" if r.stage == "deposit" else "active")
        rows.append({
            "code": f"TP-{i:03d}",
            "name": r.name,
            "enterprise": f"TPOP-{_slug(r.operator or 'unidentified ' + r.name)}",
            "enterprise_name": r.operator or f"Operator not named in source ({r.name})",
            "stage": stage, "ore_type": ore, "country": r.country, "region": r.region,
            "lat": r.lat, "lon": r.lon,
            "capacity_t_reo_per_year": str(float(cap.group(1)) * 1000) if cap else "",
            "operating_status": op_status, "data_status": "thirdparty_approx",
            "source": r.source,
            "note": "; ".join(x for x in (r.capacity_or_size_in_source, r.note,
                                           "ore type derived from the source's description" if stage == "mining"
                                           else "") if x),
        })
    return pd.DataFrame(rows)


def illustrative_facilities(*, seed: int) -> pd.DataFrame:
    """A deterministic illustrative chain of Chinese facilities across the producing regions."""
    rng = np.random.default_rng(seed)
    rows = []
    for stage, (count, lo, hi) in STAGE_PLAN.items():
        candidates = [r for r in REGIONS if (r[3] != "none") == (stage in ("mining", "separation"))]
        if stage in ("mining", "separation", "recycling"):
            candidates = [r for r in REGIONS if r[3] != "none"]
        for k in range(count):
            region, lat, lon, ore, _ = candidates[int(rng.integers(len(candidates)))]
            code = f"ILL-{stage[:3].upper()}-{k + 1:03d}"
            rows.append({
                "code": code,
                "name": f"{region.split(' (')[-1].rstrip(')')} {stage} plant {k + 1} (illustrative)",
                "enterprise": code, "stage": stage,
                "ore_type": ore if stage == "mining" else ("secondary" if stage == "recycling" else "none"),
                "country": "China", "region": region,
                "lat": round(lat + rng.normal(0, 0.35), 4), "lon": round(lon + rng.normal(0, 0.35), 4),
                "capacity_t_reo_per_year": float(round(rng.uniform(lo, hi), -2)),
                "start_date": dt.date(int(rng.integers(1995, 2021)), int(rng.integers(1, 13)), 1).isoformat(),
                "technology_level": int(rng.integers(1, 6)),
                "data_status": ILLUSTRATIVE, "source": ILLUSTRATIVE_SOURCE,
            })
    return pd.DataFrame(rows)


def _owner_group(region: str, stage: str, rng: np.random.Generator) -> str | None:
    owner = next(r[4] for r in REGIONS if r[0] == region)
    if owner is None and stage in ("metal", "alloy", "material"):
        owner = ("CNRE", "SOUTHERN_RE", "CHINALCO_RE")[int(rng.integers(3))] if rng.random() < 0.5 else None
    return owner


def seed_demo(*, session: Session, seed: int = 7, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Fill an empty, migrated database with the demo dataset; returns row counts per part."""
    step = progress or (lambda _msg: None)
    counts: dict[str, int] = {}
    step("catalog reference data")
    counts.update(catalog.load_reference(session=session))

    step("enterprise groups")
    group_ids = {}
    for code, name_en, name_zh in GROUPS:
        note = "formed Dec 2021 from Chinalco RE, Minmetals RE and China Southern RE" if code == "CREG" else ""
        group_ids[code] = registry.create_group(session=session, code=code, name_en=name_en, name_zh=name_zh,
                                                data_status="seen", source=REG_SOURCE, note=note).id
    counts["enterprise_group"] = len(group_ids)

    step("quota history")
    counts.update(load_quota_history(session=session, group_ids=group_ids))

    step("enterprises and facilities")
    rng = np.random.default_rng(seed + 1)
    tp = thirdparty_facilities()
    ill = illustrative_facilities(seed=seed)
    ents = pd.concat([
        tp[["enterprise", "enterprise_name", "country", "region"]].drop_duplicates("enterprise")
        .assign(data_status="thirdparty", source="operator named in ree_facilities_thirdparty_approx.csv"),
        ill.assign(enterprise_name=ill.name.str.replace(" plant ", " company ", regex=False))[
            ["enterprise", "enterprise_name", "country", "region"]]
        .assign(data_status=ILLUSTRATIVE, source=ILLUSTRATIVE_SOURCE),
    ])
    insert_rows(session, registry_models.Enterprise.__table__, [
        {"code": r.enterprise, "name": r.enterprise_name, "country": r.country, "region": r.region,
         "data_status": r.data_status, "source": r.source} for r in ents.itertuples()])
    counts["enterprise"] = len(ents)
    facilities = pd.concat([tp.drop(columns=["enterprise_name"]), ill], ignore_index=True)
    counts["facility"] = len(registry.import_facilities(session=session, rows=facilities.astype(object).fillna(""),
                                                        source_name="demo facilities"))

    step("group ownership over time")
    links = []
    for r in ill.itertuples():
        owner = _owner_group(r.region, r.stage, rng)
        if owner:
            links.append((r.enterprise, owner))
    for r in tp.itertuples():
        for name, code in _THIRDPARTY_OPERATOR_GROUP.items():
            if r.enterprise_name == name:
                links.append((r.enterprise, code))
    ent_ids = {e.code: e.id for e in registry.list_enterprises(session=session, limit=100_000)}
    rows = []
    for ent, grp in dict(links).items():
        start = dt.date(2015, 1, 1) if grp != "CREG" else CREG_FOUNDED
        end = CREG_FOUNDED - dt.timedelta(days=1) if grp in MERGED_INTO_CREG else None
        src = ILLUSTRATIVE_SOURCE if ent.startswith("ILL-") else REG_SOURCE
        rows.append({"enterprise_id": ent_ids[ent], "group_id": group_ids[grp], "valid_from": start,
                     "valid_to": end, "share_pct": 100.0, "source": src})
        if grp in MERGED_INTO_CREG:
            rows.append({"enterprise_id": ent_ids[ent], "group_id": group_ids["CREG"], "valid_from": CREG_FOUNDED,
                         "valid_to": None, "share_pct": 100.0, "source": src})
    counts["group_membership"] = insert_rows(session, registry_models.GroupMembership.__table__, rows)

    step("demo users")
    for username, password, role, ent in DEMO_USERS:
        auth.create_user(session=session, username=username, password=password, role=role, enterprise_code=ent)
    counts["app_user"] = len(DEMO_USERS)
    step("synthetic ledger")
    counts.update(seed_ledger(session=session, seed=seed))
    step("export control")
    counts.update(exports_demo.seed(session=session, seed=seed))
    step("ledger anomaly scan")  # after export control: the scan includes exports flagged against their licences
    findings = ledger.scan(session=session)
    stored = ledger.record_findings(session=session, findings=findings, username="demo")
    counts.update({"ledger_finding": stored["findings"], "ledger_alert": stored["alerts"]})
    step("environmental monitoring")
    counts.update(seed_environment(session=session, seed=seed))
    step("association prices")
    counts.update(seed_demo_prices(session=session, seed=seed))
    step("technology innovation")
    counts.update(technology_demo.seed(session=session))
    step("market scenarios")
    counts.update(market_demo.seed(session=session))
    auth.audit(session=session, username="system", action="seed", entity="database", detail=counts)
    return counts


def seed_ledger(*, session: Session, seed: int) -> dict[str, int]:
    """Import an ILLUSTRATIVE synthetic mine-to-magnet ledger (SYN-* facilities); seed() stores its anomaly scan
    once export control is in place."""
    generated = synth.generate(events=DEMO_LEDGER_EVENTS, seed=seed, anomaly_rate=DEMO_LEDGER_ANOMALY_RATE)
    registered = synth.load_registry(session=session, ledger=generated)
    quota_counts = quota_demo.seed(session=session, ledger=generated)  # before the import, which counts quota use
    result = import_events(session=session, frames=frames_from_table(generated.events),
                           source_name="synthetic demo ledger", username="demo")
    return {"synthetic_facility": registered["facilities"], "synthetic_quota": registered["quotas"],
            "ledger_event": result.events_new, "ledger_batch": result.batches_new, **quota_counts}
