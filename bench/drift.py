"""Drift over a tree: `flaskgen check` of 40 projects, with an empty render cache and a warm one.

The tree is what a team with 40 services has: every project has its own name (so its own
answers, and its own pristine render), the answers vary over the template's choices, a
quarter of the projects are still at the first release, and some have changed template files.
`python -m bench.drift` is the pyperf script.
"""

from __future__ import annotations

import json
import resource
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import timing
from bench.report import Results, Row, Section, seconds, timed_row
from bench.workspace import BenchError, Workspace

PROJECTS = 40
FIRST_RELEASE = "v0.1.0"  # asked four questions only: name, slug, python_version, database
COLD = f"flaskgen check, {PROJECTS} projects, empty render cache"
WARM = f"flaskgen check, {PROJECTS} projects, renders cached"
TARGET, LIMIT = "≤ 5.00 s", 5.0
DATABASES = ("postgresql", "mysql", "sqlite")
TARGETS = ("docker-ssh", "compose", "kubernetes", "fly", "render", "heroku", "none")
SINGLE_HOST = ("docker-ssh", "compose", "none")  # the targets copier.yml allows SQLite on
CIS = ("github", "gitlab", "none")
PYTHONS = ("3.11", "3.12", "3.13")
EDITED_LINE = "\nOur own notes (flaskgen bench).\n"

# Run by the benchmarked flaskgen's own Python: one process makes every project.
_MAKE = """
import json, sys
from typer.testing import CliRunner
from flaskgen.cli import app
runner = CliRunner()
for dest, args in json.load(sys.stdin):
    result = runner.invoke(app, ["new", dest, "--defaults", "--quiet", *args])
    if result.exit_code != 0:
        sys.exit(f"flaskgen new {dest} {' '.join(args)} exited {result.exit_code}: {result.output}")
"""


def fleet(ws: Workspace) -> Path:
    return ws.work / "fleet"


def warm_cache(ws: Workspace) -> Path:
    return ws.work / "drift-cache"


def cpu_log(ws: Workspace) -> Path:
    return ws.work / "drift-cpu.jsonl"


