"""Quota logic: the national quota history and the allocations to enterprise groups, as loaded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from restrat.quota import models

_COLUMNS = ("year", "kind", "ore_type", "batch", "tonnes_reo", "status", "source", "note")


def national_history(*, session: Session, limit: int | None = None) -> list[dict[str, Any]]:
    """National quota rows by year, kind (mining before separation), ore type and batch; each with its status."""
    kind_order = {"mining": 0, "smelting_separation": 1}
    ore_order = {"total": 0, "rock": 1, "ionic": 2}
    rows = [{c: getattr(q, c) for c in _COLUMNS} for q in session.scalars(select(models.NationalQuota))]
    rows.sort(key=lambda r: (r["year"], kind_order.get(r["kind"], 9), r["batch"] != "all", r["batch"],
                             ore_order.get(r["ore_type"], 9)))
    return rows[:limit] if limit else rows
