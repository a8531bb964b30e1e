"""Commands added to `flask`: `flask --app <package> release` is the release step of every deploy.

It runs once per release, before the new code takes traffic: each deploy target calls it in its
release phase (Fly release_command, Render preDeployCommand, Heroku release:, a Kubernetes Job, a
one-off container over SSH). Add other one-off release tasks here, never to app start-up.
"""

from __future__ import annotations

import click
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from .db import db


@click.command("release")
@with_appcontext
def release_command() -> None:
    """Apply the database migrations of this release (safe when several run at once)."""
    upgrade()  # exits non-zero on failure, which aborts the deploy
    config = current_app.extensions["migrate"].migrate.get_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current != heads:
        raise click.ClickException(f"database is at {sorted(current)}, expected {sorted(heads)}")
    click.echo(f"release: database at {', '.join(sorted(current)) or 'base'}")
