"""Error reports to Sentry (or a service that speaks its protocol) when SENTRY_DSN is set.

Unset, it costs nothing: sentry_sdk is not even imported. Set, the app factory starts the SDK in
each process that builds the app: every Gunicorn worker (gunicorn.conf.py does not preload the
app, so that is after the fork; the SDK's sending thread would restart in each worker anyway)
and the RabbitMQ worker (`flask consume`). What it reports:
- unhandled exceptions of requests (the 500s), with the route, method, URL without secrets and
  the request ID as the tag `request_id`;
- log lines of level ERROR and above (e.g. a worker's handler that failed), with the lines
  before them as breadcrumbs.

What it never sends: request bodies, cookies, Authorization and other headers whose names look
secret, the user's IP address, local variables of the stack frames (they hold request data),
and query parameters whose names look secret. The release is APP_RELEASE, which the image
gets from its build (the git commit in CI); the environment is APP_ENV.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from .request_id import current_request_id

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

FILTERED = "[Filtered]"
# Names of headers, variables and query parameters whose values are never sent.
SECRET_NAME = re.compile(
    r"auth|cookie|token|secret|passw|pwd|credential|session|signature|csrf|api.?key|dsn|private",
    re.IGNORECASE,
)


def init_error_reports(dsn: str, *, environment: str, release: str | None) -> bool:
    """Start sending error reports to `dsn`; without one, do nothing. Return whether started."""
    if not dsn:
        return False
    # Imported here, not at the top: without SENTRY_DSN the SDK is never loaded.
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.scrubber import EventScrubber

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[FlaskIntegration()],
        send_default_pii=False,  # no cookies, user, IP address or Authorization header
        max_request_body_size="never",
        include_local_variables=False,
        # Also scrub secret-looking keys nested in dicts (the SDK's default looks one level deep).
        event_scrubber=EventScrubber(recursive=True),
        before_send=scrub_event,
        # Errors only: no performance traces (those are OpenTelemetry's, OTEL_* variables).
        traces_sample_rate=None,
    )
    return True


def scrub_event(event: Event, hint: Hint) -> Event:
    """Drop what may hold secrets or personal data from a report; tag it with the request ID."""
    request: Any = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        for part in ("headers", "env"):
            values = request.get(part)
            if isinstance(values, dict):
                request[part] = {
                    name: FILTERED if SECRET_NAME.search(name) else value
                    for name, value in values.items()
                }
        query = request.get("query_string")
        if isinstance(query, str) and query:
            request["query_string"] = urlencode(
                [
                    (name, FILTERED if SECRET_NAME.search(name) else value)
                    for name, value in parse_qsl(query, keep_blank_values=True)
                ]
            )
    request_id = current_request_id()
    if request_id is not None:
        event.setdefault("tags", {})["request_id"] = request_id
    return event
