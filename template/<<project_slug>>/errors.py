"""Errors as JSON: {"error": {"code": 404, "name": "Not Found", "message": "..."}}.

No input is a 5xx: a body that is not JSON, too deep or too large is a 4xx that says why. A
database that cannot be reached is a 503 with Retry-After, which clients and proxies retry.
"""

from __future__ import annotations

import contextlib
from typing import Any

from flask import Flask, Request, current_app
from flask.json.provider import DefaultJSONProvider
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    InternalServerError,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)

from .db import db

# Seconds a client should wait before it retries a request that met a database outage.
RETRY_AFTER_SECONDS = 5
# What a request meets when the database does not answer (the pool's wait counts too).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeoutError)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, with a body nested too deeply for the parser refused like bad JSON."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("it is nested too deeply") from None


class JSONRequest(Request):
    """A request whose JSON errors name the problem (Flask hides it outside debug mode)."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if e is None:
            raise UnsupportedMediaType("the body must be JSON (Content-Type: application/json)")
        raise BadRequest(f"the body is not valid JSON: {e}")


def init_app(app: Flask) -> None:
    app.json = JSONProvider(app)
    app.request_class = JSONRequest
    app.register_error_handler(HTTPException, http_error)
    for error in DATABASE_UNAVAILABLE:
        app.register_error_handler(error, database_unavailable)


def http_error(error: HTTPException) -> tuple[dict[str, object], int, list[tuple[str, str]]]:
    code = error.code or 500
    # The error's own headers (Allow on a 405, WWW-Authenticate on a 401), not its HTML type.
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    message = error.description
    if isinstance(error, InternalServerError):
        # Unhandled exceptions are logged by Flask; never echo their details to clients.
        message = "the server could not complete the request"
    elif isinstance(error, RequestEntityTooLarge):
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        message = f"the request body is larger than this server accepts ({limit} bytes)"
    return {"error": {"code": code, "name": error.name, "message": message}}, code, headers


def database_unavailable(error: Exception) -> tuple[dict[str, object], int, dict[str, str]]:
    with contextlib.suppress(SQLAlchemyError):  # the session may be as unreachable as the server
        db.session.rollback()
    # One line, without the statement or its parameters (they may hold personal data).
    reason = error.orig if isinstance(error, DBAPIError) else error
    first_line = (str(reason).strip().splitlines() or [reason.__class__.__name__])[0]
    current_app.logger.warning("database unavailable: %s", first_line)
    body: dict[str, object] = {
        "error": {
            "code": 503,
            "name": "Service Unavailable",
            "message": "the database is unavailable: retry later",
        }
    }
    return body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
