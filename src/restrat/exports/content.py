"""Content (de minimis) rule: the share of a foreign-made product's value that comes from controlled rare earths of
Chinese origin, computed from ledger lineage, against the dated threshold rule in force (Announcement No. 61 of
2025: 0.1% of value), with every step of the computation reported."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import exists, not_, or_, select
from sqlalchemy.orm import Session

from restrat.catalog.service import ELEMENTS
from restrat.errors import InputError, Problem
from restrat.exports import models
from restrat.exports.review import indicators
from restrat.ledger import service as ledger

CHINA = "China"


def rule_on(*, session: Session, on: dt.date) -> dict[str, Any] | None:
    """The content rule in force on a date (effective and its measure not suspended), or None with the reason."""
    r, s = models.ContentRule, models.ExportSuspension
    suspended = exists().where(s.measure_id == r.measure_id, s.suspended_from <= on, s.suspended_until >= on)
    rule = session.scalar(select(r).where(r.effective_from <= on, or_(r.effective_to.is_(None), r.effective_to >= on),
                                          not_(suspended)).order_by(r.effective_from.desc()))
    if rule is None:
        return None
    return {"measure_id": rule.measure_id, "elements": rule.elements.split(";"),
            "threshold_value_share": rule.threshold_value_share, "effective_from": rule.effective_from,
            "source": rule.source, "note": rule.note}


def content_share(*, session: Session, batch: str, kg_used: float, product_value_usd: float,
                  on: dt.date) -> dict[str, Any]:
    """How much of a product's value is controlled rare earth of Chinese origin, from one ledger batch that went
    into it (kg_used of its gross kg), priced at the latest USGS oxide prices; and whether the rule requires a
    licence on that date."""
    problems = []
    if not kg_used > 0:
        problems.append(Problem(field="kg_used", rule="must be > 0", value=kg_used))
    if not product_value_usd > 0:
        problems.append(Problem(field="product_value_usd", rule="must be > 0", value=product_value_usd))
    if problems:
        raise InputError(problems)
    traced = ledger.trace(session=session, batch=batch, direction="up")
    root = traced["nodes"][0]
    if kg_used > root["gross_kg"] + 1e-9:
        raise InputError(Problem(field="kg_used", rule=f"batch {batch} holds {root['gross_kg']:,.3f} kg",
                                 value=kg_used))
    reo_used = root["reo_kg"] * kg_used / root["gross_kg"]
    china = next((r for r in traced["origin"]["by_country"] if r["country"] == CHINA), None)
    china_share = (china or {}).get("share_by_element", {})
    rule = rule_on(session=session, on=on)
    latest = session.scalar(select(models.ContentRule.elements).order_by(models.ContentRule.effective_from.desc()))
    controlled = set(rule["elements"]) if rule else set((latest or "").split(";")) - {""}
    prices = indicators().price_usd_per_kg
    rows = []
    comp = root["composition"]
    for i, el in enumerate(ELEMENTS):
        kg = reo_used * (comp.get(el, 0.0) if isinstance(comp, dict) else comp[i])
        if kg <= 0:
            continue
        cn_kg = kg * china_share.get(el, 0.0)
        price = prices.get(el)
        rows.append({"element": el, "reo_kg": kg, "chinese_origin_share": china_share.get(el, 0.0),
                     "chinese_origin_kg": cn_kg, "controlled": el in controlled,
                     "price_usd_per_kg": None if pd.isna(price) else float(price),
                     "value_usd": None if pd.isna(price) else cn_kg * float(price)})
    table = pd.DataFrame(rows)
    counted = table[table.controlled] if len(table) else table
    unpriced = counted[counted.value_usd.isna() & (counted.chinese_origin_kg > 0)].element.tolist() if len(counted) \
        else []
    value = float(counted.value_usd.fillna(0).sum()) if len(counted) else 0.0
    share = value / product_value_usd
    threshold = rule["threshold_value_share"] if rule else None
    outcome = ("rule not in force on this date" if rule is None else
               "licence required" if share >= threshold else "below the de minimis threshold")
    return {"batch": batch, "on": on, "kg_used": kg_used, "reo_kg_used": reo_used,
            "product_value_usd": product_value_usd, "elements": rows, "controlled_chinese_value_usd": value,
            "value_share": share, "threshold_value_share": threshold, "rule": rule, "outcome": outcome,
            "unpriced_elements": unpriced,
            "note": "prices: latest USGS MCS oxide prices per kg (REO kg counted as oxide kg); elements without a "
                    "USGS price are listed as unpriced and count as zero, so the share is a lower bound"}
