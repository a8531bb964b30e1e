"""The served app: the generated app under its Dockerfile's Gunicorn command against a bare Flask app.

wrk (or the fallback in bench/load.py) makes the load; each round's time per request goes into
pyperf benchmarks (server.json), so that pyperf computes the medians and the best rounds as for
every other figure. The apps' own cost per request is timed in-process by bench/inprocess.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from pathlib import Path

import pyperf

from bench import inprocess, timing
from bench.load import Load, LoadGenerator, children_of, http_request, serving
from bench.report import Results, Row, Section
from bench.workspace import REPO_ROOT, SLUG, BenchError, Workspace, project_env

USERS = 5  # users created before GET /api/users is measured
WORKERS = 2  # Gunicorn workers, fixed so that every server gets the same
SERVERS = ("generated", "metrics", "bare", "plain")
# The generated app's metrics on (metrics.py): the target is at most 10% fewer requests per second.
METRICS_TARGET = 0.90
PATHS = inprocess.PATHS

BARE_APP = '''"""A bare Flask app answering /healthz and /api/users like the generated one, from memory."""

import json
from pathlib import Path

from flask import Flask

USERS = json.loads(Path(__file__).with_name("bare_users.json").read_text(encoding="utf-8"))

app = Flask(__name__)


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.get("/api/users")
def users():
    return USERS


@app.get("/bare")
def bare():
    return {"bare": True}
'''


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def under_load(ws: Workspace, plan: timing.Plan, load: LoadGenerator, env: dict[str, str]) -> Path:
    """The servers at once, taking turns under load; pyperf's JSON of the rounds."""
    project = ws.app
    ports = {name: free_port() for name in SERVERS}
    gunicorn = str(project / ".venv" / "bin" / "gunicorn")
    bind = {name: ["--bind", f"127.0.0.1:{port}"] for name, port in ports.items()}
    # The Dockerfile's command; --bind keeps each server on the loopback interface.
    commands = {
        "generated": [gunicorn, "--config", "gunicorn.conf.py", *bind["generated"]],
        "metrics": [gunicorn, "--config", "gunicorn.conf.py", *bind["metrics"]],
        "bare": [gunicorn, "--config", "gunicorn.conf.py", *bind["bare"], "bare_app:app"],
        "plain": [gunicorn, "--workers", str(WORKERS), *bind["plain"], "bare_app:app"],
    }
    warmups: dict[tuple[str, str], Load] = {}
    rounds: dict[tuple[str, str], list[Load]] = {(name, path): [] for name in SERVERS for path in PATHS}
    with contextlib.ExitStack() as stack:
        pids = {}
        for name, args in commands.items():
            if name == "bare":  # the bare app serves the users the generated app stored
                (project / "bare_users.json").write_bytes(create_users(ports["generated"]))
            log = ws.work / f"gunicorn-{name}.log"
            server_env = dict(env, PORT=str(ports[name]))
            if name == "metrics":  # the generated app with Prometheus metrics on, served on loopback
                server_env.update(METRICS_PORT=str(free_port()), METRICS_HOST="127.0.0.1")
            pids[name] = stack.enter_context(serving(args, project, server_env, ports[name], log, WORKERS))
        for name in ("bare", "plain"):
            check_bare(ports[name], project / "bare_users.json")
        for path in PATHS:
            for name in SERVERS:
                warmups[name, path] = load.run(
                    ports[name], path, 1.0, lambda p=pids[name]: [p, *children_of(p)]
                )
            for index in range(plan.load_rounds):
                for name in SERVERS if index % 2 == 0 else reversed(SERVERS):
                    measured = load.run(
                        ports[name], path, plan.load_seconds, lambda p=pids[name]: [p, *children_of(p)]
                    )
                    rounds[name, path].append(measured)
    benchmarks = []
    for (name, path), measured in rounds.items():
        for what, per_request in (
            ("wall", lambda r: r.wall / r.ok),
            ("server CPU", lambda r: r.server_cpu / r.ok),
        ):
            runs = []
            for index, result in enumerate(measured):
                if result.server_cpu <= 0:
                    raise BenchError(f"no CPU time read for the {name} server's processes")
                metadata = {
                    "name": f"{name} GET {path}: {what} per request",
                    "unit": "second",
                    "failed_requests": result.errors,
                    "client_cpu_share": result.client_cpu / result.wall,
                    "load": load.description,
                }
                warmup = [(1, per_request(warmups[name, path]))] if index == 0 else None
                runs.append(pyperf.Run([per_request(result)], warmups=warmup, metadata=metadata))
            benchmarks.append(pyperf.Benchmark(runs))
    output = ws.results / "server.json"
    pyperf.BenchmarkSuite(benchmarks).dump(str(output))
    return output


