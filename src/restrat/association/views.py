"""Association routes: REST API under /api/v1/association and the association page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from restrat.api.deps import current_user, get_session, require_roles
from restrat.association import service
from restrat.association.schemas import (
    IndexCellOut,
    ProductOut,
    StatisticsOut,
    SubmissionIn,
    SubmissionOut,
    SubmitOut,
)
from restrat.auth import models as auth_models
from restrat.auth import service as auth
from restrat.errors import Forbidden
from restrat.industry.service import records
from restrat.registry import models as registry_models
from restrat.web import industry_charts
from restrat.web.render import page_user, render

router = APIRouter(prefix="/api/v1/association", tags=["association"])
pages = APIRouter(include_in_schema=False)


@router.get("/products", response_model=list[ProductOut], summary="Products members may quote")
def products(_user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return records(service.products())


@router.post("/submissions", response_model=SubmitOut, status_code=201,
             summary="A member submits prices (enterprise users, for their own enterprise)")
def submit(body: SubmissionIn, session: Session = Depends(get_session),
           user: auth_models.User = Depends(require_roles("enterprise"))) -> dict[str, int]:
    if user.enterprise_id is None:
        raise Forbidden("only an enterprise user linked to an enterprise submits prices")
    ent = session.get(registry_models.Enterprise, user.enterprise_id)
    result = service.submit(session=session, enterprise=ent.code, rows=[p.model_dump() for p in body.prices],
                            username=user.username)
    auth.audit(session=session, username=user.username, action="submit", entity="association_price",
               entity_key=ent.code, detail=result)
    return result


@router.get("/submissions", response_model=list[SubmissionOut],
            summary="Raw submissions: your own (enterprise) or every member's (regulator)")
def submissions(enterprise: str | None = Query(None, description="Regulator: one member's code"),
                product: str | None = None, session: Session = Depends(get_session),
                user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    frame = service.raw_submissions(session=session, role=user.role, viewer_enterprise_id=user.enterprise_id,
                                    enterprise=enterprise, product=product)
    return records(frame.drop(columns=["period"]))


@router.get("/index", response_model=list[IndexCellOut],
            summary="Reference price index per product and month, under disclosure control")
def reference_index(product: str | None = None, currency: str | None = None,
                    session: Session = Depends(get_session),
                    _user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return records(service.reference_index(session=session, product=product, currency=currency))


@router.get("/statistics", response_model=list[StatisticsOut],
            summary="Aggregate statistics per product from the published index only")
def statistics(session: Session = Depends(get_session),
               _user: auth_models.User = Depends(current_user)) -> list[dict[str, Any]]:
    return records(service.statistics(session=session))


@pages.get("/association", response_class=HTMLResponse)
def association_page(request: Request, session: Session = Depends(get_session),
                     user: auth_models.User = Depends(page_user)) -> Response:
    pub = service.reference_index(session=session)
    own = None
    if user.role in service.RAW_READERS and (user.role == "regulator" or user.enterprise_id is not None):
        own = records(service.raw_submissions(session=session, role=user.role,
                                              viewer_enterprise_id=user.enterprise_id).tail(200))
    return render(request, "association/index.html", user=user, figure=industry_charts.index_chart(pub),
                  cells=records(pub.sort_values(["period", "product"], ascending=[False, True]).head(120)),
                  stats=records(service.statistics(session=session)), own=own,
                  rule=service.disclosure_rules().iloc[-1], products=records(service.products()))
