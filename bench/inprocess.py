"""The apps alone, in-process: time per request through Flask's test client, timed by pyperf.

A pyperf script run by bench/server.py with the generated project's venv (where pyperf is
installed) in the project's folder, which holds bare_app.py and the SQLite database the
served app filled. It imports the project and Flask, nothing of flaskgen.
"""

from __future__ import annotations

import importlib
import importlib.util

from bench import timing
from bench.workspace import SLUG

PATHS = ("/healthz", "/api/users")


def clients() -> dict[str, object]:
    create_app = importlib.import_module(SLUG).create_app
    bare = importlib.import_module("bare_app")
    # The bare app again, with a SECRET_KEY: Flask then opens a cookie session per request.
    spec = importlib.util.spec_from_file_location("bare_app_keyed", bare.__file__)
    keyed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(keyed)
    keyed.app.config["SECRET_KEY"] = "k" * 64
    return {
        "generated": create_app().test_client(),
        "bare": bare.app.test_client(),
        "keyed": keyed.app.test_client(),
    }


def name(app: str, path: str) -> str:
    return f"in-process {app} GET {path}"


def main() -> None:
    perf, args, _ = timing.runner("inprocess")
    apps = clients()
    benchmarks = [(app, path) for path in PATHS for app in ("generated", "bare")]
    benchmarks.append(("keyed", "/healthz"))
    for app, path in benchmarks:
        status = apps[app].get(path).status_code
        if status != 200:
            raise SystemExit(f"the {app} app answered GET {path} with {status}")
    for app, path in reversed(benchmarks) if args.reverse else benchmarks:
        perf.bench_func(name(app, path), apps[app].get, path)


if __name__ == "__main__":
    main()
