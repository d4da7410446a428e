"""Export control routes: REST API under /api/v1/exports and the export control web pages."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from restrat.api.deps import current_user, get_session, require_roles
from restrat.auth import models as auth_models
from restrat.auth import service as auth
from restrat.catalog.service import product_form_table
from restrat.errors import Forbidden, InputError, NotFound, Problem
from restrat.exports import content, licences, review, screening, service
from restrat.exports.schemas import (
    ClassifyBulkIn,
    ClassifyIn,
    ContentIn,
    DecisionIn,
    LicenceIn,
    LicenceOut,
    ProposalIn,
    ScreenIn,
    TransitionIn,
)
from restrat.registry import models as registry_models
from restrat.store.limits import capped, time_limit
from restrat.web import exports_charts
from restrat.web.render import page_user, render

router = APIRouter(prefix="/api/v1/exports", tags=["exports"])
pages = APIRouter(include_in_schema=False)
AUTHORITY = ("regulator",)
EXPORTERS = ("enterprise",)
REVIEWERS = ("regulator", "analyst")


def _plain(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{k: v.isoformat() if isinstance(v, dt.date) else v for k, v in r.items()} for r in rows]


def _day(value: str | None, field: str = "on") -> dt.date:
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(Problem(field=field, rule="must be a date YYYY-MM-DD", value=value)) from None


def _scope(user: auth_models.User) -> int | None:
    """An enterprise user sees its own licences only; everyone else sees all."""
    return user.enterprise_id if user.role == "enterprise" else None


def _own(lic: Any, user: auth_models.User) -> None:
    if user.role == "enterprise" and lic.exporter_id != user.enterprise_id:
        raise Forbidden(f"licence {lic.code} belongs to another exporter")


# ---- API ---------------------------------------------------------------------------------------------------------


@router.get("/control-list", summary="Control-list entries that applied on a date, suspended ones, lapsed suspensions")
def control_list(on: str | None = Query(None, description="Date YYYY-MM-DD, default today"),
                 session: Session = Depends(get_session),
                 _user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    day = _day(on)
    return {"on": day, "entries": _plain(service.applicable_on(session=session, on=day)),
            "suspended": _plain(service.suspended_on(session=session, on=day)),
            "lapsed_suspensions": service.lapsed_suspensions(session=session, on=day)}


@router.get("/control-list/diff", summary="What changed in the control list between two dates")
def control_list_diff(start: str, end: str, session: Session = Depends(get_session),
                      _user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    a, b = _day(start, "start"), _day(end, "end")
    return {"start": a, "end": b, "changes": _plain(service.diff(session=session, start=a, end=b)),
            "events": service.events_between(session=session, start=a, end=b)}


@router.get("/control-list/timeline", summary="Each entry's periods in force and suspended")
def control_list_timeline(session: Session = Depends(get_session),
                          _user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return _plain(service.timeline(session=session))


@router.post("/classify", summary="Classify one product on a date: items, licence needed, reasons")
def classify(body: ClassifyIn, session: Session = Depends(get_session),
             _user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    result = service.classify_product(session=session, form=body.form, hs_code=body.hs_code,
                                      composition=body.composition, value_usd=body.value_usd,
                                      on=body.on or dt.date.today())
    return json.loads(json.dumps(result, default=str).replace("NaN", "null"))


@router.post("/classify/bulk", summary="Classify many shipment lines set-wise (one answer per line)")
def classify_bulk(body: ClassifyBulkIn, session: Session = Depends(get_session),
                  _user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    result = service.classify(session=session, lines=pd.DataFrame(body.lines), on=body.on or dt.date.today())
    return {"lines": _plain(result.lines), "suspended": _plain(result.suspended)}


@router.post("/content", summary="De minimis rule: controlled Chinese-origin value share of a foreign-made product")
def content_share(body: ContentIn, session: Session = Depends(get_session),
                  _user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    inputs = ([(body.batch, body.kg_used or 0.0)] if body.batch else []) + [(i.batch, i.kg_used) for i in body.inputs]
    result = content.content_share(session=session, inputs=inputs, product_value_usd=body.product_value_usd,
                                   on=body.on or dt.date.today())
    return json.loads(json.dumps(result, default=str))


@router.get("/review/scores", summary="Criticality per element and product type, ranked")
def review_scores(_user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return _plain(review.scores().round(4))


@router.post("/review/proposals", status_code=201, summary="Propose a dated change of the list from the scores")
def review_propose(body: ProposalIn, session: Session = Depends(get_session),
                   user: auth_models.User = Depends(require_roles(*REVIEWERS))) -> dict[str, Any]:
    p = review.propose(session=session, effective_date=body.effective_date, username=user.username)
    auth.audit(session=session, username=user.username, action="propose", entity="export_review",
               entity_key=str(p.id))
    return _proposal(session, p)


def _proposal(session: Session, p: Any) -> dict[str, Any]:
    return {"id": p.id, "state": p.state, "effective_date": p.effective_date, "created_by": p.created_by,
            "decided_by": p.decided_by, "reason": p.reason, "version_id": p.version_id,
            "changes": [{"action": c.action, "item_code": c.item_code, "element": c.element, "sub_item": c.sub_item,
                         "score": c.score, "rank": c.rank, "rationale": c.rationale}
                        for c in review.changes(session=session, proposal_id=p.id)]}


@router.get("/review/proposals", summary="Review proposals, newest first")
def review_proposals(session: Session = Depends(get_session),
                     _user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return [_proposal(session, p) for p in review.proposals(session=session)]


@router.post("/review/proposals/{proposal_id}/decision", summary="Accept (new list version) or reject a proposal")
def review_decide(proposal_id: int, body: DecisionIn, session: Session = Depends(get_session),
                  user: auth_models.User = Depends(require_roles(*AUTHORITY))) -> dict[str, Any]:
    p = review.decide(session=session, proposal_id=proposal_id, accept=body.accept, username=user.username,
                      role=user.role, reason=body.reason)
    auth.audit(session=session, username=user.username, action="accept" if body.accept else "reject",
               entity="export_review", entity_key=str(proposal_id), detail={"reason": body.reason})
    return _proposal(session, p)


@router.post("/licences", response_model=LicenceOut, status_code=201, summary="Apply for a licence (draft)")
def apply(body: LicenceIn, session: Session = Depends(get_session),
          user: auth_models.User = Depends(require_roles(*EXPORTERS))) -> Any:
    exporter = body.exporter
    if user.role == "enterprise":
        own = session.get(registry_models.Enterprise, user.enterprise_id) if user.enterprise_id else None
        if own is None or (exporter and exporter != own.code):
            raise Forbidden(f"user '{user.username}' may apply only for its own enterprise")
        exporter = own.code
    lic = licences.create_application(
        session=session, exporter=exporter or "", consignee=body.consignee,
        consignee_country=body.consignee_country, end_user=body.end_user, end_user_country=body.end_user_country,
        end_use=body.end_use, end_use_class=body.end_use_class, destination=body.destination,
        lines=[line.model_dump() for line in body.lines], username=user.username, kind=body.kind)
    auth.audit(session=session, username=user.username, action="apply", entity="export_licence", entity_key=lic.code)
    return lic


@router.get("/licences", response_model=list[LicenceOut], summary="Licences (an exporter sees its own)")
def licence_list(state: str | None = None, limit: int = Query(1000, ge=1), session: Session = Depends(get_session),
                 user: auth_models.User = Depends(current_user)) -> Any:
    with time_limit(session):
        return licences.list_licences(session=session, exporter_id=_scope(user), states=(state,) if state else None,
                                      limit=capped(limit))


@router.get("/licences/{code}", summary="One licence: terms, review clock, use, audit trail")
def licence_detail(code: str, session: Session = Depends(get_session),
                   user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    lic = licences.get_licence(session=session, code=code)
    _own(lic, user)
    usage = licences.licence_usage(session=session, code=code)
    return {"licence": LicenceOut.model_validate(lic).model_dump(mode="json"),
            "review_clock": licences.review_clock(lic, on=dt.date.today()),
            "uses": _plain(usage["uses"]), "flags": _plain(usage["flags"]),
            "history": [{"at": e.at.isoformat(), "username": e.username, "from": e.from_state, "to": e.to_state,
                         "reason": e.reason} for e in licences.history(session=session, code=code)]}


@router.post("/licences/{code}/transitions", response_model=LicenceOut, summary="Move a licence to another state")
def licence_transition(code: str, body: TransitionIn, session: Session = Depends(get_session),
                       user: auth_models.User = Depends(current_user)) -> Any:
    lic = licences.transition(session=session, code=code, to=body.to, username=user.username, role=user.role,
                              reason=body.reason, conditions=body.conditions, enterprise_id=user.enterprise_id)
    auth.audit(session=session, username=user.username, action=body.to, entity="export_licence", entity_key=code,
               detail={"reason": body.reason})
    return lic


@router.get("/quota-standards", summary="Military and civil quota standards in force on a date")
def quota_standards(on: str | None = None, session: Session = Depends(get_session),
                    _user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return _plain(licences.standards_on(session=session, on=_day(on)))


@router.get("/flags", summary="Ledger exports flagged against licences, with the reason")
def flags(rule: str | None = Query(None, description="one of " + ", ".join(licences.FLAG_REASONS)),
          limit: int = Query(1000, ge=1), session: Session = Depends(get_session),
          _user: auth_models.User = Depends(require_roles(*AUTHORITY))) -> list[dict[str, Any]]:
    return _plain(licences.list_flags(session=session, rule=rule or None, limit=capped(limit)))


@router.post("/screening/screen", summary="Screen parties against denied-party lists: hits, scores, bands")
def screen(body: ScreenIn, session: Session = Depends(get_session),
           _user: auth_models.User = Depends(current_user)) -> dict[str, Any]:
    result = screening.screen_parties(session=session, parties=[(p.name, p.country) for p in body.parties],
                                      list_name=body.list_name,
                                      thresholds=screening.Thresholds(review=body.review, potential=body.potential))
    return {"lists": result["lists"], "outcome": result["outcome"], "hits": _plain(result["hits"])}


@router.get("/screening/lists", summary="Loaded screening lists and their versions")
def screening_lists(session: Session = Depends(get_session),
                    _user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return [{"name": r["name"], "licence": r["licence"], "data_status": r["data_status"],
             "current_version": r["current_version"],
             "versions": [{"version": v.version, "loaded_at": v.loaded_at.isoformat(), "source": v.source_name,
                           "added": v.added, "changed": v.changed, "removed": v.removed, "unchanged": v.unchanged}
                          for v in r["versions"]]} for r in screening.lists(session=session)]


# ---- web pages ---------------------------------------------------------------------------------------------------


@pages.get("/exports", response_class=HTMLResponse)
def list_page(request: Request, on: str | None = None, session: Session = Depends(get_session),
              user: auth_models.User = Depends(page_user)) -> Response:
    try:
        day, error = _day(on), None
    except InputError:
        day, error = dt.date.today(), f"{on!r} is not a date (YYYY-MM-DD); showing today."
    with time_limit(session):
        entries = service.applicable_on(session=session, on=day)
        periods = service.timeline(session=session)
    quotas = service.export_quotas(session=session)
    return render(request, "exports/list.html", user=user, on=day, error=error, entries=_plain(entries),
                  suspended=_plain(service.suspended_on(session=session, on=day)),
                  lapsed=service.lapsed_suspensions(session=session, on=day),
                  undated=_plain(service.undated_entries(session=session)),
                  measures=service.list_measures(session=session),
                  figure=exports_charts.timeline(periods, on=day) if len(periods) else None,
                  quota_figure=exports_charts.export_quotas(quotas) if len(quotas) else None)


@pages.get("/exports/diff", response_class=HTMLResponse)
def diff_page(request: Request, start: str | None = None, end: str | None = None,
              session: Session = Depends(get_session), user: auth_models.User = Depends(page_user)) -> Response:
    error = None
    try:
        a = _day(start or "2025-11-01", "start")
        b = _day(end, "end")
        changes = _plain(service.diff(session=session, start=a, end=b))
        events = service.events_between(session=session, start=a, end=b)
    except InputError as e:
        a, b, changes, events, error = dt.date(2025, 11, 1), dt.date.today(), [], [], str(e)
    return render(request, "exports/diff.html", user=user, start=a, end=b, changes=changes, events=events,
                  error=error)


@pages.get("/exports/classify", response_class=HTMLResponse)
def classify_page(request: Request, user: auth_models.User = Depends(page_user)) -> Response:
    return render(request, "exports/classify.html", user=user, forms=product_form_table().to_dict("records"),
                  today=dt.date.today(), result=None, error=None, values={})


@pages.post("/exports/classify", response_class=HTMLResponse)
def classify_submit(request: Request, form: str = Form(""), hs_code: str = Form(""), composition: str = Form(""),
                    value_usd: str = Form("0"), on: str = Form(""), session: Session = Depends(get_session),
                    user: auth_models.User = Depends(page_user)) -> Response:
    values = {"form": form, "hs_code": hs_code, "composition": composition, "value_usd": value_usd, "on": on}
    result, error = None, None
    try:
        result = service.classify_product(session=session, form=form, hs_code=hs_code, composition=composition,
                                          value_usd=float(value_usd or 0), on=_day(on))
    except (InputError, ValueError) as e:
        error = e.lines() if isinstance(e, InputError) else [f"field 'value_usd': {e}"]
    template = "exports/classify_result.html" if request.headers.get("HX-Request") else "exports/classify.html"
    return render(request, template, user=user, forms=product_form_table().to_dict("records"),
                  today=dt.date.today(), result=result, error=error, values=values,
                  status_code=422 if error and not request.headers.get("HX-Request") else 200)


@pages.get("/exports/flags", response_class=HTMLResponse)
def flags_page(request: Request, rule: str | None = None, session: Session = Depends(get_session),
               user: auth_models.User = Depends(page_user)) -> Response:
    if user.role not in (*REVIEWERS, "admin"):
        return render(request, "ledger/forbidden.html", user=user, status_code=403,
                      reason=f"role '{user.role}' may not see flagged exports (the licensing authority and analysts "
                             "may)")
    cap = capped(None)
    counts = licences.flag_counts(session=session)
    try:
        rows = licences.list_flags(session=session, rule=rule or None, limit=cap)
    except InputError as e:
        return render(request, "exports/flags.html", user=user, rows=[], counts=_plain(counts), rule=rule, cap=cap,
                      reasons=licences.FLAG_REASONS, figure=None, error=e.lines(), status_code=422)
    return render(request, "exports/flags.html", user=user, rows=_plain(rows), counts=_plain(counts), rule=rule or "",
                  cap=cap, reasons=licences.FLAG_REASONS, error=None,
                  figure=exports_charts.flag_counts(counts) if len(counts) else None)


@pages.get("/exports/licences", response_class=HTMLResponse)
def licences_page(request: Request, session: Session = Depends(get_session),
                  user: auth_models.User = Depends(page_user)) -> Response:
    cap = capped(None)
    today = dt.date.today()
    with time_limit(session):
        rows = licences.list_licences(session=session, exporter_id=_scope(user), limit=cap)
    queue = [r for r in rows if r.state in ("submitted", "under_review")]
    clocks = {r.code: licences.review_clock(r, on=today) for r in rows}
    own = session.get(registry_models.Enterprise, user.enterprise_id) if user.enterprise_id else None
    flagged = licences.list_flags(session=session, limit=cap) if user.role in (*AUTHORITY, "admin") else None
    return render(request, "exports/licences.html", user=user, rows=rows, queue=queue, clocks=clocks, cap=cap,
                  own=own, may_apply=user.role in (*EXPORTERS, "admin") and own is not None,
                  is_authority=user.role in (*AUTHORITY, "admin"), flags=_plain(flagged) if flagged is not None
                  else None, forms=product_form_table().to_dict("records"),
                  created=request.query_params.get("created"), error=None, values={})


@pages.post("/exports/licences", response_class=HTMLResponse)
async def licence_apply_page(request: Request, session: Session = Depends(get_session),
                             user: auth_models.User = Depends(page_user)) -> Response:
    form = dict(await request.form())
    own = session.get(registry_models.Enterprise, user.enterprise_id) if user.enterprise_id else None
    if user.role not in (*EXPORTERS, "admin") or own is None:
        return render(request, "ledger/forbidden.html", user=user, status_code=403,
                      reason=f"role '{user.role}' may not apply for export licences (exporters may)")
    try:
        lic = licences.create_application(
            session=session, exporter=own.code, consignee=str(form.get("consignee", "")),
            consignee_country=str(form.get("consignee_country", "")), end_user=str(form.get("end_user", "")),
            end_user_country=str(form.get("end_user_country", "")), end_use=str(form.get("end_use", "")),
            end_use_class=str(form.get("end_use_class", "")) or None, destination=str(form.get("destination", "")),
            kind=str(form.get("kind", "single")), username=user.username,
            lines=[{"form": form.get("form", ""), "hs_code": form.get("hs_code", ""),
                    "composition": form.get("composition", ""), "quantity_kg": form.get("quantity_kg", ""),
                    "value_usd": form.get("value_usd", "") or 0}])
    except InputError as e:
        session.rollback()
        rows = licences.list_licences(session=session, exporter_id=_scope(user), limit=capped(None))
        return render(request, "exports/licences.html", user=user, rows=rows, queue=[], clocks={}, cap=capped(None),
                      own=own, may_apply=True, is_authority=False, flags=None,
                      forms=product_form_table().to_dict("records"), created=None, error=e.lines(), values=form,
                      status_code=422)
    auth.audit(session=session, username=user.username, action="apply", entity="export_licence", entity_key=lic.code)
    return RedirectResponse(f"/exports/licences/{lic.code}?created=1", status_code=303)


@pages.get("/exports/licences/{code}", response_class=HTMLResponse)
def licence_page(request: Request, code: str, session: Session = Depends(get_session),
                 user: auth_models.User = Depends(page_user)) -> Response:
    try:
        lic = licences.get_licence(session=session, code=code)
        _own(lic, user)
    except NotFound:
        return render(request, "not_found.html", user=user, status_code=404, what=f"licence {code!r}",
                      back="/exports/licences")
    except Forbidden as e:
        return render(request, "ledger/forbidden.html", user=user, status_code=403, reason=str(e))
    usage = licences.licence_usage(session=session, code=code)
    exporter = session.get(registry_models.Enterprise, lic.exporter_id)
    year = (lic.valid_from or dt.date.today())
    standards = licences.usage_against_standards(session=session, exporter_id=lic.exporter_id,
                                                 end_use_class=lic.end_use_class, on=year)
    moves = sorted(t for (f, t) in licences.TRANSITIONS if f == lic.state
                   and user.role in licences.ACTORS[licences.TRANSITIONS[(f, t)][0]] and t != "expired")
    return render(request, "exports/licence.html", user=user, lic=lic, exporter=exporter,
                  clock=licences.review_clock(lic, on=dt.date.today()), usage=usage,
                  uses=_plain(usage["uses"]), flags=_plain(usage["flags"]),
                  figure=exports_charts.licence_use(lic.quantity_kg, usage["uses"], lic.valid_from, lic.valid_to)
                  if len(usage["uses"]) else None,
                  history=licences.history(session=session, code=code), standards=_plain(standards), moves=moves,
                  lines=licences.licence_lines(session=session, code=code),
                  screening=json.loads(lic.screening) if lic.screening else None,
                  error=request.query_params.get("error"), moved=request.query_params.get("moved"))


@pages.post("/exports/licences/{code}/move")
def licence_move_page(request: Request, code: str, to: str = Form(...), reason: str = Form(""),
                      conditions: str = Form(""), session: Session = Depends(get_session),
                      user: auth_models.User = Depends(page_user)) -> Response:
    try:
        licences.transition(session=session, code=code, to=to, username=user.username, role=user.role,
                            reason=reason, conditions=conditions, enterprise_id=user.enterprise_id)
    except (InputError, Forbidden) as e:
        session.rollback()
        message = "; ".join(e.lines()) if isinstance(e, InputError) else str(e)
        return RedirectResponse(f"/exports/licences/{code}?" + _query(error=message), status_code=303)
    auth.audit(session=session, username=user.username, action=to, entity="export_licence", entity_key=code,
               detail={"reason": reason})
    return RedirectResponse(f"/exports/licences/{code}?moved={to}", status_code=303)


def _query(**values: str) -> str:
    from urllib.parse import urlencode

    return urlencode(values)


@pages.get("/exports/review", response_class=HTMLResponse)
def review_page(request: Request, session: Session = Depends(get_session),
                user: auth_models.User = Depends(page_user)) -> Response:
    params = review.ReviewParams()
    ranked = review.scores(params)
    listed = service.applicable_on(session=session, on=dt.date.today())
    listed_elements = set(listed[listed.licence == "dual_use_licence"].element.dropna())
    props = [_proposal(session, p) for p in review.proposals(session=session)]
    return render(request, "exports/review.html", user=user, ranked=_plain(ranked.round(3)), params=params,
                  figure=exports_charts.criticality(ranked, listed_elements, params.min_coverage),
                  indicators=_plain(review.indicators(params).reset_index().round(4)), proposals=props,
                  versions=review.versions(session=session), may_propose=user.role in (*REVIEWERS, "admin"),
                  may_decide=user.role in (*AUTHORITY, "admin"), today=dt.date.today(),
                  error=request.query_params.get("error"))


@pages.post("/exports/review/propose")
def review_propose_page(effective_date: str = Form(...), session: Session = Depends(get_session),
                        user: auth_models.User = Depends(page_user)) -> Response:
    if user.role not in (*REVIEWERS, "admin"):
        return RedirectResponse("/exports/review?" + _query(error=f"role '{user.role}' may not propose"), 303)
    try:
        p = review.propose(session=session, effective_date=_day(effective_date, "effective_date"),
                           username=user.username)
    except InputError as e:
        return RedirectResponse("/exports/review?" + _query(error="; ".join(e.lines())), 303)
    auth.audit(session=session, username=user.username, action="propose", entity="export_review",
               entity_key=str(p.id))
    return RedirectResponse(f"/exports/review#proposal-{p.id}", status_code=303)


@pages.post("/exports/review/{proposal_id}/decide")
def review_decide_page(proposal_id: int, accept: str = Form(...), reason: str = Form(""),
                       session: Session = Depends(get_session), user: auth_models.User = Depends(page_user)
                       ) -> Response:
    try:
        review.decide(session=session, proposal_id=proposal_id, accept=accept == "accept", username=user.username,
                      role=user.role, reason=reason)
    except (InputError, Forbidden) as e:
        session.rollback()
        message = "; ".join(e.lines()) if isinstance(e, InputError) else str(e)
        return RedirectResponse("/exports/review?" + _query(error=message), 303)
    auth.audit(session=session, username=user.username, action=accept, entity="export_review",
               entity_key=str(proposal_id), detail={"reason": reason})
    return RedirectResponse(f"/exports/review#proposal-{proposal_id}", status_code=303)


@pages.get("/exports/screening", response_class=HTMLResponse)
def screening_page(request: Request, name: str | None = None, country: str = "",
                   session: Session = Depends(get_session), user: auth_models.User = Depends(page_user)) -> Response:
    loaded = screening.lists(session=session)
    result = None
    if name and loaded:
        result = screening.screen_parties(session=session, parties=[(name, country)])
        result = {"outcome": result["outcome"][0], "hits": _plain(result["hits"].head(25))}
    template = "exports/screening_result.html" if request.headers.get("HX-Request") else "exports/screening.html"
    return render(request, template, user=user, lists=loaded, name=name or "", country=country, result=result,
                  thresholds=screening.Thresholds())


@pages.get("/exports/content", response_class=HTMLResponse)
def content_page(request: Request, batch: str = "", kg: str = "", value: str = "", on: str = "", more: str = "",
                 session: Session = Depends(get_session), user: auth_models.User = Depends(page_user)) -> Response:
    result, error = None, None
    if batch or more:
        try:
            inputs = [(batch, float(kg or 0))] if batch else []
            for line in more.replace(";", "\n").splitlines():  # BATCH:KG per line
                if line.strip():
                    name, _, amount = line.strip().rpartition(":")
                    inputs.append((name, float(amount)))
            result = content.content_share(session=session, inputs=inputs, product_value_usd=float(value or 0),
                                           on=_day(on))
        except InputError as e:
            error = e.lines()
        except NotFound as e:
            error = [str(e)]
        except ValueError:
            error = ["fields 'kg' and 'value' must be numbers, more inputs BATCH:KG"]
    rules = content.rules(session=session)
    return render(request, "exports/content.html", user=user, result=result, error=error, rules=_plain(rules),
                  values={"batch": batch, "kg": kg, "value": value, "more": more,
                          "on": on or dt.date.today().isoformat()})
