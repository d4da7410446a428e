"""Quota web pages: China's national quota history."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from restrat.api.deps import get_session
from restrat.auth import models as auth_models
from restrat.quota import service
from restrat.store.limits import capped, time_limit
from restrat.web import charts
from restrat.web.render import page_user, render

pages = APIRouter(include_in_schema=False)


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
