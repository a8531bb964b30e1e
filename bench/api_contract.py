"""The request cost of the API layer, in-process: GET and POST /api/users through Flask's test
client, timed by pyperf, for one generated project (run it once per template version to compare).

Run from a generated project's folder with that project's venv, whose database is migrated
(`flask db upgrade`) and which has pyperf installed (bytecode compiled, as a user's install):

    APP_ENV=production SECRET_KEY=... DATABASE_URL=sqlite:////tmp/x.db \\
        .venv/bin/python /path/to/flaskgen/bench/api_contract.py -o after.json \\
        --inherit-environ APP_ENV,SECRET_KEY,DATABASE_URL
    python -m pyperf compare_to before.json after.json --table

It imports the project (FLASK_APP's package, from the current folder) and nothing of flaskgen.
GET lists the USERS users it creates first; each POST creates a user of a new name (201).
"""

from __future__ import annotations

import importlib
import itertools
import os
import sys
from pathlib import Path
from typing import Any

import pyperf

USERS = 5


def app_client() -> Any:
    sys.path.insert(0, os.getcwd())
    flaskenv = Path(".flaskenv").read_text(encoding="utf-8").splitlines()
    package = os.environ.get("FLASK_APP") or next(
        line.split("=", 1)[1].strip() for line in flaskenv if line.startswith("FLASK_APP=")
    )
    return importlib.import_module(package).create_app().test_client()


def main() -> None:
    runner = pyperf.Runner()
    client = app_client()
    names = (f"u{os.getpid()}x{n}" for n in itertools.count())
    for _ in range(USERS):
        client.post("/api/users", json={"username": next(names)})
    listed = client.get("/api/users?limit=5")
    if listed.status_code != 200 or len(listed.json["users"]) != USERS:
        raise SystemExit(f"GET /api/users answered {listed.status_code}: start from an empty database")

    def post() -> None:
        response = client.post("/api/users", json={"username": next(names)})
        if response.status_code != 201:
            raise SystemExit(f"POST /api/users answered {response.status_code}")

    runner.bench_func("GET /api/users", client.get, "/api/users?limit=5")
    runner.bench_func("POST /api/users", post)


if __name__ == "__main__":
    main()
