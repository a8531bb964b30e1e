"""Token authentication: log in, refresh, log out, and the `token_auth` that guards writes.

POST /api/auth/token   {"username", "password"} -> 200 {"access_token", "refresh_token",
                       "token_type": "Bearer", "expires_in"}; 401 on wrong credentials;
                       rate-limited per client address and per username (LOGIN_RATE_LIMIT)
POST /api/auth/refresh {"refresh_token"} -> 200 a new pair; the one given is refused from now on
POST /api/auth/logout  {"refresh_token"} -> 204; the session's tokens are refused from now on

Guard a view with `@bp.auth_required(token_auth)` under its route decorator; there
`token_auth.current_user` is the `User`. `flask users create` and `flask users set-password`
give users their passwords.
"""

from __future__ import annotations

import contextlib
from typing import Any, NoReturn

import click
from apiflask import APIBlueprint, HTTPTokenAuth, Schema
from apiflask.exceptions import HTTPError
from apiflask.fields import Integer, String
from apiflask.validators import Length
from flask import Flask, Response, abort, current_app, g, make_response, request
from flask.cli import with_appcontext
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from .db import db
from .models import AuthSession, User, utcnow
from .models.user import USERNAME_MAX_LENGTH
from .passwords import (
    MAX_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from .tokens import (
    ISSUER,
    InvalidTokenError,
    authenticate,
    issue_tokens,
    refresh_tokens,
    revoke_session,
)


def _address_key() -> str:
    """The client's address (behind proxies, as TRUSTED_PROXY_HOPS says to read it)."""
    return f"{current_app.config['LOGIN_RATE_LIMIT_SCOPE']}:address:{get_remote_address()}"


bp = APIBlueprint("auth", __name__, url_prefix="/api/auth", tag="Authentication")

token_auth = HTTPTokenAuth(
    scheme="Bearer",
    description="The access token of POST /api/auth/token: `Authorization: Bearer <token>`",
)

# Counts in RATELIMIT_STORAGE_URI (config.py): Redis in production, shared by every worker. If
# Redis stops answering, each worker counts in memory until it is back, instead of failing logins.
# One limiter serves the process: the app that calls init_app last chooses its storage.
limiter = Limiter(_address_key, headers_enabled=True, in_memory_fallback_enabled=True)

WRONG_CREDENTIALS = "the username or password is wrong"
TOO_MANY_ATTEMPTS = "too many login attempts: wait for the seconds in Retry-After"
# A JWT of this app is a few hundred characters; the bound keeps absurd bodies out.
MAX_TOKEN_LENGTH = 4096
NO_STORE = {"Cache-Control": "no-store"}  # token responses are never cached (RFC 6749, 5.1)
# The errors any body can meet, as users.py documents them (which imports this module).
BODY_ERRORS = {
    400: "The body is not valid JSON",
    413: "The body is larger than MAX_CONTENT_LENGTH",
    415: "The body is not JSON (Content-Type: application/json)",
    503: "The database is unavailable: retry after Retry-After seconds",
}


class Credentials(Schema):
    username = String(required=True, validate=Length(1, USERNAME_MAX_LENGTH))
    password = String(required=True, validate=Length(1, MAX_PASSWORD_LENGTH))


class RefreshToken(Schema):
    refresh_token = String(required=True, validate=Length(1, MAX_TOKEN_LENGTH))


class TokenPair(Schema):
    access_token = String(required=True, metadata={"description": "Send as Bearer token"})
    refresh_token = String(required=True, metadata={"description": "For /api/auth/refresh"})
    token_type = String(required=True, metadata={"description": "Always Bearer"})
    expires_in = Integer(required=True, metadata={"description": "Seconds the access token lasts"})


def init_app(app: Flask) -> None:
    if app.config["TRUSTED_PROXY_HOPS"]:
        # request.remote_addr becomes the client's address, as the nearest proxies report it.
        hops = app.config["TRUSTED_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)  # type: ignore[method-assign]
    limiter.init_app(app)
    app.register_blueprint(bp)
    app.cli.add_command(users_command)


@bp.before_request
def parse_json_first() -> None:
    """As users.py: 415 when not JSON, 400 naming the problem when invalid, before anything."""
    from .users import require_json_body  # here: users.py imports this module

    require_json_body()


def verify_token(token: str) -> User | None:
    try:
        return authenticate(token)
    except InvalidTokenError as error:
        g.token_error = str(error)
        return None


token_auth.verify_token(verify_token)  # a call, not a decorator: Flask-HTTPAuth is untyped


@token_auth.error_processor
def token_error(error: HTTPError) -> tuple[dict[str, Any], int, dict[str, str]]:
    """401 in the API's error format, with the challenge RFC 6750 asks for."""
    # Read the body the client is still sending (up to MAX_CONTENT_LENGTH) in this thread:
    # Gunicorn would otherwise wait for it while closing the connection, in the loop that
    # accepts every other client (tests/test_slow_clients.py).
    with contextlib.suppress(HTTPException):
        request.get_data(cache=False)
    reason = g.pop("token_error", None)
    if reason is None:
        message = "this needs an access token: send Authorization: Bearer <token>"
        challenge = _challenge()
    else:
        message = reason
        challenge = _challenge(f'error="invalid_token", error_description="{reason}"')
    body = {"error": {"code": 401, "name": "Unauthorized", "message": message}}
    return body, 401, {"WWW-Authenticate": challenge}


def _username_key() -> str:
    """The username being tried, so that guesses from many addresses still add up."""
    payload = request.get_json(silent=True)
    username = payload.get("username") if isinstance(payload, dict) else None
    name = username[:USERNAME_MAX_LENGTH] if isinstance(username, str) else ""
    return f"{current_app.config['LOGIN_RATE_LIMIT_SCOPE']}:username:{name}"


def _login_rate_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


@bp.post("/token")
@limiter.limit(_login_rate_limit, key_func=_address_key, error_message=TOO_MANY_ATTEMPTS)
@limiter.limit(_login_rate_limit, key_func=_username_key, error_message=TOO_MANY_ATTEMPTS)
@bp.input(Credentials, location="json")
@bp.output(TokenPair)
@bp.doc(
    summary="Log in: exchange a username and password for tokens",
    responses={
        401: "The username or password is wrong",
        429: "Too many login attempts: retry after Retry-After seconds",
        **BODY_ERRORS,
    },
)
def create_token(json_data: dict[str, str]) -> tuple[dict[str, Any], int, dict[str, str]]:
    username, password = json_data["username"], json_data["password"]
    user = db.session.scalar(select(User).where(User.username == username))
    # An unknown user costs the same hash as a known one: neither the message nor the time
    # tells a wrong username from a wrong password.
    if not verify_password(user.password_hash if user else None, password) or user is None:
        _unauthorized(WRONG_CREDENTIALS)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)  # saved with the session below
    return issue_tokens(user), 200, NO_STORE


@bp.post("/refresh")
@bp.input(RefreshToken, location="json")
@bp.output(TokenPair)
@bp.doc(
    summary="Exchange a refresh token for a new pair (the one given is refused from then on)",
    responses={
        401: "The refresh token is invalid, expired, revoked or used already",
        **BODY_ERRORS,
    },
)
def refresh(json_data: dict[str, str]) -> tuple[dict[str, Any], int, dict[str, str]]:
    return refresh_tokens(json_data["refresh_token"]), 200, NO_STORE


@bp.post("/logout")
@bp.input(RefreshToken, location="json")
@bp.output({}, status_code=204)
@bp.doc(
    summary="Log out: the session's access and refresh tokens are refused from then on",
    responses={
        401: "The refresh token is invalid or expired",
        **BODY_ERRORS,
    },
)
def logout(json_data: dict[str, str]) -> tuple[str, int]:
    revoke_session(json_data["refresh_token"])
    return "", 204


@bp.errorhandler(InvalidTokenError)
def refused_token(error: InvalidTokenError) -> Response:
    return _unauthorized_response(str(error))


def _challenge(detail: str = "") -> str:
    return f'Bearer realm="{ISSUER}"' + (f", {detail}" if detail else "")


def _unauthorized(message: str) -> NoReturn:
    abort(_unauthorized_response(message))


def _unauthorized_response(message: str) -> Response:
    body = {"error": {"code": 401, "name": "Unauthorized", "message": message}}
    challenge = _challenge(f'error="invalid_token", error_description="{message}"')
    return make_response(body, 401, {"WWW-Authenticate": challenge})


@click.group("users")
def users_command() -> None:
    """Create users and set their passwords (the API's login needs one)."""


@users_command.command("create")
@click.argument("username")
@click.password_option(help="The password (prompted for, hidden, when not given).")
@with_appcontext
def create_user_command(username: str, password: str) -> None:
    """Create USERNAME with a password."""
    from .users import UserIn  # here: users.py imports this module

    for problem in UserIn().validate({"username": username}).get("username", []):
        raise click.ClickException(f"username {username!r}: {problem}")
    user = User(username=username, password_hash=_checked_hash(password))
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise click.ClickException(
            f"username {username!r} is taken: `flask users set-password {username}` changes it"
        ) from None
    click.echo(f"created user {username} ({user.uuid})")


@users_command.command("set-password")
@click.argument("username")
@click.password_option(help="The new password (prompted for, hidden, when not given).")
@with_appcontext
def set_password_command(username: str, password: str) -> None:
    """Set USERNAME's password and end their open sessions (every device logs in again)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(
            f"no user {username!r}: `flask users create {username}` adds one"
        )
    user.password_hash = _checked_hash(password)
    now = utcnow()
    db.session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, updated_at=now)
    )
    db.session.commit()
    click.echo(f"password of {username} set; their sessions are ended")


def _checked_hash(password: str) -> str:
    problem = password_problem(password)
    if problem:
        raise click.ClickException(problem)
    return hash_password(password)
