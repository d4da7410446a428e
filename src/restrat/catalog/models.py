"""Catalog tables: elements, classification schemes, chain stages, product forms, HS codes, USGS statistics."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from restrat.store.base import Base


class Element(Base):
    __tablename__ = "element"

    symbol: Mapped[str] = mapped_column(String(3), primary_key=True)
    atomic_number: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(40))
    atomic_weight_g_per_mol: Mapped[float] = mapped_column(Float)
    oxide_formula: Mapped[str] = mapped_column(String(12))
    oxide_to_metal_factor: Mapped[float] = mapped_column(Float)  # t metal per t oxide
    cn_class: Mapped[str] = mapped_column(String(12))  # light / medium / heavy
    cn_class_status: Mapped[str] = mapped_column(String(12))
    cn_class_note: Mapped[str] = mapped_column(Text, default="")
    quota_ore_type: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(Text)


class ElementClass(Base):
    __tablename__ = "element_class"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    element: Mapped[str] = mapped_column(ForeignKey("element.symbol"), index=True)
    scheme: Mapped[str] = mapped_column(String(40))
    class_: Mapped[str] = mapped_column("class", String(40))
    status: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")


class ChainStage(Base):
    __tablename__ = "chain_stage"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text)


class ProductForm(Base):
    __tablename__ = "product_form"

    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    stage: Mapped[str] = mapped_column(ForeignKey("chain_stage.code"))
    description: Mapped[str] = mapped_column(Text)


class HsCode(Base):
    __tablename__ = "hs_code"

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    level: Mapped[str] = mapped_column(String(6))
    description: Mapped[str] = mapped_column(Text)
    element: Mapped[str | None] = mapped_column(ForeignKey("element.symbol"), nullable=True)
    form: Mapped[str] = mapped_column(String(20))
    supervision_code: Mapped[str] = mapped_column(String(10), default="")
    status: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")


class CountryProduction(Base):
    """Mine production by country as published in each USGS MCS edition (revisions kept)."""

    __tablename__ = "country_production"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mcs_edition: Mapped[str] = mapped_column(String(10))
    data_year: Mapped[int] = mapped_column(Integer, index=True)
    country: Mapped[str] = mapped_column(String(60))
    mine_production_t_reo: Mapped[float | None] = mapped_column(Float, nullable=True)
    estimated: Mapped[bool] = mapped_column(Boolean)
    raw_value: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text)


class CountryReserves(Base):
    __tablename__ = "country_reserves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mcs_edition: Mapped[str] = mapped_column(String(10))
    country: Mapped[str] = mapped_column(String(60))
    reserves_t_reo: Mapped[float | None] = mapped_column(Float, nullable=True)
    raw_value: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text)
