"""Association service: members submit prices; the platform publishes a reference index and aggregates under
disclosure control. Raw submissions are for their submitter and the regulator alone. No web framework here."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from restrat.association import index as idx
from restrat.association import models
from restrat.errors import Forbidden, InputError, NotFound, Problem
from restrat.industry.service import query_frame
from restrat.registry import models as registry_models
from restrat.store.bulk import insert_rows

DATA = Path(str(resources.files("restrat.association") / "data"))
FIELDS = ("product", "price_date", "price", "currency", "volume_t")
RAW_READERS = ("regulator", "enterprise")


@cache
def _products() -> pd.DataFrame:
    return pd.read_csv(DATA / "products.csv", dtype=str)


def products() -> pd.DataFrame:
    """The products members may quote (association/data/products.csv)."""
    return _products().copy()


def disclosure_rules() -> pd.DataFrame:
    """The disclosure-control rules as dated rows (association/data/disclosure_rules.csv)."""
    return pd.read_csv(DATA / "disclosure_rules.csv")


def check_rows(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Typed submission rows and every problem found, each naming its row (1-based), field and rule."""
    problems: list[Problem] = []
    missing = [f for f in FIELDS if f not in rows.columns]
    if missing:
        return rows, [Problem(field=f, rule="is required") for f in missing]
    extra = [c for c in rows.columns if c not in FIELDS]
    problems += [Problem(field=c, rule=f"unknown field; expected {list(FIELDS)}") for c in extra]
    df = rows.reset_index(drop=True).copy()
    row = pd.Series(range(1, len(df) + 1))
    df["product"] = df["product"].astype(str).str.strip()
    df["currency"] = df["currency"].astype(str).str.strip().str.upper()
    day = pd.to_datetime(df.price_date.astype(str), format="%Y-%m-%d", errors="coerce")
    price = pd.to_numeric(df.price, errors="coerce")
    volume = pd.to_numeric(df.volume_t, errors="coerce")
    checks = [
        (~df["product"].isin(_products().code), "product", f"must be one of {list(_products().code)}", df["product"]),
        (day.isna(), "price_date", "must be a date YYYY-MM-DD", df.price_date),
        (day > pd.Timestamp(dt.date.today()), "price_date", "must not be in the future", df.price_date),
        (~(price > 0), "price", "must be a number above 0 (per kg)", df.price),
        (~(volume > 0), "volume_t", "must be a number of tonnes above 0", df.volume_t),
        (~df["currency"].str.fullmatch(r"[A-Z]{3}"), "currency", "must be a 3-letter ISO 4217 code", df.currency),
    ]
    for bad, field, rule, values in checks:
        problems += [Problem(row=int(r), field=field, rule=rule, value=v)
                     for r, v in zip(row[bad.to_numpy()], values[bad.to_numpy()], strict=True)]
    dup = df.assign(d=day).duplicated(["product", "d", "currency"], keep="first")
    problems += [Problem(row=int(r), field="price_date", rule="one price per product, day and currency",
                         value=str(v)) for r, v in zip(row[dup.to_numpy()], df.price_date[dup.to_numpy()],
                                                       strict=True)]
    typed = df.assign(price_date=day.dt.date, price=price, volume_t=volume)
    return typed, sorted(problems, key=lambda p: (p.row or 0, p.field))


