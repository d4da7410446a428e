"""Catalog routes: REST API under /api/v1/catalog and the catalog web pages."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from restrat.api.deps import current_user, get_session
from restrat.catalog import models, service
from restrat.catalog.schemas import ConversionOut, ElementOut, HsCodeOut, ProductFormOut, StageOut
from restrat.store.limits import capped

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
