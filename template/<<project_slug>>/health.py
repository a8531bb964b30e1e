"""Probes for load balancers and orchestrators.

/healthz: the process serves requests (liveness; never touches the database).
/readyz: the database answers too (readiness; 503 while it does not, within 5 seconds whether
the database refuses, never answers or drops the connection).
"""

from __future__ import annotations

import contextlib
from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Nested, String
from apiflask.validators import OneOf
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .db import db, deadline

bp = APIBlueprint("health", __name__)

# A healthy database answers SELECT 1 in milliseconds.
READINESS_STATEMENT_SECONDS = 1.0
# /readyz's 503 has the body of its 200, not the error format: document it so.
NOT_READY: dict[int | str, dict[str, str | dict[str, dict[str, Any]]]] = {
    503: {
        "description": "The database does not answer",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}},
    }
}


class Liveness(Schema):
    status = String(required=True, validate=OneOf(["ok"]))


class Checks(Schema):
    database = String(required=True, validate=OneOf(["ok", "unreachable"]))


class Readiness(Schema):
    status = String(required=True, validate=OneOf(["ok", "unavailable"]))
    checks = Nested(Checks, required=True)


@bp.get("/healthz")
@bp.output(Liveness)
@bp.doc(summary="Liveness: the process serves requests")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@bp.get("/readyz")
@bp.output(Readiness)
@bp.doc(summary="Readiness: the database answers too", responses=NOT_READY)
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
