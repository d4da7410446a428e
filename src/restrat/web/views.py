"""Shared web pages: login, logout, the home map and the strategy aspects."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from restrat.api.deps import get_session, optional_user
from restrat.auth import models as auth_models
from restrat.auth import service as auth
from restrat.catalog import service as catalog
from restrat.registry import service as registry
from restrat.web import charts
from restrat.web.aspects import aspect
from restrat.web.render import page_user, render

pages = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an absolute or scheme-relative URL would make the login form an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@pages.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/",
               user: auth_models.User | None = Depends(optional_user)) -> Response:
    if user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next), error=None, username="")


@pages.post("/login", response_class=HTMLResponse)
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/"),
          session: Session = Depends(get_session)) -> Response:
    user = auth.authenticate(session=session, username=username.strip(), password=password)
    if user is None:
        auth.audit(session=session, username=username.strip()[:80] or "(empty)", action="login_failed",
                   entity="web_session")
        return render(request, "login.html", next=_safe_next(next), username=username, status_code=401,
                      error="Wrong user name or password.")
    # A fresh session on every sign-in so a cookie planted before login is not carried into the account.
    request.session.clear()
    request.session["user_id"] = user.id
    auth.audit(session=session, username=user.username, action="login", entity="web_session")
    return RedirectResponse(_safe_next(next), status_code=303)


@pages.post("/logout")
def logout(request: Request, session: Session = Depends(get_session),
           user: auth_models.User | None = Depends(optional_user)) -> Response:
    if user is not None:
        auth.audit(session=session, username=user.username, action="logout", entity="web_session")
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@pages.get("/", response_class=HTMLResponse)
def home(request: Request, session: Session = Depends(get_session),
         user: auth_models.User = Depends(page_user)) -> Response:
    frame = registry.facilities_frame(session=session)
    stages = [(s.code, s.name) for s in catalog.list_stages(session=session)]
    counts = registry.facility_counts(session=session)
    stage_names = dict(stages)
    return render(request, "home.html", user=user, figure=charts.facility_map(frame, stages), counts=counts,
                  stage_names=stage_names, total=len(frame),
                  illustrative=int((frame.data_status == "illustrative").sum()) if len(frame) else 0,
                  approx=int((frame.data_status == "thirdparty_approx").sum()) if len(frame) else 0)


@pages.get("/aspects/{number}", response_class=HTMLResponse)
def aspect_page(request: Request, number: int, user: auth_models.User = Depends(page_user)) -> Response:
    found = aspect(number)
    if found is None:
        return render(request, "not_found.html", user=user, status_code=404,
                      what=f"strategy aspect {number}", back="/")
    return render(request, "aspect.html", user=user, aspect=found)
