"""Request shapes of the environment API (responses are tables as lists of records)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field


class LimitsIn(BaseModel):
    standard: str = Field(description="Standard code, e.g. 'GB 26451-2011' or a local standard")
    status: str = Field("official", description="official (supersedes recalled rows), local, seen or illustrative")
    region: str = Field("", description="For a local standard: the region whose facilities it binds")
    rows: list[dict[str, Any]] = Field(description="pollutant, medium, facility_class, discharge, limit_value "
                                                   "('a-b' for a range), limit_unit, valid_from, valid_to, source")


class OutletIn(BaseModel):
    facility: str
    code: str
    medium: str = Field(description="water or air")
    discharge: str = Field(description="direct, indirect, workshop_outlet or stack")
    facility_class: str | None = Field(None, description="existing or new; default from the facility's start date")
    special_area: bool = False
    mn: str | None = Field(None, description="HJ 212 data logger id")
    process: str = Field("unspecified", description="production process, where a standard sets limits by process")


class ValuesIn(BaseModel):
    values: list[dict[str, Any]] = Field(description="facility, outlet, pollutant, time (ISO 8601), value, unit "
                                                     "[, period realtime/minute/hour/day/sample, method, flag, medium]")
    promote: bool = Field(True, description="Promote to the official record at once (else stay in the workspace)")
    source_name: str = "api"


class SubstituteIn(BaseModel):
    start: dt.date = Field(alias="from")
    end: dt.date = Field(alias="to")
    facility: str | None = None


class LoggerIn(BaseModel):
    mn: str = Field(description="HJ 212 data logger id (MN) registered on an outlet")
    password: str = Field(description="The logger's access password (PW), 6..9 characters; only its hash is stored")
    note: str = ""
