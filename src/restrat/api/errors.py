"""Map domain errors to HTTP answers that name the field path and the rule."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from restrat.errors import Forbidden, InputError, NotFound


def _input_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputError)
    detail = []
    for p in exc.problems[:200]:
        loc = ["body", "rows", p.row - 1, p.field] if p.row is not None else ["body", p.field]
        detail.append({"loc": loc, "msg": p.rule, "type": "value_error", "input": p.value, "row": p.row})
    return JSONResponse({"detail": detail, "problems": len(exc.problems)}, status_code=422)


def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFound)
    return JSONResponse({"detail": [{"loc": [exc.field], "msg": str(exc), "type": "not_found"}]}, status_code=404)


def _forbidden(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=403)


def install(app: FastAPI) -> None:
    """Register the handlers on app."""
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Forbidden, _forbidden)
