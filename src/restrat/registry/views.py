"""Registry routes: REST API under /api/v1/registry and the registry web pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from restrat.api.deps import current_user, get_session, require_roles
from restrat.auth import models as auth_models
from restrat.auth import service as auth
from restrat.catalog import service as catalog
from restrat.errors import Forbidden, NotFound
from restrat.registry import models, service
from restrat.registry.schemas import (
    EnterpriseIn,
    EnterpriseOut,
    FacilityImportIn,
    FacilityIn,
    FacilityOut,
    GroupOut,
    MembershipIn,
)
from restrat.store.limits import capped, time_limit
from restrat.web import charts
from restrat.web.render import page_user, render

router = APIRouter(prefix="/api/v1/registry", tags=["registry"])
pages = APIRouter(include_in_schema=False)
WRITERS = ("regulator",)


@router.get("/enterprises", response_model=list[EnterpriseOut], summary="Enterprises")
def enterprises(q: str | None = None, limit: int = Query(1000, ge=1), session: Session = Depends(get_session),
                _user: auth_models.User = Depends(current_user)) -> list[models.Enterprise]:
    with time_limit(session):
        return service.list_enterprises(session=session, q=q, limit=capped(limit))


@router.post("/enterprises", response_model=EnterpriseOut, status_code=201, summary="Register an enterprise")
def create_enterprise(body: EnterpriseIn, session: Session = Depends(get_session),
                      user: auth_models.User = Depends(require_roles(*WRITERS))) -> models.Enterprise:
    ent = service.create_enterprise(session=session, code=body.code, name=body.name, country=body.country,
                                    region=body.region)
    auth.audit(session=session, username=user.username, action="create", entity="enterprise", entity_key=body.code)
    return ent


@router.get("/enterprises/{code}", response_model=EnterpriseOut, summary="One enterprise")
def enterprise(code: str, session: Session = Depends(get_session),
               _user: auth_models.User = Depends(current_user)) -> models.Enterprise:
    return service.get_enterprise(session=session, code=code)


@router.get("/groups", response_model=list[GroupOut], summary="Enterprise groups with member counts on a date")
def groups(on: str | None = Query(None, description="Date YYYY-MM-DD, default today"),
           session: Session = Depends(get_session), _user: auth_models.User = Depends(current_user)) -> list[GroupOut]:
    day = dt.date.fromisoformat(on) if on else None
    return [GroupOut(code=r["group"].code, name_en=r["group"].name_en, name_zh=r["group"].name_zh,
                     data_status=r["group"].data_status, members=r["members"], source=r["group"].source,
                     note=r["group"].note) for r in service.list_groups(session=session, on=day)]


@router.post("/memberships", status_code=201, summary="An enterprise joins a group from a date")
def join_group(body: MembershipIn, session: Session = Depends(get_session),
               user: auth_models.User = Depends(require_roles(*WRITERS))) -> dict[str, str]:
    service.join_group(session=session, enterprise=body.enterprise, group=body.group, valid_from=body.valid_from,
                       share_pct=body.share_pct)
    auth.audit(session=session, username=user.username, action="join_group", entity="enterprise",
               entity_key=body.enterprise, detail=body.model_dump())
    return {"enterprise": body.enterprise, "group": body.group, "valid_from": body.valid_from.isoformat()}


@router.get("/facilities", response_model=list[FacilityOut], summary="Facilities, filtered")
def facilities(q: str | None = None, stage: str | None = None, country: str | None = None,
               ore_type: str | None = None, limit: int = Query(1000, ge=1),
               session: Session = Depends(get_session),
               _user: auth_models.User = Depends(current_user)) -> list[models.Facility]:
    with time_limit(session):
        return service.list_facilities(session=session, q=q, stage=stage, country=country, ore_type=ore_type,
                                       limit=capped(limit))


@router.get("/facilities/{code}", response_model=FacilityOut, summary="One facility")
def facility(code: str, session: Session = Depends(get_session),
             _user: auth_models.User = Depends(current_user)) -> models.Facility:
    return service.get_facility(session=session, code=code)


def _may_write_for(user: auth_models.User, enterprise_codes: set[str], session: Session) -> None:
    """Regulators and admins register any facility; an enterprise user only its own enterprise's."""
    if user.role in ("regulator", "admin"):
        return
    if user.role == "enterprise" and user.enterprise_id is not None:
        own = session.get(models.Enterprise, user.enterprise_id)
        if own is not None and enterprise_codes <= {own.code}:
            return
    raise Forbidden(f"user '{user.username}' ({user.role}) may not register facilities of {sorted(enterprise_codes)}")


@router.post("/facilities", response_model=FacilityOut, status_code=201, summary="Register a facility")
def create_facility(body: FacilityIn, session: Session = Depends(get_session),
                    user: auth_models.User = Depends(current_user)) -> models.Facility:
    _may_write_for(user, {body.enterprise}, session)
    fields = {k: v for k, v in body.model_dump().items() if v is not None}
    fac = service.create_facility(session=session, **fields)
    auth.audit(session=session, username=user.username, action="create", entity="facility", entity_key=body.code)
    return fac


