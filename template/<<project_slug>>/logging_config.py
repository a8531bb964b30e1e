"""Logging for the app and for Gunicorn (gunicorn.conf.py uses the same dict).

Development: readable text lines. Production: one JSON object per line. LOG_LEVEL sets the level.
"""

from __future__ import annotations

import logging.config
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s"


def logging_config(app_env: str, level: str = "INFO") -> dict[str, Any]:
    formatter = "json" if app_env == "production" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "text": {"format": TEXT_FORMAT},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "format": JSON_FIELDS,
                "timestamp": "time",  # ISO 8601, UTC
                "rename_fields": {"levelname": "level", "name": "logger"},
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": formatter,
                "stream": "ext://sys.stderr",
            },
        },
        "root": {"level": level, "handlers": ["console"]},
        "loggers": {
            # Gunicorn's own loggers write through the root handler, in the same format.
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
            "alembic": {"level": "INFO", "handlers": [], "propagate": True},
            "alembic.runtime.plugins": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }


def configure_logging(app_env: str, level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(app_env, level))