def submit(*, session: Session, enterprise: str, rows: list[dict[str, Any]] | pd.DataFrame, username: str,
           data_status: str = "registered") -> dict[str, int]:
    """Record a member's prices in one transaction: every row is checked first and any problem writes nothing.
    A row for a product, day and currency already submitted replaces it (a correction); the same row again
    changes nothing."""
    ent_id = session.scalar(select(registry_models.Enterprise.id).where(registry_models.Enterprise.code == enterprise))
    if ent_id is None:
        raise NotFound("enterprise", enterprise)
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if frame.empty:
        raise InputError(Problem(field="rows", rule="at least one submission is required"))
    typed, problems = check_rows(frame)
    if problems:
        raise InputError(problems)
    sub = models.PriceSubmission
    existing = {(r.product, r.price_date, r.currency): r for r in session.scalars(
        select(sub).where(sub.enterprise_id == ent_id, sub.product.in_(typed["product"].unique().tolist()),
                          sub.price_date.in_(typed.price_date.unique().tolist())))}
    new_rows, updated, unchanged = [], 0, 0
    for rec in typed.to_dict("records"):
        old = existing.get((rec["product"], rec["price_date"], rec["currency"]))
        if old is None:
            new_rows.append({**{f: rec[f] for f in FIELDS}, "enterprise_id": ent_id, "data_status": data_status,
                             "submitted_by": username})
        elif (old.price, old.volume_t) == (rec["price"], rec["volume_t"]):
            unchanged += 1
        else:
            old.price, old.volume_t, old.submitted_by = rec["price"], rec["volume_t"], username
            updated += 1
    insert_rows(session, sub.__table__, new_rows)
    session.flush()
    return {"new": len(new_rows), "updated": updated, "unchanged": unchanged}


def _frame(session: Session, *, enterprise_id: int | None = None, product: str | None = None) -> pd.DataFrame:
    sub = models.PriceSubmission
    stmt = select(sub.enterprise_id, registry_models.Enterprise.code.label("enterprise"), sub.product,
                  sub.price_date, sub.price, sub.currency, sub.volume_t, sub.data_status, sub.submitted_by,
                  sub.submitted_at).join(registry_models.Enterprise)
    if enterprise_id is not None:
        stmt = stmt.where(sub.enterprise_id == enterprise_id)
    if product:
        stmt = stmt.where(sub.product == product)
    cols = ["enterprise_id", "enterprise", "product", "price_date", "price", "currency", "volume_t", "data_status",
            "submitted_by", "submitted_at"]
    df = query_frame(session, stmt.order_by(sub.price_date, sub.product), cols)
    df["period"] = pd.to_datetime(df.price_date).dt.strftime("%Y-%m")
    return df


def raw_submissions(*, session: Session, role: str, viewer_enterprise_id: int | None,
                    enterprise: str | None = None, product: str | None = None) -> pd.DataFrame:
    """Raw submissions: the regulator sees every member's (optionally one member's); an enterprise its own only.
    Anyone else, the association and admins included, is refused."""
    if role not in RAW_READERS:
        raise Forbidden(f"role '{role}' sees aggregates only; raw prices are for their submitter and the regulator")
    if role == "enterprise":
        if viewer_enterprise_id is None:
            raise Forbidden("this enterprise user is not linked to an enterprise")
        own = session.get(registry_models.Enterprise, viewer_enterprise_id)
        if enterprise and (own is None or enterprise != own.code):
            raise Forbidden("an enterprise sees its own submissions only")
        return _frame(session, enterprise_id=viewer_enterprise_id, product=product).drop(columns=["enterprise_id"])
    ent_id = None
    if enterprise:
        ent_id = session.scalar(select(registry_models.Enterprise.id).where(
            registry_models.Enterprise.code == enterprise))
        if ent_id is None:
            raise NotFound("enterprise", enterprise)
    return _frame(session, enterprise_id=ent_id, product=product).drop(columns=["enterprise_id"])


def _cells(session: Session, product: str | None) -> pd.DataFrame:
    subs = _frame(session, product=product)
    if subs.empty:
        return idx.cells(subs)
    return idx.cells(idx.with_rules(subs, disclosure_rules()))


def reference_index(*, session: Session, product: str | None = None, currency: str | None = None
                    ) -> pd.DataFrame:
    """The published reference price per product, currency and month; suppressed cells carry no figure."""
    pub = idx.published(_cells(session, product))
    return pub[pub.currency == currency.upper()] if currency else pub


def statistics(*, session: Session) -> pd.DataFrame:
    """Per product: months published and suppressed, latest index, mean and coefficient of variation, computed
    from the published cells only."""
    return idx.stability(idx.published(_cells(session, None)))


def suppression_report(*, session: Session, role: str) -> pd.DataFrame:
    """Every cell with contributors, top share and why it is suppressed: for the regulator only."""
    if role != "regulator":
        raise Forbidden(f"role '{role}' may not see why cells are suppressed")
    return _cells(session, None)
