"""Bearer tokens: short-lived access tokens and rotating refresh tokens, both signed JWTs.

PyJWT, rather than itsdangerous: JWTs are a standard (RFC 7519) that clients, gateways and
other languages read, and PyJWT checks expiry, required claims and the algorithm itself. The
algorithm is pinned to HS256: a token naming any other (`none`, or RS256 to confuse a public
key with the secret) is refused before its signature is looked at.

Each login opens an `AuthSession` row. An access token names its session and is refused once
the session is revoked (logout), so that logout takes effect at once on every worker. A refresh
token is accepted once: refreshing replaces it, and presenting a replaced one revokes its whole
session, since only a stolen copy would be used again (OAuth 2.0 Security BCP, section 4.14).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any, cast

import jwt
from flask import current_app
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import joinedload

from .db import db
from .models import AuthSession, User, utcnow

ALGORITHM = "HS256"
ISSUER = __name__.partition(".")[0]  # the app package's name
ACCESS = "access"
REFRESH = "refresh"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "sub", "sid", "jti", "type"]
NAMES = {ACCESS: "an access token", REFRESH: "a refresh token"}


class InvalidTokenError(Exception):
    """A token that grants nothing; its message says why, for the 401 body."""


def issue_tokens(user: User) -> dict[str, Any]:
    """Open a session for `user` and return its first token pair (the body of a login)."""
    now = utcnow()
    session = AuthSession(
        user=user,
        refresh_token_id=_new_token_id(),
        expires_at=now + timedelta(seconds=current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]),
    )
    db.session.add(session)
    db.session.flush()
    pair = _token_pair(user, session, now)
    db.session.commit()
    return pair


def refresh_tokens(refresh_token: str) -> dict[str, Any]:
    """Exchange a refresh token for a new pair; the one given is refused from now on."""
    claims = _decode(refresh_token, REFRESH)
    now = utcnow()
    new_id = _new_token_id()
    # One statement decides, so that of two workers given the same token only one succeeds.
    renewed = cast(
        "CursorResult[Any]",
        db.session.execute(
            update(AuthSession)
            .where(
                AuthSession.uuid == _session_id(claims),
                AuthSession.refresh_token_id == claims["jti"],
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > now,
            )
            .values(refresh_token_id=new_id, updated_at=now)
        ),
    )
    if renewed.rowcount != 1:
        # Replaced, revoked or expired: a replaced token coming back means it was copied, so
        # the session ends for its legitimate holder too, who logs in again.
        _revoke(_session_id(claims), now)
        raise InvalidTokenError("the refresh token has been used, revoked or has expired")
    session = db.session.scalars(
        select(AuthSession)
        .options(joinedload(AuthSession.user))
        .where(AuthSession.uuid == _session_id(claims))
    ).one()
    pair = _token_pair(session.user, session, now)
    db.session.commit()
    return pair


def revoke_session(refresh_token: str) -> None:
    """Log out: the session's access and refresh tokens are refused from now on."""
    claims = _decode(refresh_token, REFRESH)
    _revoke(_session_id(claims), utcnow())


def authenticate(access_token: str) -> User:
    """The user an access token speaks for, if its session is still open."""
    claims = _decode(access_token, ACCESS)
    session = db.session.scalars(
        select(AuthSession)
        .options(joinedload(AuthSession.user))
        .where(AuthSession.uuid == _session_id(claims))
    ).one_or_none()
    if session is None or session.revoked_at is not None or str(session.user.uuid) != claims["sub"]:
        raise InvalidTokenError("the access token has been revoked: log in again")
    return session.user


def _token_pair(user: User, session: AuthSession, now: datetime) -> dict[str, Any]:
    access_seconds = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    common = {"iat": now, "iss": ISSUER, "sub": str(user.uuid), "sid": str(session.uuid)}
    access = {
        **common,
        "type": ACCESS,
        "jti": secrets.token_urlsafe(16),
        "exp": now + timedelta(seconds=access_seconds),
    }
    refresh = {
        **common,
        "type": REFRESH,
        "jti": session.refresh_token_id,
        "exp": session.expires_at,
    }
    return {
        "access_token": _encode(access),
        "refresh_token": _encode(refresh),
        "token_type": "Bearer",
        "expires_in": access_seconds,
    }


def _encode(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, current_app.config["JWT_SECRET_KEY"], algorithm=ALGORITHM)


def _decode(token: str, token_type: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            current_app.config["JWT_SECRET_KEY"],
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidTokenError(f"the {token_type} token has expired") from None
    except jwt.InvalidTokenError:
        raise InvalidTokenError(f"the {token_type} token is not valid") from None
    if claims["type"] != token_type:
        given = NAMES.get(claims["type"], "another token")
        raise InvalidTokenError(f"{NAMES[token_type]} is needed here, not {given}")
    return claims


def _session_id(claims: dict[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(claims["sid"]))
    except ValueError:
        raise InvalidTokenError("the token names no session") from None


def _revoke(session_id: uuid.UUID, now: datetime) -> None:
    db.session.execute(
        update(AuthSession)
        .where(AuthSession.uuid == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, updated_at=now)
    )
    db.session.commit()


def _new_token_id() -> str:
    return secrets.token_urlsafe(32)
