"""Response shapes of the catalog API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ElementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    symbol: str
    atomic_number: int
    name: str
    atomic_weight_g_per_mol: float
    oxide_formula: str
    oxide_to_metal_factor: float
    cn_class: str
    cn_class_status: str
    cn_class_note: str
    quota_ore_type: str
    source: str


class StageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    position: int
    name: str
    description: str


class ProductFormOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    stage: str
    description: str


class HsCodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    level: str
    description: str
    element: str | None
    form: str
    supervision_code: str
    status: str
    source: str
    note: str


class ConversionOut(BaseModel):
    element: str
    input_t: float
    input_form: str
    output_t: float
    output_form: str
    factor_t_metal_per_t_oxide: float