@router.post("/facilities/import", response_model=list[FacilityOut], summary="Import facilities in one transaction")
def import_facilities(body: FacilityImportIn, session: Session = Depends(get_session),
                      user: auth_models.User = Depends(current_user)) -> list[models.Facility]:
    _may_write_for(user, {str(r.get("enterprise", "")) for r in body.rows}, session)
    facs = service.import_facilities(session=session, rows=body.rows, source_name="request")
    auth.audit(session=session, username=user.username, action="import", entity="facility",
               detail={"rows": len(facs)})
    return facs


# ---- web pages ----------------------------------------------------------------------------------------------------


def _facility_rows(session: Session, q: str | None, stage: str | None) -> dict[str, Any]:
    cap = capped(None)
    with time_limit(session):
        rows = service.list_facilities(session=session, q=q or None, stage=stage or None, limit=cap)
    return {"rows": rows, "cap": cap, "q": q or "", "stage": stage or ""}


@pages.get("/registry/facilities", response_class=HTMLResponse)
def facilities_page(request: Request, q: str | None = None, stage: str | None = None,
                    session: Session = Depends(get_session), user: auth_models.User = Depends(page_user)) -> Response:
    return render(request, "registry/facilities.html", user=user, stages=catalog.list_stages(session=session),
                  **_facility_rows(session, q, stage))


@pages.get("/registry/facilities/rows", response_class=HTMLResponse)
def facility_rows(request: Request, q: str | None = None, stage: str | None = None,
                  session: Session = Depends(get_session), user: auth_models.User = Depends(page_user)) -> Response:
    return render(request, "registry/facility_rows.html", user=user, **_facility_rows(session, q, stage))


@pages.get("/registry/facilities/{code}", response_class=HTMLResponse)
def facility_page(request: Request, code: str, session: Session = Depends(get_session),
                  user: auth_models.User = Depends(page_user)) -> Response:
    try:
        fac = service.get_facility(session=session, code=code)
    except NotFound:
        return render(request, "not_found.html", user=user, status_code=404, what=f"facility with code {code!r}",
                      back="/registry/facilities")
    today = dt.date.today()
    group = service.group_of(session=session, enterprise=fac.enterprise.code, on=today)
    stage_names = {s.code: s.name for s in catalog.list_stages(session=session)}
    frame = pd.DataFrame([{"code": fac.code, "name": fac.name, "enterprise_name": fac.enterprise.name,
                           "stage": fac.stage, "lat": fac.lat, "lon": fac.lon,
                           "capacity_t_reo_per_year": fac.capacity_t_reo_per_year, "data_status": fac.data_status}])
    figure = charts.facility_map(frame, [(fac.stage, stage_names.get(fac.stage, fac.stage))])
    figure["layout"].update(height=320, showlegend=False, updatemenus=[])
    figure["layout"]["geo"].update(center={"lon": fac.lon, "lat": fac.lat}, projection={"type": "natural earth",
                                                                                       "scale": 4})
    return render(request, "registry/facility.html", user=user, fac=fac, group=group, today=today,
                  stage_name=stage_names.get(fac.stage, fac.stage), figure=figure)


def _enterprise_rows(session: Session, q: str | None) -> dict[str, Any]:
    cap = capped(None)
    with time_limit(session):
        rows = service.list_enterprises(session=session, q=q or None, limit=cap)
    return {"rows": rows, "cap": cap, "q": q or ""}


@pages.get("/registry/enterprises", response_class=HTMLResponse)
def enterprises_page(request: Request, q: str | None = None, session: Session = Depends(get_session),
                     user: auth_models.User = Depends(page_user)) -> Response:
    return render(request, "registry/enterprises.html", user=user, **_enterprise_rows(session, q))


@pages.get("/registry/enterprises/rows", response_class=HTMLResponse)
def enterprise_rows(request: Request, q: str | None = None, session: Session = Depends(get_session),
                    user: auth_models.User = Depends(page_user)) -> Response:
    return render(request, "registry/enterprise_rows.html", user=user, **_enterprise_rows(session, q))


@pages.get("/registry/groups", response_class=HTMLResponse)
def groups_page(request: Request, on: str | None = None, session: Session = Depends(get_session),
                user: auth_models.User = Depends(page_user)) -> Response:
    try:
        day = dt.date.fromisoformat(on) if on else dt.date.today()
        error = None
    except ValueError:
        day, error = dt.date.today(), f"{on!r} is not a date (YYYY-MM-DD); showing today."
    groups = [{**g, "member_list": service.members(session=session, group=g["group"].code, on=day)}
              for g in service.list_groups(session=session, on=day)]
    return render(request, "registry/groups.html", user=user, groups=groups, on=day, error=error)
