"""Data-driven review of the control list: a documented criticality score per element and product type from the
shipped data, a ranking, and a dated proposal (a diff against the list in force) that the regulator accepts or
rejects; an accepted proposal becomes a new list version. The formula is in docs/exports.md."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from restrat.catalog import reference
from restrat.catalog.service import ELEMENTS
from restrat.errors import Forbidden, InputError, NotFound, Problem
from restrat.exports import models
from restrat.exports import service as control

NAMES = {"lanthanum": "La", "cerium": "Ce", "praseodymium": "Pr", "neodymium": "Nd", "samarium": "Sm",
         "europium": "Eu", "gadolinium": "Gd", "terbium": "Tb", "dysprosium": "Dy", "yttrium": "Y"}
SUB_ITEMS = {"a": "metal_alloy_product", "b": "oxide", "c": "compound"}
# China's share of world output at the stage each product type comes from (ree_demand_shares_secondary.csv,
# "China share along the supply chain"): metals, alloys and magnets from magnet making, oxides and compounds from
# refining and separation.
STAGE_OF_SUB_ITEM = {"a": "Permanent magnets", "b": "Refining / separation", "c": "Refining / separation"}


@dataclass(frozen=True)
class ReviewParams:
    """Weights of the indicators (renormalised over those an element has data for) and the proposal thresholds."""

    weights: dict[str, float] = field(default_factory=lambda: {
        "demand_growth": 0.25, "demand_share": 0.15, "scarcity": 0.25, "price": 0.15, "military": 0.20})
    add_at: float = 0.45
    remove_below: float = 0.35
    min_coverage: float = 0.6
    scenario: str = "STEPS"
    horizon: int = 2040


def _minmax(values: pd.Series) -> pd.Series:
    lo, hi = values.min(), values.max()
    return (values - lo) / (hi - lo) if hi > lo else values * 0 + 0.5


def indicators(params: ReviewParams | None = None) -> pd.DataFrame:
    """Raw indicators per element from the shipped data, each with its source column."""
    p = params or ReviewParams()
    iea = reference.read("ree_iea_critical_minerals_outlook_demand_supply.csv")
    iea = iea[iea.dataset.str.startswith("clean-tech demand by mineral") & iea.mineral.isin(NAMES)].copy()
    iea["element"] = iea.mineral.map(NAMES)
    iea["value"] = iea.value.astype(float)
    base = iea[iea.scenario == "base year"].set_index("element")
    future = iea[(iea.scenario == p.scenario) & (iea.year.astype(int) == p.horizon)].set_index("element")
    years = p.horizon - base.year.astype(int)
    growth = (future.value / base.value) ** (1 / years) - 1
    shares = reference.read("ree_demand_shares_secondary.csv")
    shares = shares[(shares.dimension == "element") & shares.item.str.contains(r"\(")]
    share = pd.Series(shares.value.astype(float).to_numpy(), index=shares.item.str.extract(r"\((\w+)\)")[0])
    props = reference.read("ree_element_properties_mendeleev.csv").set_index("symbol")
    abundance = pd.to_numeric(props.abundance_crust, errors="coerce")
    prices = reference.read("ree_prices_usgs_annual_latest_edition.csv")
    prices = prices[prices.element.isin(ELEMENTS) & prices["product"].str.contains("oxide")]
    prices = prices.assign(year=prices.year.astype(int)).sort_values("year").groupby("element").tail(1)
    price = pd.Series(prices.price_usd_per_kg.astype(float).to_numpy(), index=prices.element)
    measures = reference.read("cn_export_control_measures.csv").set_index("measure_id")
    military = set(measures.loc["MOFCOM-2025-61", "elements"].split(";"))
    out = pd.DataFrame(index=pd.Index(ELEMENTS, name="element"))
    out["demand_growth"] = growth
    out["demand_share"] = share
    out["crustal_abundance_mg_per_kg"] = abundance
    out["price_usd_per_kg"] = price
    out["price_year"] = prices.set_index("element").year
    out["military"] = [1.0 if e in military else 0.0 for e in ELEMENTS]
    return out


def scores(params: ReviewParams | None = None) -> pd.DataFrame:
    """Criticality per element and product type (a metals/alloys/products, b oxides, c compounds), ranked."""
    p = params or ReviewParams()
    raw = indicators(p)
    norm = pd.DataFrame(index=raw.index)
    norm["demand_growth"] = _minmax(raw.demand_growth)
    norm["demand_share"] = _minmax(raw.demand_share)
    norm["scarcity"] = _minmax(-np.log10(raw.crustal_abundance_mg_per_kg))
    norm["price"] = _minmax(np.log10(raw.price_usd_per_kg))
    norm["military"] = raw.military
    w = pd.Series(p.weights)
    have = norm[w.index].notna()
    coverage = have.mul(w).sum(axis=1)
    element_score = norm[w.index].fillna(0).mul(w).sum(axis=1) / coverage.replace(0, np.nan)
    china = reference.read("ree_demand_shares_secondary.csv")
    china = china[china.dimension == "supply-chain stage"].set_index("item").value.astype(float) / 100
    rows = []
    for sub, stage in STAGE_OF_SUB_ITEM.items():
        part = pd.DataFrame({"element": raw.index, "sub_item": sub, "category": SUB_ITEMS[sub],
                             "element_score": element_score.to_numpy(), "coverage": coverage.to_numpy(),
                             "china_stage_share": china[stage]})
        rows.append(pd.concat([part.set_index("element"), norm.add_prefix("x_")], axis=1).reset_index())
    out = pd.concat(rows, ignore_index=True)
    out["score"] = (out.element_score * out.china_stage_share).round(4)
    out = out.sort_values(["score", "element", "sub_item"], ascending=[False, True, True], na_position="last")
    out["rank"] = np.arange(1, len(out) + 1)
    return out.reset_index(drop=True)


def propose(*, session: Session, effective_date: dt.date, username: str,
            params: ReviewParams | None = None) -> models.ReviewProposal:
    """Score, rank and propose a dated diff against the list in force the day before effective_date: add dual-use
    items for well-covered elements scoring at or above add_at, remove listed items scoring below remove_below."""
    p = params or ReviewParams()
    ranked = scores(p)
    listed = control.applicable_on(session=session, on=effective_date - dt.timedelta(days=1))
    listed = listed[listed.licence == "dual_use_licence"]
    on_list = set(zip(listed.element, listed.sub_item, strict=True))
    ranked["listed"] = [(e, s) in on_list for e, s in zip(ranked.element, ranked.sub_item, strict=True)]
    covered = ranked.coverage >= p.min_coverage
    add = ranked[covered & ~ranked.listed & (ranked.score >= p.add_at)]
    remove = ranked[covered & ranked.listed & (ranked.score < p.remove_below)]
    proposal = models.ReviewProposal(created_by=username, effective_date=effective_date,
                                     params=json.dumps(asdict(p)))
    session.add(proposal)
    session.flush()
    codes = listed.drop_duplicates(["element", "sub_item"]).set_index(["element", "sub_item"]).item_code
    for action, part in (("add", add), ("remove", remove)):
        for r in part.itertuples(index=False):
            code = codes.get((r.element, r.sub_item), f"REVIEW-{proposal.id}-{r.element}.{r.sub_item}")
            why = (f"score {r.score:.3f} {'>=' if action == 'add' else '<'} "
                   f"{p.add_at if action == 'add' else p.remove_below} (element {r.element_score:.3f} x China share "
                   f"at the stage {r.china_stage_share:.0%}; data coverage {r.coverage:.0%})")
            session.add(models.ReviewChange(proposal_id=proposal.id, action=action, element=r.element,
                                            sub_item=r.sub_item, item_code=code, score=float(r.score),
                                            rank=int(r.rank), rationale=why))
    session.flush()
    return proposal


def get_proposal(*, session: Session, proposal_id: int) -> models.ReviewProposal:
    """One proposal by id."""
    proposal = session.get(models.ReviewProposal, proposal_id)
    if proposal is None:
        raise NotFound("review proposal", proposal_id)
    return proposal


def changes(*, session: Session, proposal_id: int) -> list[models.ReviewChange]:
    """The changes a proposal makes, adds first, by rank."""
    return list(session.scalars(select(models.ReviewChange).where(models.ReviewChange.proposal_id == proposal_id)
                                .order_by(models.ReviewChange.action, models.ReviewChange.rank)))


def proposals(*, session: Session) -> list[models.ReviewProposal]:
    """Every proposal, newest first."""
    return list(session.scalars(select(models.ReviewProposal).order_by(models.ReviewProposal.id.desc())))


def decide(*, session: Session, proposal_id: int, accept: bool, username: str, role: str,
           reason: str) -> models.ReviewProposal:
    """The regulator accepts (a new list version from the proposal's date) or rejects a proposal, with a reason."""
    if role not in ("regulator", "admin"):
        raise Forbidden(f"role '{role}' may not decide list reviews; the regulator does")
    proposal = get_proposal(session=session, proposal_id=proposal_id)
    if proposal.state != "proposed":
        raise InputError(Problem(field="state", rule=f"proposal {proposal_id} is already {proposal.state}"))
    if not reason.strip():
        raise InputError(Problem(field="reason", rule="a reason is required"))
    proposal.state = "accepted" if accept else "rejected"
    proposal.decided_by = username
    proposal.decided_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    proposal.reason = reason.strip()
    if accept:
        proposal.version_id = _apply(session, proposal, username)
    session.flush()
    return proposal


def _apply(session: Session, proposal: models.ReviewProposal, username: str) -> int:
    day = proposal.effective_date
    version = models.ControlListVersion(created_by=username, effective_date=day,
                                        basis=f"review proposal {proposal.id} accepted: {proposal.reason}")
    session.add(version)
    session.flush()
    e = models.ControlEntry
    for change in changes(session=session, proposal_id=proposal.id):
        if change.action == "remove":
            for entry in session.scalars(select(e).where(
                    e.element == change.element, e.sub_item == change.sub_item, e.licence == "dual_use_licence",
                    e.effective_from < day, (e.effective_to.is_(None)) | (e.effective_to >= day))):
                entry.effective_to = day - dt.timedelta(days=1)
                entry.version_closed = version.id
        else:
            category = SUB_ITEMS[change.sub_item]
            what = {"a": "metal, alloys and products", "b": "oxide and its mixtures",
                    "c": "compounds and their mixtures"}[change.sub_item]
            session.add(e(item_code=change.item_code, element=change.element, sub_item=change.sub_item,
                          category=category, description=f"{change.element} {what} (added by list review)",
                          forms=control._forms_for(category, ""), hs_codes="", min_share=0.0,
                          licence="dual_use_licence", measure_id=None, code_status="review",
                          effective_from=day, effective_to=None, version_added=version.id,
                          source=f"restrat list review proposal {proposal.id}", note=change.rationale))
    session.flush()
    return version.id


def versions(*, session: Session) -> list[dict[str, Any]]:
    """The list versions with the entries each added and closed."""
    e = models.ControlEntry
    added = pd.DataFrame(session.execute(select(e.version_added, e.version_closed)).all(),
                         columns=["added", "closed"])
    out = []
    for v in session.scalars(select(models.ControlListVersion).order_by(models.ControlListVersion.id)):
        out.append({"id": v.id, "created_at": v.created_at, "created_by": v.created_by, "basis": v.basis,
                    "effective_date": v.effective_date, "entries_added": int((added.added == v.id).sum()),
                    "entries_closed": int((added.closed == v.id).sum())})
    return out
