"""Gunicorn's access log as fields: gunicorn.conf.py sets `logger_class` to AccessLogger.

One line per request, through the logging of logging_config.py (JSON in production):
    {"message": "GET /api/users/0b9c... 200", "method": "GET", "path": "/api/users/0b9c...",
     "route": "/api/users/<uuid:user_id>", "status": 200, "duration_ms": 3.2,
     "request_id": "4bf92f3577b34da6a3ce929d0e0e4736", "remote_addr": "203.0.113.7", ...}

- `route` is the Flask rule that matched (null for a 404), so that requests group by endpoint;
- `path` has no query string (it may hold tokens);
- `remote_addr` is the client as far as trusted proxies say: when the peer is one of
  FORWARDED_ALLOW_IPS, the nearest address of X-Forwarded-For that is not a trusted proxy
  itself; otherwise the peer. Gunicorn itself uses FORWARDED_ALLOW_IPS only for the scheme
  (X-Forwarded-Proto), and leaves REMOTE_ADDR, which the app sees, at the peer.

`flask run` (the development server) keeps Werkzeug's own one-line log instead.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

from .request_id import ENVIRON_REQUEST_ID, ENVIRON_ROUTE, HEADER

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """FORWARDED_ALLOW_IPS: addresses or networks ("10.0.0.0/8"), or "*" for any peer."""

    def __init__(self, allowed: Iterable[str]) -> None:
        allowed = [entry.strip() for entry in allowed if entry.strip()]
        self.anyone = "*" in allowed
        self.networks: list[Network] = [
            ipaddress.ip_network(entry, strict=False) for entry in allowed if entry != "*"
        ]

    def __contains__(self, address: str) -> bool:
        if self.anyone:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client_address(self, environ: Mapping[str, Any]) -> str | None:
        """The peer, or the address that the chain of trusted proxies received the request from."""
        address = environ.get("REMOTE_ADDR")
        if not isinstance(address, str):
            return None  # a Unix socket
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        while address in self and hops:
            address = hops.pop()
        return address


class AccessLogger(Logger):  # type: ignore[misc]  # gunicorn ships no type information
    """Gunicorn's logger, with the access line written as fields instead of Apache's format."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.trusted_proxies = TrustedProxies(cfg.forwarded_allow_ips)

    def access(
        self, resp: Any, req: Any, environ: Mapping[str, Any], request_time: timedelta
    ) -> None:
        if not self.access_log_enabled:
            return
        code = str(resp.status).split(None, 1)[0]  # "200 OK", or an int
        status = int(code) if code.isdigit() else None
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO")
        # Gunicorn's own error responses (e.g. 400 for a malformed request line) never reach
        # the app: no route and no request ID then.
        request_id = environ.get(ENVIRON_REQUEST_ID) or response_header(resp, HEADER)
        fields = {
            "method": method,
            "path": path,
            "route": environ.get(ENVIRON_ROUTE),
            "status": status,
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "request_id": request_id,
            "remote_addr": self.trusted_proxies.client_address(environ),
        }
        try:
            self.access_log.info("%s %s %s", method, path, status, extra=fields)
        except Exception:
            self.exception("access log line not written")


def response_header(resp: Any, name: str) -> str | None:
    lowered = name.lower()
    for key, value in getattr(resp, "headers", None) or ():
        if isinstance(key, str) and key.lower() == lowered:
            return str(value)
    return None
