"""Probes for load balancers and orchestrators.

/healthz: the process serves requests (liveness; never touches the database).
/readyz: the database answers too (readiness; 503 while it does not, within 5 seconds whether
the database refuses, never answers or drops the connection).
"""

from __future__ import annotations

import contextlib

from flask import Blueprint, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .db import db, deadline

bp = Blueprint("health", __name__)

# A healthy database answers SELECT 1 in milliseconds.
READINESS_STATEMENT_SECONDS = 1.0


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> tuple[dict[str, object], int]:
    try:
        with deadline(READINESS_STATEMENT_SECONDS):
            db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        current_app.logger.warning("readiness check failed: %s", exc.__class__.__name__)
        return {"status": "unavailable", "checks": {"database": "unreachable"}}, 503
    return {"status": "ok", "checks": {"database": "ok"}}, 200
