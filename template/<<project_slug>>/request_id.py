"""Request IDs: one per request, in its response and in every log line it causes.

The header X-Request-ID is a contract:
- an incoming X-Request-ID of 1 to 128 characters from A-Z, a-z, 0-9, ".", "_" and "-" is kept,
  so that one ID follows a call through your proxy and other services; any other value (too
  long, spaces, quotes, control characters) is replaced, never echoed into logs or responses;
- a request without one gets a new random ID (32 hex digits);
- the response carries it in X-Request-ID, errors included;
- every log line the request causes has it in the field `request_id` (JSON logs), and so do
  Gunicorn's access log line, Sentry's report of its error (tag `request_id`) and, with RabbitMQ,
  the messages it publishes and the worker's log lines for each of them.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, Response, g, request

HEADER = "X-Request-ID"
WELL_FORMED = re.compile(r"[A-Za-z0-9._-]{1,128}")
# Where Gunicorn's access log (access_log.py) finds the ID and the route: it writes its line
# after the app has returned, from the WSGI environ.
ENVIRON_REQUEST_ID = f"{__package__}.request_id"
ENVIRON_ROUTE = f"{__package__}.route"

# The ID of the request (or message) this thread is handling: a context variable, so that each of
# Gunicorn's threads sees its own, and log records of any logger can read it.
_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The ID of the request or message being handled here, if any."""
    return _current.get()


def well_formed(value: object) -> str | None:
    """`value` if it may be used as a request ID, else None."""
    return value if isinstance(value, str) and WELL_FORMED.fullmatch(value) else None


def new_request_id() -> str:
    """128 random bits as 32 hex digits, like a UUID's hex without its cost (a few µs)."""
    return secrets.token_hex(16)


@contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    """Log lines within the block carry `request_id` (the worker binds each message's)."""
    token = _current.set(request_id)
    try:
        yield
    finally:
        _current.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to each record while a request or message is handled (the handler of
    logging_config.py uses it, so it covers every logger). A record that names its own
    request_id, as the access log's does, keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _current.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


def init_app(app: Flask) -> None:
    """Register first, so that the ID is bound before anything else of the request logs."""
    app.before_request(bind_request_id)
    app.after_request(add_request_id_header)
    app.teardown_request(unbind_request_id)


def bind_request_id() -> None:
    request_id = well_formed(request.headers.get(HEADER)) or new_request_id()
    g.request_id_token = _current.set(request_id)
    request.environ[ENVIRON_REQUEST_ID] = request_id
    if request.url_rule is not None:  # None: no route matched (a 404 or 405)
        request.environ[ENVIRON_ROUTE] = request.url_rule.rule


def add_request_id_header(response: Response) -> Response:
    request_id = _current.get()
    if request_id is not None:
        response.headers[HEADER] = request_id
    return response


def unbind_request_id(error: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        _current.reset(token)
