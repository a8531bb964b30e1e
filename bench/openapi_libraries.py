"""APIFlask against flask-smorest: the cost of each library's request layer, in-process.

The same endpoints three ways, without a database: plain Flask (checks by hand), APIFlask and
flask-smorest (webargs and marshmallow in both). GET /users?limit=5 parses and bounds the query
and serialises five users; POST /users validates a JSON body and serialises one. Run it in a
venv holding both libraries and pyperf:

    uv venv /tmp/libs && VIRTUAL_ENV=/tmp/libs uv pip install --compile-bytecode \\
        apiflask==3.1.2 flask-smorest==0.47.0 flask==3.1.3 pyperf==2.11.0
    /tmp/libs/bin/python bench/openapi_libraries.py -o libraries.json
"""

from __future__ import annotations

import functools
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pyperf
from flask import Flask, abort, request
from marshmallow import Schema, fields, validate

NOW = datetime(2026, 11, 30, tzinfo=UTC)
USERS = [
    {"uuid": uuid.UUID(int=n), "username": f"user{n}", "created_at": NOW, "updated_at": NOW} for n in range(5)
]
BODY = {"username": "ada"}
USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,50}")


class PageQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 100))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 1_000_000))


class UserIn(Schema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,50}$"))


class UserOut(Schema):
    id = fields.UUID(attribute="uuid")
    username = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class UserPage(Schema):
    users = fields.Nested(UserOut, many=True)
    limit = fields.Integer()
    offset = fields.Integer()


def as_dict(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(user["uuid"]),
        "username": user["username"],
        "created_at": user["created_at"].isoformat(),
        "updated_at": user["updated_at"].isoformat(),
    }


def plain_flask() -> Flask:
    app = Flask("plain")

    @app.get("/users")
    def list_users() -> dict[str, Any]:
        limit = int(request.args.get("limit", 50))
        offset = int(request.args.get("offset", 0))
        if not (1 <= limit <= 100 and 0 <= offset <= 1_000_000):
            abort(400)
        users = USERS[offset : offset + limit]
        return {"users": [as_dict(u) for u in users], "limit": limit, "offset": offset}

    @app.post("/users")
    def create_user() -> tuple[dict[str, Any], int]:
        payload = request.get_json()
        if not isinstance(payload, dict) or not USERNAME.fullmatch(str(payload.get("username"))):
            abort(400)
        return as_dict({**USERS[0], "username": payload["username"]}), 201

    return app


def apiflask_app() -> Flask:
    from apiflask import APIBlueprint, APIFlask

    app = APIFlask("apiflask")
    bp = APIBlueprint("users", "apiflask", url_prefix="/users")

    @bp.get("")
    @bp.input(PageQuery, location="query")
    @bp.output(UserPage)
    def list_users(query_data: dict[str, int]) -> dict[str, Any]:
        limit, offset = query_data["limit"], query_data["offset"]
        return {"users": USERS[offset : offset + limit], "limit": limit, "offset": offset}

    @bp.post("")
    @bp.input(UserIn, location="json")
    @bp.output(UserOut, status_code=201)
    def create_user(json_data: dict[str, str]) -> Any:
        return {**USERS[0], "username": json_data["username"]}

    app.register_blueprint(bp)
    return app


def smorest_app() -> Flask:
    from flask_smorest import Api, Blueprint

    app = Flask("smorest")
    app.config.update(API_TITLE="bench", API_VERSION="1", OPENAPI_VERSION="3.1.0")
    api = Api(app)
    bp = Blueprint("users", "smorest", url_prefix="/users")

    @bp.get("")
    @bp.arguments(PageQuery, location="query")
    @bp.response(200, UserPage)
    def list_users(query: dict[str, int]) -> dict[str, Any]:
        limit, offset = query["limit"], query["offset"]
        return {"users": USERS[offset : offset + limit], "limit": limit, "offset": offset}

    @bp.post("")
    @bp.arguments(UserIn)
    @bp.response(201, UserOut)
    def create_user(body: dict[str, str]) -> Any:
        return {**USERS[0], "username": body["username"]}

    api.register_blueprint(bp)
    return app


def main() -> None:
    runner = pyperf.Runner()
    for name, make in (("flask", plain_flask), ("apiflask", apiflask_app), ("smorest", smorest_app)):
        client = make().test_client()
        listed = client.get("/users?limit=5")
        created = client.post("/users", json={"username": "ada"})
        if listed.status_code != 200 or len(listed.json["users"]) != 5 or created.status_code != 201:
            raise SystemExit(f"{name}: {listed.status_code} {created.status_code}")
        if listed.json["users"][0] != as_dict(USERS[0]):
            raise SystemExit(f"{name} serialises users differently: {listed.json['users'][0]}")
        runner.bench_func(f"{name} GET /users", client.get, "/users?limit=5")
        runner.bench_func(f"{name} POST /users", functools.partial(client.post, "/users", json=BODY))


if __name__ == "__main__":
    main()
