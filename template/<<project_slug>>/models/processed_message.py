"""Messages the worker has handled: the record that makes a redelivered message a no-op."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import TimestampedModel

# The longest message_id AMQP can carry.
MESSAGE_ID_MAX_LENGTH = 255
MESSAGE_TYPE_MAX_LENGTH = 100


class ProcessedMessage(TimestampedModel):
    """Written in the same transaction as the handler's work; `created_at` is when it ran."""

    __tablename__ = "processed_messages"

    message_id: Mapped[str] = mapped_column(String(MESSAGE_ID_MAX_LENGTH), unique=True)
    type: Mapped[str] = mapped_column(String(MESSAGE_TYPE_MAX_LENGTH))
