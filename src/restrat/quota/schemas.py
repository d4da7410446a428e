"""Request and response shapes of the quota API. Quantities are t REO unless the field name says otherwise."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field


class PlanIn(BaseModel):
    year: int = Field(ge=1990, le=2100)
    kind: str = Field(description="mining or smelting_separation")
    ore_type: str = Field("total", description="rock, ionic or total (separation quotas: total)")
    batch: str = Field("all", max_length=12, description="issuance batch: 1, 2, ... or all")
    tonnes_reo: float = Field(ge=0)
    issued_on: dt.date
    source: str = ""


class PlanOut(BaseModel):
    year: int
    kind: str
    ore_type: str
    batch: str
    issued_t_reo: float
    in_force_t_reo: float
    issued_on: dt.date
    changes: int
    data_status: str
    source: str


class AllocationImportIn(BaseModel):
    rows: list[dict[str, Any]] = Field(description="code, year, kind, ore_type, batch, level (group, enterprise, "
                                                   "facility), holder, tonnes_reo, parent, data_status, source")


class ImportOut(BaseModel):
    allocations_new: int
    allocations_skipped: int


class ChangeIn(BaseModel):
    target: str = Field(description="plan or allocation")
    key: str = Field(description="allocation code, or a plan as YEAR/KIND/ORE_TYPE/BATCH")
    tonnes_reo: float = Field(ge=0)
    effective_on: dt.date
    reason: str = Field(min_length=1)


class AllocationOut(BaseModel):
    code: str
    year: int
    kind: str
    ore_type: str
    batch: str
    level: str
    group: str | None
    enterprise: str | None
    facility: str | None
    parent: str | None
    issued_t_reo: float
    in_force_t_reo: float
    data_status: str


class BalanceOut(BaseModel):
    facility: str
    name: str | None
    year: int
    kind: str
    quota_t_reo: float | None
    used_t_reo: float
    remaining_t_reo: float | None
    used_pct: float | None
    events: int
    status: str
    data_status: str | None


class InfractionOut(BaseModel):
    infraction: str
    facility: str
    year: int
    kind: str
    event: str | None
    event_time: str | None
    quota_t_reo: float
    used_now_t_reo: float
    excess_t_reo: float
    penalty: str
    penalty_source: str
    next_year: str
    next_year_source: str
    data_status: str


class AllocateIn(BaseModel):
    year: int = Field(ge=1990, le=2100)
    kind: str = "mining"
    total_t_reo: float = Field(ge=0)
    ionic_share: float | None = Field(None, ge=0, le=1)
    max_change: float | None = Field(None, ge=0, le=1)
    min_group_share: dict[str, float] | None = None
    save: bool = False
    batch: str = "all"


class ConsumeOut(BaseModel):
    events_counted: int
    quotas_touched: int
    infractions_new: int
    last_event_id: int