def create_users(port: int) -> bytes:
    """Create USERS users through the API; return the JSON of GET /api/users."""
    for index in range(USERS):
        status, body = http_request(port, "POST", "/api/users", {"username": f"user{index}"})
        if status != 201:
            raise BenchError(f"POST /api/users answered {status}: {body[:300]!r}")
    status, body = http_request(port, "GET", "/api/users")
    if status != 200 or len(json.loads(body)["users"]) != USERS:
        raise BenchError(f"GET /api/users answered {status}: {body[:300]!r}")
    return body


def check_bare(port: int, users: Path) -> None:
    """The server on `port` runs the bare app and answers /api/users like the generated one."""
    if http_request(port, "GET", "/bare")[0] != 200:
        raise BenchError(f"the server on port {port} does not serve the bare app")
    if json.loads(http_request(port, "GET", "/api/users")[1]) != json.loads(users.read_bytes()):
        raise BenchError("the bare app's /api/users differs from the generated app's")


def measure_server(ws: Workspace, plan: timing.Plan, load: LoadGenerator) -> Section:
    project = ws.app
    venv_bin = project / ".venv" / "bin"
    env = dict(
        project_env(ws, project),
        APP_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        WEB_CONCURRENCY=str(WORKERS),
        FLASK_APP=SLUG,
    )
    shutil.rmtree(project / "instance", ignore_errors=True)
    ws.run([venv_bin / "flask", "db", "upgrade"], cwd=project, env=env)
    (project / "bare_app.py").write_text(BARE_APP, encoding="utf-8")
    served = under_load(ws, plan, load, env)
    in_process = timing.run_rounds(
        ws,
        "inprocess",
        "inprocess",
        plan,
        loops=plan.loops,
        python=str(venv_bin / "python"),
        cwd=project,
        pythonpath=(project, REPO_ROOT),
        inherit=("APP_ENV", "SECRET_KEY", "WEB_CONCURRENCY", "FLASK_APP", "VIRTUAL_ENV"),
        env=env,
    )
    return section(Results.load([served, in_process]), plan, load)


