"""Quota routes: REST API under /api/v1/quota and the quota web pages (history, allocations by group, quota
against use with infractions, the allocation optimiser)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from restrat.api.deps import current_user, get_session, require_roles
from restrat.auth import models as auth_models
from restrat.auth import service as auth
from restrat.errors import Forbidden, InputError, Problem
from restrat.quota import consumption, optimiser, service
from restrat.quota.schemas import (
    AllocateIn,
    AllocationImportIn,
    AllocationOut,
    BalanceOut,
    ChangeIn,
    ConsumeOut,
    ImportOut,
    InfractionOut,
    PlanIn,
    PlanOut,
)
from restrat.store.limits import capped, time_limit
from restrat.web import charts, quota_charts
from restrat.web.render import page_user, render

router = APIRouter(prefix="/api/v1/quota", tags=["quota"])
pages = APIRouter(include_in_schema=False)
WRITERS = ("regulator",)
PLANNERS = ("regulator", "analyst", "admin")
NATIONAL_ONLY = "the association sees national quota totals only, not single facilities"


def _scope(user: auth_models.User) -> int | None:
    """The enterprise whose facilities an enterprise user is limited to (None: everything)."""
    if user.role == "association":
        raise Forbidden(NATIONAL_ONLY)
    return user.enterprise_id if user.role == "enterprise" else None


@router.get("/history", summary="China's national quotas by year, kind, ore type and batch (real, with status)")
def get_history(session: Session = Depends(get_session),
                _user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return service.national_history(session=session)


@router.get("/groups", summary="Published allocations to enterprise groups (real, with source)")
def get_groups(kind: str | None = None, session: Session = Depends(get_session),
               _user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return service.as_records(service.group_history(session=session, kind=kind))


@router.get("/plans", response_model=list[PlanOut], summary="Plans with the amount in force on a date")
def get_plans(year: int | None = None, on: dt.date | None = None, session: Session = Depends(get_session),
              _user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return service.as_records(service.plans(session=session, year=year, on=on))


@router.post("/plans", response_model=PlanOut, status_code=201, summary="Issue a plan (a batch of a year's quota)")
def post_plan(body: PlanIn, session: Session = Depends(get_session),
              user: auth_models.User = Depends(require_roles(*WRITERS))) -> dict[str, Any]:
    plan = service.issue_plan(session=session, year=body.year, kind=body.kind, ore_type=body.ore_type,
                              batch=body.batch, tonnes_reo=body.tonnes_reo, issued_on=body.issued_on,
                              username=user.username, source=body.source)
    auth.audit(session=session, username=user.username, action="issue", entity="quota_plan",
               entity_key=f"{plan.year}/{plan.kind}/{plan.ore_type}/{plan.batch}", detail={"t": plan.tonnes_reo})
    rows = service.plans(session=session, year=plan.year)
    return service.as_records(rows[rows["id"] == plan.id])[0]


@router.get("/allocations", response_model=list[AllocationOut], summary="Allocations (an enterprise sees its own)")
def get_allocations(year: int | None = None, kind: str | None = None, level: str | None = None,
                    limit: int = Query(1000, ge=1), session: Session = Depends(get_session),
                    user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    scope = _scope(user)
    with time_limit(session):
        df = service.allocations(session=session, year=year, kind=kind, level=level, enterprise_id=scope)
    return service.as_records(df.head(capped(limit)))


@router.post("/allocations/import", response_model=ImportOut, summary="Import allocations in one transaction")
def post_allocations(body: AllocationImportIn, session: Session = Depends(get_session),
                     user: auth_models.User = Depends(require_roles(*WRITERS))) -> dict[str, int]:
    result = service.import_allocations(session=session, rows=body.rows, username=user.username,
                                        source_name="request")
    auth.audit(session=session, username=user.username, action="import", entity="quota_allocation", detail=result)
    return result


@router.post("/changes", status_code=201, summary="Record a dated change of a plan or an allocation")
def post_change(body: ChangeIn, session: Session = Depends(get_session),
                user: auth_models.User = Depends(require_roles(*WRITERS))) -> dict[str, Any]:
    ch = service.record_change(session=session, target=body.target, key=body.key, tonnes_reo=body.tonnes_reo,
                               effective_on=body.effective_on, reason=body.reason, username=user.username)
    auth.audit(session=session, username=user.username, action="change", entity=f"quota_{body.target}",
               entity_key=body.key, detail={"tonnes_reo": ch.tonnes_reo, "effective_on": ch.effective_on.isoformat()})
    return {"target": body.target, "key": body.key, "tonnes_reo": ch.tonnes_reo, "effective_on": ch.effective_on}


@router.get("/balances", response_model=list[BalanceOut], summary="Quota against use per facility")
def get_balances(year: int | None = None, facility: str | None = None, limit: int = Query(1000, ge=1),
                 session: Session = Depends(get_session),
                 user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    scope = _scope(user)
    with time_limit(session):
        df = service.balances(session=session, year=year, facility=facility, enterprise_id=scope)
    return service.as_records(df.head(capped(limit)))


@router.get("/infractions", response_model=list[InfractionOut],
            summary="Production beyond or without quota, with penalty range and next-year rule")
def get_infractions(year: int | None = None, session: Session = Depends(get_session),
                    user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return service.infractions(session=session, year=year, enterprise_id=_scope(user))


@router.post("/allocate", summary="Allocate a national total with the LP; explain binding constraints")
def post_allocate(body: AllocateIn, session: Session = Depends(get_session),
                  user: auth_models.User = Depends(require_roles(*PLANNERS))) -> dict[str, Any]:
    if body.save and user.role not in ("regulator", "admin"):
        raise Forbidden(f"role '{user.role}' may run the optimiser but not record its result")
    policy = optimiser.load_policy(ionic_share=body.ionic_share, max_change=body.max_change,
                                   min_group_share=body.min_group_share)
    result = service.allocate(session=session, year=body.year, kind=body.kind, total=body.total_t_reo,
                              policy=policy, save=body.save, batch=body.batch, username=user.username)
    if body.save:
        auth.audit(session=session, username=user.username, action="allocate", entity="quota_allocation",
                   detail={"year": body.year, "kind": body.kind, "saved": result["saved"]})
    return result


@router.post("/consume", response_model=ConsumeOut, summary="Count quota use of ledger events not yet counted")
def post_consume(session: Session = Depends(get_session),
                 _user: auth_models.User = Depends(require_roles(*WRITERS))) -> dict[str, int]:
    return dict(consumption.consume_from_ledger(session=session).__dict__)


# ---- web pages ----------------------------------------------------------------------------------------------------


def _forbidden(request: Request, user: auth_models.User, reason: str) -> Response:
    return render(request, "quota/forbidden.html", user=user, status_code=403, reason=reason)


@pages.get("/quota/history", response_class=HTMLResponse)
def history(request: Request, session: Session = Depends(get_session),
            user: auth_models.User = Depends(page_user)) -> Response:
    cap = capped(None)
    with time_limit(session):
        rows = service.national_history(session=session)
    annual = [r for r in rows if r["batch"] == "all" and r["ore_type"] == "total"]
    return render(request, "quota/history.html", user=user, rows=rows[:cap], total=len(rows), cap=cap,
                  figure=charts.quota_chart(rows),
                  recalled=[r for r in annual if r["status"] == "recalled"],
                  unpublished=[r for r in rows if r["tonnes_reo"] is None])


@pages.get("/quota/allocations", response_class=HTMLResponse)
def allocations_page(request: Request, kind: str = "mining", session: Session = Depends(get_session),
                     user: auth_models.User = Depends(page_user)) -> Response:
    kind = kind if kind in service.KINDS else "mining"
    groups = service.group_history(session=session, kind=kind)
    bars = quota_charts.group_bars(groups)
    title = ("Mining" if kind == "mining" else "Smelting and separation") + " quota by group, t REO (published)"
    plan_rows = service.as_records(service.plans(session=session))
    scope = None if user.role != "enterprise" else user.enterprise_id
    platform = service.allocations(session=session, enterprise_id=scope) if user.role != "association" else None
    summary = (platform.groupby(["year", "kind", "level", "data_status"], as_index=False)
               .agg(allocations=("code", "size"), in_force_t_reo=("in_force_t_reo", "sum"))
               if platform is not None else None)
    platform_figure = None
    if platform is not None and len(platform):
        mine = service.allocations_by_group(session=session, kind=kind, enterprise_id=scope)
        if len(mine):
            label = " (ILLUSTRATIVE demo data)" if (mine["data_status"] == "illustrative").any() else ""
            platform_figure = quota_charts.group_chart(
                mine.rename(columns={"in_force_t_reo": "tonnes_reo"}).assign(batch="all"),
                f"Allocated on this platform{label}, by group on 1 January, t REO in force")
    return render(request, "quota/allocations.html", user=user, kind=kind, figure=quota_charts.group_chart(bars, title),
                  platform_figure=platform_figure,
                  groups=service.as_records(groups), plans=plan_rows,
                  summary=service.as_records(summary) if summary is not None else None,
                  left_out=int((~quota_charts.charted(groups)).sum()))


def _years(session: Session) -> list[int]:
    return sorted({int(y) for y in service.balances(session=session)["year"].dropna()})


@pages.get("/quota/balances", response_class=HTMLResponse)
def balances_page(request: Request, year: int | None = None, session: Session = Depends(get_session),
                  user: auth_models.User = Depends(page_user)) -> Response:
    years = _years(session)
    year = year if year in years else (years[-1] if years else None)
    with time_limit(session):
        if user.role == "association":
            df = service.balances(session=session, year=year)
            totals = df.groupby("kind", as_index=False)[["quota_t_reo", "used_t_reo"]].sum()
            return render(request, "quota/balances.html", user=user, years=years, year=year, rows=[],
                          totals=service.as_records(totals), infractions=[], figure=None, national_only=True)
        scope = user.enterprise_id if user.role == "enterprise" else None
        df = service.balances(session=session, year=year, enterprise_id=scope)
        found = service.infractions(session=session, year=year, enterprise_id=scope)
    totals = df.groupby("kind", as_index=False)[["quota_t_reo", "used_t_reo"]].sum()
    provisions = list(dict.fromkeys((i["penalty"], i["penalty_source"], i["next_year"], i["next_year_source"])
                                    for i in found))
    for i in found:
        i["provision"] = provisions.index((i["penalty"], i["penalty_source"], i["next_year"],
                                           i["next_year_source"])) + 1
    return render(request, "quota/balances.html", user=user, years=years, year=year, provisions=provisions,
                  rows=service.as_records(df), totals=service.as_records(totals), infractions=found,
                  figure=quota_charts.balance_chart(df) if len(df) else None, national_only=False,
                  illustrative=bool((df["data_status"] == "illustrative").any()))


def _defaults(session: Session) -> dict[str, Any]:
    """Form defaults: the year after the newest plan, its total and ionic share (or a plain start)."""
    pl = service.plans(session=session)
    if pl.empty:
        return {"year": dt.date.today().year + 1, "kind": "mining", "total": 10_000.0, "ionic_share": "",
                "max_change": 0.2, "min_share": ""}
    last = int(pl["year"].max())
    mining = pl[(pl["year"] == last) & (pl["kind"] == "mining")].groupby("ore_type")["in_force_t_reo"].sum()
    total = float(mining.sum())
    ionic = float(mining.get("ionic", 0.0)) / total if total else 0.0
    return {"year": last + 1, "kind": "mining", "total": round(total), "ionic_share": round(ionic, 4),
            "max_change": 0.2, "min_share": ""}


@pages.get("/quota/optimiser", response_class=HTMLResponse)
def optimiser_page(request: Request, session: Session = Depends(get_session),
                   user: auth_models.User = Depends(page_user)) -> Response:
    if user.role not in PLANNERS:
        return _forbidden(request, user, f"the optimiser is for regulators and analysts, not the {user.role} role")
    return render(request, "quota/optimiser.html", user=user, form=_defaults(session),
                  policy=optimiser.load_policy())


def _float(value: str, field: str) -> float | None:
    if value.strip() == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise InputError(Problem(field=field, rule="must be a number", value=value)) from None


@pages.post("/quota/optimiser/run", response_class=HTMLResponse)
def optimiser_run(request: Request, year: int = Form(...), kind: str = Form("mining"), total: str = Form(...),
                  ionic_share: str = Form(""), max_change: str = Form(""), min_share: str = Form(""),
                  save: str = Form(""), session: Session = Depends(get_session),
                  user: auth_models.User = Depends(page_user)) -> Response:
    if user.role not in PLANNERS:
        return _forbidden(request, user, f"the optimiser is for regulators and analysts, not the {user.role} role")
    try:
        if save and user.role not in ("regulator", "admin"):
            raise Forbidden("only a regulator records an optimiser result as allocations")
        shares = {}
        for part in filter(None, (p.strip() for p in min_share.split(","))):
            g, _, s = part.partition("=")
            shares[g.strip()] = _float(s, f"min_group_share.{g.strip()}")
        policy = optimiser.load_policy(ionic_share=_float(ionic_share, "ionic_share"),
                                       max_change=_float(max_change, "max_change"), min_group_share=shares or None)
        result = service.allocate(session=session, year=year, kind=kind, total=total, policy=policy,
                                  save=bool(save), username=user.username)
    except (InputError, Forbidden) as e:
        lines = e.lines() if isinstance(e, InputError) else [str(e)]
        session.rollback()
        return render(request, "quota/optimiser_result.html", user=user, errors=lines, result=None)
    if save:
        auth.audit(session=session, username=user.username, action="allocate", entity="quota_allocation",
                   detail={"year": year, "kind": kind, "saved": result["saved"]})
    return render(request, "quota/optimiser_result.html", user=user, errors=[], result=result,
                  figure=quota_charts.optimiser_chart(result["groups"]), cap=capped(50))
