"""Request and response shapes of the association API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class PriceIn(BaseModel):
    product: str = Field(description="Product code (GET /api/v1/association/products)")
    price_date: dt.date
    price: float = Field(gt=0, description="Transaction price per kg")
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 code, e.g. CNY or USD")
    volume_t: float = Field(gt=0, description="Volume sold at this price, tonnes")


class SubmissionIn(BaseModel):
    prices: list[PriceIn] = Field(min_length=1)


class SubmitOut(BaseModel):
    new: int
    updated: int
    unchanged: int


class SubmissionOut(BaseModel):
    enterprise: str
    product: str
    price_date: dt.date
    price: float
    currency: str
    volume_t: float
    data_status: str
    submitted_by: str
    submitted_at: dt.datetime


class IndexCellOut(BaseModel):
    product: str
    currency: str
    period: str = Field(description="Month YYYY-MM")
    suppressed: bool = Field(description="True: fewer than the minimum members, or one member dominates")
    contributors: int | None = Field(description="Members contributing; null when suppressed")
    volume_t: float | None = Field(description="Total volume; null when suppressed")
    index_price: float | None = Field(description="Volume-weighted trimmed mean price per kg; null when suppressed")


class StatisticsOut(BaseModel):
    product: str
    currency: str
    months_published: int
    months_suppressed: int
    latest_period: str | None
    latest_index: float | None
    mean_index: float | None
    cv_pct: float | None = Field(description="Coefficient of variation of the published monthly index, %")


class ProductOut(BaseModel):
    code: str
    name: str
    form: str
    unit: str
