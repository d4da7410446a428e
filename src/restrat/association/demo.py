"""ILLUSTRATIVE price submissions for the demo: made-up prices from illustrative enterprises, never market data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from restrat.association import service
from restrat.registry import models as registry_models

# product -> (illustrative base price CNY/kg, members quoting it, months in which only two members quote).
# The base prices are made up for the demo; they are not quotations.
DEMO_PRODUCTS = {"NdPr_oxide": (450.0, 6, ()), "Dy_oxide": (1_900.0, 4, (3, 7)), "Tb_oxide": (7_000.0, 3, (5,)),
                 "Ce_oxide": (7.0, 5, ())}
DEMO_MONTHS = 12


def seed_demo_prices(*, session: Session, seed: int, today: dt.date | None = None) -> dict[str, int]:
    """Weekly ILLUSTRATIVE submissions over the last twelve months by illustrative separation and metal
    enterprises; a few months have only two members, so the page shows suppression at work."""
    rng = np.random.default_rng(seed)
    ent = registry_models.Enterprise
    members = list(session.scalars(select(ent.code).where(ent.code.like("ILL-SEP-%") | ent.code.like("ILL-MET-%"))
                                   .order_by(ent.code)))
    end = today or dt.date.today()
    start = (pd.Timestamp(end) - pd.DateOffset(months=DEMO_MONTHS)).date()
    weeks = pd.date_range(start, end - dt.timedelta(days=1), freq="7D")
    total = 0
    for product, (base, count, thin_months) in DEMO_PRODUCTS.items():
        drift = np.cumprod(1 + rng.normal(0, 0.02, len(weeks)))
        for k, member in enumerate(members[:count]):
            month_no = (weeks.year - weeks[0].year) * 12 + weeks.month - weeks[0].month
            quoting = ~np.isin(month_no, thin_months) | (k < 2)
            days = weeks[quoting]
            rows = pd.DataFrame({
                "product": product, "price_date": days.strftime("%Y-%m-%d"), "currency": "CNY",
                "price": np.round(base * drift[quoting] * rng.normal(1, 0.03, len(days)), 2),
                "volume_t": np.round(rng.uniform(2, 20, len(days)), 1)})
            total += service.submit(session=session, enterprise=member, rows=rows, username="demo",
                                    data_status="illustrative")["new"]
    return {"association_price_submission": total}
