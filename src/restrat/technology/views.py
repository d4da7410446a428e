"""Technology routes: REST API under /api/v1/technology and the innovation, project, network and technology export
control pages. An enterprise sees its own projects and public aggregates only; the association aggregates only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from restrat.api.deps import current_user, get_session
from restrat.auth import models as auth_models
from restrat.auth import service as auth
from restrat.errors import Forbidden, InputError, NotFound, Problem
from restrat.industry.service import records
from restrat.registry.models import Enterprise
from restrat.store.limits import time_limit
from restrat.technology import control, pipeline, service
from restrat.technology.schemas import (
    ApplicationIn,
    ApplicationOut,
    BenefitOut,
    BundleIn,
    ControlStatusOut,
    IndicatorOut,
    NetworkOut,
    PatentOut,
    ProjectOut,
)
from restrat.web import technology_charts as charts
from restrat.web.render import page_user, render

router = APIRouter(prefix="/api/v1/technology", tags=["technology"])
pages = APIRouter(include_in_schema=False)


def viewer(user: auth_models.User) -> service.Viewer:
    """What this capability needs to know of the user."""
    return service.Viewer(role=user.role, enterprise_id=user.enterprise_id)


@router.get("/projects", response_model=list[ProjectOut], summary="R&D projects with their pipeline durations")
def projects(session: Session = Depends(get_session),
             user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    with time_limit(session):
        return records(service.projects_frame(session=session, viewer=viewer(user)))


@router.get("/projects/{code}", summary="One project: partners, budgets, readiness, patents, industrialisation")
def project(code: str, session: Session = Depends(get_session),
            user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    detail = service.get_project(session=session, code=code, viewer=viewer(user))
    return {k: (records(v) if hasattr(v, "to_dict") and not isinstance(v, dict) else v) for k, v in detail.items()}


@router.post("/import", status_code=201, summary="Record dated projects, patents, industrialisation... in one go")
def import_bundle(body: BundleIn, session: Session = Depends(get_session),
                  user: auth_models.User = Depends(current_user)) -> dict[str, int]:
    bundle = body.sections()
    service.may_write(session=session, viewer=viewer(user), bundle=bundle)
    counts = service.import_bundle(session=session, bundle=bundle, username=user.username, source_name="request")
    auth.audit(session=session, username=user.username, action="import", entity="technology", detail=counts)
    return counts


@router.get("/patents", response_model=list[PatentOut], summary="Patents with holders and status on a date")
def patents(on: dt.date | None = Query(None, description="Status on this date (default today)"),
            session: Session = Depends(get_session),
            user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return records(service.patents_frame(session=session, viewer=viewer(user), on=on))


@router.get("/institutions", summary="Research institutes and universities")
def institutions(session: Session = Depends(get_session),
                 _user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return records(service.institutions_frame(session=session))


@router.get("/benefit", response_model=list[BenefitOut],
            summary="Output and value of each technology in production, per year (ledger and USGS prices)")
def benefit(session: Session = Depends(get_session),
            user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    with time_limit(session):
        return records(service.benefit(session=session, viewer=viewer(user)))


@router.get("/facility-levels", summary="Facility technology levels over time")
def facility_levels(session: Session = Depends(get_session),
                    _user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return records(service.facility_levels(session=session))


@router.get("/network", response_model=NetworkOut, summary="Cooperation network: centrality, communities, fields")
def cooperation(session: Session = Depends(get_session),
                user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    net = service.cooperation(session=session, viewer=viewer(user))
    return {"summary": net["summary"], "actors": records(net["actors"]), "edges": records(net["edges"]),
            "fields": records(net["fields"]), "full": net["full"]}


@router.get("/indicators", response_model=list[IndicatorOut], summary="Aspect 2 indicators for the scorecard")
def indicators(recent_years: int = Query(5, ge=1, le=50, description="N of 'processes industrialised in the last "
                                                                       "N years'"),
               session: Session = Depends(get_session),
               _user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    with time_limit(session):
        return records(service.indicators(session=session, recent_years=recent_years))


@router.get("/control", response_model=list[ControlStatusOut],
            summary="Export-control status of technology fields on a date")
def control_status(on: dt.date = Query(..., description="Date YYYY-MM-DD"),
                   field: list[str] | None = Query(None, description="Technology field; repeat (default all)"),
                   session: Session = Depends(get_session),
                   _user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    codes = field or service.fields().code.tolist()
    unknown = sorted(set(codes) - set(service.fields().code))
    if unknown:
        raise InputError([Problem(field="field", rule="unknown technology field", value=c) for c in unknown])
    return records(control.status_on(session=session, fields=codes, on=on))


@router.post("/export-applications", response_model=ApplicationOut, status_code=201,
             summary="Apply to export a project's technology; the control list is checked at the date")
def apply(body: ApplicationIn, session: Session = Depends(get_session),
          user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    if user.role not in ("enterprise", "regulator", "admin"):
        raise Forbidden(f"role '{user.role}' may not file technology export applications")
    app = service.apply_for_export(session=session, project=body.project, recipient=body.recipient,
                                   recipient_country=body.recipient_country, applied_on=body.applied_on,
                                   username=user.username, viewer=viewer(user))
    auth.audit(session=session, username=user.username, action="apply", entity="technology_export",
               entity_key=app.code)
    frame = service.applications_frame(session=session)
    return records(frame[frame.code == app.code])[0]


@router.get("/export-applications", response_model=list[ApplicationOut],
            summary="Technology export applications with the check made at their date")
def applications(session: Session = Depends(get_session),
                 user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return records(service.applications_frame(session=session, viewer=viewer(user)))


# ---- web pages ----------------------------------------------------------------------------------------------------


def _day(value: str | None) -> tuple[dt.date, str | None]:
    try:
        return (dt.date.fromisoformat(value) if value else dt.date.today()), None
    except ValueError:
        return dt.date.today(), f"{value!r} is not a date (YYYY-MM-DD); showing today."


@pages.get("/technology", response_class=HTMLResponse)
def overview_page(request: Request, recent_years: int = 5, session: Session = Depends(get_session),
                  user: auth_models.User = Depends(page_user)) -> Response:
    recent_years = min(max(recent_years, 1), 50)
    v = viewer(user)
    with time_limit(session):
        projs = service.projects_frame(session=session, viewer=v)
        gain = service.benefit(session=session, viewer=v)
        table = service.indicators(session=session, recent_years=recent_years)
    levels = service.facility_levels(session=session) if v.sees_all else None
    totals = table[table.field == "all"]
    latest = totals.sort_values("year").groupby("indicator").tail(1)
    return render(request, "technology/overview.html", user=user, sees_all=v.sees_all, recent_years=recent_years,
                  projects=records(projs), benefit=records(gain), price_source=pipeline.PRICE_SOURCE,
                  headline=records(latest),
                  pipeline_figure=charts.pipeline_chart(projs) if len(projs) else None,
                  benefit_figure=charts.benefit_chart(gain) if len(gain) else None,
                  patents_figure=charts.indicator_chart(table, "patents_filed", title="patents filed"),
                  projects_figure=charts.indicator_chart(table, "projects_started", title="projects started"),
                  levels_figure=charts.levels_chart(levels) if levels is not None and len(levels) else None,
                  illustrative=bool((projs.data_status == "illustrative").any()) if len(projs) else False)


@pages.get("/technology/projects/{code}", response_class=HTMLResponse)
def project_page(request: Request, code: str, session: Session = Depends(get_session),
                 user: auth_models.User = Depends(page_user)) -> Response:
    try:
        detail = service.get_project(session=session, code=code, viewer=viewer(user))
    except NotFound:
        return render(request, "not_found.html", user=user, status_code=404, what=f"project with code {code!r}",
                      back="/technology")
    except Forbidden as e:
        return render(request, "technology/message.html", user=user, status_code=403, message=str(e))
    steps = detail["industrialisation"]
    return render(request, "technology/project.html", user=user, p=detail["project"],
                  partners=records(detail["partners"]), budgets=records(detail["budgets"]),
                  readiness=records(detail["readiness"]), patents=records(detail["patents"]),
                  steps=records(steps), control=detail["control"],
                  figure=charts.readiness_chart(detail["readiness"], steps) if len(detail["readiness"]) else None)


@pages.get("/technology/network", response_class=HTMLResponse)
def network_page(request: Request, session: Session = Depends(get_session),
                 user: auth_models.User = Depends(page_user)) -> Response:
    net = service.cooperation(session=session, viewer=viewer(user))
    figure = charts.network_chart(net["actors"], net["edges"], net["layout"]) if net["full"] and len(net["actors"]) \
        else None
    return render(request, "technology/network.html", user=user, net=net, figure=figure,
                  actors=records(net["actors"]), fields=records(net["fields"]))


@pages.get("/technology/export-control", response_class=HTMLResponse)
def control_page(request: Request, on: str | None = None, session: Session = Depends(get_session),
                 user: auth_models.User = Depends(page_user)) -> Response:
    day, error = _day(on)
    v = viewer(user)
    codes = service.fields().code.tolist()
    try:
        status = control.status_on(session=session, fields=codes, on=day)
        history = control.history(session=session, fields=codes, until=max(day, dt.date.today()))
    except InputError as e:
        return render(request, "technology/control.html", user=user, on=day, error=" ".join(e.lines()),
                      status=[], figure=None, projects=[], applications=[], scope=[], may_apply_for=[])
    projs = service.project_control(session=session, on=day, viewer=v)
    own = session.get(Enterprise, user.enterprise_id) if user.enterprise_id is not None else None
    leads = projs if user.role != "enterprise" else projs[projs.lead_enterprise == (own.code if own else None)]
    return render(request, "technology/control.html", user=user, on=day, error=error, status=records(status),
                  may_apply_for=leads.code.tolist(),
                  figure=charts.control_chart(history) if len(history) else None, projects=records(projs),
                  applications=records(service.applications_frame(session=session, viewer=v)),
                  scope=records(control.scope()), may_apply=user.role in ("enterprise", "regulator", "admin"))


@pages.post("/technology/export-control/apply", response_class=HTMLResponse)
def apply_page(request: Request, project: str = Form(...), recipient: str = Form(""),
               recipient_country: str = Form(""), applied_on: str = Form(""),
               session: Session = Depends(get_session), user: auth_models.User = Depends(page_user)) -> Response:
    day, error = _day(applied_on)
    if error:
        return render(request, "technology/message.html", user=user, status_code=422, message=error)
    try:
        if user.role not in ("enterprise", "regulator", "admin"):
            raise Forbidden(f"role '{user.role}' may not file technology export applications")
        app = service.apply_for_export(session=session, project=project, recipient=recipient,
                                       recipient_country=recipient_country, applied_on=day,
                                       username=user.username, viewer=viewer(user))
    except (InputError, NotFound, Forbidden) as e:
        message = " ".join(e.lines()) if isinstance(e, InputError) else str(e)
        return render(request, "technology/message.html", user=user, status_code=422, message=message)
    auth.audit(session=session, username=user.username, action="apply", entity="technology_export",
               entity_key=app.code)
    return RedirectResponse(f"/technology/export-control?on={day.isoformat()}#applications", status_code=303)
