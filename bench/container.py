"""The generated image on a real Docker engine: build time, size over its base, start-up, and
docker-ssh releases under load.

The project is the default one for PostgreSQL with the docker-ssh target, rendered by the
installed flaskgen. The engine is driven through tests/containers.py, the helpers of flaskgen's
docker tests (stand-in `python:X.Y-slim` bases, `--network host` for every build and container,
Debian's docker-registry on 127.0.0.1, the load process), so this family needs the test extra
besides the bench one, a Docker engine, docker-registry and the machine's PostgreSQL.
`python -m bench.container` is the pyperf script.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench import timing
from bench.report import Results, Row, Section, timed_row
from bench.workspace import REPO_ROOT, SLUG, BenchError, Workspace

# tests/containers.py, and pytest, through which it skips or fails where the engine is missing.
sys.path.append(str(REPO_ROOT / "tests"))
import pytest

import containers

DATABASE = "postgresql"
BUILD_COLD = "image build, cold"
BUILD_WARM = "image build, warm"
START = {"healthz": "start to /healthz 200", "healthy": "start to healthy", "stop": "docker stop"}
RELEASE = "docker-ssh release"
MIB = 2**20
SIZE_TARGET_MIB = 50
# The installed size of each distribution of the venv: its files plus their bytecode, cached
# beside a source or, where the Dockerfile removed the source, in its place (x.pyc for x.py).
PACKAGE_SIZES = """
import importlib.metadata as md, importlib.util, json, os
sizes = {}
for dist in md.distributions():
    seen, total = set(), 0
    for file in dist.files or ():
        path = os.path.realpath(file.locate())
        if path.endswith(".py") and not os.path.isfile(path):
            path += "c"
        if path in seen or not os.path.isfile(path):
            continue
        seen.add(path)
        total += os.path.getsize(path)
        cached = importlib.util.cache_from_source(path) if path.endswith(".py") else ""
        if cached and os.path.isfile(cached) and cached not in seen:
            seen.add(cached)
            total += os.path.getsize(cached)
    sizes[dist.metadata["Name"]] = total
print(json.dumps(sizes))
"""


@contextlib.contextmanager
def engine_errors() -> Iterator[None]:
    """tests/containers.py's skips and failures (no engine, no stand-in) as the bench's errors."""
    try:
        yield
    except (pytest.skip.Exception, pytest.fail.Exception, AssertionError) as exc:
        raise BenchError(str(exc)) from None


def state_path(ws: Workspace) -> Path:
    return ws.work / "container.json"


def prepare(ws: Workspace) -> dict:
    """The project, its base image, one warm build and a database; saved for pyperf's workers."""
    problem = containers.engine_problem()
    if problem:
        raise BenchError(problem)
    project = ws.work / "container" / SLUG
    answers = ["--data", f"database={DATABASE}", "--data", "deploy_target=docker-ssh"]
    ws.run([ws.flaskgen, "new", project, "--defaults", "--quiet", *answers])
    version = (project / ".python-version").read_text(encoding="utf-8").strip()
    state = {"project": str(project), "tag": f"flaskgen-bench/{SLUG}:latest", "python": version}
    with engine_errors():
        state["base"] = containers.python_image(version)
        containers.build(project, state["tag"])
        name, url = containers.create_database(state["tag"], DATABASE)
    state.update(database_name=name, database_url=url, secret_key=secrets.token_hex(32))
    state_path(ws).write_text(json.dumps(state), encoding="utf-8")
    return state


def cleanup(state: dict) -> None:
    containers.drop_database(state["tag"], DATABASE, state["database_name"])
    containers.docker("rmi", "--force", state["tag"], check=False)


