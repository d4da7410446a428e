"""Ledger routes: REST API under /api/v1/ledger and the ledger web pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session

from restrat.api.deps import current_user, get_session, require_roles
from restrat.auth import models as auth_models
from restrat.catalog import service as catalog
from restrat.catalog.service import ELEMENTS
from restrat.errors import Forbidden, InputError, NotFound
from restrat.ledger import service
from restrat.ledger.anomalies import ScanParams
from restrat.ledger.schemas import EventsIn, FindingOut, FlowOut, ImportOut, VerifyOut
from restrat.store.limits import capped, time_limit
from restrat.web import ledger_charts
from restrat.web.render import page_user, render

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


# ---- web pages ----------------------------------------------------------------------------------------------------

EXAMPLE_PREFIXES = (("MAGNET-", "NdFeB magnets"), ("PRND-", "PrNd oxide"))
SCANNERS = ("regulator", "admin")
NATIONAL_ONLY = "The association sees national flows and counts only, not the records of single facilities."


def _forbidden(request: Request, user: auth_models.User, reason: str) -> Response:
    return render(request, "ledger/forbidden.html", user=user, status_code=403, reason=reason)


def _sees_records(user: auth_models.User) -> bool:
    """Whether the user may see single events and findings (everyone but the association)."""
    return user.role != "association"


def _stage_names(session: Session) -> tuple[dict[str, str], list[str]]:
    stages = catalog.list_stages(session=session)
    return {s.code: s.name for s in stages}, [s.code for s in stages]


def _flows_context(session: Session, year: int | None) -> dict[str, Any]:
    span = service.time_span(session=session)
    years = list(range(span[0].year, span[1].year + 1)) if span else []
    if year is not None and year not in years:
        year = None
    names, order = _stage_names(session)
    with time_limit(session):
        frame = service.flows(session=session, year=year)
    figure = ledger_charts.flow_sankey(frame, names, order) if len(frame) else None
    extracted = float(frame.loc[frame.source == "deposits", "reo_t"].sum()) if len(frame) else 0.0
    exported = float(frame.loc[frame.target == "exports", "reo_t"].sum()) if len(frame) else 0.0
    return {"flows_figure": figure, "years": years, "year": year, "extracted_t": extracted, "exported_t": exported,
            "links": frame.to_dict("records")}


def _head(session: Session) -> dict[str, Any] | None:
    """The ledger head, or None before the first import where its row is missing (the importer creates it)."""
    try:
        return service.head(session=session)
    except NoResultFound:
        return None


@pages.get("/ledger", response_class=HTMLResponse)
def ledger_page(request: Request, year: int | None = None, session: Session = Depends(get_session),
                user: auth_models.User = Depends(page_user)) -> Response:
    cap = capped(25)
    rows = []
    if _sees_records(user):
        with time_limit(session):
            rows = service.events(session=session, limit=cap, enterprise_id=_enterprise_scope(user))
    return render(request, "ledger/overview.html", user=user, counts=service.event_counts(session=session),
                  own_counts=(service.event_counts(session=session, enterprise_id=user.enterprise_id)
                              if user.role == "enterprise" else None),
                  head=_head(session), span=service.time_span(session=session), rows=rows, cap=cap,
                  sees_records=_sees_records(user), **_flows_context(session, year))


@pages.get("/ledger/flows", response_class=HTMLResponse)
def ledger_flows_fragment(request: Request, year: int | None = None, session: Session = Depends(get_session),
                          user: auth_models.User = Depends(page_user)) -> Response:
    return render(request, "ledger/flows.html", user=user, **_flows_context(session, year))


@pages.post("/ledger/verify", response_class=HTMLResponse)
def ledger_verify_fragment(request: Request, session: Session = Depends(get_session),
                           user: auth_models.User = Depends(page_user)) -> Response:
    started = dt.datetime.now(dt.UTC)
    result = service.verify(session=session).as_dict() if _head(session) is not None else None
    seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    return render(request, "ledger/verify_result.html", user=user, result=result, seconds=seconds,
                  checked_at=started.strftime("%Y-%m-%d %H:%M:%S UTC"))


def _examples(session: Session, user: auth_models.User) -> list[tuple[str, list[dict[str, Any]]]]:
    scope = _enterprise_scope(user)
    return [(label, service.recent_batches(session=session, code_prefix=prefix, limit=4, enterprise_id=scope))
            for prefix, label in EXAMPLE_PREFIXES]


def _top_elements(trace: dict[str, Any], limit: int = 6) -> list[str]:
    start = next(n for n in trace["nodes"] if n["code"] == trace["batch"])
    shares = start["composition"]
    return [el for el in sorted(ELEMENTS, key=lambda e: -shares.get(e, 0.0)) if shares.get(el, 0.0) > 0][:limit]


@pages.get("/ledger/trace", response_class=HTMLResponse)
def trace_page(request: Request, batch: str | None = None, direction: str = "up",
               session: Session = Depends(get_session), user: auth_models.User = Depends(page_user)) -> Response:
    batch = (batch or "").strip() or None
    try:
        service.check_read(role=user.role, enterprise_id=user.enterprise_id, session=session, batch=batch)
    except Forbidden as e:
        return _forbidden(request, user, str(e))
    if direction not in ("up", "down", "both"):
        direction = "up"
    context: dict[str, Any] = {"batch": batch or "", "direction": direction, "examples": _examples(session, user),
                               "trace": None}
    if batch is None:
        return render(request, "ledger/trace.html", user=user, **context)
    try:
        with time_limit(session):
            result = service.trace(session=session, batch=batch, direction=direction)
    except NotFound:
        return render(request, "ledger/trace.html", user=user, status_code=404,
                      error=f"There is no batch with the code {batch!r} in the ledger.", **context)
    names, _order = _stage_names(session)
    graph, drawn = ledger_charts.lineage_graph(result, names)
    origin_figures = {}
    elements: list[str] = []
    if "origin" in result:
        elements = _top_elements(result)
        origin_figures = {key: ledger_charts.share_bars(result["origin"][f"by_{key}"], key)
                          for key in ("mine", "country", "ore_type")}
        origin_figures["element"] = ledger_charts.element_shares(result["origin"]["by_mine"], "mine", elements)
    start = next(n for n in result["nodes"] if n["code"] == batch)
    cap = capped(None)
    nodes = sorted(result["nodes"], key=lambda n: n["produced_by"]["at_epoch_s"])[:cap]
    return render(request, "ledger/trace.html", user=user, **{
        **context, "trace": result, "graph": graph, "drawn": drawn, "origin_figures": origin_figures,
        "elements": elements, "start": start, "nodes": nodes, "cap": cap,
        "when": {n["id"]: dt.datetime.fromtimestamp(n["produced_by"]["at_epoch_s"], dt.UTC).strftime("%Y-%m-%d %H:%M")
                 for n in nodes}})


def _day(text_value: str | None, default: dt.date, field: str, errors: list[str]) -> dt.date:
    if not text_value:
        return default
    try:
        return dt.date.fromisoformat(text_value)
    except ValueError:
        errors.append(f"{field} {text_value!r} is not a date (YYYY-MM-DD); using {default.isoformat()}.")
        return default


@pages.get("/ledger/balance", response_class=HTMLResponse)
def balance_page(request: Request, facility: str | None = None, start: str | None = Query(None, alias="from"),
                 end: str | None = Query(None, alias="to"), session: Session = Depends(get_session),
                 user: auth_models.User = Depends(page_user)) -> Response:
    facility = (facility or "").strip() or None
    try:
        service.check_read(role=user.role, enterprise_id=user.enterprise_id, session=session, facility=facility)
    except Forbidden as e:
        return _forbidden(request, user, str(e))
    choices = service.ledger_facilities(session=session, enterprise_id=_enterprise_scope(user))
    span = service.time_span(session=session)
    first, last = span if span else (dt.date.today().replace(day=1), dt.date.today())
    errors: list[str] = []
    day0 = _day(start, first, "from", errors)
    day1 = _day(end, last + dt.timedelta(days=1), "to", errors)
    if facility is None:
        facility = next((c["code"] for c in choices if c["stage"] == "separation"),
                        choices[0]["code"] if choices else None)
    context: dict[str, Any] = {"facility": facility or "", "start": day0, "end": day1, "choices": choices,
                               "errors": errors, "result": None}
    if facility is None:
        return render(request, "ledger/balance.html", user=user, **context)
    try:
        with time_limit(session):
            result = service.balance(session=session, facility=facility, start=day0, end=day1)
    except NotFound:
        return render(request, "ledger/balance.html", user=user, status_code=404, **{
            **context, "errors": errors + [f"There is no facility with the code {facility!r}."]})
    except InputError as e:
        return render(request, "ledger/balance.html", user=user, status_code=422,
                      **{**context, "errors": errors + [f"{p.field}: {p.rule}" for p in e.problems]})
    params = ScanParams()
    previous = 0.0
    for c in result["stock_counts"]:
        tolerance = max(params.stock_tolerance * abs(c["book_reo_kg"]), params.stock_floor_kg)
        c["flagged"] = abs(c["difference_reo_kg"]) > tolerance
        # One unrecorded arrival or consumption shifts every later count by the same amount; the count where the
        # gap changes is the one that points at the event.
        change = c["difference_reo_kg"] - previous
        c["new_gap"] = abs(change) > tolerance
        previous = c["difference_reo_kg"]
        # Adding 0.0 turns a rounded -0.0 into 0.0, which is what an agreeing count should read.
        c["change_reo_kg"] = round(change, 1) + 0.0
        c["difference_reo_kg"] = round(c["difference_reo_kg"], 1) + 0.0
        c["at"] = c["at"][:16].replace("T", " ")
    figure = ledger_charts.balance_bars(result["elements"]) if result["elements"] else None
    return render(request, "ledger/balance.html", user=user, **{**context, "result": result, "figure": figure})


def _findings_context(session: Session, user: auth_models.User, kind: str | None) -> dict[str, Any]:
    cap = capped(None)
    with time_limit(session):
        found = service.latest_findings(session=session, kind=kind or None, limit=cap,
                                        enterprise_id=_enterprise_scope(user))
    return {"found": found, "kind": kind or "", "cap": cap}


@pages.get("/ledger/anomalies", response_class=HTMLResponse)
def anomalies_page(request: Request, kind: str | None = None, session: Session = Depends(get_session),
                   user: auth_models.User = Depends(page_user)) -> Response:
    context = _findings_context(session, user, kind)
    counts = context["found"]["counts"]
    alerts: list[dict[str, Any]] = []
    if _sees_records(user):
        scan_id = context["found"]["scan_id"]
        with time_limit(session):
            alerts = [a for a in service.alerts(session=session, enterprise_id=_enterprise_scope(user),
                                                limit=context["cap"]) if a["scan_id"] == scan_id]
    return render(request, "ledger/anomalies.html", user=user, figure=ledger_charts.finding_counts(counts)
                  if counts else None, alerts=alerts, sees_records=_sees_records(user),
                  may_scan=user.role in SCANNERS, scanned=request.query_params.get("scanned"), **context)


@pages.get("/ledger/anomalies/rows", response_class=HTMLResponse)
def anomaly_rows(request: Request, kind: str | None = None, session: Session = Depends(get_session),
                 user: auth_models.User = Depends(page_user)) -> Response:
    if not _sees_records(user):
        return _forbidden(request, user, NATIONAL_ONLY)
    return render(request, "ledger/finding_rows.html", user=user, **_findings_context(session, user, kind))


@pages.post("/ledger/anomalies/scan")
def scan_now(request: Request, session: Session = Depends(get_session),
             user: auth_models.User = Depends(page_user)) -> Response:
    if user.role not in SCANNERS:
        return _forbidden(request, user, f"role '{user.role}' may not run the anomaly scan (regulators and admins may)")
    findings = service.scan(session=session)
    stored = service.record_findings(session=session, findings=findings, username=user.username)
    # Post/redirect/get, so a reload of the page does not run and store another scan.
    return RedirectResponse(f"/ledger/anomalies?scanned={stored['scan_id']}", status_code=303)
