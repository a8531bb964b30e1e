"""Messages waiting to be published: written in the transaction of the change they announce.

`messaging.publish()` adds one; the worker (`flask consume`) publishes each once its transaction
has committed, then deletes it. A broker outage delays messages, it never loses one, and a
change that rolls back announces nothing.
"""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import TimestampedModel
from .processed_message import MESSAGE_ID_MAX_LENGTH, MESSAGE_TYPE_MAX_LENGTH

REQUEST_ID_MAX_LENGTH = 128  # request_id.WELL_FORMED allows no longer ID


class OutboxMessage(TimestampedModel):
    __tablename__ = "outbox_messages"

    message_id: Mapped[str] = mapped_column(String(MESSAGE_ID_MAX_LENGTH), unique=True)
    type: Mapped[str] = mapped_column(String(MESSAGE_TYPE_MAX_LENGTH))
    # The message's JSON, as it will be published.
    body: Mapped[str] = mapped_column(Text)
    # The ID of the request that published it (request_id.py): the message carries it in its
    # X-Request-ID header, and the worker's log lines for it show it.
    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_MAX_LENGTH))
    # The message headers to publish it with, as a JSON object (e.g. the request's trace context).
    headers: Mapped[str | None] = mapped_column(Text)