def section(results: Results, plan: timing.Plan, load: LoadGenerator) -> Section:
    title = f"The generated app under Gunicorn ({WORKERS} workers) against a bare Flask app"
    section = Section("server", title)
    f = section.figures
    for path in PATHS:
        key = "healthz" if path == "/healthz" else "users"

        def wall(name: str, path: str = path) -> str:
            return f"{name} GET {path}: wall per request"

        def cpu(name: str, path: str = path) -> str:
            return f"{name} GET {path}: server CPU per request"

        def rps(name: str, label: str) -> Row:
            median, best = 1 / results.median(wall(name)), 1 / results.best(wall(name))
            return Row(label, f"{median:.0f} req/s", f"{best:.0f} req/s", results.relative_spread(wall(name)))

        ratio = results.median(wall("bare")) / results.median(wall("generated"))
        app = {name: results.median(inprocess.name(name, path)) * 1e6 for name in ("generated", "bare")}
        best = {name: results.best(inprocess.name(name, path)) * 1e6 for name in ("generated", "bare")}
        f[f"{key}_ratio"] = ratio
        f[f"{key}_cpu_ratio"] = results.median(cpu("bare")) / results.median(cpu("generated"))
        # The explanations quote the fastest values: other processes only ever add time.
        f[f"{key}_generated_us"], f[f"{key}_bare_us"] = best["generated"], best["bare"]
        best_ratio = results.best(wall("bare")) / results.best(wall("generated"))
        metrics_ratio = results.median(wall("generated")) / results.median(wall("metrics"))
        metrics_best_ratio = results.best(wall("generated")) / results.best(wall("metrics"))
        f[f"{key}_metrics_ratio"] = metrics_ratio
        section.rows += [
            rps("generated", f"generated app, GET {path}"),
            rps("bare", f"bare app, same gunicorn.conf.py, GET {path}"),
            Row(
                f"generated / bare, GET {path}",
                f"{ratio:.2f}",
                f"{best_ratio:.2f}",
                "",
                "≥ 0.85",
                round(ratio, 2) >= 0.85,
                key,
                round(best_ratio, 2) >= 0.85,
            ),
            Row(
                f"generated / bare, requests per server CPU-second, GET {path}",
                f"{f[f'{key}_cpu_ratio']:.2f}",
            ),
            Row(
                f"generated / bare, app time per request in-process (Flask test client), GET {path}",
                f"{app['generated']:.0f} / {app['bare']:.0f} µs",
                f"{best['generated']:.0f} / {best['bare']:.0f} µs",
            ),
            rps("plain", f"bare app, plain `gunicorn -w {WORKERS}` (no access log), GET {path}"),
            rps("metrics", f"generated app with METRICS_PORT set (Prometheus metrics), GET {path}"),
            Row(
                f"metrics on / off (generated app), GET {path}",
                f"{metrics_ratio:.2f}",
                f"{metrics_best_ratio:.2f}",
                "",
                f"≥ {METRICS_TARGET:.2f}",
                round(metrics_ratio, 2) >= METRICS_TARGET,
                f"{key}_metrics",
                round(metrics_best_ratio, 2) >= METRICS_TARGET,
            ),
            Row(
                f"metrics on / off, requests per server CPU-second, GET {path}",
                f"{results.median(cpu('generated')) / results.median(cpu('metrics')):.2f}",
            ),
        ]
        if key == "healthz":
            keyed = inprocess.name("keyed", "/healthz")
            f["keyed_us"] = results.best(keyed) * 1e6
            section.rows.append(
                Row(
                    "bare app with a SECRET_KEY (so a cookie session), in-process, GET /healthz",
                    f"{results.median(keyed) * 1e6:.0f} µs",
                    f"{f['keyed_us']:.0f} µs",
                )
            )
        runs = [run for name in SERVERS for run in results.benchmarks[wall(name)].get_runs()]
        errors = sum(run.get_metadata()["failed_requests"] for run in runs)
        if errors:
            section.notes.append(f"GET {path}: {errors} failed requests over all rounds.")
        f[f"{key}_client_cpu"] = max(run.get_metadata()["client_cpu_share"] for run in runs)
    client_cpu = max(f["healthz_client_cpu"], f["users_client_cpu"])
    section.notes += [
        f"Load: {load.description}; per server and path, a 1 s warm-up then "
        f"{plan.load_rounds} round(s) of {plan.load_seconds:g} s, the servers running at once "
        "and taking turns. Each round's wall time per request is a pyperf value: req/s is 1 / its "
        "median, the best column the best round, ± the relative standard deviation. The load "
        f"generator shares the machine's {os.cpu_count()} CPUs with the servers and used up to "
        f"{client_cpu:.0%} of one CPU.",
        "Servers: `gunicorn --config gunicorn.conf.py` as in the Dockerfile (APP_ENV=production, "
        f"SECRET_KEY set, WEB_CONCURRENCY={WORKERS}, SQLite after `flask db upgrade`, "
        f"{USERS} users created), plus `--bind 127.0.0.1:PORT` to stay on the loopback interface. "
        "The bare app runs under the same command and configuration file (same workers, JSON "
        "access log, timeouts) and returns the same JSON from memory; only the WSGI app differs.",
        "The metrics server is the generated app with `METRICS_PORT` set (and `METRICS_HOST=127.0.0.1`): "
        "each request observes a histogram and each pool checkout/checkin sets gauges, in files "
        "under /dev/shm (prometheus_client's multiprocess mode); nothing scrapes it during the rounds. "
        "The generated app has nothing configured, so no metrics or tracing code runs at all.",
        "Requests per server CPU-second divide the requests by the CPU time of Gunicorn's master "
        "and workers; the in-process figures time the apps alone through Flask's test client "
        f"(pyperf `bench_func`, {plan.loops} requests a value; "
        f"{results.counts(inprocess.name('generated', '/healthz'))}): both compare the apps' cost "
        "per request even when other processes take CPU.",
    ]
    if not load.wrk and client_cpu >= 0.9:
        section.notes.append(
            "The Python load generator was busy for a whole CPU (its threads share one interpreter "
            "lock): the requests per second above measure the client as much as the servers and "
            "bring the ratios closer to 1. Install wrk for server-bound figures."
        )
    return section
