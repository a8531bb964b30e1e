"""Update and check: `flaskgen update` against `copier update`, `flaskgen check` over 1 and 20 projects.

The projects come from v1 of a throwaway template repository that also has v2 (see
workspace.make_template_repo). `python -m bench.update` is the pyperf script.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from bench import timing
from bench.report import Results, Row, Section, missing, ratio_row, seconds, timed_row, times, versus
from bench.workspace import SLUG, USER_LINE, BenchError, Workspace

CHECKED_PROJECTS = 20
UPDATE = "flaskgen update"
COPIER_UPDATE = "copier update"
CHECK_ONE = "flaskgen check, 1 project"
CHECK_ALL = f"flaskgen check, {CHECKED_PROJECTS} projects"
COPIER_CHECK = "copier check-update"
UNAVAILABLE = "not available in this flaskgen"


def measure_update(ws: Workspace, plan: timing.Plan) -> Section:
    results = Results.load([timing.run_rounds(ws, "update", "update", plan)])
    section = Section("update", "flaskgen update against copier update (v1 to v2, same project)")
    copier = timed_row(results, COPIER_UPDATE, "`copier update --defaults --quiet --vcs-ref v2`")
    if UPDATE in results:
        section.figures.update(versus(results, UPDATE, COPIER_UPDATE))
        section.rows += [
            timed_row(results, UPDATE, "`flaskgen update PATH --defaults --vcs-ref v2`"),
            copier,
            ratio_row(results, UPDATE, COPIER_UPDATE, "flaskgen update / copier update", "≤ 1.10x", "update"),
        ]
    else:
        section.rows += [
            missing("`flaskgen update PATH --defaults --vcs-ref v2`", UNAVAILABLE),
            copier,
            missing("flaskgen update / copier update", UNAVAILABLE, "≤ 1.10x"),
        ]
    section.notes += [
        f"pyperf, for each command: {results.counts(COPIER_UPDATE)}; the two alternate by round.",
        "The project was generated from tag v1 of a git copy of the template, committed, and "
        "edited by its user (a line in README.md, a file of their own). v2 changes README.md and "
        "gunicorn.conf.py and adds a file. Each run starts from the committed v1 state "
        "(`git reset --hard && git clean -fdx`, not timed) and is checked to end at v2 with the "
        "user's edit kept.",
    ]
    return section


def measure_check(ws: Workspace, plan: timing.Plan) -> Section:
    n = CHECKED_PROJECTS
    results = Results.load([timing.run_rounds(ws, "update", "check", plan)])
    section = Section("check", f"flaskgen check over 1 and {n} projects (each behind: v1 of v2)")
    copier = timed_row(
        results, COPIER_CHECK, "`copier check-update --output-format json` of 1 project (for comparison)"
    )
    if CHECK_ONE in results:
        one, every = results.median(CHECK_ONE), results.median(CHECK_ALL)
        best_one, best_every = results.best(CHECK_ONE), results.best(CHECK_ALL)
        per_project = (every - one) / (n - 1)
        section.figures.update(one=one, all=every, per_project=per_project)
        section.rows += [
            timed_row(results, CHECK_ONE, "`flaskgen check` of 1 project"),
            timed_row(results, CHECK_ALL, f"`flaskgen check` of {n} projects"),
            Row(
                f"per project after the first: (time of {n} - time of 1) / {n - 1}",
                seconds(per_project),
                seconds(max((best_every - best_one) / (n - 1), 0)),
            ),
            Row(f"{n} projects / 1 project", times(every, one), times(best_every, best_one)),
            copier,
            Row(
                f"{n} x copier check-update, one process each (computed)",
                seconds(n * results.median(COPIER_CHECK)),
                seconds(n * results.best(COPIER_CHECK)),
            ),
        ]
    else:
        section.rows += [
            missing("`flaskgen check` of 1 project", UNAVAILABLE),
            missing(f"`flaskgen check` of {n} projects", UNAVAILABLE),
            copier,
        ]
    section.notes += [
        f"pyperf, for each command: {results.counts(COPIER_CHECK)}. `flaskgen check` must exit 1 "
        "(a project is behind) on every run.",
        f"The {n} projects are copies of one git project generated from v1 of the template "
        "repository that also has v2, so each is behind.",
    ]
    return section


def copy_of(ws: Workspace, where: Path) -> Path:
    """A copy of the v1 project (made once, by the first process that needs it)."""
    if not where.exists():
        shutil.copytree(ws.project_v1, where, symlinks=True)
    return where


def update_benchmarks(ws: Workspace) -> dict[str, Callable[[], float]]:
    def once(tool: str, args: list[str]) -> Callable[[], float]:
        project = copy_of(ws, ws.work / f"update-{tool}" / SLUG)

        def run() -> float:
            ws.git(project, "reset", "-q", "--hard")
            ws.git(project, "clean", "-q", "-fdx")
            elapsed = ws.timed([*args, project], cwd=project)
            answers = (project / ".copier-answers.yml").read_text(encoding="utf-8")
            readme = (project / "README.md").read_text(encoding="utf-8")
            if (
                "_commit: v2" not in answers
                or USER_LINE not in readme
                or not (project / "UPGRADING.md").is_file()
            ):
                raise BenchError(f"{tool} update did not bring the project to v2 with the user's edit kept")
            return elapsed

        return run

    copier = [ws.copier, "update", "--defaults", "--quiet", "--vcs-ref", "v2", "--conflict", "inline"]
    benchmarks = {COPIER_UPDATE: once("copier", copier)}
    if ws.update_args is not None:
        flaskgen = [ws.flaskgen, "update", "--defaults", "--vcs-ref", "v2", "--conflict", "inline"]
        benchmarks = {UPDATE: once("flaskgen", [*flaskgen, *ws.update_args]), **benchmarks}
    return benchmarks


def check_benchmarks(ws: Workspace) -> dict[str, Callable[[], float]]:
    projects = [copy_of(ws, ws.work / "check" / f"p{i:02d}" / SLUG) for i in range(1, CHECKED_PROJECTS + 1)]
    copier = [ws.copier, "check-update", "--output-format", "json", projects[0]]
    benchmarks: dict[str, Callable[[], float]] = {COPIER_CHECK: lambda: ws.timed(copier)}
    if ws.has_check:
        benchmarks = {
            CHECK_ONE: lambda: ws.timed([ws.flaskgen, "check", projects[0]], ok=(1,)),
            CHECK_ALL: lambda: ws.timed([ws.flaskgen, "check", *projects], ok=(1,)),
            **benchmarks,
        }
    return benchmarks


def main() -> None:
    perf, args, ws = timing.runner("update")
    benchmarks = update_benchmarks(ws) if args.part == "update" else check_benchmarks(ws)
    timing.bench_all(perf, benchmarks, args.reverse)


if __name__ == "__main__":
    main()
