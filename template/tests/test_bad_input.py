"""No input is a server error: every endpoint answers arbitrary JSON, bodies and query strings
with a 2xx or a 4xx that says what is wrong, as JSON."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import quote, urlencode

from flask import Flask, request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)
# Bodies the API expects now and then, so that the valid paths are taken too.
USERNAMES = st.text(max_size=60) | st.from_regex(r"[A-Za-z0-9_.-]{1,50}", fullmatch=True)
BODIES = (
    JSON_VALUES.map(json.dumps)
    | st.fixed_dictionaries({"username": USERNAMES | JSON_VALUES}).map(json.dumps)
    | st.binary(max_size=200)
)
PARAMETER_NAMES = st.sampled_from(["limit", "offset", "id"]) | st.text(max_size=10)
QUERY_STRINGS = st.lists(st.tuples(PARAMETER_NAMES, st.text(max_size=30)), max_size=4).map(
    urlencode
) | st.text(max_size=60)
PATH_VALUES = st.uuids().map(str) | st.text(max_size=40).map(lambda text: quote(text, safe=""))
FUZZ = settings(
    max_examples=300,
    deadline=None,  # a database server's latency varies
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # the app is reused on purpose
)


def endpoints(app: Flask) -> list[tuple[str, str]]:
    """(method, URL rule) of every route, static files aside."""
    return [
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in [*sorted(rule.methods or ()), "PUT", "PATCH", "DELETE"]
    ]


def assert_answered(response: TestResponse) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400 and response.request.method != "HEAD":
        assert response.json is not None
        assert response.json["error"]["code"] == response.status_code


@FUZZ
@given(data=st.data(), body=BODIES, query=QUERY_STRINGS)
def test_no_body_or_query_string_is_a_server_error(
    app: Flask, client: FlaskClient, data: st.DataObject, body: str | bytes, query: str
) -> None:
    method, rule = data.draw(st.sampled_from(endpoints(app)))
    path = re.sub(r"<[^>]+>", lambda _: data.draw(PATH_VALUES), rule)
    content_type = data.draw(st.sampled_from(["application/json", "text/plain", None]))
    # Closed at once (buffered): Hypothesis also draws the app's own strings, so a docs asset's
    # name comes up, and a file response left open is a ResourceWarning.
    with client.open(
        path, method=method, data=body, query_string=query, content_type=content_type, buffered=True
    ) as response:
        assert_answered(response)


@FUZZ
@given(query=QUERY_STRINGS)
def test_no_query_string_breaks_the_list(client: FlaskClient, query: str) -> None:
    response = client.get("/api/users", query_string=query)
    assert_answered(response)


def test_invalid_json_is_400_naming_the_problem(client: FlaskClient) -> None:
    response = client.post("/api/users", data='{"username": ', content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["message"].startswith("the body is not valid JSON: Expecting")


def test_json_nested_too_deeply_is_400(client: FlaskClient) -> None:
    depth = 100_000
    response = client.post(
        "/api/users", data="[" * depth + "]" * depth, content_type="application/json"
    )
    assert response.status_code == 400
    message = response.json["error"]["message"]
    assert message == "the body is not valid JSON: it is nested too deeply"


def test_a_body_over_max_content_length_is_413(app: Flask, client: FlaskClient) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 1024 * 1024
    body = json.dumps({"username": "x" * limit})
    response = client.post("/api/users", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.json["error"]["message"] == (
        f"the request body is larger than this server accepts ({limit} bytes)"
    )
    # Under the limit, the same endpoint answers as usual.
    assert client.post("/api/users", json={"username": "ada"}).status_code == 201


def test_a_form_with_too_many_parts_is_413(app: Flask) -> None:
    @app.post("/test-form")
    def form_view() -> dict[str, int]:
        return {"fields": len(request.form)}

    client = app.test_client()
    few = {f"f{i}": "x" for i in range(10)}
    assert client.post("/test-form", data=few).json == {"fields": 10}
    many = {f"f{i}": "x" for i in range(app.config["MAX_FORM_PARTS"] + 1)}
    response = client.post("/test-form", data=many, content_type="multipart/form-data")
    assert response.status_code == 413
    assert response.json["error"]["code"] == 413


def test_an_unknown_user_id_that_is_not_a_uuid_is_404(client: FlaskClient) -> None:
    assert client.get(f"/api/users/{uuid.uuid4()}x").status_code == 404
