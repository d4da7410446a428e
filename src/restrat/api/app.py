"""Assemble the FastAPI application: API routers, web pages, static files, sessions, error handlers."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware

from restrat import __version__
from restrat.api import errors
from restrat.association import views as association_views
from restrat.auth import service as auth
from restrat.auth import views as auth_views
from restrat.catalog import views as catalog_views
from restrat.environment import views as environment_views
from restrat.exports import views as exports_views
from restrat.industry import views as industry_views
from restrat.ledger import views as ledger_views
from restrat.market import views as market_views
from restrat.quota import views as quota_views
from restrat.registry import views as registry_views
from restrat.store.db import get_engine, session_factory
from restrat.technology import views as technology_views
from restrat.web import views as web_views

DESCRIPTION = """REST API of restrat, the rare earth industry governance and strategy platform.

Authenticate with `POST /api/v1/auth/token` (form fields `username`, `password`) and send
`Authorization: Bearer <token>`. Quantities name their unit in the field name (`_t_reo`, `_kg`, ...).
Errors answer 4xx with `detail[].loc` naming the field path and `detail[].msg` the rule broken."""


def create_app(engine: Engine | None = None) -> FastAPI:
    """The restrat web application bound to engine (default: the configured database)."""
    engine = engine or get_engine()
    factory = session_factory(engine)
    with factory() as session, session.begin():
        secret = auth.secret_key(session=session)
    app = FastAPI(title="restrat", version=__version__, description=DESCRIPTION)
    app.state.engine = engine
    app.state.session_factory = factory
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie="restrat_session", same_site="lax",
                       max_age=12 * 3600)
    errors.install(app)
    for router in (auth_views.router, catalog_views.router, registry_views.router, ledger_views.router,
                   quota_views.router):
        app.include_router(router)
    for pages in (web_views.pages, catalog_views.pages, registry_views.pages, ledger_views.pages, quota_views.pages):
        app.include_router(pages)
    app.include_router(industry_views.router)
    app.include_router(industry_views.pages)
    app.include_router(association_views.router)
    app.include_router(association_views.pages)
    app.include_router(exports_views.router)
    app.include_router(exports_views.pages)
    app.include_router(environment_views.router)
    app.include_router(environment_views.pages)
    app.include_router(market_views.router)
    app.include_router(market_views.pages)
    app.include_router(technology_views.router)
    app.include_router(technology_views.pages)
    app.mount("/static", StaticFiles(directory=str(resources.files("restrat.web") / "static")), name="static")
    return app
