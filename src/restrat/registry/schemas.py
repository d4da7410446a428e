"""Request and response shapes of the registry API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class EnterpriseIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(min_length=1, max_length=60)
    region: str = ""


class EnterpriseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    country: str
    region: str
    data_status: str


class GroupOut(BaseModel):
    code: str
    name_en: str
    name_zh: str
    data_status: str
    members: int
    source: str
    note: str


class MembershipIn(BaseModel):
    enterprise: str
    group: str
    valid_from: dt.date
    share_pct: float = Field(100.0, ge=0, le=100)


class FacilityIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    enterprise: str
    stage: str
    ore_type: str = "none"
    country: str = "China"
    region: str = ""
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    capacity_t_reo_per_year: float | None = Field(None, ge=0, description="t REO per year")
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    technology_level: int | None = Field(None, ge=1, le=5)
    custody_model: str | None = None
    operating_status: str = "active"


class FacilityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    enterprise_id: int
    stage: str
    ore_type: str
    country: str
    region: str
    lat: float
    lon: float
    capacity_t_reo_per_year: float | None
    start_date: dt.date | None
    end_date: dt.date | None
    technology_level: int | None
    custody_model: str
    operating_status: str
    data_status: str
    source: str
    note: str


class FacilityImportIn(BaseModel):
    rows: list[dict[str, str | float | int | None]]
