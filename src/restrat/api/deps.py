"""Request dependencies: a database session per request, the current user, role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from restrat.auth import models as auth_models
from restrat.auth import service as auth
from restrat.store.db import session_factory

bearer = HTTPBearer(auto_error=False, description="Token from POST /api/v1/auth/token")


def get_session(request: Request) -> Iterator[Session]:
    """A session for this request: committed when the handler succeeds, rolled back on any error."""
    factory = request.app.state.session_factory
    with factory() as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


def optional_user(request: Request, session: Session = Depends(get_session),
                  creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> auth_models.User | None:
    """The user behind the bearer token or the web session cookie, if any."""
    if creds is not None:
        return auth.user_for_token(session=session, token=creds.credentials)
    user_id = request.session.get("user_id") if "session" in request.scope else None
    if user_id is not None:
        user = auth.get_user(session=session, user_id=int(user_id))
        if user is not None and user.active:
            return user
    return None


def current_user(user: auth_models.User | None = Depends(optional_user)) -> auth_models.User:
    """The authenticated user, or 401."""
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not authenticated",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


def require_roles(*roles: str) -> Callable[..., auth_models.User]:
    """A dependency that lets only the named roles (and admin) through, else 403."""

    def check(user: auth_models.User = Depends(current_user)) -> auth_models.User:
        if user.role != "admin" and user.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role '{user.role}' may not do this; needs {list(roles)}")
        return user

    return check


def make_session_factory(engine):  # type: ignore[no-untyped-def]
    """The session factory the app keeps in app.state."""
    return session_factory(engine)
