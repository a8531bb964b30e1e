"""Alembic environment for Flask-Migrate: migrates the app's database.

A lock held by the database server (or a lock file for SQLite) wraps the migration, so several
releases or replicas running `flask db upgrade` at once run it one after another, not together.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from alembic import context
from flask import current_app
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError

logger = logging.getLogger("alembic.env")
config = context.config
migrate_ext = current_app.extensions["migrate"]
target_metadata = migrate_ext.db.metadata

LOCK_NAME = "alembic-migrations"
# pg_advisory_lock takes a bigint key: a fixed one derived from LOCK_NAME.
POSTGRES_LOCK_KEY = int.from_bytes(LOCK_NAME.encode()[:8], "big", signed=True)
LOCK_TIMEOUT_SECONDS = 600


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """Hold a lock that only one migrating process can have at a time."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": POSTGRES_LOCK_KEY})
        connection.commit()  # the lock belongs to the session and outlives the transaction
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": POSTGRES_LOCK_KEY})
            connection.commit()
    elif dialect in ("mysql", "mariadb"):
        name = f"{LOCK_NAME}:{connection.engine.url.database}"[:64]
        got = connection.execute(
            text("SELECT GET_LOCK(:name, :timeout)"),
            {"name": name, "timeout": LOCK_TIMEOUT_SECONDS},
        ).scalar()
        connection.commit()
        if got != 1:
            raise RuntimeError(f"no migration lock {name!r} after {LOCK_TIMEOUT_SECONDS}s")
        try:
            yield
        finally:
            connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
            connection.commit()
    elif dialect == "sqlite" and connection.engine.url.database not in (None, "", ":memory:"):
        with sqlite_file_lock(Path(connection.engine.url.database)):
            yield
    else:
        yield


@contextmanager
def sqlite_file_lock(database: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: no flock; SQLite's own locking is all there is
        yield
        return
    with open(database.with_name(database.name + ".migrate-lock"), "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def skip_empty_autogenerate(context, revision, directives):
    """`flask db migrate` writes no revision when the models did not change."""
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_offline() -> None:
    """`flask db upgrade --sql`: print the SQL instead of running it."""
    url = migrate_ext.db.engine.url.render_as_string(hide_password=False)
    context.configure(
        url=url, target_metadata=target_metadata, literal_binds=True, **migrate_ext.configure_args
    )
    with context.begin_transaction():
        context.run_migrations()


def unreachable(url: URL, error: DBAPIError) -> str:
    """One line naming the server and the driver's reason, never the password."""
    reason = (str(error.orig).strip().splitlines() or [error.orig.__class__.__name__])[0]
    if url.password:
        reason = reason.replace(str(url.password), "***")
    if url.get_backend_name() == "sqlite":
        return f"cannot open the SQLite database {url.database!r}: {reason}"
    where = f"{url.host or 'localhost'}:{url.port or 'default port'}"
    return f"cannot reach the database {url.database!r} at {where}: {reason}"


def connect(engine: Engine) -> Connection:
    """A connection, or a one-line error (click prints it, with no traceback)."""
    try:
        return engine.connect()
    except DBAPIError as error:
        raise click.ClickException(unreachable(engine.url, error)) from None


def run_migrations_online() -> None:
    configure_args = {"process_revision_directives": skip_empty_autogenerate}
    configure_args.update(migrate_ext.configure_args)
    with connect(migrate_ext.db.engine) as connection, migration_lock(connection):
        context.configure(connection=connection, target_metadata=target_metadata, **configure_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
