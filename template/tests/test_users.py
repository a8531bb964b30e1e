import uuid

import pytest
from flask.testing import FlaskClient


def usernames(client: FlaskClient, query: str = "") -> list[str]:
    """The usernames a page of the list holds (the client's own user among them, if it has one)."""
    return [user["username"] for user in client.get(f"/api/users?{query}").json["users"]]


def test_create_then_list_and_fetch(client: FlaskClient) -> None:
    before = usernames(client)
    created = client.post("/api/users", json={"username": "ada"})
    assert created.status_code == 201
    user = created.json
    assert user["username"] == "ada"
    assert uuid.UUID(user["id"])
    assert created.headers["Location"] == f"/api/users/{user['id']}"

    assert client.get("/api/users").status_code == 200
    assert usernames(client) == [*before, "ada"]

    fetched = client.get(f"/api/users/{user['id']}")
    assert fetched.status_code == 200
    assert fetched.json == user


def test_list_pages(client: FlaskClient) -> None:
    skip = len(usernames(client)) + 1
    for name in ("a", "b", "c"):
        client.post("/api/users", json={"username": name})
    assert usernames(client, f"limit=2&offset={skip}") == ["b", "c"]


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=x",
        "limit=1e3",
        "offset=-1",
        "offset=1000001",
        "offset=9223372036854775808",
        "offset=" + "9" * 5000,
        "offset=%EF%BC%91",  # a full-width digit, which int() would take
    ],
)
def test_bad_paging_is_422_naming_the_parameter(client: FlaskClient, query: str) -> None:
    response = client.get(f"/api/users?{query}")
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == 422
    assert error["name"] == "Unprocessable Entity"
    [name] = error["fields"]["query"]
    assert query.startswith(name)
    assert error["message"].startswith(f"{name}: ")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": ""},
        {"username": 42},
        {"username": "x" * 51},
        {"username": "has space"},
        {"username": "ada\n"},
        {"username": "ada", "admin": True},
    ],
)
def test_bad_input_is_422_naming_the_field(client: FlaskClient, body: object) -> None:
    response = client.post("/api/users", json=body)
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == 422
    assert set(error["fields"]) == {"json"}
    assert set(error["fields"]["json"]) <= {"username", "admin"}
    assert all(
        isinstance(problem, str)
        for problems in error["fields"]["json"].values()
        for problem in problems
    )


def test_a_body_that_is_not_an_object_is_422(client: FlaskClient) -> None:
    response = client.post("/api/users", json=["ada"])
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"json": {"_schema": ["Invalid input type."]}}
    assert response.json["error"]["message"] == "json: Invalid input type."


def test_a_username_that_breaks_the_rule_says_which(client: FlaskClient) -> None:
    response = client.post("/api/users", json={"username": "has space"})
    rule = "must be 1 to 50 letters, digits, '_', '.' or '-'"
    assert response.json["error"]["fields"] == {"json": {"username": [rule]}}
    assert response.json["error"]["message"] == f"username: {rule}"


def test_body_that_is_not_json_is_415(client: FlaskClient) -> None:
    response = client.post("/api/users", data="username=ada", content_type="text/plain")
    assert response.status_code == 415
    assert "Content-Type: application/json" in response.json["error"]["message"]


def test_duplicate_username_is_409(client: FlaskClient) -> None:
    assert client.post("/api/users", json={"username": "ada"}).status_code == 201
    response = client.post("/api/users", json={"username": "ada"})
    assert response.status_code == 409
    assert response.json["error"] == {
        "code": 409,
        "name": "Conflict",
        "message": "username 'ada' is taken",
    }
    assert usernames(client).count("ada") == 1


def test_an_unsupported_method_is_405_naming_the_allowed_ones(client: FlaskClient) -> None:
    response = client.delete("/api/users")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert response.json["error"]["code"] == 405


def test_unknown_user_is_404(client: FlaskClient) -> None:
    response = client.get(f"/api/users/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json["error"]["name"] == "Not Found"
