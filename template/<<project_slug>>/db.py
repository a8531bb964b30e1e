"""The database objects the app shares: `db` (Flask-SQLAlchemy) and `migrate` (Flask-Migrate)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names on every database, so migrations can drop and alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MIGRATIONS_DIRECTORY = Path(__file__).resolve().parent.parent / "migrations"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()

# Seconds each statement may take in this context, when set: tighter than the request's own
# limit (e.g. readyz). Enforced on database servers (query_deadlines.py), not on SQLite files.
statement_deadline: ContextVar[float | None] = ContextVar("statement_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Give each statement inside the block at most `seconds`."""
    token = statement_deadline.set(seconds)
    try:
        yield
    finally:
        statement_deadline.reset(token)


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write the project's column types into new migrations as plain SQLAlchemy types."""
    from .models.base import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def init_db(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIRECTORY), render_item=render_item)
