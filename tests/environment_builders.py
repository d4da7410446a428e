"""A small registry for environment tests: one new facility in Jiangxi, one existing facility in Henan, their
outlets and the shipped standards library."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy.orm import Session

from restrat.catalog import service as catalog
from restrat.environment import service
from restrat.registry import service as registry


def build_world(session: Session) -> dict[str, int]:
    """Catalog, two enterprises and facilities, four outlets (one in a sensitive area), the GB 26451 library."""
    catalog.load_reference(session=session)
    registry.create_enterprise(session=session, code="E-NEW", name="New Co", country="China", region="Jiangxi")
    registry.create_enterprise(session=session, code="E-OLD", name="Old Co", country="China", region="Henan")
    registry.create_facility(session=session, code="F-NEW", name="New separation plant", enterprise="E-NEW",
                             stage="separation", country="China", region="Jiangxi (Ganzhou)", lat=25.8, lon=114.9,
                             start_date="2015-06-01")
    registry.create_facility(session=session, code="F-OLD", name="Old separation plant", enterprise="E-OLD",
                             stage="separation", country="China", region="Henan (Zhengzhou)", lat=34.7, lon=113.6,
                             start_date="2005-03-01")
    ids = {}
    for fac, code, medium, discharge, special, mn in (
            ("F-NEW", "W1", "water", "direct", False, "MN-NEW-W1"), ("F-NEW", "A1", "air", "stack", False, "MN-NEW-A1"),
            ("F-NEW", "W2", "water", "direct", True, None), ("F-OLD", "WS", "water", "workshop_outlet", False, None)):
        ids[f"{fac}/{code}"] = service.add_outlet(session=session, facility=fac, code=code, medium=medium,
                                                  discharge=discharge, special_area=special, mn=mn).id
    service.load_reference_standards(session=session)
    session.flush()
    return ids


def hourly(facility: str, outlet: str, pollutant: str, values: list[float], *, start: str = "2026-03-01T00:00:00",
           unit: str = "mg/L", period: str = "hour") -> pd.DataFrame:
    """Rows of one series at consecutive periods from start."""
    freq = {"hour": "h", "day": "D", "minute": "min"}[period]
    times = pd.date_range(start, periods=len(values), freq=freq).strftime("%Y-%m-%dT%H:%M:%S")
    return pd.DataFrame({"facility": facility, "outlet": outlet, "pollutant": pollutant, "time": times,
                         "value": values, "unit": unit, "period": period})


def limit_on(session: Session, facility: str, pollutant: str, day: str, outlet: str | None = None) -> float | None:
    """The upper limit in force (None when no row binds)."""
    df = service.applicable_limits(session=session, facility=facility, on=dt.date.fromisoformat(day),
                                   pollutant=pollutant, outlet=outlet)
    return None if df.empty else float(df.limit_high.iloc[0])
