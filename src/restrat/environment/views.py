"""Environment routes: REST API under /api/v1/environment and the environmental supervision web pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from restrat.api.deps import current_user, get_session, require_roles
from restrat.auth import models as auth_models
from restrat.auth import service as auth
from restrat.environment import service, standards, wastes
from restrat.environment.models import MonitoringValue
from restrat.environment.schemas import LimitsIn, LoggerIn, OutletIn, SubstituteIn, ValuesIn
from restrat.errors import Forbidden, InputError, Problem
from restrat.registry.models import Facility
from restrat.store.limits import capped, time_limit
from restrat.web import environment_charts as charts
from restrat.web.render import page_user, render

router = APIRouter(prefix="/api/v1/environment", tags=["environment"])
pages = APIRouter(include_in_schema=False)
AGGREGATES_ONLY = "The association sees national aggregates only, not single facilities' monitoring records."


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records of a table: NaN to null, times to ISO text."""
    df = df.copy()
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].dt.strftime("%Y-%m-%dT%H:%M:%S")
    return df.astype(object).where(df.notna(), None).to_dict("records")


def _scope(user: auth_models.User) -> int | None:
    if user.role == "association":
        raise Forbidden(AGGREGATES_ONLY)
    return user.enterprise_id if user.role == "enterprise" else None