def measure(ws: Workspace, plan: timing.Plan) -> Section:
    state = prepare(ws)
    title = f"The generated image on Docker {server_version()} (PostgreSQL, docker-ssh, default answers)"
    section = Section("container", title)
    try:
        size_rows(state, section)
        # A cold build takes a minute or more: one value a round, and no warm-up.
        results = Results.load([timing.run_rounds(ws, "container", "build", plan, values=1, warmups=0)])
        section.rows += [
            timed_row(results, BUILD_COLD, "`docker build --no-cache` (base image present, PyPI reached)"),
            timed_row(results, BUILD_WARM, "`docker build` after a change to the app's code"),
        ]
        results = Results.load([timing.run_rounds(ws, "container", "start", plan)])
        section.figures["healthz"] = results.median(START["healthz"])
        section.rows += [
            timed_row(
                results, START["healthz"], "container start to first `/healthz` 200", "≤ 2 s", 2.0, "start"
            ),
            timed_row(results, START["healthy"], "container start to HEALTHCHECK healthy"),
            timed_row(results, START["stop"], "`docker stop` (graceful, exit 0)", "≤ 20 s", 20.0),
        ]
        section.notes += [
            f"Builds: Debian's legacy builder (`DOCKER_BUILDKIT=0`) with `--network host`, on "
            f"`{state['base']}` (a stand-in built by tests/containers.py). Cold: every layer anew, "
            "downloads included (uv runs without a cache, as the Dockerfile says). Warm: a line "
            f"added to the app's code, so only the layers from its COPY on are rebuilt. pyperf: "
            f"{results_counts(ws, 'build', BUILD_COLD)} for each.",
            "Start: `docker run --detach --read-only --tmpfs /tmp` as production runs it, with a "
            "PostgreSQL DATABASE_URL; the first `/healthz` is polled every 50 ms, the engine's "
            f"health status every 200 ms. pyperf: {results.counts(START['healthz'])} for each.",
        ]
        release_rows(ws, plan, state, section)
    finally:
        cleanup(state)
    return section


def server_version() -> str:
    return containers.docker("version", "--format", "{{.Server.Version}}").stdout.strip()


def results_counts(ws: Workspace, part: str, name: str) -> str:
    return Results.load([ws.results / f"{part}.json"]).counts(name)


def size_rows(state: dict, section: Section) -> None:
    """Size over the base, per layer and per package (one measurement: the build is deterministic)."""
    tag, base = state["tag"], state["base"]
    over = (containers.image_size(tag) - containers.image_size(base)) / MIB
    section.figures["size"] = over
    section.rows.append(
        Row(
            f"image size over `{base}`",
            f"{over:.1f} MiB",
            target=f"≤ {SIZE_TARGET_MIB} MiB",
            met=round(over, 1) <= SIZE_TARGET_MIB,
            key="image size",
        )
    )
    history = containers.docker(
        "history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", tag
    )
    base_layers = len(containers.docker("history", "--quiet", base).stdout.split())
    for line in history.stdout.splitlines()[: -base_layers or None]:
        size, created = line.split("\t", 1)
        if int(size):
            step = created.removeprefix("/bin/sh -c ").removeprefix("#(nop) ").strip()
            step = re.sub(r"(dir|file):[0-9a-f]{64} ", "", step)  # the legacy builder's content hash
            step = " ".join(step.split())
            step = step if len(step) <= 70 else f"{step[:70]}…"
            shown = f"{int(size) / MIB:.2f} MiB" if int(size) >= MIB / 10 else f"{int(size) / 1024:.1f} KiB"
            section.rows.append(Row(f"… layer `{step}`", shown))
    run = ["run", "--rm", "--network", "host", "--entrypoint", "python", tag]
    sizes = json.loads(containers.docker(*run, "-c", PACKAGE_SIZES).stdout)
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        section.rows.append(Row(f"… package {name} (files and bytecode)", f"{size / MIB:.2f} MiB"))
    section.notes.append(
        "Size: the image's size less its base's (`docker image inspect`), the layers the "
        "Dockerfile adds (`docker history`), and each installed distribution's files with "
        "their compiled bytecode, read inside the image."
    )


