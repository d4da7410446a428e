"""Industry tables: REO produced per facility and day, and element REO made and consumed per facility, day and form,
kept by the ledger's import hooks so concentration and the value chain never rescan the ledger."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from restrat.store.base import Base


class ProductionDay(Base):
    """REO (kg) in the batches a facility made by extraction or processing on one UTC day."""

    __tablename__ = "industry_production_day"
    __table_args__ = (PrimaryKeyConstraint("facility_id", "day"),)

    facility_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[int] = mapped_column(BigInteger)  # days since 1970-01-01 (at_epoch_s // 86400)
    reo_kg: Mapped[float] = mapped_column(Float)


class ValueDay(Base):
    """Element REO (kg) a facility made (role 'out') or its processing consumed (role 'in') on one UTC day, per
    product form: what the value chain values (see restrat.industry.valueday)."""

    __tablename__ = "industry_value_day"
    __table_args__ = (PrimaryKeyConstraint("facility_id", "day", "role", "form"),)

    facility_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[int] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(String(3))
    form: Mapped[str] = mapped_column(String(30))
    reo_kg: Mapped[float] = mapped_column(Float)
    la_kg: Mapped[float] = mapped_column(Float)
    ce_kg: Mapped[float] = mapped_column(Float)
    pr_kg: Mapped[float] = mapped_column(Float)
    nd_kg: Mapped[float] = mapped_column(Float)
    pm_kg: Mapped[float] = mapped_column(Float)
    sm_kg: Mapped[float] = mapped_column(Float)
    eu_kg: Mapped[float] = mapped_column(Float)
    gd_kg: Mapped[float] = mapped_column(Float)
    tb_kg: Mapped[float] = mapped_column(Float)
    dy_kg: Mapped[float] = mapped_column(Float)
    ho_kg: Mapped[float] = mapped_column(Float)
    er_kg: Mapped[float] = mapped_column(Float)
    tm_kg: Mapped[float] = mapped_column(Float)
    yb_kg: Mapped[float] = mapped_column(Float)
    lu_kg: Mapped[float] = mapped_column(Float)
    y_kg: Mapped[float] = mapped_column(Float)
    sc_kg: Mapped[float] = mapped_column(Float)
