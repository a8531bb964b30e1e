"""HTTP defaults for a JSON API: security headers on every response, CORS only when asked.

Cookies are set in config.py (HttpOnly and SameSite=Lax everywhere, Secure in production).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_cors import CORS

from .request_id import HEADER as REQUEST_ID_HEADER

# Responses are JSON, never pages: nothing may load from them, embed them or sniff them.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
    if app.config["CORS_ORIGINS"]:
        # flask-cors, rather than hand-written headers: it answers preflights and varies the
        # cache on Origin. Only the listed origins may call /api/ from a browser, no cookies.
        # Browsers let those scripts read X-Request-ID too, to quote it in a bug report.
        CORS(
            app,
            resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}},
            expose_headers=[REQUEST_ID_HEADER],
        )


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    # HSTS only over HTTPS: Gunicorn marks a request secure when a trusted proxy
    # (FORWARDED_ALLOW_IPS) says so with X-Forwarded-Proto.
    max_age = current_app.config["HSTS_MAX_AGE"]
    if request.is_secure and max_age:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={max_age}")
    return response
