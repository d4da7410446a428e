"""Association tables: one row per member price submission (product, price date, currency), upserted."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from restrat.store.base import Base, utcnow


class PriceSubmission(Base):
    """A member's transaction price: raw, visible to the submitter and the regulator only."""

    __tablename__ = "association_price_submission"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "product", "price_date", "currency"),  # one price per member, day
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("volume_t > 0", name="volume_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    product: Mapped[str] = mapped_column(String(40), index=True)
    price_date: Mapped[dt.date] = mapped_column(Date)
    price: Mapped[float] = mapped_column(Float)  # per kg, in currency
    currency: Mapped[str] = mapped_column(String(3))
    volume_t: Mapped[float] = mapped_column(Float)
    data_status: Mapped[str] = mapped_column(String(20), default="registered")  # registered / illustrative
    submitted_by: Mapped[str] = mapped_column(String(80))
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
