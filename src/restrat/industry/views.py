"""Industry routes: REST API under /api/v1/industry and the concentration, access and cluster pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from restrat.api.deps import current_user, get_session
from restrat.auth import models as auth_models
from restrat.errors import Forbidden, InputError
from restrat.industry import clusters, report, scorecard, service
from restrat.industry.schemas import (
    AccessCheckOut,
    ClusterOut,
    ConcentrationOut,
    IntegrationOut,
    MergerIn,
    MergerOut,
    ScorecardRowOut,
    ValueChainOut,
)
from restrat.store.limits import time_limit
from restrat.web import industry_charts
from restrat.web.render import page_user, render

router = APIRouter(prefix="/api/v1/industry", tags=["industry"], dependencies=[Depends(current_user)])
pages = APIRouter(include_in_schema=False)
TABLE_YEARS = 3  # the page's table shows the latest years; the API and CLI give every year
BY_HELP = "Dimension of the market cells; repeat for several (stage, ore_type, region, country, year)"


@router.get("/concentration", response_model=list[ConcentrationOut], summary="HHI and CR-n per market cell")
def concentration(measure: str = Query("capacity", description="capacity, production (ledger) or quota"),
                  by: list[str] = Query(["stage"], description=BY_HELP),
                  on: dt.date | None = Query(None, description="Capacity snapshot date (default today)"),
                  year: list[int] | None = Query(None, description="Years to include; repeat for several"),
                  n: int = Query(4, ge=1, description="n of CR-n"),
                  session: Session = Depends(get_session)) -> list[dict[str, Any]]:
    with time_limit(session):
        frame = service.concentration(session=session, measure=measure, by=by, on=on, years=year, n=n)
    return service.records(frame)


@router.post("/mergers/screen", response_model=list[MergerOut], summary="Simulate a merger and screen it")
def screen_merger(body: MergerIn, session: Session = Depends(get_session)) -> list[dict[str, Any]]:
    with time_limit(session):
        frame = service.screen_merger(session=session, owners=body.owners, into=body.into, measure=body.measure,
                                      by=body.by, on=body.on, years=body.years, n=body.n,
                                      guideline_on=body.guideline_on)
    return service.records(frame)


@router.get("/vertical-integration", response_model=list[IntegrationOut],
            summary="Share of each owner's processing input supplied from inside the owner (ledger)")
def vertical_integration(year: list[int] | None = Query(None, description="Years to include; repeat for several"),
                         session: Session = Depends(get_session)) -> list[dict[str, Any]]:
    with time_limit(session):
        return service.records(service.vertical_integration(session=session, years=year))


@router.get("/access-checks", response_model=list[AccessCheckOut],
            summary="Facilities checked against the access conditions in force on a date")
def access_checks(on: dt.date | None = Query(None, description="Date (default today)"),
                  only_short: bool = Query(False, description="Only facilities that fall short"),
                  session: Session = Depends(get_session)) -> list[dict[str, Any]]:
    return service.records(service.access_checks(session=session, on=on, only_short=only_short))


@router.get("/clusters", response_model=list[ClusterOut], summary="Facility clusters with chain completeness")
def facility_clusters(eps_km: float = Query(60.0, gt=0, description="DBSCAN radius, km of great-circle distance"),
                      min_samples: int = Query(3, ge=1, description="DBSCAN minimum facilities in a core's radius"),
                      session: Session = Depends(get_session)) -> list[dict[str, Any]]:
    _, summary = service.facility_clusters(session=session, eps_km=eps_km, min_samples=min_samples)
    with time_limit(session):
        summary = service.cluster_value_added(session=session, summary=summary, eps_km=eps_km,
                                              min_samples=min_samples)
    return service.cluster_records(summary)


def _check_value_scope(user: auth_models.User, by: str) -> None:
    """Enterprises see the national value chain only: per group, country or cluster it would show competitors'
    ledger output."""
    if user.role == "enterprise" and by != "national":
        raise Forbidden("an enterprise sees the national value chain only (by=national)")


@router.get("/value-chain", response_model=ValueChainOut,
            summary="Value per tonne REO, value added per stage, multiplier and product structure (ledger)")
def value_chain(by: str = Query("national", description="national, country, group or cluster"),
                year: list[int] | None = Query(None, description="Years to include; repeat for several"),
                eps_km: float = Query(60.0, gt=0, description="Cluster radius (by=cluster), km"),
                min_samples: int = Query(3, ge=1, description="Cluster minimum facilities (by=cluster)"),
                session: Session = Depends(get_session),
                user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    _check_value_scope(user, by)
    with time_limit(session):
        result = service.value_chain(session=session, by=by, years=year, eps_km=eps_km, min_samples=min_samples)
    return {"by": by, **{k: service.records(result[k]) for k in ("stages", "multipliers", "structure",
                                                                  "stage_prices")}}


@router.get("/scorecard", response_model=list[ScorecardRowOut],
            summary="Strategy scorecard: indicators per strategy aspect over the years up to `year`")
def strategy_scorecard(year: int = Query(..., description="Report year"),
                       span: int = Query(5, ge=1, le=30, description="Years shown, ending with `year`"),
                       session: Session = Depends(get_session)) -> list[dict[str, Any]]:
    return service.records(scorecard.scorecard(session=session, year=year, span=span))


# ---- web pages ----------------------------------------------------------------------------------------------------


def _date_or_none(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@pages.get("/industry/concentration", response_class=HTMLResponse)
def concentration_page(request: Request, measure: str = "quota", dim: str = "stage",
                       session: Session = Depends(get_session),
                       user: auth_models.User = Depends(page_user)) -> Response:
    error = None
    if measure not in service.MEASURES or dim not in service.MEASURES[measure] or dim == "year":
        error = f"measure {measure!r} by {dim!r} is not available; showing quota by stage."
        measure, dim = "quota", "stage"
    with time_limit(session):
        series = service.concentration(session=session, measure=measure, by=[dim, "year"])
        owners = service.owner_shares(session=session, measure=measure, by=[])
    rule = service.merger_rule()
    figure = industry_charts.hhi_chart(series, dim=dim, threshold=float(rule.highly_concentrated_hhi_above),
                                       guideline=str(rule.guideline))
    latest = series[series.year == series.year.max()] if len(series) else series
    with time_limit(session):
        integration = service.vertical_integration(session=session)
    recent = series[series.year > series.year.max() - TABLE_YEARS] if len(series) else series
    return render(request, "industry/concentration.html", user=user, measure=measure, dim=dim, error=error,
                  measures=service.MEASURES, unit=service.UNITS[measure], figure=figure,
                  rows=service.records(recent.sort_values(["year", dim], ascending=[False, True])),
                  latest=service.records(latest), owners=service.records(owners.head(30)), rule=rule,
                  quota_source=service.QUOTA_SOURCE,
                  integration=service.records(integration[integration.owner_kind == "group"]))


@pages.post("/industry/merger", response_class=HTMLResponse)
def merger_fragment(request: Request, measure: str = Form("quota"), dim: str = Form("stage"),
                    owners: list[str] = Form(default_factory=list), into: str = Form(""),
                    session: Session = Depends(get_session), user: auth_models.User = Depends(page_user)) -> Response:
    try:
        with time_limit(session):
            result = service.screen_merger(session=session, owners=owners, into=into.strip() or "MERGED",
                                           measure=measure, by=[dim, "year"])
    except InputError as e:
        return render(request, "industry/merger_result.html", user=user, problems=e.lines(), rows=[])
    result = result.sort_values(["year", dim], ascending=[False, True])
    figure = industry_charts.merger_chart(result.head(12), cell_cols=[dim, "year"])
    return render(request, "industry/merger_result.html", user=user, problems=[], rows=service.records(result),
                  dim=dim, figure=figure, owners=owners, into=into.strip() or "MERGED",
                  curve=service.records(service.cost_curve()))


@pages.get("/industry/access", response_class=HTMLResponse)
def access_page(request: Request, on: str | None = None, session: Session = Depends(get_session),
                user: auth_models.User = Depends(page_user)) -> Response:
    try:
        day, error = _date_or_none(on) or dt.date.today(), None
    except ValueError:
        day, error = dt.date.today(), f"{on!r} is not a date (YYYY-MM-DD); showing today."
    checks = service.access_checks(session=session, on=day)
    rules = service.access_conditions(on=day)
    return render(request, "industry/access.html", user=user, on=day, error=error,
                  figure=industry_charts.access_chart(checks) if len(checks) else None,
                  short=service.records(checks[checks.verdict.isin(["falls_short", "indeterminate"])]),
                  counts=checks.verdict.value_counts().to_dict(), rules=service.records(rules))


@pages.get("/industry/clusters", response_class=HTMLResponse)
def clusters_page(request: Request, eps_km: float = 60.0, min_samples: int = 3,
                  session: Session = Depends(get_session), user: auth_models.User = Depends(page_user)) -> Response:
    eps_km, min_samples = max(eps_km, 1.0), max(min_samples, 1)
    labelled, summary = service.facility_clusters(session=session, eps_km=eps_km, min_samples=min_samples)
    with time_limit(session):
        valued = service.cluster_value_added(session=session, summary=summary, eps_km=eps_km,
                                             min_samples=min_samples)
    return render(request, "industry/clusters.html", valued=service.records(valued), user=user, eps_km=eps_km,
                  min_samples=min_samples,
                  map_figure=industry_charts.cluster_map(labelled, summary),
                  bar_figure=industry_charts.completeness_chart(summary, chain=clusters.CHAIN_STAGES),
                  clusters=service.records(summary), chain=clusters.CHAIN_STAGES,
                  unclustered=int((labelled.cluster == clusters.NOISE).sum()),
                  illustrative=int((labelled.data_status == "illustrative").sum()), total=len(labelled))


@pages.get("/industry/value-chain", response_class=HTMLResponse)
def value_chain_page(request: Request, by: str = "national", year: int | None = None,
                     session: Session = Depends(get_session),
                     user: auth_models.User = Depends(page_user)) -> Response:
    from restrat.catalog import service as catalog
    from restrat.ledger import service as ledger
    from restrat.web import ledger_charts

    error = None
    if by not in service.VALUE_KEYS or (user.role == "enterprise" and by != "national"):
        error = f"value chain by {by!r} is not available to you; showing the national chain."
        by = "national"
    with time_limit(session):
        result = service.value_chain(session=session, by=by, years=[year] if year else None)
    stages, structure = result["stages"], result["structure"]
    years = sorted(int(y) for y in stages.year.unique()) if len(stages) else []
    shown = year if year in years else (years[-1] if years else None)
    key = (service.VALUE_KEYS[by] or [None])[0]
    names = {s.code: s.name for s in catalog.list_stages(session=session)}
    order = list(names)
    latest = stages[stages.year == shown] if shown else stages
    with time_limit(session):
        value_links = service.value_flows(session=session, year=shown)
        mass_links = ledger.flows(session=session, year=shown)
    prices = result["stage_prices"]
    return render(request, "industry/value_chain.html", user=user, by=by, keys=list(service.VALUE_KEYS),
                  key=key, year=shown, years=years, error=error, stage_names=names,
                  stage_figure=industry_charts.value_stage_chart(latest, key=key, stage_names=names)
                  if len(latest) else None,
                  structure_figure=industry_charts.structure_chart(structure[structure.year == shown], key=key)
                  if len(structure) else None,
                  value_sankey=industry_charts.value_sankey(value_links, names, order) if len(value_links) else None,
                  mass_sankey=ledger_charts.flow_sankey(mass_links, names, order) if len(mass_links) else None,
                  stages=service.records(latest),
                  multipliers=service.records(result["multipliers"][result["multipliers"].year == shown]
                                              if len(result["multipliers"]) else result["multipliers"]),
                  structure=service.records(structure[structure.year == shown] if len(structure) else structure),
                  prices=service.records(prices), oxide_years=sorted(result["oxide_prices"].year.unique().tolist()))


@pages.get("/scorecard", response_class=HTMLResponse)
def scorecard_page(request: Request, year: str | None = None, session: Session = Depends(get_session),
                   user: auth_models.User = Depends(page_user)) -> Response:
    error, shown = None, dt.date.today().year
    try:
        shown = int(year) if year else shown
        scorecard.check_request(shown, 5)
    except (ValueError, InputError):
        error, shown = f"{year!r} is not a year this scorecard covers; showing {dt.date.today().year}.", \
            dt.date.today().year
    table = scorecard.scorecard(session=session, year=shown)
    return render(request, "industry/scorecard.html", user=user, error=error, **report.context(table, year=shown))
