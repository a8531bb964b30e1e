"""An example model; the users API in `users.py` shows how to expose it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import TimestampedModel

USERNAME_MAX_LENGTH = 50


class User(TimestampedModel):
    __tablename__ = "users"

    # The public identifier; the integer id stays internal.
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX_LENGTH), unique=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.uuid),
            "username": self.username,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }
