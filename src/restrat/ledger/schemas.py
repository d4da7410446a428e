"""Request and response shapes of the ledger API (events follow ledger-event.schema.json)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class EventsIn(BaseModel):
    events: list[dict[str, Any]] = Field(description="Events in the interchange format (ledger-event.schema.json)")


class ImportOut(BaseModel):
    import_id: int
    events_new: int
    events_skipped: int
    batches_new: int
    first_event_id: int | None
    last_event_id: int | None
    head_chain_hex: str
    seconds: float


class VerifyOut(BaseModel):
    ok: bool
    events_checked: int
    head_chain_hex: str
    first_bad_event_id: int | None
    first_bad_uid: str | None
    problem: str | None


class FlowOut(BaseModel):
    source: str
    target: str
    flow: str
    reo_t: float


class FindingOut(BaseModel):
    kind: str
    rule: str
    event_uids: list[str]
    facility_code: str | None
    size: float
    unit: str
