"""The models. Import each one here so that `flask db migrate` sees it."""

from .base import TimestampedModel, UTCDateTime, utcnow
from .user import User

__all__ = ["TimestampedModel", "UTCDateTime", "User", "utcnow"]
