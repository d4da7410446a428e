"""Request and response shapes of the market API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class RunIn(BaseModel):
    """A scenario to solve and store, as the text of a scenario TOML file."""

    scenario_toml: str = Field(..., min_length=1, max_length=100_000,
                               examples=['[scenario]\nname = "quota cut"\n\n[[mining_quota]]\ncountry = "China"\n'
                                         'tonnes = 200000\nfrom_year = 2026\n'])


class RunOut(BaseModel):
    """A stored run."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    scenario: str
    description: str
    method: str = Field(description="'by year' (one QP per year, links verified), 'linked years' (years where "
                        "carrying stock pays solved together) or 'joint' (whole horizon at once)")
    solve_seconds: float
    created_by: str
    created_at: dt.datetime


class HeadlineOut(BaseModel):
    metric: str
    label: str
    scenario: float
    baseline: float | None


class RunDetailOut(BaseModel):
    run: RunOut
    headline: list[HeadlineOut]
    prices: list[dict] = Field(description="year, element, market, price_usd_per_kg, demand_t, substituted_t, "
                                           "from_china_t, from_outside_t, stock_t")
    summary: list[dict] = Field(description="year, metric, value")


class ScenarioOut(BaseModel):
    name: str
    description: str
    start_year: int
    horizon: int
    conduct: str
    levers: list[str]
    uncertain: list[str]
