"""Registry tables. Facilities carry integer surrogate keys so ledger rows stay compact and facility-scoped."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from restrat.store.base import Base


class EnterpriseGroup(Base):
    __tablename__ = "enterprise_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(100), default="")
    data_status: Mapped[str] = mapped_column(String(20))  # seen / illustrative
    source: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")


class Enterprise(Base):
    __tablename__ = "enterprise"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(60))
    region: Mapped[str] = mapped_column(String(100), default="")
    data_status: Mapped[str] = mapped_column(String(20))  # thirdparty / illustrative / registered
    source: Mapped[str] = mapped_column(Text, default="")

    facilities: Mapped[list[Facility]] = relationship(back_populates="enterprise")


class GroupMembership(Base):
    """An enterprise belongs to a group from valid_from until valid_to (open-ended when null)."""

    __tablename__ = "group_membership"
    __table_args__ = (
        CheckConstraint("share_pct >= 0 AND share_pct <= 100", name="share_range"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("enterprise_group.id"), index=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    share_pct: Mapped[float] = mapped_column(Float, default=100.0)
    source: Mapped[str] = mapped_column(Text, default="")


class Facility(Base):
    __tablename__ = "facility"
    __table_args__ = (
        CheckConstraint("lat >= -90 AND lat <= 90", name="lat_range"),
        CheckConstraint("lon >= -180 AND lon <= 180", name="lon_range"),
        CheckConstraint("capacity_t_reo_per_year IS NULL OR capacity_t_reo_per_year >= 0", name="capacity_nonneg"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    stage: Mapped[str] = mapped_column(ForeignKey("chain_stage.code"), index=True)
    ore_type: Mapped[str] = mapped_column(String(12))  # rock / ionic / secondary / none
    country: Mapped[str] = mapped_column(String(60))
    region: Mapped[str] = mapped_column(String(100), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    capacity_t_reo_per_year: Mapped[float | None] = mapped_column(Float, nullable=True)
    start_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    technology_level: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1 (basic) .. 5 (leading)
    custody_model: Mapped[str] = mapped_column(String(20))  # identity_preserved / segregated / mass_balance
    operating_status: Mapped[str] = mapped_column(String(20), default="active")
    data_status: Mapped[str] = mapped_column(String(20))  # thirdparty_approx / illustrative / registered
    source: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")

    enterprise: Mapped[Enterprise] = relationship(back_populates="facilities")
