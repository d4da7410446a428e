"""Request and response shapes of the export control API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ProductIn(BaseModel):
    form: str = Field(description="Catalog product form, e.g. magnet_ndfeb, separated_oxide, or technology")
    hs_code: str = Field("", description="HS code, e.g. 8505111000")
    composition: str = Field("", description='Element shares of REO, e.g. "Nd:0.7;Dy:0.05"')
    value_usd: float = Field(0.0, ge=0)


class ClassifyIn(ProductIn):
    on: dt.date | None = Field(None, description="Date (default today)")


class ClassifyBulkIn(BaseModel):
    on: dt.date | None = Field(None, description="Date for lines without their own")
    lines: list[dict[str, Any]] = Field(description="Lines with form, hs_code, composition, value_usd, date, line")


class ContentInput(BaseModel):
    batch: str = Field(description="Ledger batch that went into the foreign-made product")
    kg_used: float = Field(gt=0, description="Kilograms of the batch in the product")


class ContentIn(BaseModel):
    batch: str | None = Field(None, description="Ledger batch that went into the foreign-made product")
    kg_used: float | None = Field(None, gt=0, description="Kilograms of the batch in the product")
    inputs: list[ContentInput] = Field(default_factory=list, description="More batches in the product")
    product_value_usd: float = Field(gt=0)
    on: dt.date | None = None


class LicenceLineIn(ProductIn):
    quantity_kg: float = Field(gt=0)


class LicenceIn(BaseModel):
    exporter: str | None = Field(None, description="Enterprise code (an enterprise user applies for its own)")
    kind: Literal["single", "general"] = "single"
    consignee: str
    consignee_country: str
    end_user: str
    end_user_country: str
    end_use: str
    end_use_class: Literal["military", "civil"] | None = Field(None, description="The end-use declaration")
    destination: str
    lines: list[LicenceLineIn]


class LicenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    state: str
    kind: str
    consignee: str
    consignee_country: str
    end_user: str
    end_user_country: str
    end_use: str
    end_use_class: str
    destination: str
    quantity_kg: float
    consumed_kg: float
    value_usd: float
    submitted_on: dt.date | None
    review_due: dt.date | None
    decided_on: dt.date | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    conditions: str
    screening_band: str
    data_status: str


class TransitionIn(BaseModel):
    to: Literal["submitted", "under_review", "approved", "approved_with_conditions", "denied", "revoked"]
    reason: str = ""
    conditions: str = ""


class ProposalIn(BaseModel):
    effective_date: dt.date


class DecisionIn(BaseModel):
    accept: bool
    reason: str = Field(min_length=1)


class PartyIn(BaseModel):
    name: str = Field(min_length=1)
    country: str = ""


class ScreenIn(BaseModel):
    parties: list[PartyIn] = Field(min_length=1)
    list_name: str | None = None
    review: float = Field(80.0, ge=0, le=100, description="Score from which a hit is shown for review")
    potential: float = Field(90.0, ge=0, le=100, description="Score from which a hit is a potential match")
