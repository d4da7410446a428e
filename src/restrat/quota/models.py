"""Quota tables: national plans by year, kind, ore type and batch; allocations to enterprise groups."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from restrat.store.base import Base


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


class QuotaAllocation(Base):
    """A quota held by a facility (or an enterprise or group) for a year, kind and ore type; revisions are new rows
    with a later valid_from, never edits."""

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
