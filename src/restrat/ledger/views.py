"""Ledger routes: REST API under /api/v1/ledger and the ledger web pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from restrat.api.deps import current_user, get_session, require_roles
from restrat.auth import models as auth_models
from restrat.errors import Forbidden
from restrat.ledger import service
from restrat.ledger.schemas import EventsIn, FindingOut, FlowOut, ImportOut, VerifyOut
from restrat.store.limits import capped, time_limit

router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])
pages = APIRouter(include_in_schema=False)


def _enterprise_scope(user: auth_models.User) -> int | None:
    return user.enterprise_id if user.role == "enterprise" else None


@router.post("/events", response_model=ImportOut, summary="Report events (one transaction, idempotent)")
def post_events(body: EventsIn, session: Session = Depends(get_session),
                user: auth_models.User = Depends(require_roles("regulator", "enterprise"))) -> dict[str, Any]:
    result = service.import_records(session=session, records=body.events, username=user.username,
                                    enterprise_id=_enterprise_scope(user))
    return dict(result.__dict__)


@router.get("/events", summary="The newest events (an enterprise sees its own facilities)")
def get_events(facility: str | None = None, kind: str | None = None, limit: int = Query(100, ge=1),
               session: Session = Depends(get_session),
               user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    if user.role == "association":
        raise Forbidden("the association sees national aggregates only")
    with time_limit(session):
        return service.events(session=session, facility=facility, kind=kind, limit=capped(limit),
                              enterprise_id=_enterprise_scope(user))


@router.get("/batches/{batch}/trace", summary="Lineage of a batch: origin mix (up) and destinations (down)")
def get_trace(batch: str, direction: str = Query("up", pattern="^(up|down|both)$"),
              session: Session = Depends(get_session),
              user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    service.check_read(role=user.role, enterprise_id=user.enterprise_id, session=session, batch=batch)
    with time_limit(session):
        return service.trace(session=session, batch=batch, direction=direction)


@router.get("/facilities/{facility}/balance", summary="Per-element material balance of a facility and period")
def get_balance(facility: str, start: dt.date, end: dt.date, session: Session = Depends(get_session),
                user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    service.check_read(role=user.role, enterprise_id=user.enterprise_id, session=session, facility=facility)
    with time_limit(session):
        return service.balance(session=session, facility=facility, start=start, end=end)


@router.get("/flows", response_model=list[FlowOut], summary="National REO flows between chain stages (t)")
def get_flows(year: int | None = None, session: Session = Depends(get_session),
              _user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    with time_limit(session):
        return service.flows(session=session, year=year).to_dict("records")


@router.get("/verify", response_model=VerifyOut, summary="Recompute the hash chain; the first break if any")
def get_verify(session: Session = Depends(get_session),
               _user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    return service.verify(session=session).as_dict()


@router.get("/head", summary="Last event id and chain hash, for publication")
def get_head(session: Session = Depends(get_session), _user: auth_models.User = Depends(current_user)) -> dict:
    return service.head(session=session)


@router.post("/anomalies/scan", response_model=list[FindingOut], summary="Scan the ledger; store and forward")
def post_scan(session: Session = Depends(get_session),
              user: auth_models.User = Depends(require_roles("regulator"))) -> list[dict[str, Any]]:
    findings = service.scan(session=session)
    service.record_findings(session=session, findings=findings, username=user.username)
    return findings.assign(event_uids=findings.event_uids.map(list)).to_dict("records")


@router.get("/alerts", summary="Alerts forwarded to facilities (an enterprise sees its own)")
def get_alerts(facility: str | None = None, limit: int = Query(200, ge=1), session: Session = Depends(get_session),
               user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    if user.role == "association":
        raise Forbidden("the association sees national aggregates only")
    return service.alerts(session=session, facility=facility, enterprise_id=_enterprise_scope(user),
                          limit=capped(limit))