def release_rows(ws: Workspace, plan: timing.Plan, state: dict, section: Section) -> None:
    """Releases of deploy/remote-deploy.sh from a registry on 127.0.0.1, under load."""
    if not shutil.which("docker-registry"):
        section.notes.append("docker-ssh releases: not measured (no docker-registry here).")
        return
    port, health_ports = containers.free_port(), f"{containers.free_port()} {containers.free_port()}"
    app_dir = containers.server_app_dir(ws.work / "container" / "srv", state["database_url"], port)
    with engine_errors(), containers.local_registry(ws.work / "container" / "registry") as registry:
        releases = []
        for n in (1, 2):
            variant = f"{state['tag']}-r{n}"
            containers.build_variant(f"FROM {state['tag']}\nLABEL release={n}\n", variant)
            releases.append(containers.push(variant, f"{registry}/{SLUG}:r{n}"))
            containers.docker("rmi", variant, check=False)
        state.update(releases=releases, app_dir=str(app_dir), health_ports=health_ports, deployed=0)
        state_path(ws).write_text(json.dumps(state), encoding="utf-8")
        try:
            deploy(state)  # the first release: nothing to swap yet
            with containers.load(port) as counts:
                results = Results.load([timing.run_rounds(ws, "container", "release", plan)])
        finally:
            running = containers.docker("ps", "--all", "--quiet", "--filter", f"label=app={SLUG}")
            if running.stdout.split():
                containers.docker("rm", "--force", *running.stdout.split(), check=False)
            for image in releases:
                containers.docker("rmi", "--force", image, check=False)
    releases_run = results.benchmarks[RELEASE].get_nvalue() + plan.rounds  # values and warm-ups
    section.figures["failed"] = counts["failed"]
    section.rows += [
        timed_row(results, RELEASE, "docker-ssh release (`remote-deploy.sh`)", "≤ 15 s", 15.0, "release"),
        Row(
            "failed requests during the releases (4 client threads)",
            f"{counts['failed']} of {counts['ok'] + counts['failed']:,}",
            target="0",
            met=counts["failed"] == 0,
            key="failed requests",
        ),
    ]
    section.notes.append(
        f"Releases: deploy/remote-deploy.sh pulls two images by digest from Debian's "
        f"docker-registry on 127.0.0.1, in turn, and swaps them on the engine ({releases_run} "
        "releases with the warm-ups) while another process calls `/healthz` from 4 threads, a "
        f"new connection each; pyperf: {results.counts(RELEASE)}. Errors seen: "
        f"{counts['errors'][-3:] or 'none'}."
    )


def deploy(state: dict) -> float:
    """One release of the next image in turn; its wall time."""
    bin_dir = Path(state["app_dir"]) / "bin"
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "docker").exists():
        (bin_dir / "docker").symlink_to(containers.DOCKER)  # the engine's own client
    env = {
        **os.environ,
        "APP_DIR": state["app_dir"],
        "HEALTH_PORTS": state["health_ports"],
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    counter = Path(state["app_dir"]) / "deployed"
    deployed = int(counter.read_text()) if counter.exists() else 0
    image = state["releases"][deployed % len(state["releases"])]
    script = Path(state["project"]) / "deploy" / "remote-deploy.sh"
    started = time.monotonic()
    result = subprocess.run(["bash", str(script), image], env=env, capture_output=True, text=True)
    took = time.monotonic() - started
    if result.returncode != 0:
        raise BenchError(f"remote-deploy.sh {image} exited {result.returncode}\n{result.stderr[-3000:]}")
    counter.write_text(str(deployed + 1))
    return took


def start_once(state: dict, what: str) -> Callable[[], float]:
    """A production container from `docker run` to `what` (the first /healthz 200, healthy) or
    the time of its `docker stop`; the rest of its life is not timed."""

    def once() -> float:
        port = containers.free_port()
        env = {"SECRET_KEY": state["secret_key"], "DATABASE_URL": state["database_url"], "PORT": port}
        args = [arg for key, value in env.items() for arg in ("--env", f"{key}={value}")]
        started = time.monotonic()
        with containers.container(state["tag"], "--read-only", "--tmpfs", "/tmp", *args) as name:
            containers.wait_http_ok(f"http://127.0.0.1:{port}/healthz", timeout=60)
            if what == "healthz":
                return time.monotonic() - started
            containers.wait_healthy(name, timeout=60)
            if what == "healthy":
                return time.monotonic() - started
            stopping = time.monotonic()
            containers.docker("stop", "--time", "30", name)
            stopped = time.monotonic() - stopping
            if containers.inspect(name, "{{.State.ExitCode}}") != "0":
                raise BenchError(f"{name} did not exit 0 on docker stop")
            return stopped

    return once


def build_once(state: dict, cache: bool) -> Callable[[], float]:
    project = Path(state["project"])

    def once() -> float:
        if cache:  # a change to the app's code, as between two commits
            with (project / SLUG / "__init__.py").open("a", encoding="utf-8") as file:
                file.write("# changed (flaskgen bench)\n")
        return containers.build(project, state["tag"], cache=cache)

    return once


def main() -> None:
    perf, args, ws = timing.runner("container")
    state = json.loads(state_path(ws).read_text(encoding="utf-8"))
    benchmarks: dict[str, Callable[[], float]]
    if args.part == "build":
        benchmarks = {BUILD_COLD: build_once(state, False), BUILD_WARM: build_once(state, True)}
    elif args.part == "start":
        benchmarks = {name: start_once(state, what) for what, name in START.items()}
    else:
        benchmarks = {RELEASE: lambda: deploy(state)}
    timing.bench_all(perf, benchmarks, args.reverse)


if __name__ == "__main__":
    main()
