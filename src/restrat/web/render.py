"""Template rendering shared by every capability's pages, and the login gate of the web pages."""

from __future__ import annotations

from importlib import resources
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from restrat.api.deps import optional_user
from restrat.auth import models as auth_models
from restrat.store.limits import capped
from restrat.web.aspects import ASPECTS, MARKET, NAV_PAGES

TEMPLATES = Jinja2Templates(directory=str(resources.files("restrat.web") / "templates"))
TEMPLATES.env.globals.update(ASPECTS=ASPECTS, MARKET=MARKET, NAV_PAGES=NAV_PAGES)


def _thousands(value: Any, digits: int = 0) -> str:
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return "—"
    return f"{float(value):,.{digits}f}"


TEMPLATES.env.filters["thousands"] = _thousands


def render(request: Request, template: str, *, user: Any = None, status_code: int = 200, **context: Any
           ) -> HTMLResponse:
    """Render a page template with the current user and the navigation context."""
    return TEMPLATES.TemplateResponse(request, template, {"user": user, **context}, status_code=status_code)


def login_url(request: Request) -> str:
    """The login page, asking to come back to the page requested.

    For an HTMX fragment that is the page the fragment was meant for (HX-Current-URL), not the bare fragment."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    current = request.headers.get("HX-Current-URL") if request.headers.get("HX-Request") else None
    if current:
        parts = urlsplit(current)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return "/login?" + urlencode({"next": target})


def page_user(request: Request, user: auth_models.User | None = Depends(optional_user)) -> auth_models.User:
    """The signed-in user of a web page; anyone else is sent to the login page.

    An HTMX fragment request gets 401 with HX-Redirect, because a plain redirect would be followed by the XHR
    and the login form swapped into the middle of the page."""
    if user is None:
        if request.headers.get("HX-Request"):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in",
                                headers={"HX-Redirect": login_url(request)})
        raise HTTPException(status.HTTP_303_SEE_OTHER, "sign in first", headers={"Location": login_url(request)})
    return user


def row_cap(limit: int | None = None) -> int:
    """Most rows a page shows (the configured cap, or less when the page asks for less)."""
    return capped(limit)
