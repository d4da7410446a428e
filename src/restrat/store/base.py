"""Declarative base shared by every capability's models."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Now in UTC without a zone: how every table stores its timestamps (SQLite keeps no zone)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def load_all_models() -> MetaData:
    """Import every capability's models so Base.metadata knows all tables."""
    from restrat.association import models as _association  # noqa: F401
    from restrat.auth import models as _auth  # noqa: F401
    from restrat.catalog import models as _catalog  # noqa: F401
    from restrat.environment import models as _environment  # noqa: F401
    from restrat.exports import models as _exports  # noqa: F401
    from restrat.industry import models as _industry  # noqa: F401
    from restrat.ledger import models as _ledger  # noqa: F401
    from restrat.market import models as _market  # noqa: F401
    from restrat.quota import models as _quota  # noqa: F401
    from restrat.registry import models as _registry  # noqa: F401
    from restrat.technology import models as _technology  # noqa: F401

    return Base.metadata
