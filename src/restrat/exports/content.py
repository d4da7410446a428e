"""Content (de minimis) rule: the share of a foreign-made product's value that comes from controlled rare earths of
Chinese origin, computed from ledger lineage, against the dated threshold rule in force (Announcement No. 61 of
2025: 0.1% of value), with every step of the computation reported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import exists, not_, or_, select
from sqlalchemy.orm import Session

from restrat.catalog.service import ELEMENTS
from restrat.errors import InputError, NotFound, Problem
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


def content_share(*, session: Session, product_value_usd: float, on: dt.date,
                  inputs: Sequence[tuple[str, float]] | None = None, batch: str | None = None,
                  kg_used: float | None = None) -> dict[str, Any]:
    """How much of a product's value is controlled rare earth of Chinese origin, from the ledger batches that went
    into it (inputs: (batch, kg used of its gross kg); or one batch and kg_used), priced at the latest USGS oxide
    prices; and whether the rule in force on the date requires a licence. Every step is reported."""
    pairs = list(inputs) if inputs is not None else [(batch or "", kg_used if kg_used is not None else 0.0)]
    problems = []
    if not pairs:
        problems.append(Problem(field="inputs", rule="name at least one ledger batch"))
    if not product_value_usd > 0:
        problems.append(Problem(field="product_value_usd", rule="must be > 0", value=product_value_usd))
    many = len(pairs) > 1
    traced: list[tuple[str, float, dict[str, Any]]] = []
    for i, (name, kg) in enumerate(pairs, start=1):
        row = i if many else None
        if not str(name).strip():
            problems.append(Problem(row=row, field="batch", rule="is required"))
            continue
        if not kg > 0:
            problems.append(Problem(row=row, field="kg_used", rule="must be > 0", value=kg))
            continue
        try:
            t = ledger.trace(session=session, batch=str(name), direction="up")
        except NotFound:
            problems.append(Problem(row=row, field="batch", rule="is not a ledger batch", value=name))
            continue
        if kg > t["nodes"][0]["gross_kg"] + 1e-9:
            problems.append(Problem(row=row, field="kg_used", rule=f"batch {name} holds "
                                    f"{t['nodes'][0]['gross_kg']:,.3f} kg", value=kg))
            continue
        traced.append((str(name), float(kg), t))
    if problems:
        raise InputError(problems)
    rule = rule_on(session=session, on=on)
    latest = session.scalar(select(models.ContentRule.elements).order_by(models.ContentRule.effective_from.desc()))
    controlled = set(rule["elements"]) if rule else set((latest or "").split(";")) - {""}
    prices = indicators().price_usd_per_kg
    parts = []  # one row per input and element: REO kg and its Chinese-origin kg from the input's lineage
    used = []
    for name, kg, t in traced:
        root = t["nodes"][0]
        reo_used = root["reo_kg"] * kg / root["gross_kg"]
        china = next((r for r in t["origin"]["by_country"] if r["country"] == CHINA), None)
        china_share = (china or {}).get("share_by_element", {})
        comp = root["composition"]
        reo = np.array([reo_used * (comp.get(el, 0.0) if isinstance(comp, dict) else comp[i])
                        for i, el in enumerate(ELEMENTS)])
        cn = reo * np.array([china_share.get(el, 0.0) for el in ELEMENTS])
        parts.append(pd.DataFrame({"batch": name, "element": list(ELEMENTS), "reo_kg": reo, "chinese_origin_kg": cn}))
        used.append({"batch": name, "kg_used": kg, "gross_kg": root["gross_kg"], "reo_kg_used": reo_used,
                     "chinese_origin_reo_kg": float(cn.sum())})
    per = pd.concat(parts, ignore_index=True)
    per = per[per.reo_kg > 0]
    table = per.groupby("element", sort=False)[["reo_kg", "chinese_origin_kg"]].sum().reset_index()
    table["chinese_origin_share"] = table.chinese_origin_kg / table.reo_kg
    table["controlled"] = table.element.isin(controlled)
    price = table.element.map(prices).astype(float)
    table["price_usd_per_kg"] = price
    table["value_usd"] = table.chinese_origin_kg * price
    rows = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in table[["element", "reo_kg", "chinese_origin_share", "chinese_origin_kg", "controlled",
                            "price_usd_per_kg", "value_usd"]].to_dict("records")]
    counted = table[table.controlled]
    unpriced = counted[counted.value_usd.isna() & (counted.chinese_origin_kg > 0)].element.tolist()
    value = float(counted.value_usd.fillna(0).sum())
    share = value / product_value_usd
    threshold = rule["threshold_value_share"] if rule else None
    outcome = ("rule not in force on this date" if rule is None else
               "licence required" if share >= threshold else "below the de minimis threshold")
    steps = [
        "REO used per input = batch REO kg x kg used / batch gross kg: "
        + "; ".join(f"{u['batch']} {u['reo_kg_used']:,.3f} kg" for u in used),
        "Chinese-origin kg per element = REO used x element share x Chinese share of that element in the lineage",
        f"controlled elements ({rule['measure_id'] if rule else 'latest rule, not in force'}): "
        + ", ".join(sorted(controlled)),
        f"value = sum over controlled elements of Chinese-origin kg x USGS price = {value:,.2f} USD"
        + (f" (unpriced, counted as 0: {', '.join(unpriced)})" if unpriced else ""),
        f"share = {value:,.2f} / {product_value_usd:,.2f} = {share:.6%}"
        + (f"; threshold {threshold:.4%} on {on}: {outcome}" if threshold is not None else f"; {outcome}"),
    ]
    return {"batch": ", ".join(u["batch"] for u in used), "on": on, "inputs": used,
            "kg_used": sum(u["kg_used"] for u in used), "reo_kg_used": sum(u["reo_kg_used"] for u in used),
            "product_value_usd": product_value_usd, "elements": rows, "controlled_chinese_value_usd": value,
            "value_share": share, "threshold_value_share": threshold, "rule": rule, "outcome": outcome,
            "unpriced_elements": unpriced, "steps": steps,
            "note": "prices: latest USGS MCS oxide prices per kg (REO kg counted as oxide kg); elements without a "
                    "USGS price are listed as unpriced and count as zero, so the share is a lower bound"}


def rules(*, session: Session) -> pd.DataFrame:
    """Every dated content rule, oldest first, with its suspensions."""
    r = models.ContentRule
    rows = session.execute(select(r.measure_id, r.elements, r.threshold_value_share, r.effective_from,
                                  r.effective_to, r.note).order_by(r.effective_from, r.id)).all()
    out = pd.DataFrame(rows, columns=["measure_id", "elements", "threshold_value_share", "effective_from",
                                      "effective_to", "note"])
    s = models.ExportSuspension
    susp = session.execute(select(s.measure_id, s.suspended_from, s.suspended_until)).all()
    spans: dict[str, list[str]] = {}
    for m, a, b in susp:
        spans.setdefault(m, []).append(f"{a} to {b}")
    out["suspended"] = out.measure_id.map(lambda m: "; ".join(spans.get(m, [])))
    return out


def add_rule(*, session: Session, measure_id: str, threshold_value_share: float, effective_from: dt.date,
             elements: Sequence[str] | None = None, note: str = "") -> models.ContentRule:
    """A new dated content rule period from a date; the period open on that date ends the day before."""
    problems = []
    measure = session.get(models.ExportMeasure, measure_id)
    if measure is None:
        problems.append(Problem(field="measure_id", rule="is not a known measure", value=measure_id))
    if not 0 < threshold_value_share < 1:
        problems.append(Problem(field="threshold_value_share", rule="must be a fraction between 0 and 1",
                                value=threshold_value_share))
    chosen = list(elements) if elements else (measure.elements.split(";") if measure and measure.elements else [])
    bad = [e for e in chosen if e not in ELEMENTS]
    if bad or not chosen:
        problems.append(Problem(field="elements", rule="must be rare earth element symbols", value=";".join(bad)))
    r = models.ContentRule
    later = session.scalar(select(r).where(r.effective_from >= effective_from))
    if later is not None:
        problems.append(Problem(field="effective_from", rule=f"a rule already starts on {later.effective_from}; "
                                "a new period must start after the latest", value=effective_from.isoformat()))
    if problems:
        raise InputError(problems)
    for open_rule in session.scalars(select(r).where(r.effective_from < effective_from,
                                                     or_(r.effective_to.is_(None), r.effective_to >= effective_from))):
        open_rule.effective_to = effective_from - dt.timedelta(days=1)
    rule = models.ContentRule(measure_id=measure_id, elements=";".join(chosen),
                              threshold_value_share=threshold_value_share, effective_from=effective_from,
                              effective_to=None, source=measure.source if measure else "", note=note)
    session.add(rule)
    session.flush()
    return rule