def _span(year: int | None, start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    if year is not None:
        return dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    if start is None or end is None:
        raise InputError(Problem(field="year", rule="give a year, or from and to"))
    return start, end


@router.get("/pollutants", summary="Pollutants with medium, canonical unit, aliases and HJ 212 code")
def get_pollutants(_user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return records(standards.pollutants())


@router.get("/checks", summary="The documented checks of every submission")
def get_checks(_user: auth_models.User = Depends(current_user)) -> dict[str, str]:
    return service.CHECKS


@router.get("/standards", summary="Emission limits (in force on a date when given); status recalled = UNVERIFIED")
def get_standards(on: dt.date | None = None, pollutant: str | None = None, medium: str | None = None,
                  superseded: bool = False, session: Session = Depends(get_session),
                  _user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return records(service.limits_table(session=session, on=on, pollutant=pollutant, medium=medium,
                                        include_superseded=superseded))


@router.post("/standards", status_code=201, summary="Load limits; 'official' rows supersede recalled ones")
def post_standards(body: LimitsIn, session: Session = Depends(get_session),
                   user: auth_models.User = Depends(require_roles("regulator"))) -> dict[str, int]:
    rows = standards.normalise_limits(pd.DataFrame(body.rows), standard=body.standard, status=body.status,
                                      region=body.region or None, scope="local" if body.region else None)
    result = service.load_limits(session=session, rows=rows, username=user.username)
    auth.audit(session=session, username=user.username, action="load", entity="env_limit", entity_key=body.standard,
               detail=result)
    return result


@router.get("/facilities/{facility}/limits", summary="The limit in force per outlet and pollutant on a date")
def get_limits(facility: str, on: dt.date | None = None, pollutant: str | None = None, outlet: str | None = None,
               session: Session = Depends(get_session),
               _user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return records(service.applicable_limits(session=session, facility=facility, on=on or dt.date.today(),
                                             pollutant=pollutant, outlet=outlet))


@router.get("/outlets", summary="Discharge outlets (an enterprise sees its own)")
def get_outlets(facility: str | None = None, session: Session = Depends(get_session),
                user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return records(service.outlets(session=session, facility=facility, enterprise_id=_scope(user)))


@router.post("/outlets", status_code=201, summary="Register a discharge outlet")
def post_outlet(body: OutletIn, session: Session = Depends(get_session),
                user: auth_models.User = Depends(require_roles("regulator", "enterprise"))) -> dict[str, Any]:
    fac = session.scalar(select(Facility).where(Facility.code == body.facility))
    if user.role == "enterprise" and (fac is None or fac.enterprise_id != user.enterprise_id):
        raise Forbidden(f"facility {body.facility} is not one of your enterprise's")
    o = service.add_outlet(session=session, **body.model_dump())
    auth.audit(session=session, username=user.username, action="create", entity="env_outlet",
               entity_key=f"{body.facility}/{body.code}")
    return {"id": o.id, "facility": body.facility, "code": o.code, "facility_class": o.facility_class}


@router.post("/loggers", status_code=201, summary="Register or replace an HJ 212 data logger's access password")
def post_logger(body: LoggerIn, session: Session = Depends(get_session),
                user: auth_models.User = Depends(require_roles("regulator"))) -> dict[str, Any]:
    result = service.register_logger(session=session, mn=body.mn, password=body.password, username=user.username,
                                     note=body.note)
    auth.audit(session=session, username=user.username, action="register", entity="env_logger", entity_key=body.mn)
    return result


@router.get("/loggers", summary="Data loggers with a registered access password (never the hash)")
def get_loggers(session: Session = Depends(get_session),
                _user: auth_models.User = Depends(require_roles("regulator"))) -> list[dict[str, Any]]:
    return records(service.loggers(session=session))


@router.get("/logger-events", summary="HJ 212 listener events: refusals, malformed messages, status, answers")
def get_logger_events(mn: str | None = None, outcome: str | None = None, limit: int = Query(200, ge=1, le=5000),
                      session: Session = Depends(get_session),
                      _user: auth_models.User = Depends(require_roles("regulator"))) -> list[dict[str, Any]]:
    return records(service.logger_events(session=session, mn=mn, outcome=outcome, limit=limit))


@router.post("/monitoring", summary="Submit monitoring values: checks, workspace, official record (one transaction)")
def post_values(body: ValuesIn, session: Session = Depends(get_session),
                user: auth_models.User = Depends(require_roles("regulator", "enterprise"))) -> dict[str, Any]:
    result = service.submit(session=session, raw=pd.DataFrame(body.values), source_name=body.source_name,
                            channel="api", username=user.username,
                            enterprise_id=user.enterprise_id if user.role == "enterprise" else None,
                            promote_now=body.promote)
    auth.audit(session=session, username=user.username, action="submit", entity="env_submission",
               entity_key=str(result["id"]), detail={"rows_new": result["rows_new"]})
    return result


@router.get("/submissions", summary="Newest submissions (an enterprise sees its own users')")
def get_submissions(limit: int = Query(100, ge=1), session: Session = Depends(get_session),
                    user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    scope = _scope(user)
    return service.submissions(session=session, limit=capped(limit),
                               username=user.username if scope is not None else None)


@router.post("/submissions/{submission_id}/promote", summary="Promote a checked submission")
def post_promote(submission_id: int, session: Session = Depends(get_session),
                 user: auth_models.User = Depends(require_roles("regulator"))) -> dict[str, Any]:
    result = service.promote(session=session, submission_id=submission_id)
    auth.audit(session=session, username=user.username, action="promote", entity="env_submission",
               entity_key=str(submission_id))
    return result


@router.post("/substitute", summary="Fill gaps with the dated substitution rules")
def post_substitute(body: SubstituteIn, session: Session = Depends(get_session),
                    user: auth_models.User = Depends(require_roles("regulator"))) -> dict[str, Any]:
    result = service.substitute_missing(session=session, start=body.start, end=body.end, facility=body.facility)
    auth.audit(session=session, username=user.username, action="substitute", entity="env_value", detail=result)
    return result


@router.get("/compliance", summary="Compliance rate per facility, outlet and pollutant")
def get_compliance(year: int | None = None, start: dt.date | None = Query(None, alias="from"),
                   end: dt.date | None = Query(None, alias="to"), facility: str | None = None,
                   session: Session = Depends(get_session),
                   user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    a, b = _span(year, start, end)
    return records(service.compliance(session=session, start=a, end=b, facility=facility, enterprise_id=_scope(user)))


@router.get("/episodes", summary="Exceedance episodes (start, end, peak ratio)")
def get_episodes(year: int | None = None, start: dt.date | None = Query(None, alias="from"),
                 end: dt.date | None = Query(None, alias="to"), facility: str | None = None,
                 session: Session = Depends(get_session),
                 user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    a, b = _span(year, start, end)
    return records(service.episodes(session=session, start=a, end=b, facility=facility, enterprise_id=_scope(user)))


@router.get("/escalations", summary="Highest escalation level per facility in a year (ILLUSTRATIVE thresholds)")
def get_escalations(year: int, session: Session = Depends(get_session),
                    user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    scope = _scope(user)
    ids = None if scope is None else list(session.scalars(select(Facility.id).where(Facility.enterprise_id == scope)))
    return records(service.escalation_levels(session=session, year=year, facility_ids=ids))


@router.get("/scores", summary="Environmental score per facility (0..100) for the quota optimiser")
def get_scores(year: int, session: Session = Depends(get_session),
               _user: auth_models.User = Depends(require_roles("regulator", "analyst"))) -> list[dict[str, Any]]:
    return records(service.environment_scores(session=session, year=year))


@router.get("/wastes", summary="Solid wastes, Th/U residue inventory, recycling, waste water and gas")
def get_wastes(year: int, session: Session = Depends(get_session),
               user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    _scope(user)
    return {"solid": records(wastes.solid_wastes(session=session, year=year)),
            "residue_inventory": records(wastes.residue_inventory(session=session, on=dt.date(year, 12, 31))),
            "recycling": wastes.recycling(session=session, year=year),
            "streams": records(wastes.streams(session=session, year=year))}


# ---- web pages ----------------------------------------------------------------------------------------------------


def _forbidden(request: Request, user: auth_models.User, reason: str) -> Response:
    return render(request, "environment/forbidden.html", user=user, status_code=403, reason=reason)


def _years(session: Session) -> list[int]:
    lo, hi = session.execute(select(func.min(MonitoringValue.at_s), func.max(MonitoringValue.at_s))).one()
    if lo is None:
        return [dt.date.today().year]
    return list(range(dt.datetime.fromtimestamp(hi, dt.UTC).year, dt.datetime.fromtimestamp(lo, dt.UTC).year - 1, -1))


def _year(session: Session, year: int | None) -> tuple[int, list[int]]:
    years = _years(session)
    return (year if year in years else years[0]), years


@pages.get("/environment", response_class=HTMLResponse)
def overview_page(request: Request, year: int | None = None, session: Session = Depends(get_session),
                  user: auth_models.User = Depends(page_user)) -> Response:
    year, years = _year(session, year)
    with time_limit(session, ms=30_000):
        table = service.national_map(session=session, year=year)
    totals = {"facilities": int((table.evaluated > 0).sum()), "evaluated": int(table.evaluated.sum()),
              "exceeded": int(table.exceeded.sum()), "episodes": int(table.episodes.sum()),
              "levels": table.level.value_counts().to_dict()}
    if user.role == "enterprise":
        table = table[table.enterprise_id == user.enterprise_id]
    shown = table if user.role != "association" else table.iloc[0:0]
    return render(request, "environment/overview.html", user=user, year=year, years=years, totals=totals,
                  rows=records(shown), figure=charts.exceedance_map(shown) if len(shown) else None,
                  ranking=charts.score_ranking(shown) if len(shown) else None,
                  counts=service.record_counts(session=session), aggregates_only=user.role == "association")


@pages.get("/environment/standards", response_class=HTMLResponse)
def standards_page(request: Request, on: str | None = None, medium: str | None = None,
                   session: Session = Depends(get_session), user: auth_models.User = Depends(page_user)) -> Response:
    try:
        day = dt.date.fromisoformat(on) if on else dt.date.today()
        error = None
    except ValueError:
        day, error = dt.date.today(), f"{on!r} is not a date (YYYY-MM-DD); showing today."
    medium = medium if medium in standards.MEDIA else None
    table = service.limits_table(session=session, on=day, medium=medium)
    every = service.limits_table(session=session, medium=medium, include_superseded=True)
    changes = sorted({d for d in pd.concat([every.valid_from, every.valid_to]).dropna()})
    names = standards.pollutants().set_index("code").name
    table["pollutant_name"] = table.pollutant.map(names)
    return render(request, "environment/standards.html", user=user, on=day, medium=medium or "", error=error,
                  rows=records(table), changes=changes, recalled=int((table.status == "recalled").sum()),
                  superseded=int(every.superseded_by_load.notna().sum()))


@pages.get("/environment/facility", response_class=HTMLResponse)
def facility_pick_page(request: Request, session: Session = Depends(get_session),
                       user: auth_models.User = Depends(page_user)) -> Response:
    if user.role == "association":
        return _forbidden(request, user, AGGREGATES_ONLY)
    outs = service.outlets(session=session, enterprise_id=user.enterprise_id if user.role == "enterprise" else None)
    facilities = outs.drop_duplicates("facility")[["facility", "facility_name", "data_status"]]
    return render(request, "environment/facility.html", user=user, report=None, facilities=records(facilities))


@pages.get("/environment/facility/{code}", response_class=HTMLResponse)
def facility_page(request: Request, code: str, year: int | None = None, series: str | None = None,
                  session: Session = Depends(get_session), user: auth_models.User = Depends(page_user)) -> Response:
    if user.role == "association":
        return _forbidden(request, user, AGGREGATES_ONLY)
    fac = session.scalar(select(Facility).where(Facility.code == code))
    if fac is None:
        return render(request, "not_found.html", user=user, status_code=404, what=f"facility with code {code!r}",
                      back="/environment")
    if user.role == "enterprise" and fac.enterprise_id != user.enterprise_id:
        return _forbidden(request, user, f"facility {code} belongs to another enterprise")
    year, years = _year(session, year)
    with time_limit(session, ms=30_000):
        report = service.facility_report(session=session, facility=code, start=dt.date(year, 1, 1),
                                         end=dt.date(year + 1, 1, 1))
    per = report["series"].sort_values(["exceeded", "evaluated"], ascending=False)
    limited = per[per.evaluated > 0]
    choices = [f"{r.outlet}:{r.pollutant}:{r.period}" for r in per.itertuples()]
    chosen = series if series in choices else (
        f"{limited.outlet.iat[0]}:{limited.pollutant.iat[0]}:{limited.period.iat[0]}" if len(limited) else
        (choices[0] if choices else None))
    figure = None
    if chosen:
        outlet, pollutant, period = chosen.split(":")
        row = per[(per.outlet == outlet) & (per.pollutant == pollutant) & (per.period == period)].iloc[0]
        vals = report["values"]
        vals = vals[vals.key == row.key]
        eps = report["episodes"]
        unit = standards.pollutants().set_index("code").unit.get(pollutant, "")
        figure = charts.series_chart(vals, eps[eps.key == row.key], title=f"{outlet} · {pollutant} ({unit})",
                                     averaging_s=int(row.averaging_s))
    eps = report["episodes"].copy()
    eps["start"] = pd.to_datetime(eps.start, unit="s")
    eps["end"] = pd.to_datetime(eps.end, unit="s")
    subst = report["substituted"]
    per = per.assign(substituted=[subst.get((r.outlet_id, r.pollutant), 0) for r in per.itertuples()])
    return render(request, "environment/facility.html", user=user, report=report, fac=fac, year=year, years=years,
                  series=records(per.drop(columns=["facility_id"])), chosen=chosen, choices=choices, figure=figure,
                  episodes=records(eps.sort_values("start")), levels=records(report["levels"]),
                  bars=charts.compliance_bars(per) if len(limited) else None)


@pages.get("/environment/ingestion", response_class=HTMLResponse)
def ingestion_page(request: Request, session: Session = Depends(get_session),
                   user: auth_models.User = Depends(page_user)) -> Response:
    if user.role == "association":
        return _forbidden(request, user, AGGREGATES_ONLY)
    own = user.username if user.role == "enterprise" else None
    rows = service.submissions(session=session, limit=capped(100), username=own)
    supervisor = user.role in ("regulator", "admin")  # logger registry and listener events: regulators only
    loggers = records(service.loggers(session=session)) if supervisor else []
    events = records(service.logger_events(session=session, limit=capped(50))) if supervisor else []
    return render(request, "environment/ingestion.html", user=user, rows=rows, checks=service.CHECKS,
                  supervisor=supervisor, loggers=loggers, events=events,
                  counts=service.record_counts(session=session), rules=records(standards.substitution_rules()),
                  outlets=records(service.outlets(session=session, enterprise_id=user.enterprise_id
                                                  if user.role == "enterprise" else None)))


@pages.get("/environment/wastes", response_class=HTMLResponse)
def wastes_page(request: Request, year: int | None = None, session: Session = Depends(get_session),
                user: auth_models.User = Depends(page_user)) -> Response:
    if user.role == "association":
        return _forbidden(request, user, AGGREGATES_ONLY)
    this_year = dt.date.today().year
    year = year or this_year
    with time_limit(session, ms=30_000):
        solid = wastes.solid_wastes(session=session, year=year)
        inventory = wastes.residue_inventory(session=session, on=dt.date(year, 12, 31))
        streams = wastes.streams(session=session, year=year)
        recycling = wastes.recycling(session=session, year=year)
    if user.role == "enterprise":
        own = set(session.scalars(select(Facility.code).where(Facility.enterprise_id == user.enterprise_id)))
        solid, inventory, streams = (df[df.facility.isin(own)] for df in (solid, inventory, streams))
    return render(request, "environment/wastes.html", user=user, year=year,
                  years=list(range(this_year, this_year - 6, -1)), solid=records(solid),
                  inventory=records(inventory), streams=records(streams), recycling=recycling,
                  figure=charts.residue_bars(inventory) if len(inventory) else None)

