"""Auth API: tokens for the API, the current user, user administration."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.orm import Session

from restrat.api.deps import current_user, get_session, require_roles
from restrat.auth import models, service
from restrat.auth.schemas import TokenOut, UserIn, UserOut

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut, summary="Exchange username and password for a bearer token")
def token(form: OAuth2PasswordRequestForm = Depends(), session: Session = Depends(get_session)) -> TokenOut:
    user = service.authenticate(session=session, username=form.username, password=form.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    return TokenOut(access_token=service.issue_token(session=session, user=user),
                    expires_in_s=int(service.TOKEN_LIFETIME.total_seconds()))


@router.get("/me", response_model=UserOut, summary="The authenticated user")
def me(user: models.User = Depends(current_user)) -> models.User:
    return user


@router.post("/users", response_model=UserOut, status_code=201, summary="Create a user (admin)")
def create_user(body: UserIn, session: Session = Depends(get_session),
                admin: models.User = Depends(require_roles("admin"))) -> models.User:
    user = service.create_user(session=session, username=body.username, password=body.password, role=body.role,
                               enterprise_code=body.enterprise)
    service.audit(session=session, username=admin.username, action="create", entity="user", entity_key=body.username)
    return user
