"""Request and response shapes of the technology API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field


class BundleIn(BaseModel):
    """Sections of dated records, each a list of rows (see docs/technology.md for the columns)."""

    institutions: list[dict[str, Any]] = Field(default_factory=list)
    projects: list[dict[str, Any]] = Field(default_factory=list)
    partners: list[dict[str, Any]] = Field(default_factory=list)
    budgets: list[dict[str, Any]] = Field(default_factory=list)
    readiness: list[dict[str, Any]] = Field(default_factory=list)
    patents: list[dict[str, Any]] = Field(default_factory=list)
    patent_status: list[dict[str, Any]] = Field(default_factory=list)
    industrialisation: list[dict[str, Any]] = Field(default_factory=list)
    facility_levels: list[dict[str, Any]] = Field(default_factory=list)

    def sections(self) -> dict[str, list[dict[str, Any]]]:
        return {k: v for k, v in self.model_dump().items() if v}


class ProjectOut(BaseModel):
    code: str
    title: str
    field: str
    lead_enterprise: str
    lead_name: str
    start_date: dt.date
    end_date: dt.date | None
    partners: str = Field(description="partner codes, ';'-separated")
    budget_cny: float | None = Field(description="latest recorded budget, CNY")
    readiness: int | None = Field(description="latest technology readiness level, 1-9")
    pilot_on: dt.date | None
    production_on: dt.date | None
    days_to_pilot: float | None
    days_to_production: float | None
    years_to_production: float | None
    data_status: str
    source: str


class PatentOut(BaseModel):
    number: str
    title: str
    field: str
    project: str
    filed_on: dt.date
    holders: str
    status: str
    status_since: dt.date | None
    data_status: str
    source: str


class BenefitOut(BaseModel):
    code: str
    year: int
    batches: int
    output_t: float = Field(description="gross tonnes of product made with the technology (ledger)")
    reo_t: float = Field(description="tonnes of REO contained")
    value_usd: float = Field(description="contained REO at USGS annual oxide prices, USD")
    unpriced_reo_t: float = Field(description="t REO of elements without a USGS oxide price")
    price_year: int = Field(description="oldest price year used (latest price at or before the batch year)")


class IndicatorOut(BaseModel):
    indicator: str
    field: str
    year: int
    value: float
    unit: str
    source: str


class ActorOut(BaseModel):
    actor: str
    name: str
    kind: str
    partners: int
    degree_centrality: float
    betweenness: float
    shared_links: int
    community: int


class FieldCoverageOut(BaseModel):
    field: str
    name: str
    projects: int
    patents: int
    enterprises: int
    institutions: int
    no_enterprise: bool
    situation: str


class NetworkOut(BaseModel):
    summary: dict[str, Any]
    actors: list[ActorOut]
    edges: list[dict[str, Any]]
    fields: list[FieldCoverageOut]
    full: bool = Field(description="false: aggregates and your own enterprise's row only")


class ControlStatusOut(BaseModel):
    field: str
    on: dt.date
    status: str
    licence_required: str
    items: str
    reasons: str
    suspended_items: str
    undated_items: str


class ApplicationIn(BaseModel):
    project: str
    recipient: str = Field(min_length=1, max_length=200)
    recipient_country: str = Field(min_length=1, max_length=60)
    applied_on: dt.date


class ApplicationOut(BaseModel):
    code: str
    project: str
    field: str
    applicant: str
    recipient: str
    recipient_country: str
    applied_on: dt.date
    control_status: str
    licence_required: str
    items: str
    suspended_items: str
    reasons: str
    data_status: str
