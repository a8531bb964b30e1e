"""Request IDs and the JSON access log, on against off, in one generated project (issue 16).

    python bench/request_ids.py PROJECT [--rounds 8] [--seconds 3]

PROJECT is a generated project whose venv is PROJECT/.venv or $VIRTUAL_ENV, with its database
migrated. Two Gunicorns run at once with the project's gunicorn.conf.py, production settings
and nothing else configured (no SENTRY_DSN): "on" as generated; "off" with Gunicorn's stock
logger (the combined-format access line, as before) and without the request-ID hooks. They take
turns under the same load (bench/load.py), alternating which goes first, and the script prints
the median requests per second and server CPU per request of each, and their ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # `python bench/request_ids.py`
    sys.path[0] = str(REPO_ROOT)

from bench.load import LoadGenerator, children_of, serving  # noqa: E402
from bench.server import WORKERS, free_port  # noqa: E402

PATHS = ("/healthz", "/api/users")
# The app without the request-ID hooks: everything else as generated.
WITHOUT_REQUEST_IDS = """
import {slug}
{slug}.request_id.init_app = lambda app: None
app = {slug}.create_app()
"""


# In the project's venv: the app's own time per request through Flask's test client, and the
# cost of writing one access line through the production JSON logging, each on against off.
# CPU time of this process (not wall time, which other processes' load swamps on a shared
# machine), the minimum of the repeats, the two taking turns.
IN_PROCESS = """
import io, logging, sys, time, timeit
from datetime import timedelta
from types import SimpleNamespace

import gunicorn.glogging
from gunicorn.config import Config

import {slug}
from {slug}.access_log import AccessLogger
from {slug}.logging_config import logging_config

def best(stmts, number):
    times = {{name: [] for name in stmts}}
    for index in range(10):
        for name in sorted(stmts, reverse=index % 2 == 1):
            cpu = timeit.timeit(stmts[name], number=number, timer=time.process_time)
            times[name].append(cpu / number * 1e6)
    return {{name: min(values) for name, values in times.items()}}

apps = {{"on": {slug}.create_app()}}
init_app = {slug}.request_id.init_app
{slug}.request_id.init_app = lambda app: None
apps["off"] = {slug}.create_app()
{slug}.request_id.init_app = init_app
for path in ("/healthz", "/api/users"):
    clients = {{name: app.test_client() for name, app in apps.items()}}
    times = best({{name: lambda c=c: c.get(path) for name, c in clients.items()}}, 300)
    print(f"in-process GET {{path}}, CPU per request: on {{times['on']:.0f}} us, off {{times['off']:.0f}} us")

sys.stderr = io.StringIO()  # the JSON handler writes here, not to the terminal
cfg = Config()
cfg.set("accesslog", "-")
cfg.set("logconfig_dict", logging_config("production"))
loggers = {{"on": AccessLogger(cfg), "off": gunicorn.glogging.Logger(cfg)}}
headers = [("HOST", "api.example.com"), ("USER-AGENT", "curl/8.5.0"), ("ACCEPT", "*/*")]
req = SimpleNamespace(headers=headers)
resp = SimpleNamespace(status="200 OK", sent=35, headers=[("Content-Type", "application/json")])
environ = {{
    "REQUEST_METHOD": "GET", "RAW_URI": "/api/users", "PATH_INFO": "/api/users",
    "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
    "HTTP_HOST": "api.example.com", "HTTP_USER_AGENT": "curl/8.5.0", "HTTP_ACCEPT": "*/*",
    "wsgi.url_scheme": "http", "SERVER_NAME": "0.0.0.0", "SERVER_PORT": "8000",
    "{slug}.request_id": "4bf92f3577b34da6a3ce929d0e0e4736", "{slug}.route": "/api/users",
}}
took = timedelta(microseconds=2345)
lines = {{name: lambda log=log: log.access(resp, req, environ, took) for name, log in loggers.items()}}
times = best(lines, 2000)
print(f"one access line: on (fields) {{times['on']:.1f}} us, off (combined) {{times['off']:.1f}} us (CPU)")
"""


def in_process(project: Path, venv: Path, slug: str, env: dict[str, str]) -> None:
    code = IN_PROCESS.format(slug=slug)
    subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=project, env=env, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("project", type=Path)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args(argv)
    project = args.project.resolve()
    slug = next(path.parent.name for path in project.glob("*/request_id.py"))
    venv = Path(os.environ.get("VIRTUAL_ENV") or project / ".venv")
    load = LoadGenerator("auto", args.connections)
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "WEB_CONCURRENCY": str(WORKERS),
        "PYTHONPATH": str(project),
    }
    env.pop("SENTRY_DSN", None)
    gunicorn = [str(venv / "bin" / "gunicorn"), "--config", "gunicorn.conf.py"]
    ports = {"on": free_port(), "off": free_port()}
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as stack:
        Path(scratch, "without_request_ids.py").write_text(WITHOUT_REQUEST_IDS.format(slug=slug))
        commands = {
            "on": [*gunicorn, "--bind", f"127.0.0.1:{ports['on']}"],
            "off": [
                *gunicorn,
                "--bind",
                f"127.0.0.1:{ports['off']}",
                "--logger-class",
                "gunicorn.glogging.Logger",
                "without_request_ids:app",
            ],
        }
        pids = {}
        for name, command in commands.items():
            server_env = dict(env, PORT=str(ports[name]))
            if name == "off":
                server_env["PYTHONPATH"] = os.pathsep.join([scratch, str(project)])
            log = Path(scratch, f"{name}.log")
            pids[name] = stack.enter_context(serving(command, project, server_env, ports[name], log, WORKERS))
        in_process(project, venv, slug, env)
        print(f"load: {load.description}; {args.rounds} rounds of {args.seconds:g} s per server and path")
        for path in PATHS:
            measured: dict[str, list[tuple[float, float]]] = {"on": [], "off": []}
            for name in measured:  # warm-up
                load.run(ports[name], path, 1.0, lambda p=pids[name]: [p, *children_of(p)])
            for index in range(args.rounds):
                for name in ("on", "off") if index % 2 == 0 else ("off", "on"):
                    result = load.run(
                        ports[name], path, args.seconds, lambda p=pids[name]: [p, *children_of(p)]
                    )
                    measured[name].append((result.ok / result.wall, result.server_cpu / result.ok))
            rates = {name: statistics.median(rate for rate, _ in values) for name, values in measured.items()}
            cpu = {name: statistics.median(c for _, c in values) for name, values in measured.items()}
            spread = {
                name: statistics.stdev(rate for rate, _ in values) / rates[name]
                for name, values in measured.items()
            }
            print(
                f"GET {path}: on {rates['on']:.0f} req/s (± {spread['on']:.0%}), "
                f"off {rates['off']:.0f} req/s (± {spread['off']:.0%}), "
                f"on/off {rates['on'] / rates['off']:.2f}; "
                f"server CPU per request on {cpu['on'] * 1e6:.0f} µs, off {cpu['off'] * 1e6:.0f} µs, "
                f"on/off {cpu['on'] / cpu['off']:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
