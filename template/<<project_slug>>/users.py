"""A small JSON API over `User`: the pattern to copy for your own resources.

GET  /api/users?limit=&offset=   list, oldest first
POST /api/users {"username": ...} create: 201, 400 on bad input, 409 on a duplicate
GET  /api/users/<id>             one user by its UUID, 404 when unknown
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Blueprint, abort, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .db import db
from .models import User
from .models.user import USERNAME_MAX_LENGTH

bp = Blueprint("users", __name__, url_prefix="/api/users")

USERNAME_PATTERN = re.compile(rf"[A-Za-z0-9_.-]{{1,{USERNAME_MAX_LENGTH}}}")
MAX_PAGE_SIZE = 100


@bp.get("")
def list_users() -> dict[str, Any]:
    limit = _int_arg("limit", default=50, low=1, high=MAX_PAGE_SIZE)
    offset = _int_arg("offset", default=0, low=0)
    users = db.session.scalars(select(User).order_by(User.id).limit(limit).offset(offset))
    return {"users": [user.to_dict() for user in users], "limit": limit, "offset": offset}


@bp.post("")
def create_user() -> tuple[dict[str, Any], int, dict[str, str]]:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        abort(400, description='the body must be a JSON object like {"username": "ada"}')
    username = payload.get("username")
    if not isinstance(username, str) or not USERNAME_PATTERN.fullmatch(username):
        allowed = "letters, digits, '_', '.' or '-'"
        abort(400, description=f"username must be 1 to {USERNAME_MAX_LENGTH} {allowed}")
    user = User(username=username)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        # The unique constraint decides, so two concurrent requests cannot both succeed.
        db.session.rollback()
        abort(409, description=f"username {username!r} is taken")
    return user.to_dict(), 201, {"Location": f"/api/users/{user.uuid}"}


@bp.get("/<uuid:user_id>")
def get_user(user_id: uuid.UUID) -> dict[str, Any]:
    user = db.session.scalar(select(User).where(User.uuid == user_id))
    if user is None:
        abort(404, description=f"no user with id {user_id}")
    return user.to_dict()


def _int_arg(name: str, *, default: int, low: int, high: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
        abort(400, description=f"{name} must be a whole number {bounds}")
    return value