def project_answers(number: int) -> list[str]:
    """The `flaskgen new` options of project `number`: a spread of the template's choices."""
    if number % 4 == 3:
        return ["--vcs-ref", FIRST_RELEASE, "-d", f"database={DATABASES[number % 3]}",
                "-d", f"python_version={PYTHONS[number % 3]}"]  # fmt: skip
    database, target = DATABASES[number % 3], TARGETS[(number // 3) % len(TARGETS)]
    if database == "sqlite" and target not in SINGLE_HOST:
        database = "postgresql"
    flags = {
        "database": database,
        "deploy_target": target,
        "ci": CIS[(number // 2) % 3],
        "python_version": PYTHONS[number % 3],
        "use_rabbitmq": "true" if number % 5 == 1 else "false",
        "template_updates": "false" if number % 6 == 4 else "true",
        "container_registry": "dockerhub" if number % 7 == 2 else "ghcr",
    }
    return [item for key, value in flags.items() for item in ("-d", f"{key}={value}")]


def expected_changes(number: int) -> dict[str, str]:
    """The template files the user of project `number` changed (see make_fleet)."""
    changed = {}
    if number % 3 == 0:
        changed["README.md"] = "modified"
    if number % 5 == 0:
        changed["gunicorn.conf.py"] = "deleted"
    return changed


def make_fleet(ws: Workspace) -> None:
    """The 40 projects, edited by their users; checked once (untimed) to report what was made,
    which also fills the warm render cache."""
    root = fleet(ws)
    specs = [(str(root / f"team{n % 4}" / f"svc-{n:02d}"), project_answers(n)) for n in range(PROJECTS)]
    ws.run([ws.python, "-c", _MAKE], input=json.dumps(specs), timeout=1800)
    for number, (dest, _) in enumerate(specs):
        project = Path(dest)
        for relative, change in expected_changes(number).items():
            if change == "deleted":
                (project / relative).unlink()
            else:
                with (project / relative).open("a", encoding="utf-8") as file:
                    file.write(EDITED_LINE)
    shutil.rmtree(warm_cache(ws), ignore_errors=True)
    reported = check_report(ws, warm_cache(ws))
    behind = sum(1 for n in range(PROJECTS) if n % 4 == 3)
    wanted = {dest: expected_changes(n) for n, (dest, _) in enumerate(specs)}
    got = {p["path"]: p["changed_files"] for p in reported}
    statuses = sorted(p["status"] for p in reported)
    if got != wanted or statuses != ["behind"] * behind + ["current"] * (PROJECTS - behind):
        raise BenchError(f"flaskgen check reported other projects or changes than were made: {reported}")


def check_report(ws: Workspace, cache: Path) -> list[dict[str, Any]]:
    """`flaskgen check --json` of the tree, with its render cache at `cache`; its projects."""
    result = ws.run(check_command(ws), env=dict(ws.env, XDG_CACHE_HOME=str(cache)), ok=(1,), timeout=900)
    return list(json.loads(result.stdout)["projects"])


def check_command(ws: Workspace) -> list[str | Path]:
    return [ws.flaskgen, "check", "--json", fleet(ws)]


def measure_drift(ws: Workspace, plan: timing.Plan) -> Section:
    cpu_log(ws).unlink(missing_ok=True)
    results = Results.load([timing.run_rounds(ws, "drift", "drift", plan)])
    cpu = _cpu_medians(ws)
    section = Section("drift", f"flaskgen check over a tree of {PROJECTS} projects (drift)")
    section.figures.update(cold=results.median(COLD), warm=results.median(WARM), cold_cpu=cpu[COLD])
    section.rows += [
        timed_row(results, COLD, "`flaskgen check --json TREE`, empty render cache", TARGET, LIMIT, "drift"),
        Row("… CPU time of that command and its render processes (user + system)", seconds(cpu[COLD])),
        timed_row(results, WARM, "`flaskgen check --json TREE`, renders cached"),
        Row("… CPU time of that command", seconds(cpu[WARM])),
    ]
    section.notes += [
        f"pyperf, for each command: {results.counts(COLD)}. Each cold run starts with an empty "
        "render cache (`XDG_CACHE_HOME` in a new folder, not timed); the warm runs share one "
        "filled before timing. CPU times are the medians of every run's `getrusage` of its "
        "children, warm-ups included.",
        f"The tree: {PROJECTS} projects in four team folders, each named for its service, so "
        "no two share answers and each needs its own pristine render. Their answers spread "
        "over the database, deploy target, CI, Python, broker, registry and update-job choices; "
        f"every fourth project is at the first release ({FIRST_RELEASE}, so behind: exit 1), "
        "a third have an edited README.md and a fifth a deleted gunicorn.conf.py, which the "
        "check was verified to report exactly before timing.",
    ]
    return section


def _cpu_medians(ws: Workspace) -> dict[str, float]:
    import statistics

    found: dict[str, list[float]] = {}
    for line in cpu_log(ws).read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        found.setdefault(entry["name"], []).append(entry["cpu"])
    return {name: statistics.median(values) for name, values in found.items()}


def drift_benchmarks(ws: Workspace) -> dict[str, Callable[[], float]]:
    def once(name: str, cache: Callable[[], Path]) -> Callable[[], float]:
        def run() -> float:
            where = cache()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            ws.run(check_command(ws), env=dict(ws.env, XDG_CACHE_HOME=str(where)), ok=(1,), timeout=900)
            elapsed = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            with cpu_log(ws).open("a", encoding="utf-8") as log:
                log.write(json.dumps({"name": name, "cpu": cpu}) + "\n")
            if name == COLD:
                shutil.rmtree(where)  # not timed
            return elapsed

        return run

    return {COLD: once(COLD, lambda: ws.fresh_dir("cache")), WARM: once(WARM, lambda: warm_cache(ws))}


def main() -> None:
    perf, args, ws = timing.runner("drift")
    timing.bench_all(perf, drift_benchmarks(ws), args.reverse)


if __name__ == "__main__":
    main()
