"""Industry tables: REO produced per facility and day, kept by the ledger's import hook so concentration on
production never rescans the ledger."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, PrimaryKeyConstraint
from sqlalchemy.orm import Mapped, mapped_column

from restrat.store.base import Base


class ProductionDay(Base):
    """REO (kg) in the batches a facility made by extraction or processing on one UTC day."""

    __tablename__ = "industry_production_day"
    __table_args__ = (PrimaryKeyConstraint("facility_id", "day"),)

    facility_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[int] = mapped_column(BigInteger)  # days since 1970-01-01 (at_epoch_s // 86400)
    reo_kg: Mapped[float] = mapped_column(Float)
