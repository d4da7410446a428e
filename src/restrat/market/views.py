"""Market routes: REST API under /api/v1/market and the scenario pages under /market."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from restrat.api.deps import current_user, get_session, require_roles
from restrat.auth import models as auth_models
from restrat.errors import InputError
from restrat.market import schemas, service
from restrat.market.scenario import CONDUCTS, IEA_SCENARIOS
from restrat.web import market_charts
from restrat.web.render import page_user, render

router = APIRouter(prefix="/api/v1/market", tags=["market"])
pages = APIRouter(include_in_schema=False)
RUNNERS = ("analyst", "regulator", "association")


def _records(frame: Any) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


@router.get("/calibration", summary="Base-year fit: modelled against observed volumes and prices")
def get_calibration(_user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    fit = service.fit_report()
    return {k: (_records(v) if hasattr(v, "to_dict") else v) for k, v in fit.items()}


@router.get("/assumptions", summary="Every assumption of the model with status and reason")
def get_assumptions(_user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return _records(service.assumptions())


@router.get("/scenarios", response_model=list[schemas.ScenarioOut], summary="Example scenario library")
def get_scenarios(_user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return service.library()


@router.get("/scenarios/{name}", response_class=PlainTextResponse, summary="A library scenario's TOML text")
def get_scenario_text(name: str, _user: auth_models.User = Depends(current_user)) -> str:
    return service.library_text(name=name)


@router.post("/runs", response_model=schemas.RunDetailOut, status_code=201,
             summary="Solve a scenario (TOML text) and store it; infeasible scenarios name the conflicting rows")
def post_run(body: schemas.RunIn, session: Session = Depends(get_session),
             user: auth_models.User = Depends(require_roles(*RUNNERS))) -> dict[str, Any]:
    run = service.run_and_store(session=session, text=body.scenario_toml, username=user.username, source="body")
    return _detail(session, run.id)


@router.get("/runs", response_model=list[schemas.RunOut], summary="Stored runs, newest first")
def get_runs(limit: int = Query(100, ge=1, le=1000), session: Session = Depends(get_session),
             _user: auth_models.User = Depends(current_user)) -> list[Any]:
    return service.list_runs(session=session, limit=limit)


@router.get("/runs/{run_id}", response_model=schemas.RunDetailOut, summary="A stored run's prices and indicators")
def get_run(run_id: int, session: Session = Depends(get_session),
            _user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    return _detail(session, run_id)


def _detail(session: Session, run_id: int) -> dict[str, Any]:
    run = service.get_run(session=session, run_id=run_id)
    tables = service.run_tables(session=session, run_id=run_id)
    return {"run": run, "headline": service.headline(summary=tables["summary"], baseline=None),
            "prices": _records(tables["markets"]), "summary": _records(tables["summary"])}


# ---- web pages ----------------------------------------------------------------------------------------------------

def _may_run(user: auth_models.User) -> bool:
    return user.role in (*RUNNERS, "admin")


@pages.get("/market", response_class=HTMLResponse)
def market_home(request: Request, session: Session = Depends(get_session),
                user: auth_models.User = Depends(page_user)) -> Response:
    return render(request, "market/home.html", user=user, form=service.FORM_DEFAULTS, error=None,
                  conducts=CONDUCTS, iea=IEA_SCENARIOS, library=service.library(),
                  runs=service.list_runs(session=session, limit=30), may_run=_may_run(user))


@pages.post("/market/run", response_class=HTMLResponse)
async def market_run(request: Request, session: Session = Depends(get_session),
                     user: auth_models.User = Depends(page_user)) -> Response:
    form = dict(await request.form())
    if not _may_run(user):
        return render(request, "market/home.html", user=user, form={**service.FORM_DEFAULTS, **form},
                      error=f"role '{user.role}' may view scenarios but not run them", conducts=CONDUCTS,
                      iea=IEA_SCENARIOS, library=service.library(), runs=service.list_runs(session=session, limit=30),
                      may_run=False, status_code=403)
    try:
        if form.get("library"):
            text = service.library_text(name=str(form["library"]))
        else:
            text = service.scenario_from_form(fields=form)
        run = service.run_and_store(session=session, text=text, username=user.username, source="form")
    except InputError as e:
        return render(request, "market/home.html", user=user, form={**service.FORM_DEFAULTS, **form},
                      error="; ".join(e.lines()), conducts=CONDUCTS, iea=IEA_SCENARIOS, library=service.library(),
                      runs=service.list_runs(session=session, limit=30), may_run=True, status_code=400)
    return RedirectResponse(f"/market/runs/{run.id}", status_code=303)


@pages.get("/market/runs/{run_id}", response_class=HTMLResponse)
def market_run_page(run_id: int, request: Request, session: Session = Depends(get_session),
                    user: auth_models.User = Depends(page_user)) -> Response:
    run = service.get_run(session=session, run_id=run_id)
    tables = service.run_tables(session=session, run_id=run_id)
    years = tables["markets"].year
    scn = service.parse_scenario(text=run.scenario_toml, source=f"run {run_id}")
    base = service.baseline_tables(start_year=int(years.min()), horizon=int(years.max() - years.min() + 1),
                                   iea_scenario=scn.iea_scenario)
    gap = service.price_gap(markets=tables["markets"])
    gap = gap[gap.gap_usd_per_kg.abs() > 0.05]
    figures = {"prices": market_charts.prices(tables["markets"], base["markets"]),
               "supply": market_charts.supply_by_country(service.supply_from_summary(tables["summary"])),
               "indicators": market_charts.indicators(tables["summary"], base["summary"])}
    return render(request, "market/run.html", user=user, run=run, figures=figures, scenario=scn,
                  headline=service.headline(summary=tables["summary"], baseline=base["summary"]),
                  gaps=gap.sort_values("gap_usd_per_kg", ascending=False).head(12).to_dict("records"))


@pages.get("/market/compare", response_class=HTMLResponse)
def market_compare(request: Request, run: list[int] = Query(default=[]), session: Session = Depends(get_session),
                   user: auth_models.User = Depends(page_user)) -> Response:
    stored = service.list_runs(session=session, limit=100)
    chosen = [r for r in stored if r.id in run]
    summaries = {f"#{r.id} {r.scenario}": service.run_tables(session=session, run_id=r.id)["summary"] for r in chosen}
    metrics = ["china_mine_share", "china_separation_share", "consumer_spend_musd", "revenue_china_separators_musd",
               "producer_surplus_musd", "emissions_kt_co2e"]
    figures = {m: market_charts.comparison(summaries, m) for m in metrics} if summaries else {}
    return render(request, "market/compare.html", user=user, runs=stored, chosen=[r.id for r in chosen],
                  figures=figures)


@pages.get("/market/calibration", response_class=HTMLResponse)
def market_calibration(request: Request, user: auth_models.User = Depends(page_user)) -> Response:
    return render(request, "market/calibration.html", user=user, fit=service.fit_report(),
                  assumptions=service.assumptions().to_dict("records"))
