"""Market tables: stored scenario runs and their long-format results (for the pages and the API)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from restrat.store.base import Base, utcnow


class MarketRun(Base):
    """One solved scenario (or sweep): its scenario text, who ran it, how it was solved."""

    __tablename__ = "market_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario: Mapped[str] = mapped_column(String(120), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    scenario_toml: Mapped[str] = mapped_column(Text)
    runs: Mapped[int] = mapped_column(Integer, default=1)
    method: Mapped[str] = mapped_column(String(20))
    solve_seconds: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class MarketPrice(Base):
    """Per (run, year, element, market): price and volumes, the long table of the results (run 0 for one run)."""

    __tablename__ = "market_price"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("market_run.id", ondelete="CASCADE"), index=True)
    draw: Mapped[int] = mapped_column(Integer)
    year: Mapped[int] = mapped_column(Integer)
    element: Mapped[str] = mapped_column(String(2))
    market: Mapped[str] = mapped_column(String(30))
    price_usd_per_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    demand_t: Mapped[float] = mapped_column(Float)
    substituted_t: Mapped[float] = mapped_column(Float)
    from_china_t: Mapped[float] = mapped_column(Float)
    from_outside_t: Mapped[float] = mapped_column(Float)
    stock_t: Mapped[float] = mapped_column(Float)


class MarketMetric(Base):
    """Per (run, year, metric): the scenario-level indicators (shares, revenues, surpluses, emissions, ...)."""

    __tablename__ = "market_metric"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("market_run.id", ondelete="CASCADE"), index=True)
    draw: Mapped[int] = mapped_column(Integer)
    year: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(60))
    value: Mapped[float] = mapped_column(Float)
