"""Notebook-friendly functions: the catalog from shipped data, the registry from the configured database."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from restrat.catalog import service as catalog
from restrat.registry import models as registry_models
from restrat.registry import service as registry
from restrat.store.db import get_engine, session_factory


def elements() -> pd.DataFrame:
    """The 17 rare earth elements with oxide formula, computed oxide-to-metal factor and Chinese class."""
    return catalog.element_table()


def oxide_to_metal(element: str) -> float:
    """Tonnes of metal in one tonne of the element's standard oxide (e.g. Nd in Nd2O3)."""
    return catalog.oxide_to_metal(element=element)


def product_forms() -> pd.DataFrame:
    """Product forms along the chain with their stage."""
    return catalog.product_form_table()


def hs_codes() -> pd.DataFrame:
    """Chinese tariff lines for rare earth products with source and status."""
    return catalog.hs_code_table()


def facilities(url: str | None = None) -> pd.DataFrame:
    """The facility registry of the database at url (default: RESTRAT_DATABASE_URL or restrat.db)."""
    with session_factory(get_engine(url))() as session:
        return registry.facilities_frame(session=session)


def enterprises(url: str | None = None) -> pd.DataFrame:
    """Registered enterprises of the database at url."""
    with session_factory(get_engine(url))() as session:
        rows = session.execute(select(registry_models.Enterprise.__table__)).mappings().all()
        return pd.DataFrame(rows)


def groups(url: str | None = None) -> pd.DataFrame:
    """Enterprise groups with their members and membership dates."""
    e, g, m = registry_models.Enterprise, registry_models.EnterpriseGroup, registry_models.GroupMembership
    stmt = (select(g.code.label("group"), g.name_en.label("group_name"), e.code.label("enterprise"),
                   e.name.label("enterprise_name"), m.valid_from, m.valid_to, m.share_pct)
            .join(m, m.group_id == g.id).join(e, e.id == m.enterprise_id).order_by(g.code, e.code))
    with session_factory(get_engine(url))() as session:
        return pd.DataFrame(session.execute(stmt).mappings().all())
