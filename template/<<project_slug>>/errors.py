"""Errors as JSON: {"error": {"code": 404, "name": "Not Found", "message": "..."}}."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException, InternalServerError


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_error)


def http_error(error: HTTPException) -> tuple[dict[str, object], int]:
    code = error.code or 500
    message = error.description
    if isinstance(error, InternalServerError):
        # Unhandled exceptions are logged by Flask; never echo their details to clients.
        message = "the server could not complete the request"
    return {"error": {"code": code, "name": error.name, "message": message}}, code
