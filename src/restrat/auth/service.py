"""Passwords (argon2), users and roles, bearer tokens, the secret key and the audit log."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from restrat.auth import models
from restrat.errors import InputError, Problem
from restrat.registry import models as registry_models

ROLES = ("regulator", "enterprise", "association", "analyst", "admin")
TOKEN_LIFETIME = dt.timedelta(hours=12)
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of password."""
    return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    """Whether password matches the argon2 hash."""
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(*, session: Session, username: str, password: str, role: str,
                enterprise_code: str | None = None) -> models.User:
    """Create a user; an enterprise user is bound to exactly one enterprise."""
    problems = []
    if role not in ROLES:
        problems.append(Problem(field="role", rule=f"must be one of {list(ROLES)}", value=role))
    if len(password) < 8:
        problems.append(Problem(field="password", rule="must be at least 8 characters"))
    if role == "enterprise" and not enterprise_code:
        problems.append(Problem(field="enterprise", rule="an enterprise user must name its enterprise"))
    if session.scalar(select(models.User.id).where(models.User.username == username)) is not None:
        problems.append(Problem(field="username", rule="is taken", value=username))
    enterprise_id = None
    if enterprise_code:
        enterprise_id = session.scalar(select(registry_models.Enterprise.id)
                                       .where(registry_models.Enterprise.code == enterprise_code))
        if enterprise_id is None:
            problems.append(Problem(field="enterprise", rule="unknown enterprise", value=enterprise_code))
    if problems:
        raise InputError(problems)
    user = models.User(username=username, password_hash=hash_password(password), role=role,
                       enterprise_id=enterprise_id)
    session.add(user)
    session.flush()
    return user


def authenticate(*, session: Session, username: str, password: str) -> models.User | None:
    """The active user with these credentials, or None."""
    user = session.scalar(select(models.User).where(models.User.username == username, models.User.active))
    if user is None or not verify_password(password, user.password_hash):
        return None
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(*, session: Session, user: models.User) -> str:
    """A new bearer token for user; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    session.add(models.ApiToken(token_sha256=_digest(token), user_id=user.id,
                                expires_at=models.utcnow() + TOKEN_LIFETIME))
    session.flush()
    return token


def user_for_token(*, session: Session, token: str) -> models.User | None:
    """The active user a valid, unexpired token belongs to, or None."""
    stmt = (select(models.User).join(models.ApiToken)
            .where(models.ApiToken.token_sha256 == _digest(token), models.ApiToken.expires_at > models.utcnow(),
                   models.User.active))
    return session.scalar(stmt)


def get_user(*, session: Session, user_id: int) -> models.User | None:
    """A user by id, or None."""
    return session.get(models.User, user_id)


def secret_key(*, session: Session) -> str:
    """The installation's signing key for session cookies, created on first use."""
    row = session.get(models.AppSetting, "secret_key")
    if row is None:
        row = models.AppSetting(key="secret_key", value=secrets.token_urlsafe(48))
        session.add(row)
        session.flush()
    return row.value


def audit(*, session: Session, username: str, action: str, entity: str, entity_key: str = "",
          detail: dict[str, Any] | None = None) -> None:
    """Record a write in the audit log, attributed to username."""
    session.add(models.AuditLog(username=username, action=action, entity=entity, entity_key=entity_key,
                                detail=json.dumps(detail or {}, default=str, ensure_ascii=False)))


def recent_audit(*, session: Session, limit: int = 100) -> list[models.AuditLog]:
    """The newest audit entries first."""
    return list(session.scalars(select(models.AuditLog).order_by(models.AuditLog.id.desc()).limit(limit)))
