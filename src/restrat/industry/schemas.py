"""Request and response shapes of the industry API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class Cell(BaseModel):
    """The market cell a figure belongs to (only the dimensions asked for are set)."""

    stage: str | None = None
    ore_type: str | None = None
    region: str | None = None
    country: str | None = None
    year: int | None = None


class ConcentrationOut(Cell):
    total: float = Field(description="Market size in the measure's unit")
    owners: int = Field(description="Owners (groups, or enterprises outside any group) with a positive value")
    hhi: float = Field(description="Herfindahl-Hirschman index on shares in percent (0-10,000)")
    cr_n: float = Field(description="Combined share (percent) of the n largest owners")
    n: int
    leader: str
    leader_share_pct: float


class MergerIn(BaseModel):
    owners: list[str] = Field(min_length=1, description="Owners (group or enterprise codes) that merge")
    into: str = Field(min_length=1, description="The merged owner's code (may be one of owners, or new)")
    measure: str = Field("capacity", description="capacity, production or quota")
    by: list[str] = Field(default_factory=lambda: ["stage"], description="Dimensions of the market cells")
    on: dt.date | None = Field(None, description="Date of the capacity snapshot (default today)")
    years: list[int] | None = Field(None, description="Years to include (production, quota, capacity by year)")
    n: int = Field(4, ge=1)
    guideline_on: dt.date | None = Field(None, description="Screen with the guideline in force on this date")


class MergerOut(Cell):
    total: float
    hhi_pre: float
    hhi_post: float
    delta_hhi: float
    cr_n_pre: float
    cr_n_post: float
    owners_pre: int
    owners_post: int
    leader_post: str
    merged_share_pct: float
    highly_concentrated: bool
    significant_increase: bool
    presumed_harmful: bool
    guideline: str
    parties_t: float | None = Field(None, description="The merging parties' combined volume in the cell")
    uncosted_t: float | None = Field(None, description="Part of it in stages without a cost curve")
    unit_cost_pre_usd_per_t: float | None = Field(None, description="Parties' unit cost, each at its own scale "
                                                                     "(ILLUSTRATIVE cost curve)")
    unit_cost_post_usd_per_t: float | None = Field(None, description="Unit cost at the merged scale")
    unit_cost_change_pct: float | None = Field(None, description="Scale effect on the parties' unit cost, %")
    annual_saving_usd: float | None = Field(None, description="Cost saved on the parties' volume per year")


class AccessCheckOut(BaseModel):
    code: str
    name: str
    stage: str
    ore_type: str
    capacity: float | None = Field(description="Registered capacity, t REO/yr")
    verdict: str = Field(description="falls_short, indeterminate, meets, not_assessed or no_conditions")
    version: str | None = Field(description="Version of the access conditions applied")
    reasons: str = Field(description="Why the facility falls short or cannot be decided")
    not_assessed: str = Field(description="Conditions the registry holds no data for")
    data_status: str
    source: str


class ClusterOut(BaseModel):
    cluster: int
    facilities: int
    lat: float
    lon: float
    region: str
    country: str
    stages_present: str
    stages_missing: str
    completeness: float = Field(description="Share of the chain's stages (mining to product) present")
    capacity_by_stage_t_reo: dict[str, float]
    value_year: int | None = Field(None, description="Ledger year the value figures are for (the latest)")
    value_made_usd: float | None = Field(None, description="Value of what the cluster's facilities made that year")
    value_added_usd: float | None = Field(None, description="Value made less the value of inputs consumed; "
                                                            "ILLUSTRATIVE factors beyond separated oxides")


class IntegrationOut(BaseModel):
    owner: str
    owner_kind: str = Field(description="group, or enterprise outside any group")
    year: int
    input_t: float = Field(description="REO consumed by the owner's processing plants, t")
    inside_t: float = Field(description="of which supplied from inside the owner, t")
    vi_pct: float = Field(description="Vertical integration index: inside_t / input_t, %")


class ValueStageOut(BaseModel):
    """Value made, consumed and added at one chain stage in one cell and year (USD, t REO)."""

    country: str | None = None
    owner: str | None = None
    cluster: str | None = None
    year: int
    stage: str
    position: int
    output_t: float = Field(description="REO in the batches the stage's facilities made (t)")
    unpriced_t: float = Field(description="Part of it in elements without a USGS oxide price then (t)")
    output_value_usd: float
    value_per_t_usd: float | None = Field(None, description="Output value per tonne of priced REO")
    input_value_usd: float = Field(description="Value of the batches the stage's processing consumed")
    value_added_usd: float


class MultiplierOut(BaseModel):
    country: str | None = None
    owner: str | None = None
    cluster: str | None = None
    year: int
    from_stage: str
    to_stage: str
    from_value_per_t_usd: float | None
    to_value_per_t_usd: float | None
    multiplier: float | None
    note: str


class StructureOut(BaseModel):
    country: str | None = None
    owner: str | None = None
    cluster: str | None = None
    year: int
    structure: str = Field(description="raw, intermediate, functional or high_end")
    reo_t: float
    value_usd: float
    share_reo_pct: float | None
    share_value_pct: float | None


class StagePriceOut(BaseModel):
    form: str
    factor_of_oxide_value: float
    status: str = Field(description="seen (a price in the data room) or assumption (ILLUSTRATIVE)")
    structure: str
    basis: str
    reason: str


class ValueChainOut(BaseModel):
    by: str
    stages: list[ValueStageOut]
    multipliers: list[MultiplierOut]
    structure: list[StructureOut]
    stage_prices: list[StagePriceOut]


class ScorecardRowOut(BaseModel):
    """One indicator in one year; value None (with a note) where the data are absent."""

    aspect: int
    indicator: str
    label: str
    unit: str
    better: str = Field(description="higher, lower or blank (no direction)")
    year: int
    value: float | None
    status: str = Field(description="status of the source row where it has one (seen, recalled)")
    note: str
    source: str
