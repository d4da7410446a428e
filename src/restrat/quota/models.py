"""Quota tables: national plans by year, kind, ore type and batch; allocations down the ownership tree; dated
changes; consumption balances and infractions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from restrat.store.base import Base, utcnow


class NationalQuota(Base):
    __tablename__ = "quota_national"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(24))  # mining / smelting_separation
    ore_type: Mapped[str] = mapped_column(String(12))  # total / rock / ionic
    batch: Mapped[str] = mapped_column(String(12))
    tonnes_reo: Mapped[float | None] = mapped_column(Float, nullable=True)  # null: issued, figure not published
    status: Mapped[str] = mapped_column(String(12))  # seen / derived / recalled
    source: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")


class GroupQuota(Base):
    __tablename__ = "quota_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    batch: Mapped[str] = mapped_column(String(12))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise_group.id"), nullable=True)
    group_name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))
    ore_type: Mapped[str] = mapped_column(String(12))
    tonnes_reo: Mapped[float | None] = mapped_column(Float, nullable=True)
    share_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")


class QuotaPlan(Base):
    """A quota the platform's regulator issues: year, kind, ore type and issuance batch. Its amount changes only
    through QuotaChange rows."""

    __tablename__ = "quota_plan"
    __table_args__ = (
        UniqueConstraint("year", "kind", "ore_type", "batch"),
        CheckConstraint("tonnes_reo >= 0", name="tonnes_nonneg"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(24))  # mining / smelting_separation
    ore_type: Mapped[str] = mapped_column(String(12))  # rock / ionic / total
    batch: Mapped[str] = mapped_column(String(12))
    tonnes_reo: Mapped[float] = mapped_column(Float)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    data_status: Mapped[str] = mapped_column(String(20))  # issued / illustrative
    source: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(80), default="system")


class QuotaAllocation(Base):
    """A quota held by a group, an enterprise or a facility for a year, kind, ore type and batch; the amount
    changes only through QuotaChange rows, never by editing this one."""

    __tablename__ = "quota_allocation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(24))  # mining / smelting_separation
    ore_type: Mapped[str] = mapped_column(String(12))  # rock / ionic / total
    group_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise_group.id"), nullable=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), nullable=True)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facility.id"), nullable=True, index=True)
    tonnes_reo: Mapped[float] = mapped_column(Float)
    data_status: Mapped[str] = mapped_column(String(20))  # seen / illustrative / issued
    source: Mapped[str] = mapped_column(Text, default="")
    batch: Mapped[str] = mapped_column(String(12), default="all", server_default="all")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("quota_allocation.id"), nullable=True)
    recorded_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True, default=utcnow)
    username: Mapped[str | None] = mapped_column(String(80), nullable=True)


class QuotaChange(Base):
    """A dated change of a plan's or an allocation's amount: from effective_on the amount is tonnes_reo."""

    __tablename__ = "quota_change"
    __table_args__ = (
        CheckConstraint("tonnes_reo >= 0", name="tonnes_nonneg"),
        CheckConstraint("target IN ('plan', 'allocation')", name="target_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target: Mapped[str] = mapped_column(String(12))  # plan / allocation
    target_id: Mapped[int] = mapped_column(Integer, index=True)
    effective_on: Mapped[dt.date] = mapped_column(Date)
    tonnes_reo: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(80))


class QuotaUsage(Base):
    """How much of a facility's quota of a year and kind its ledger events have used; one row per key, only ever
    incremented by a single UPDATE inside the writer's transaction."""

    __tablename__ = "quota_usage"
    __table_args__ = (UniqueConstraint("facility_id", "year", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"))
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    used_g: Mapped[int] = mapped_column(BigInteger, default=0)  # grams REO: integer, so concurrent sums are exact
    events: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class QuotaInfraction(Base):
    """Production beyond or without a quota: flagged once per facility, year and kind (the unique key)."""

    __tablename__ = "quota_infraction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)  # over_quota:<facility>:<year>:<kind>, no_quota:...
    infraction: Mapped[str] = mapped_column(String(20))  # over_quota / no_quota
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    event_id: Mapped[int] = mapped_column(BigInteger)  # the ledger event that crossed the limit
    limit_kg: Mapped[float] = mapped_column(Float)
    used_kg: Mapped[float] = mapped_column(Float)  # used after that event's import
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class QuotaCursor(Base):
    """The last ledger event whose consumption is counted (one row), so counting from the ledger is idempotent."""

    __tablename__ = "quota_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
