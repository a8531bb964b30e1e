"""Application factory: `flask run`, `flask db ...` and Gunicorn all call `create_app`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from . import errors, health, models, users
from .cli import release_command
from .config import load_config
from .db import init_db
from .logging_config import configure_logging

__all__ = ["create_app", "models"]


def create_app(config: str | Mapping[str, Any] | None = None) -> Flask:
    """Build the app.

    `config` is an environment name ("development", "testing", "production"), or a
    mapping of settings applied on top of an environment: its "APP_ENV" key, else the
    APP_ENV environment variable, else development.
    """
    app = Flask(__name__, instance_relative_config=True)
    env_name = config if isinstance(config, str) else (config or {}).get("APP_ENV")
    app.config.from_mapping(load_config(env_name, instance_path=app.instance_path))
    if isinstance(config, Mapping):
        app.config.from_mapping(config)

    if app.config["LOG_CONFIGURE"]:
        configure_logging(app.config["APP_ENV"], app.config["LOG_LEVEL"])
    init_db(app)
    errors.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(users.bp)
    app.cli.add_command(release_command)
    return app
