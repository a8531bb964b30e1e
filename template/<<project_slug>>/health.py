"""Probes for load balancers and orchestrators.

/healthz: the process serves requests (liveness; never touches the database).
/readyz: the database answers too (readiness; 503 while it does not).
"""

from __future__ import annotations

from flask import Blueprint, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .db import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> tuple[dict[str, object], int]:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        current_app.logger.warning("readiness check failed: %s", exc.__class__.__name__)
        return {"status": "unavailable", "checks": {"database": "unreachable"}}, 503
    return {"status": "ok", "checks": {"database": "ok"}}, 200
