"""Catalog routes: REST API under /api/v1/catalog and the catalog web pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from restrat.api.deps import current_user, get_session
from restrat.auth import models as auth_models
from restrat.catalog import models, reference, service
from restrat.catalog.schemas import ConversionOut, ElementOut, HsCodeOut, ProductFormOut, StageOut
from restrat.store.limits import capped
from restrat.web import charts, provenance
from restrat.web.render import page_user, render

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"], dependencies=[Depends(current_user)])
pages = APIRouter(include_in_schema=False)


@router.get("/elements", response_model=list[ElementOut], summary="The 17 rare earth elements")
def elements(q: str | None = Query(None, description="Filter by symbol, name or class"),
             session: Session = Depends(get_session)) -> list[models.Element]:
    return service.list_elements(session=session, q=q)


@router.get("/elements/{symbol}", response_model=ElementOut, summary="One element by symbol or name")
def element(symbol: str, session: Session = Depends(get_session)) -> models.Element:
    return service.get_element(session=session, symbol=symbol)


@router.get("/convert", response_model=ConversionOut, summary="Convert tonnes between oxide and metal")
def convert(element: str, tonnes: float = Query(..., description="Quantity in t"),
            to: str = Query("metal", description="'metal' (input is oxide) or 'oxide' (input is metal)")
            ) -> ConversionOut:
    sym = service.element_symbol(element)
    value = service.convert(element=sym, tonnes=tonnes, to=to)
    return ConversionOut(element=sym, input_t=tonnes, input_form="oxide" if to == "metal" else "metal",
                         output_t=value, output_form=to,
                         factor_t_metal_per_t_oxide=service.oxide_to_metal(element=sym))


@router.get("/stages", response_model=list[StageOut], summary="Chain stages in order")
def stages(session: Session = Depends(get_session)) -> list[models.ChainStage]:
    return service.list_stages(session=session)


@router.get("/product-forms", response_model=list[ProductFormOut], summary="Product forms along the chain")
def product_forms(session: Session = Depends(get_session)) -> list[models.ProductForm]:
    return service.list_product_forms(session=session)


@router.get("/hs-codes", response_model=list[HsCodeOut], summary="Search Chinese tariff lines")
def hs_codes(q: str | None = Query(None, description="Code prefix or text"), limit: int = Query(200, ge=1),
             session: Session = Depends(get_session)) -> list[models.HsCode]:
    return service.search_hs_codes(session=session, q=q, limit=capped(limit))


@router.get("/hs-codes/{code}", response_model=HsCodeOut, summary="One tariff line (4, 6, 8 or 10 digits)")
def hs_code(code: str, session: Session = Depends(get_session)) -> models.HsCode:
    return service.get_hs_code(session=session, code=code)


# ---- web pages ----------------------------------------------------------------------------------------------------


@pages.get("/catalog", response_class=HTMLResponse)
def elements_page(request: Request, session: Session = Depends(get_session),
                  user: auth_models.User = Depends(page_user)) -> Response:
    return render(request, "catalog/elements.html", user=user, elements=service.list_elements(session=session))


@pages.get("/catalog/forms", response_class=HTMLResponse)
def forms_page(request: Request, session: Session = Depends(get_session),
               user: auth_models.User = Depends(page_user)) -> Response:
    forms = service.list_product_forms(session=session)
    by_stage = [(stage, [f for f in forms if f.stage == stage.code]) for stage in service.list_stages(session=session)]
    return render(request, "catalog/forms.html", user=user, by_stage=by_stage)


HS_PAGE_ROWS = 200


def _hs_context(session: Session, q: str | None) -> dict[str, Any]:
    cap = capped(HS_PAGE_ROWS)
    return {"rows": service.search_hs_codes(session=session, q=q, limit=cap), "cap": cap, "q": q or ""}


@pages.get("/catalog/hs", response_class=HTMLResponse)
def hs_page(request: Request, q: str | None = None, session: Session = Depends(get_session),
            user: auth_models.User = Depends(page_user)) -> Response:
    return render(request, "catalog/hs.html", user=user, **_hs_context(session, q))


@pages.get("/catalog/hs/rows", response_class=HTMLResponse)
def hs_rows(request: Request, q: str | None = None, session: Session = Depends(get_session),
            user: auth_models.User = Depends(page_user)) -> Response:
    return render(request, "catalog/hs_rows.html", user=user, **_hs_context(session, q))


REFERENCE_PAGE_ROWS = 500


@pages.get("/reference", response_class=HTMLResponse)
def reference_index(request: Request, user: auth_models.User = Depends(page_user)) -> Response:
    datasets = [provenance.summary(name) for name in reference.DATASETS]
    return render(request, "catalog/reference_index.html", user=user, datasets=datasets)


@pages.get("/reference/{name}", response_class=HTMLResponse)
def reference_file(request: Request, name: str, user: auth_models.User = Depends(page_user)) -> Response:
    # Only the catalogued files: the name comes from the URL and must not reach the file system unchecked.
    if name not in reference.DATASETS:
        return render(request, "not_found.html", user=user, status_code=404,
                      what=f"shipped reference dataset named {name!r}", back="/reference")
    frame = reference.read(name)
    cap = capped(REFERENCE_PAGE_ROWS)
    return render(request, "catalog/reference_file.html", user=user, info=provenance.summary(name),
                  provenance=provenance.provenance(name), columns=list(frame.columns),
                  rows=frame.head(cap).to_dict("records"), cap=cap,
                  status_column=provenance.status_column(list(frame.columns)),
                  file_status=provenance.file_status(name))


@pages.get("/world/production", response_class=HTMLResponse)
def world_production(request: Request, user: auth_models.User = Depends(page_user)) -> Response:
    production = service.latest_production()
    reserves = service.reserves_table()
    edition = max(reserves.mcs_edition)
    latest_reserves = reserves[reserves.mcs_edition == edition]
    years = [int(y) for y in sorted(production.data_year.unique())]
    cells = {(r["country"], int(r["data_year"])): r for r in production.to_dict("records")}
    latest = production[production.data_year == years[-1]].set_index("country").mine_production_t_reo
    countries = sorted(production.country.unique(), key=lambda c: -float(latest.get(c, -1)))
    rows = [{"country": c, "cells": [cells.get((c, y)) for y in years]} for c in countries]
    return render(request, "catalog/world_production.html", user=user, years=years, rows=rows,
                  production_figure=charts.production_chart(production),
                  reserves_figure=charts.reserves_chart(latest_reserves), edition=edition,
                  reserves=latest_reserves.sort_values("reserves_t_reo", ascending=False).to_dict("records"),
                  editions=sorted(production.mcs_edition.unique()))
