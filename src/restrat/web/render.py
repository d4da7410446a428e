"""Template rendering shared by every capability's pages."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

TEMPLATES = Jinja2Templates(directory=str(resources.files("restrat.web") / "templates"))


def render(request: Request, template: str, *, user: Any = None, status_code: int = 200, **context: Any
           ) -> HTMLResponse:
    """Render a page template with the current user and the navigation context."""
    return TEMPLATES.TemplateResponse(request, template, {"user": user, **context}, status_code=status_code)
