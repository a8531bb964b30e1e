"""Logins: the server-side record that refresh tokens and logout act on.

Kept in the database, so that a logout holds across restarts and every worker sees it. Each
access token names its session and is refused once the session is revoked; each session
accepts one refresh token at a time (its `refresh_token_id`), replaced at every refresh.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import TimestampedModel, UTCDateTime
from .user import User

# A refresh token's id: 32 random bytes, URL-safe base64 (43 characters).
TOKEN_ID_MAX_LENGTH = 64


class AuthSession(TimestampedModel):
    __tablename__ = "auth_sessions"

    # The id tokens carry (`sid`); the integer id stays internal.
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    refresh_token_id: Mapped[str] = mapped_column(String(TOKEN_ID_MAX_LENGTH))
    # The session ends at the latest here; a refresh does not extend it past the first login's
    # JWT_REFRESH_TOKEN_EXPIRES, so a stolen refresh token cannot keep itself alive forever.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    user: Mapped[User] = relationship()
