"""The generated project: its own test suite, and the time from `flaskgen new` to green tests with uv.

`python -m bench.project` is the pyperf script.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from bench import timing
from bench.report import Results, Section, timed_row
from bench.workspace import SLUG, Workspace, project_env

TESTS = "project tests"
GREEN = "new to green"
# The four commands a uv user runs, in a new folder.
STEPS = {
    "flaskgen new": "`flaskgen new DEST --defaults --quiet`",
    "uv venv": "`uv venv .venv`",
    "uv pip install": "`uv pip install -r requirements-dev.txt`",
    "pytest": "`python -m pytest -q`, first run",
}


def measure(ws: Workspace, plan: timing.Plan) -> Section:
    return measure_green(ws, plan, measure_tests(ws, plan))


def measure_tests(ws: Workspace, plan: timing.Plan) -> Section:
    # One untimed run first: the suite must pass, and its summary goes into the notes.
    tests = [ws.app / ".venv" / "bin" / "python", "-m", "pytest", "-q"]
    output = ws.run(tests, cwd=ws.app, env=project_env(ws, ws.app)).stdout.strip()
    summary = output.splitlines()[-1].strip("= ") if output else ""
    results = Results.load([timing.run_rounds(ws, "project", "tests", plan)])
    section = Section("project", "The generated project (default answers)")
    section.figures.update(tests=results.median(TESTS))
    section.rows.append(
        timed_row(
            results, TESTS, "`python -m pytest -q` in the project (compiled venv)", "≤ 3.00 s", 3.0, "tests"
        )
    )
    section.notes += [
        f"The project's test suite: {summary}. pyperf: {results.counts(TESTS)}.",
    ]
    return section


def measure_green(ws: Workspace, plan: timing.Plan, section: Section) -> Section:
    """New to green, added to the project's section."""
    results = Results.load([timing.run_rounds(ws, "project", "green", plan, values=1)])
    section.figures.update(green=results.median(GREEN))
    section.rows.append(timed_row(results, GREEN, "`flaskgen new` to green tests with uv (warm uv cache)"))
    for step, label in STEPS.items():
        section.rows.append(timed_row(results, f"{GREEN}: {step}", f"… of which {label}"))
    section.notes += [
        f"New to green: the four commands a uv user runs, in a new folder, with uv's cache warm "
        "(the same requirements were installed just before) and uv's defaults, so nothing is "
        "byte-compiled at install and the first test run compiles what it imports. pyperf: "
        f"{results.counts(GREEN)}, for the whole and for each step.",
        "Each step is its own pyperf benchmark: the steps before it run untimed in the same new "
        "folder, then the step is timed; so the steps' medians need not add up to the whole's.",
    ]
    return section


def green_run(ws: Workspace, timed: str | None) -> Callable[[], float]:
    """The four steps in a new folder; the time of step `timed`, or of all four when None."""

    def once() -> float:
        project = ws.fresh_dir("green") / SLUG
        venv = project / ".venv"
        env = project_env(ws, project)
        # The venv is activated for the last two, as a user would have it.
        commands: dict[str, tuple[list[str | Path], Path | None, dict[str, str]]] = {
            "flaskgen new": ([ws.flaskgen, "new", project, "--defaults", "--quiet"], None, ws.env),
            "uv venv": ([ws.uv, "venv", "-q", "--python", sys.executable, venv], project, ws.env),
            "uv pip install": ([ws.uv, "pip", "install", "-q", "-r", "requirements-dev.txt"], project, env),
            "pytest": ([venv / "bin" / "python", "-m", "pytest", "-q"], project, env),
        }
        elapsed = 0.0
        for step, (args, cwd, step_env) in commands.items():
            took = ws.timed(args, cwd=cwd, env=step_env, timeout=900)
            if timed is None or step == timed:
                elapsed += took
            if step == timed:
                break
        shutil.rmtree(project.parent)  # not timed
        return elapsed

    return once


def main() -> None:
    perf, args, ws = timing.runner("project")
    if args.part == "tests":
        tests = [ws.app / ".venv" / "bin" / "python", "-m", "pytest", "-q"]
        env = project_env(ws, ws.app)
        benchmarks = {TESTS: lambda: ws.timed(tests, cwd=ws.app, env=env)}
    else:
        benchmarks = {GREEN: green_run(ws, None)}
        benchmarks.update({f"{GREEN}: {step}": green_run(ws, step) for step in STEPS})
    timing.bench_all(perf, benchmarks, args.reverse)


if __name__ == "__main__":
    main()
