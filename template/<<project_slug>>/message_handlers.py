"""What the worker does with each type of message: add a handler and register it in HANDLERS.

A handler gets the message's JSON data and runs inside the app context, so it can use `db`.
It must not commit: the worker commits the handler's work together with a ProcessedMessage row
for the message, then acks the message.

Delivery is at least once: a message can come again (a publisher retried, or the worker stopped
between its commit and its ack). The worker skips a message whose ProcessedMessage row exists,
so database work runs once; work outside the database (an email, a call to another service) can
still run twice, so make it idempotent too, e.g. send `message_id` as an idempotency key.

Raise RetryLater for a temporary failure: the message goes back to the queue after a pause.
Any other exception sends it to the dead-letter queue, where it waits for a person to look.
Keep handlers short: a handler that blocks for minutes stops the connection's heartbeats.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from .db import db
from .models import User

log = logging.getLogger(__name__)

Handler = Callable[[Any], None]


class RetryLater(Exception):
    """A temporary failure (a service is down): requeue the message and try again later."""


def on_user_created(data: dict[str, Any]) -> None:
    """Published by POST /api/users. An example: replace the log line with real work."""
    user = db.session.scalar(select(User).where(User.uuid == uuid.UUID(data["id"])))
    if user is None:
        # Deleted since: nothing left to do, and retrying would not change that.
        log.warning("user.created: user %s no longer exists", data["id"])
        return
    log.info("user.created: welcome, %s", user.username)


HANDLERS: dict[str, Handler] = {
    "user.created": on_user_created,
}
