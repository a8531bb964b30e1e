"""flaskgen's benchmarks: its cost over raw Copier, start-up, update, check, and the generated app.

    python bench/run.py            # about 3 minutes; writes bench/RESULTS.md
    python bench/run.py --quick    # fewer repetitions, under 2 minutes

flaskgen is installed from this checkout (or --source) into a new venv under /tmp, not
editable and with bytecode compiled, as a user's `pip install` leaves it. Every command is
run once to warm up, then several times, flaskgen and Copier alternating; the tables show the
median and the fastest run. Targets are goals to compare against, not assertions.

Needs git and uv (flaskgen's `test` extra has it), and PyPI or a warm uv cache for the installs.
Servers listen on 127.0.0.1 only and are stopped before the script ends; every loop is bounded
in count and in time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import itertools
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "RESULTS.md"
SLUG = "benchapp"  # the generated projects' folder name, hence their project_name and slug
USERS = 5  # users created before GET /api/users is measured
CHECKED_PROJECTS = 20
WEB_CONCURRENCY = 2  # Gunicorn workers, fixed so that both apps get the same
SECTIONS = ("new", "startup", "update", "check", "project", "server")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Variables that would change what the measured commands do. PYTHONDONTWRITEBYTECODE is set on
# some machines: a user's machine writes bytecode, so the commands here do too.
DROPPED_VARIABLES = {"APP_ENV", "DATABASE_URL", "TEST_DATABASE_URL", "SECRET_KEY", "PORT", "VIRTUAL_ENV"}
DROPPED_PREFIXES = ("FLASK_", "GUNICORN_", "WEB_CONCURRENCY", "COPIER_", "GIT_", "PYTHON")


@dataclass(frozen=True)
class Plan:
    runs: int  # timed runs of each command, after one warm-up run
    green_runs: int  # timed runs of new-to-green (each one installs a venv)
    load_seconds: float  # one round of load on a server
    load_rounds: int


FULL = Plan(runs=7, green_runs=3, load_seconds=3, load_rounds=5)
QUICK = Plan(runs=3, green_runs=1, load_seconds=2, load_rounds=1)


class BenchError(Exception):
    """A step of the benchmark failed; the message says which, with the command's output."""


@dataclass
class Sample:
    times: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        return min(self.times)


@dataclass
class Row:
    label: str
    median: str
    best: str = ""
    target: str = ""
    met: bool | None = None  # None: no target, or nothing measured
    key: str = ""  # names the explanation RESULTS.md gives when the target is missed


@dataclass
class Section:
    key: str
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Figures the explanations of missed targets quote.
    figures: dict[str, float] = field(default_factory=dict)


def seconds(value: float) -> str:
    if value < 0.1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def times(a: float, b: float) -> str:
    return f"{a / b:.2f}x"


# ---------------------------------------------------------------------------------------------
# Running commands


class Bench:
    """The work directory, the venv flaskgen is installed in, and how commands are run."""

    def __init__(self, work: Path, plan: Plan, uv: str) -> None:
        self.work = work
        self.plan = plan
        self.uv = uv
        self.venv = work / "venv"
        self.bin = self.venv / "bin"
        self.python = str(self.bin / "python")
        self.flaskgen = str(self.bin / "flaskgen")
        self.copier = str(self.bin / "copier")
        # Set by install(): where flaskgen installs its template history (a git bundle), the
        # version `flaskgen new` renders from it, and a checkout of that version.
        self.bundle = Path()
        self.bundle_ref = ""
        self.bundled = Path()
        self.env = self._environment()
        self._names = itertools.count(1)

    def _environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in DROPPED_VARIABLES and not key.startswith(DROPPED_PREFIXES)
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        # flaskgen installs its template history under ~/.local/share: a home of the bench's own.
        home = self.work / "home"
        home.mkdir(parents=True, exist_ok=True)
        env["HOME"] = str(home)
        # Commits in the template repository and the projects, the same for every user's setup.
        gitconfig = self.work / "gitconfig"
        gitconfig.write_text(
            "[user]\n\tname = flaskgen bench\n\temail = bench@localhost\n"
            "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n",
            encoding="utf-8",
        )
        env["GIT_CONFIG_GLOBAL"] = str(gitconfig)
        env["GIT_CONFIG_NOSYSTEM"] = "1"
        env["UV_PYTHON_DOWNLOADS"] = "never"
        return env

    def run(
        self,
        args: Sequence[str | Path],
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        ok: Sequence[int] = (0,),
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        command = [str(arg) for arg in args]
        try:
            result = subprocess.run(
                command,
                cwd=cwd,
                env=env or self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BenchError(f"{' '.join(command)} took more than {timeout:.0f} s") from None
        if result.returncode not in ok:
            raise BenchError(
                f"{' '.join(command)} exited {result.returncode}\n"
                f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
            )
        return result

    def timed(
        self,
        args: Sequence[str | Path],
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> float:
        """Wall time of a command that must succeed."""
        start = time.perf_counter()
        self.run(args, cwd=cwd, env=env, timeout=timeout)
        return time.perf_counter() - start

    def fresh_dir(self, name: str) -> Path:
        """A new, empty directory for one run."""
        path = self.work / "runs" / f"{name}-{next(self._names)}"
        path.mkdir(parents=True)
        return path

    def has_command(self, name: str) -> bool:
        result = self.run([self.flaskgen, name, "--help"], ok=range(256))
        return result.returncode == 0

    def help_text(self, name: str) -> str:
        return self.run([self.flaskgen, name, "--help"]).stdout


def interleaved(commands: dict[str, Callable[[], float]], runs: int) -> dict[str, Sample]:
    """Warm each command up once, then time `runs` rounds, alternating their order.

    Alternating spreads a slow moment of the machine over every command instead of one.
    """
    for command in commands.values():
        command()
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for index in range(runs):
        names = list(commands) if index % 2 == 0 else list(reversed(commands))
        for name in names:
            samples[name].append(commands[name]())
    return {name: Sample(values) for name, values in samples.items()}


def git(bench: Bench, cwd: Path, *args: str) -> str:
    return bench.run(["git", *args], cwd=cwd).stdout


# ---------------------------------------------------------------------------------------------
# Setup


def find_uv() -> str:
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        raise SystemExit("bench/run.py needs uv: pip install uv (flaskgen's test extra has it)")
    return found


def install(bench: Bench, source: str) -> None:
    """flaskgen from `source` into a new venv, bytecode compiled as pip would leave it."""
    bench.run([bench.uv, "venv", "-q", "--python", sys.executable, bench.venv])
    bench.run(
        [bench.uv, "pip", "install", "-q", "--compile-bytecode", "--python", bench.python, source],
        timeout=900,
    )
    # The first `flaskgen new` installs the template history at ~/.local/share/flaskgen; Copier
    # then renders from the same bundle, at the version flaskgen recorded.
    first = bench.fresh_dir("install") / SLUG
    bench.run([bench.flaskgen, "new", first, "--defaults", "--quiet"])
    answers = (first / ".copier-answers.yml").read_text(encoding="utf-8")
    bench.bundle_ref = re.search(r"(?m)^_commit: *'?([^'\n]+)'?$", answers).group(1)
    bench.bundle = Path(bench.env["HOME"]) / ".local/share/flaskgen/template.bundle"
    if not bench.bundle.is_file():
        raise BenchError(f"flaskgen new installed no template history at {bench.bundle}")
    bench.bundled = bench.work / "template-checkout"
    bench.run(["git", "clone", "-q", bench.bundle, bench.bundled])
    git(bench, bench.bundled, "checkout", "-q", bench.bundle_ref)
    shutil.rmtree(first.parent)


def make_template_repo(bench: Bench) -> Path:
    """A git copy of the bundled template with two releases: v1, and v2 that changes and adds files."""
    repo = bench.work / "template-repo"
    shutil.copytree(bench.bundled, repo, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.pyc"))
    git(bench, repo, "init", "-q")
    git(bench, repo, "add", "-A")
    git(bench, repo, "commit", "-q", "-m", "v1")
    git(bench, repo, "tag", "v1")
    changed = [
        path
        for path in (repo / "template" / "README.md.jinja", repo / "template" / "gunicorn.conf.py.jinja")
        if path.is_file()
    ]
    if not changed:
        raise BenchError("the template has neither README.md.jinja nor gunicorn.conf.py.jinja to change")
    for path in changed:
        with path.open("a", encoding="utf-8") as file:
            file.write("\n# Changed in v2 of the template (flaskgen bench).\n")
    (repo / "template" / "UPGRADING.md").write_text("# Upgrading\n\nAdded in v2.\n", encoding="utf-8")
    git(bench, repo, "add", "-A")
    git(bench, repo, "commit", "-q", "-m", "v2")
    git(bench, repo, "tag", "v2")
    return repo


USER_LINE = "Our team's notes, added after generating (flaskgen bench).\n"


def make_project_v1(bench: Bench, template_repo: Path) -> Path:
    """A project generated from v1, committed, then edited and committed by its user."""
    project = bench.work / "project-v1" / SLUG
    bench.run(
        [
            bench.flaskgen,
            "new",
            project,
            "--template",
            template_repo,
            "--vcs-ref",
            "v1",
            "--defaults",
            "--quiet",
        ]
    )
    git(bench, project, "init", "-q")
    git(bench, project, "add", "-A")
    git(bench, project, "commit", "-q", "-m", "Generated by flaskgen from v1")
    readme = project / "README.md"
    readme.write_text(USER_LINE + readme.read_text(encoding="utf-8"), encoding="utf-8")
    (project / "NOTES.md").write_text("A file of the user's own.\n", encoding="utf-8")
    git(bench, project, "add", "-A")
    git(bench, project, "commit", "-q", "-m", "User edits")
    return project


# ---------------------------------------------------------------------------------------------
# flaskgen new against copier copy


def bench_new(bench: Bench) -> Section:
    section = Section("new", "flaskgen new against copier copy (bundled template, default answers, quiet)")
    files = same_output(bench)
    bytecode = [name for name in files if name.endswith(".pyc")]

    def flaskgen_new() -> float:
        where = bench.fresh_dir("new")
        elapsed = bench.timed([bench.flaskgen, "new", where / SLUG, "--defaults", "--quiet"])
        shutil.rmtree(where)
        return elapsed

    def copier_copy() -> float:
        where = bench.fresh_dir("copy")
        elapsed = bench.timed([*copier_copy_command(bench), where / SLUG])
        shutil.rmtree(where)
        return elapsed

    samples = interleaved({"flaskgen": flaskgen_new, "copier": copier_copy}, bench.plan.runs)
    flaskgen, copier = samples["flaskgen"], samples["copier"]
    ratio = flaskgen.median / copier.median
    section.figures.update(flaskgen=flaskgen.median, copier=copier.median, ratio=ratio)
    section.rows += [
        Row("`flaskgen new DEST --defaults --quiet`", seconds(flaskgen.median), seconds(flaskgen.best)),
        Row(
            "`copier copy --defaults --quiet --vcs-ref REF BUNDLE DEST`",
            seconds(copier.median),
            seconds(copier.best),
        ),
        Row(
            "flaskgen new / copier copy",
            times(flaskgen.median, copier.median),
            times(flaskgen.best, copier.best),
            "≤ 1.10x",
            round(ratio, 2) <= 1.10,
            "new",
        ),
    ]
    section.notes.append(
        "Both render the template history flaskgen installs (`~/.local/share/flaskgen/template.bundle`, "
        "a git bundle: Copier clones it) at the same version into a new folder of the same name and "
        "write the same files (checked before timing). flaskgen also refreshes the installed bundle, "
        "reads copier.yml to check the answers, renders into a staging folder and moves it into place."
    )
    if bytecode:
        section.notes.append(
            f"The project has {len(files)} files, {len(bytecode)} of them `.pyc` files that the install "
            "compiled inside the bundled template's `__pycache__` folders and both tools copied: "
            "copier.yml sets no `_exclude`, and with `_subdirectory` Copier's default one does not "
            "apply. Excluding `__pycache__` and `*.pyc` would keep them out of every project."
        )
    return section


def copier_copy_command(bench: Bench) -> list[str | Path]:
    """Plain Copier rendering what `flaskgen new` renders: the same bundle, the same version."""
    return [bench.copier, "copy", "--defaults", "--quiet", "--vcs-ref", bench.bundle_ref, bench.bundle]


def same_output(bench: Bench) -> list[str]:
    """Refuse to compare flaskgen with Copier unless both write the same project; its files."""
    ours = bench.fresh_dir("same-flaskgen") / SLUG
    theirs = bench.fresh_dir("same-copier") / SLUG
    bench.run([bench.flaskgen, "new", ours, "--defaults", "--quiet"])
    bench.run([*copier_copy_command(bench), theirs])
    a, b = files_of(ours), files_of(theirs)
    differ = sorted(name for name in a.keys() | b.keys() if a.get(name) != b.get(name))
    if differ:
        raise BenchError(f"flaskgen new and copier copy wrote different projects: {', '.join(differ[:10])}")
    shutil.rmtree(ours.parent)
    shutil.rmtree(theirs.parent)
    return sorted(a)


def files_of(root: Path) -> dict[str, bytes]:
    files = {}
    for path in root.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            if path.name == ".copier-answers.yml":  # the template's path may be written differently
                content = re.sub(rb"(?m)^_src_path:.*$", b"", content)
            files[str(path.relative_to(root))] = content
    return files


# ---------------------------------------------------------------------------------------------
# Start-up


def bench_startup(bench: Bench) -> Section:
    section = Section("startup", "Start-up")
    commands = {
        "python": [bench.python, "-c", "pass"],
        "help": [bench.flaskgen, "--help"],
        "import-cli": [bench.python, "-c", "import flaskgen.cli"],
        "import-copier": [bench.python, "-c", "import copier"],
        "copier-help": [bench.copier, "--help"],
    }
    samples = interleaved(
        {name: (lambda args=args: bench.timed(args)) for name, args in commands.items()},
        bench.plan.runs * 2,
    )
    help_time = samples["help"].median
    section.figures.update(
        help=help_time,
        python=samples["python"].median,
        import_cli=samples["import-cli"].median,
        import_copier=samples["import-copier"].median,
    )
    rows = [
        ("python", "`python -c pass` (the interpreter alone)", "", None, ""),
        ("help", "`flaskgen --help`", "≤ 0.20 s", help_time <= 0.2, "help"),
        ("import-cli", "`python -c 'import flaskgen.cli'` (Typer, no Copier)", "", None, ""),
        ("import-copier", "`python -c 'import copier'`", "", None, ""),
        ("copier-help", "`copier --help` (for comparison)", "", None, ""),
    ]
    for name, label, target, met, key in rows:
        sample = samples[name]
        section.rows.append(Row(label, seconds(sample.median), seconds(sample.best), target, met, key))
    return section


# ---------------------------------------------------------------------------------------------
# Update and check


def bench_update(bench: Bench, template_repo: Path, project_v1: Path) -> Section:
    section = Section("update", "flaskgen update against copier update (v1 to v2, same project)")
    projects = {}
    for tool in ("flaskgen", "copier"):
        projects[tool] = bench.work / f"update-{tool}" / SLUG
        shutil.copytree(project_v1, projects[tool], symlinks=True)

    def reset(project: Path) -> None:
        git(bench, project, "reset", "-q", "--hard")
        git(bench, project, "clean", "-q", "-fdx")

    def updated(project: Path, tool: str) -> None:
        answers = (project / ".copier-answers.yml").read_text(encoding="utf-8")
        readme = (project / "README.md").read_text(encoding="utf-8")
        if (
            "_commit: v2" not in answers
            or USER_LINE not in readme
            or not (project / "UPGRADING.md").is_file()
        ):
            raise BenchError(f"{tool} update did not bring the project to v2 with the user's edit kept")

    def run_update(tool: str, args: list[str | Path]) -> Callable[[], float]:
        def once() -> float:
            reset(projects[tool])
            elapsed = bench.timed(args, cwd=projects[tool])
            updated(projects[tool], tool)
            return elapsed

        return once

    copier_args: list[str | Path] = [bench.copier, "update", "--defaults", "--quiet", "--vcs-ref", "v2"]
    copier_args += ["--conflict", "inline", projects["copier"]]
    commands = {"copier": run_update("copier", copier_args)}
    available = bench.has_command("update")
    if available:
        flaskgen_args: list[str | Path] = [bench.flaskgen, "update", projects["flaskgen"], "--defaults"]
        flaskgen_args += ["--vcs-ref", "v2", "--conflict", "inline"]
        if "--quiet" in bench.help_text("update"):
            flaskgen_args.append("--quiet")
        commands = {"flaskgen": run_update("flaskgen", flaskgen_args), **commands}
    samples = interleaved(commands, bench.plan.runs)
    copier = samples["copier"]
    copier_row = Row(
        "`copier update --defaults --quiet --vcs-ref v2`", seconds(copier.median), seconds(copier.best)
    )
    if available:
        flaskgen = samples["flaskgen"]
        ratio = flaskgen.median / copier.median
        section.figures.update(flaskgen=flaskgen.median, copier=copier.median, ratio=ratio)
        section.rows += [
            Row(
                "`flaskgen update PATH --defaults --vcs-ref v2`",
                seconds(flaskgen.median),
                seconds(flaskgen.best),
            ),
            copier_row,
            Row(
                "flaskgen update / copier update",
                times(flaskgen.median, copier.median),
                times(flaskgen.best, copier.best),
                "≤ 1.10x",
                round(ratio, 2) <= 1.10,
                "update",
            ),
        ]
    else:
        section.rows += [
            Row("`flaskgen update PATH --defaults --vcs-ref v2`", "not available in this flaskgen"),
            copier_row,
            Row("flaskgen update / copier update", "not available in this flaskgen", target="≤ 1.10x"),
        ]
    section.notes.append(
        "The project was generated from tag v1 of a git copy of the template, committed, and "
        "edited by its user (a line in README.md, a file of their own). v2 changes README.md and "
        "gunicorn.conf.py and adds a file. Each run starts from the committed v1 state "
        "(`git reset --hard && git clean -fdx`, not timed) and is checked to end at v2 with the "
        "user's edit kept."
    )
    return section


def bench_check(bench: Bench, project_v1: Path) -> Section:
    section = Section(
        "check", f"flaskgen check over 1 and {CHECKED_PROJECTS} projects (each behind: v1 of v2)"
    )
    projects = []
    for index in range(1, CHECKED_PROJECTS + 1):
        project = bench.work / "check" / f"p{index:02d}" / SLUG
        shutil.copytree(project_v1, project, symlinks=True)
        projects.append(project)

    def copier_check() -> float:
        return bench.timed([bench.copier, "check-update", "--output-format", "json", projects[0]])

    commands: dict[str, Callable[[], float]] = {"copier": copier_check}
    available = bench.has_command("check")
    if available:
        exit_codes: set[int] = set()

        def flaskgen_check(paths: list[Path]) -> Callable[[], float]:
            def once() -> float:
                start = time.perf_counter()
                result = bench.run([bench.flaskgen, "check", *paths], ok=(0, 1))
                elapsed = time.perf_counter() - start
                exit_codes.add(result.returncode)
                return elapsed

            return once

        commands = {
            "one": flaskgen_check(projects[:1]),
            "all": flaskgen_check(projects),
            **commands,
        }
    samples = interleaved(commands, bench.plan.runs)
    copier = samples["copier"]
    copier_row = Row(
        "`copier check-update --output-format json` of 1 project (for comparison)",
        seconds(copier.median),
        seconds(copier.best),
    )
    n = CHECKED_PROJECTS
    if available:
        one, every = samples["one"], samples["all"]
        per_project = (every.median - one.median) / (n - 1)
        section.figures.update(one=one.median, all=every.median, per_project=per_project)
        section.rows += [
            Row("`flaskgen check` of 1 project", seconds(one.median), seconds(one.best)),
            Row(f"`flaskgen check` of {n} projects", seconds(every.median), seconds(every.best)),
            Row(
                f"per project after the first: (time of {n} - time of 1) / {n - 1}",
                seconds(per_project),
                seconds(max((every.best - one.best) / (n - 1), 0)),
            ),
            Row(f"{n} projects / 1 project", times(every.median, one.median), times(every.best, one.best)),
            copier_row,
            Row(
                f"{n} x copier check-update, one process each (computed)",
                seconds(n * copier.median),
                seconds(n * copier.best),
            ),
        ]
        if exit_codes != {1}:
            section.notes.append(
                f"flaskgen check exited {sorted(exit_codes)}; every project is behind, so 1 was expected."
            )
    else:
        section.rows += [
            Row("`flaskgen check` of 1 project", "not available in this flaskgen"),
            Row(f"`flaskgen check` of {n} projects", "not available in this flaskgen"),
            copier_row,
        ]
    section.notes.append(
        f"The {n} projects are copies of one git project generated from v1 of the template "
        "repository that also has v2, so each is behind."
    )
    return section


# ---------------------------------------------------------------------------------------------
# The generated project: its tests, and from `flaskgen new` to green tests


def make_project_venv(bench: Bench, project: Path) -> None:
    """The project's requirements-dev.txt in .venv, compiled; this also warms uv's cache."""
    venv = project / ".venv"
    python = venv / "bin" / "python"
    requirements = project / "requirements-dev.txt"
    bench.run([bench.uv, "venv", "-q", "--python", sys.executable, venv])
    bench.run(
        [bench.uv, "pip", "install", "-q", "--compile-bytecode", "--python", python, "-r", requirements],
        timeout=900,
    )


def bench_project(bench: Bench, project: Path) -> Section:
    section = Section("project", "The generated project (default answers)")
    venv = project / ".venv"
    env = dict(bench.env, PATH=f"{venv / 'bin'}{os.pathsep}{bench.env['PATH']}", VIRTUAL_ENV=str(venv))
    summary = ""

    def tests() -> float:
        nonlocal summary
        start = time.perf_counter()
        result = bench.run([venv / "bin" / "python", "-m", "pytest", "-q"], cwd=project, env=env)
        elapsed = time.perf_counter() - start
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        return elapsed

    suite = interleaved({"tests": tests}, bench.plan.runs)["tests"]
    section.figures.update(tests=suite.median)
    section.rows.append(
        Row(
            "`python -m pytest -q` in the project (compiled venv)",
            seconds(suite.median),
            seconds(suite.best),
            "≤ 3.00 s",
            suite.median <= 3.0,
            "tests",
        )
    )
    section.notes.append(f"The project's test suite: {summary.strip('= ')}.")

    steps = ("new", "venv", "install", "tests")
    runs: dict[str, list[float]] = {step: [] for step in (*steps, "total")}
    for index in range(bench.plan.green_runs + 1):  # the first one warms up
        measured = new_to_green(bench)
        if index == 0:
            continue
        for step, value in zip(steps, measured, strict=True):
            runs[step].append(value)
        runs["total"].append(sum(measured))
    total = Sample(runs["total"])
    section.figures.update(green=total.median)
    section.rows.append(
        Row(
            "`flaskgen new` to green tests with uv (warm uv cache)",
            seconds(total.median),
            seconds(total.best),
        )
    )
    labels = {
        "new": "`flaskgen new DEST --defaults --quiet`",
        "venv": "`uv venv .venv`",
        "install": "`uv pip install -r requirements-dev.txt`",
        "tests": "`python -m pytest -q`, first run",
    }
    for step in steps:
        sample = Sample(runs[step])
        section.rows.append(Row(f"… of which {labels[step]}", seconds(sample.median), seconds(sample.best)))
    section.notes.append(
        "New to green: the four commands a uv user runs, each run in a new folder, with uv's "
        "cache warm (the same requirements were installed just before) and uv's defaults, so "
        "nothing is byte-compiled at install and the first test run compiles what it imports."
    )
    return section


def new_to_green(bench: Bench) -> tuple[float, float, float, float]:
    project = bench.fresh_dir("green") / SLUG
    venv = project / ".venv"
    env = dict(bench.env, PATH=f"{venv / 'bin'}{os.pathsep}{bench.env['PATH']}", VIRTUAL_ENV=str(venv))
    new = bench.timed([bench.flaskgen, "new", project, "--defaults", "--quiet"])
    make_venv = bench.timed([bench.uv, "venv", "-q", "--python", sys.executable, venv], cwd=project)
    install = bench.timed(
        [bench.uv, "pip", "install", "-q", "-r", "requirements-dev.txt"], cwd=project, env=env, timeout=900
    )
    tests = bench.timed([venv / "bin" / "python", "-m", "pytest", "-q"], cwd=project, env=env)
    shutil.rmtree(project.parent)
    return new, make_venv, install, tests


# ---------------------------------------------------------------------------------------------
# The generated app under Gunicorn against a bare Flask app

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


@dataclass
class Load:
    ok: int
    errors: int
    wall: float
    client_cpu: float  # CPU seconds the load generator used
    server_cpu: float  # CPU seconds Gunicorn's master and workers used

    @property
    def rps(self) -> float:
        return self.ok / self.wall

    @property
    def per_cpu(self) -> float:
        return self.ok / self.server_cpu if self.server_cpu else 0.0


class LoadGenerator:
    """GET requests on 127.0.0.1 for a bounded time: wrk when asked or installed, else Python threads."""

    MAX_REQUESTS_PER_CONNECTION = 2_000_000

    def __init__(self, kind: str, connections: int) -> None:
        wrk = shutil.which("wrk")
        if kind == "wrk" and not wrk:
            raise SystemExit("--load wrk: wrk is not installed (apt-get install wrk)")
        self.wrk = wrk if kind in ("wrk", "auto") else None
        self.connections = connections

    @property
    def description(self) -> str:
        if self.wrk:
            return f"wrk, 2 threads, {self.connections} connections"
        return f"Python http.client, {self.connections} threads each with its own connection"

    def run(self, port: int, path: str, duration: float, server_pids: Callable[[], list[int]]) -> Load:
        server_before = cpu_of(server_pids())
        if self.wrk:
            ok, errors, wall, client = self._wrk(port, path, duration)
        else:
            ok, errors, wall, client = self._python(port, path, duration)
        server = cpu_of(server_pids()) - server_before
        return Load(ok, errors, wall, client, server)

    def _wrk(self, port: int, path: str, duration: float) -> tuple[int, int, float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        args = [self.wrk or "wrk", "-t2", f"-c{self.connections}", f"-d{max(1, round(duration))}s"]
        result = subprocess.run(
            [*args, f"http://127.0.0.1:{port}{path}"],
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=False,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode != 0:
            raise BenchError(f"wrk exited {result.returncode}: {result.stderr or result.stdout}")
        requests = re.search(r"(\d+) requests in ([\d.]+)(\w+)", result.stdout)
        if requests is None:
            raise BenchError(f"cannot read wrk's output:\n{result.stdout}")
        unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[requests[3]]
        found = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
        non_2xx = int(found[1]) if found else 0
        # Read errors are left out: a sync worker closes every connection after its response.
        found = re.search(
            r"Socket errors: connect (\d+), read \d+, write (\d+), timeout (\d+)", result.stdout
        )
        socket_errors = sum(int(count) for count in found.groups()) if found else 0
        client = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        total = int(requests[1])
        return total - non_2xx, non_2xx + socket_errors, float(requests[2]) * unit, client

    def _python(self, port: int, path: str, duration: float) -> tuple[int, int, float, float]:
        counts = [(0, 0)] * self.connections
        deadline = time.monotonic() + duration

        def client(index: int) -> None:
            ok = errors = 0
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                for _ in range(self.MAX_REQUESTS_PER_CONNECTION):
                    if time.monotonic() >= deadline:
                        break
                    try:
                        connection.request("GET", path)
                        response = connection.getresponse()
                        response.read()
                    except (OSError, http.client.HTTPException):
                        errors += 1
                        connection.close()  # the next request reconnects
                        continue
                    if response.status == 200:
                        ok += 1
                    else:
                        errors += 1
            finally:
                connection.close()
                counts[index] = (ok, errors)

        cpu_before = time.process_time()
        start = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(self.connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=duration + 30)
        wall = time.perf_counter() - start
        client_cpu = time.process_time() - cpu_before
        return sum(c[0] for c in counts), sum(c[1] for c in counts), wall, client_cpu


def cpu_of(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes used so far; gone processes count 0."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def children_of(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
                if int(fields[1]) == pid:
                    children.append(int(entry))
    return children


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_request(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@contextlib.contextmanager
def serving(args: list[str | Path], cwd: Path, env: dict[str, str], port: int, log: Path) -> Iterator[int]:
    """Run a Gunicorn until the block ends; yields its master's pid once /healthz answers."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(arg) for arg in args],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the script, which stops the server itself
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise BenchError(f"{args} exited {process.returncode}:\n{tail(log)}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if http_request(port, "GET", "/healthz")[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise BenchError(f"{args} did not answer on 127.0.0.1:{port} within 60 s:\n{tail(log)}")
            time.sleep(0.2)
        if "0.0.0.0" in log.read_text(encoding="utf-8", errors="replace"):
            raise BenchError(f"{args} listens beyond 127.0.0.1:\n{tail(log)}")
        # Workers answer as soon as one is up: wait for all of them (bounded).
        for _ in range(100):
            if len(children_of(process.pid)) >= WEB_CONCURRENCY:
                break
            time.sleep(0.1)
        yield process.pid
    finally:
        if process.poll() is None:
            process.terminate()  # SIGTERM: Gunicorn's graceful stop
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-3000:]


PER_REQUEST = """
import importlib.util, json, sys, time

from {slug} import create_app
import bare_app

# The bare app again, with a SECRET_KEY: Flask then opens and saves a cookie session per request.
spec = importlib.util.spec_from_file_location("bare_app_keyed", "bare_app.py")
keyed = importlib.util.module_from_spec(spec)
spec.loader.exec_module(keyed)
keyed.app.config["SECRET_KEY"] = "k" * 64

clients = {{
    "generated": create_app().test_client(),
    "bare": bare_app.app.test_client(),
    "keyed": keyed.app.test_client(),
}}
count = int(sys.argv[1])
result = {{}}
for path in ("/healthz", "/api/users"):
    batches = {{name: [] for name in clients}}
    for client in clients.values():
        client.get(path)
    for _ in range(7):
        for name, client in clients.items():
            start = time.perf_counter()
            for _ in range(count):
                client.get(path)
            batches[name].append((time.perf_counter() - start) / count)
    for name in clients:  # the fastest batch: other processes only ever add time
        result[name + " " + path] = min(batches[name])
print(json.dumps(result))
"""


def bench_server(bench: Bench, project: Path, load: LoadGenerator) -> Section:
    title = f"The generated app under Gunicorn ({WEB_CONCURRENCY} workers) against a bare Flask app"
    section = Section("server", title)
    venv_bin = project / ".venv" / "bin"
    env = dict(
        bench.env,
        PATH=f"{venv_bin}{os.pathsep}{bench.env['PATH']}",
        VIRTUAL_ENV=str(project / ".venv"),
        APP_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        WEB_CONCURRENCY=str(WEB_CONCURRENCY),
        FLASK_APP=SLUG,
    )
    shutil.rmtree(project / "instance", ignore_errors=True)
    bench.run([venv_bin / "flask", "db", "upgrade"], cwd=project, env=env)
    (project / "bare_app.py").write_text(BARE_APP, encoding="utf-8")

    # The Dockerfile's command; --bind keeps each server on the loopback interface.
    ports = {name: free_port() for name in ("generated", "bare", "plain")}
    config = ["--config", "gunicorn.conf.py"]
    bind = {name: ["--bind", f"127.0.0.1:{port}"] for name, port in ports.items()}
    gunicorn = venv_bin / "gunicorn"
    servers = {
        "generated": [gunicorn, *config, *bind["generated"]],
        "bare": [gunicorn, *config, *bind["bare"], "bare_app:app"],
        "plain": [gunicorn, "--workers", str(WEB_CONCURRENCY), *bind["plain"], "bare_app:app"],
    }
    paths = ("/healthz", "/api/users")
    results: dict[tuple[str, str], list[Load]] = {(name, path): [] for name in servers for path in paths}
    with contextlib.ExitStack() as stack:
        pids = {}
        for name, args in servers.items():
            if name == "bare":  # the bare app serves the users the generated app stored
                (project / "bare_users.json").write_bytes(create_users(ports["generated"]))
            log = bench.work / f"gunicorn-{name}.log"
            pids[name] = stack.enter_context(
                serving(args, project, dict(env, PORT=str(ports[name])), ports[name], log)
            )
        for name in ("bare", "plain"):
            check_bare(ports[name], project / "bare_users.json")
        # All three servers run at once and take turns, so a busy moment hits each of them.
        for path in paths:
            for name in servers:
                load.run(ports[name], path, 1.0, lambda pid=pids[name]: [pid, *children_of(pid)])
            for index in range(bench.plan.load_rounds):
                order = list(servers) if index % 2 == 0 else list(reversed(servers))
                for name in order:
                    results[name, path].append(
                        load.run(
                            ports[name],
                            path,
                            bench.plan.load_seconds,
                            lambda pid=pids[name]: [pid, *children_of(pid)],
                        )
                    )
    per_request = json.loads(
        bench.run(
            [
                venv_bin / "python",
                "-c",
                PER_REQUEST.format(slug=SLUG),
                "200" if bench.plan is QUICK else "500",
            ],
            cwd=project,
            env=env,
        ).stdout
    )

    for path in paths:
        key = "healthz" if path == "/healthz" else "users"
        rps = {name: statistics.median(r.rps for r in results[name, path]) for name in servers}
        best = {name: max(r.rps for r in results[name, path]) for name in servers}
        per_cpu = {name: statistics.median(r.per_cpu for r in results[name, path]) for name in servers}
        ratio = rps["generated"] / rps["bare"]
        app_time = {name: per_request[f"{name} {path}"] for name in ("generated", "bare")}
        section.figures.update(
            {
                f"{key}_ratio": ratio,
                f"{key}_cpu_ratio": per_cpu["generated"] / per_cpu["bare"],
                f"{key}_generated_us": app_time["generated"] * 1e6,
                f"{key}_bare_us": app_time["bare"] * 1e6,
                f"{key}_client_cpu": statistics.median(
                    r.client_cpu / r.wall for name in servers for r in results[name, path]
                ),
            }
        )
        section.rows += [
            Row(
                f"generated app, GET {path}",
                f"{rps['generated']:.0f} req/s",
                f"{best['generated']:.0f} req/s",
            ),
            Row(
                f"bare app, same gunicorn.conf.py, GET {path}",
                f"{rps['bare']:.0f} req/s",
                f"{best['bare']:.0f} req/s",
            ),
            Row(
                f"generated / bare, GET {path}",
                f"{ratio:.2f}",
                f"{best['generated'] / best['bare']:.2f}",
                "≥ 0.85",
                round(ratio, 2) >= 0.85,
                key,
            ),
            Row(
                f"generated / bare, requests per server CPU-second, GET {path}",
                f"{per_cpu['generated'] / per_cpu['bare']:.2f}",
            ),
            Row(
                f"generated / bare, app time per request in-process (Flask test client), GET {path}",
                f"{app_time['generated'] * 1e6:.0f} / {app_time['bare'] * 1e6:.0f} µs",
            ),
            Row(
                f"bare app, plain `gunicorn -w {WEB_CONCURRENCY}` (no access log), GET {path}",
                f"{rps['plain']:.0f} req/s",
                f"{best['plain']:.0f} req/s",
            ),
        ]
        if key == "healthz":
            section.figures["keyed_us"] = per_request["keyed /healthz"] * 1e6
            section.rows.append(
                Row(
                    "bare app with a SECRET_KEY (so a cookie session), in-process, GET /healthz",
                    f"{section.figures['keyed_us']:.0f} µs",
                )
            )
        errors = sum(r.errors for name in servers for r in results[name, path])
        if errors:
            section.notes.append(f"GET {path}: {errors} failed requests over all rounds.")
    client_cpu = max(section.figures["healthz_client_cpu"], section.figures["users_client_cpu"])
    section.notes += [
        f"Load: {load.description}; per server and path, a 1 s warm-up then "
        f"{bench.plan.load_rounds} round(s) of {bench.plan.load_seconds:g} s, the three servers "
        "running at once and taking turns. The best column shows the best round. The load "
        f"generator shares the machine's {os.cpu_count()} CPUs with the servers and used up to "
        f"{client_cpu:.0%} of one CPU.",
        "Servers: `gunicorn --config gunicorn.conf.py` as in the Dockerfile (APP_ENV=production, "
        f"SECRET_KEY set, WEB_CONCURRENCY={WEB_CONCURRENCY}, SQLite after `flask db upgrade`, "
        f"{USERS} users created), plus `--bind 127.0.0.1:PORT` to stay on the loopback interface. "
        "The bare app runs under the same command and configuration file (same workers, JSON "
        "access log, timeouts) and returns the same JSON from memory; only the WSGI app differs.",
        "Requests per server CPU-second divide the requests by the CPU time of Gunicorn's master "
        "and workers, and the in-process figures time the apps alone through Flask's test client "
        "(the fastest of 7 batches): both compare the apps' cost per request even when other "
        "processes take CPU.",
    ]
    if not load.wrk and client_cpu >= 0.9:
        section.notes.append(
            "The Python load generator was busy for a whole CPU (its threads share one interpreter "
            "lock): the requests per second above measure the client as much as the servers and "
            "bring the ratios closer to 1. Install wrk for server-bound figures."
        )
    return section


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


# ---------------------------------------------------------------------------------------------
# The machine, and RESULTS.md


def machine(bench: Bench, source: str) -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    model = re.search(r"(?m)^model name\s*:\s*(.+)$", cpuinfo)
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8")
    memory = re.search(r"(?m)^MemTotal:\s*(\d+) kB", meminfo)
    versions = json.loads(
        bench.run(
            [
                bench.python,
                "-c",
                "import importlib.metadata as m, json, platform; "
                "print(json.dumps({'python': platform.python_version(), "
                "**{n: m.version(n) for n in ('flaskgen', 'copier', 'typer')}}))",
            ]
        ).stdout
    )
    described = bench.run(["git", "-C", source, "describe", "--always", "--dirty"], ok=range(256))
    origin = f"checkout {described.stdout.strip()}" if described.returncode == 0 else source
    return {
        "CPU": model[1].strip() if model else platform.processor() or "unknown",
        "cores": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable by this process)",
        "memory": f"{int(memory[1]) / 1024**2:.1f} GiB" if memory else "unknown",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": versions["python"],
        "flaskgen": f"{versions['flaskgen']} ({origin})",
        "copier": versions["copier"],
        "typer": versions["typer"],
        "uv": bench.run([bench.uv, "--version"]).stdout.strip().removeprefix("uv "),
    }


def cpu_busy() -> float:
    """CPU seconds the whole machine has been busy, from /proc/stat."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / CLK_TCK


def own_cpu() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def explanation(key: str, section: Section) -> str:
    """Why a figure missed its target and what would fix it.

    The figures come from this run; the causes were found with cProfile and -X importtime
    when the benchmark was written, and are worth re-checking when a figure moves.
    """
    f = section.figures
    if key == "new":
        return (
            f"flaskgen new took {f['flaskgen']:.3f} s against {f['copier']:.3f} s for copier copy. "
            "Before Copier runs, flaskgen imports Typer (its CLI layer: compare `import "
            "flaskgen.cli` with the bare interpreter in the start-up table), parses copier.yml "
            "with PyYAML's pure-Python loader to check the answers (Copier parses it again), "
            "runs `git rev-parse` once, and moves the staging folder into place. Recent Typer also "
            "builds a pydantic TypeAdapter per option on first use. Fixes, largest first: parse "
            "copier.yml with `yaml.CSafeLoader` when libyaml is there (several times faster), or "
            "check the answers against the questionnaire Copier loads instead of parsing twice; "
            "give `new` fewer typed options."
        )
    if key == "help":
        return (
            f"`flaskgen --help` took {f['help']:.3f} s: the interpreter alone {f['python']:.3f} s, "
            f"importing the CLI module {f['import_cli']:.3f} s. Keep Copier, YAML and Rich out of "
            "the CLI module's imports (commands import them when they run) and look at "
            "`python -X importtime -m flaskgen --help` for what crept in."
        )
    if key == "update":
        return (
            f"flaskgen update took {f['flaskgen']:.3f} s against {f['copier']:.3f} s for copier "
            "update. Copier's own update renders the template twice in temporary git "
            "repositories; what flaskgen adds runs before it: git subprocesses (status, tags, "
            "rev-parse) of a few milliseconds each and, if it reads copier.yml itself, about "
            "15 ms to parse it with PyYAML. "
            "Profile with `python -m cProfile -s cumtime -m flaskgen update ...` and drop "
            "duplicated git calls and parses."
        )
    if key == "tests":
        return (
            f"The project's tests took {f['tests']:.3f} s. Most of a run of this suite is start-up "
            "(importing pytest, Flask, SQLAlchemy and Alembic); see `pytest --durations=10` for "
            "tests that grew slow, and keep migration round trips on one in-memory database."
        )
    if key == "healthz":
        session = max(f["keyed_us"] - f["healthz_bare_us"], 0)
        return (
            f"The generated app served {f['healthz_ratio']:.2f} of the bare app's requests per "
            f"second on /healthz and {f['healthz_cpu_ratio']:.2f} of its requests per server "
            f"CPU-second. In-process it takes {f['healthz_generated_us']:.0f} µs a request against "
            f"{f['healthz_bare_us']:.0f} µs. The difference is Flask's cookie session, which "
            f"SECRET_KEY switches on ({session:.0f} µs here: the bare app with a key takes "
            f"{f['keyed_us']:.0f} µs; every request builds an itsdangerous serializer and looks "
            "for the session cookie), and Flask-SQLAlchemy's session teardown (the rest). Under "
            "Gunicorn that is a smaller share of a request; on a busy machine the requests per "
            "second also move with other processes' load, which the per-CPU-second ratio "
            "discounts. What would close the gap: a JSON API that never uses `flask.session` "
            "could set `app.session_interface` to one that opens no session; nothing else the "
            "generated app does per request costs measurably in-process."
        )
    if key == "users":
        return (
            f"The generated app served {f['users_ratio']:.2f} of the bare app's requests per second "
            f"on GET /api/users and {f['users_cpu_ratio']:.2f} of its requests per server "
            f"CPU-second. In-process it takes {f['users_generated_us']:.0f} µs a request against "
            f"{f['users_bare_us']:.0f} µs: the bare app returns the JSON from memory, the "
            "generated one reads the database through SQLAlchemy's ORM on every request, which "
            "is what the endpoint is for. cProfile splits that time into the session around any "
            "query (a pooled SQLite connection, a transaction, closing it at teardown: about "
            "100 µs), building the SELECT and its cache key on every call (about 130 µs), and "
            "loading and serialising the users. No app that queries its database per request "
            "reaches 0.85 of one that does not. What would bring it closer: build the statement "
            "once with `bindparam()` for limit and offset (about 20% less per request when "
            "measured), select the four columns rather than whole User objects (about 10%), or "
            "cache the list until the next POST."
        )
    return ""


def render_results(
    sections: list[Section],
    failures: dict[str, str],
    info: dict[str, str],
    *,
    started: datetime.datetime,
    elapsed: float,
    plan: Plan,
    quick: bool,
    noise: str,
    load: LoadGenerator,
) -> str:
    lines = [
        "# flaskgen benchmarks",
        "",
        f"Written by `python bench/run.py{' --quick' if quick else ''}` on "
        f"{started:%Y-%m-%d %H:%M} UTC; the run took {elapsed / 60:.1f} minutes. Run it again to "
        "refresh this file: figures compare only on one machine, and targets are goals, not tests.",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {name} | {value} |" for name, value in info.items()),
        f"| load generator | {load.description} |",
        f"| noise | {noise} |",
        "",
        f"Each command ran once to warm up, then {plan.runs} times (flaskgen and Copier alternating; "
        f"new-to-green {plan.green_runs} times; servers as said below). **median** is the figure, "
        "**best** the fastest run (the minimum): where the two are far apart the machine was "
        "busy. flaskgen was installed with `uv pip install --compile-bytecode` into a new venv "
        "and every command ran without `PYTHONDONTWRITEBYTECODE`, as on a user's machine. "
        "Targets are judged on the median, at the precision shown.",
        "",
    ]
    missed = []
    for section in sections:
        lines += [f"## {section.title}", "", *table(section.rows), ""]
        lines += [f"- {note}" for note in section.notes]
        lines.append("")
        missed += [(row, section) for row in section.rows if row.met is False]
    for key, message in failures.items():
        lines += [f"## {key}: failed", "", "```", message.strip(), "```", ""]
    lines += ["## Targets missed", ""]
    if missed:
        for row, section in missed:
            lines += [
                f"- **{row.label}** ({row.median}, target {row.target}): {explanation(row.key, section)}"
            ]
    else:
        lines.append("None on this run: every measured figure met its target.")
    lines.append("")
    return "\n".join(lines)


def table(rows: list[Row]) -> list[str]:
    out = ["| measurement | median | best | target | met |", "| --- | ---: | ---: | --- | --- |"]
    for row in rows:
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        out.append(f"| {row.label} | {row.median} | {row.best} | {row.target} | {met} |")
    return out


# ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and shorter loads")
    parser.add_argument(
        "--source",
        default=str(REPO_ROOT),
        help="what to install as flaskgen: a checkout, a wheel or a git URL (default: this checkout)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="run only this part (repeatable); RESULTS.md is then not written unless --output is given",
    )
    parser.add_argument(
        "--load",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator for the server figures (auto: wrk if installed, else Python threads)",
    )
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections of the load")
    parser.add_argument("--output", type=Path, help=f"where to write the results (default {RESULTS})")
    parser.add_argument("--keep", action="store_true", help="keep the work directory under /tmp")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    only = set(args.only or SECTIONS)
    output = args.output or (RESULTS if not args.only else None)
    load = LoadGenerator(args.load, args.connections)
    started = datetime.datetime.now(datetime.UTC)
    start = time.monotonic()
    busy_before = cpu_busy()
    own_before = own_cpu()
    load_before = os.getloadavg()

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    uv = find_uv()
    work = Path(tempfile.mkdtemp(prefix="flaskgen-bench-"))
    bench = Bench(work, plan, uv)
    sections: list[Section] = []
    failures: dict[str, str] = {}

    def attempt(key: str, run: Callable[[], Section | None]) -> None:
        if key not in only:
            return
        print(f"[{time.monotonic() - start:5.0f} s] {key} ...", flush=True)
        try:
            section = run()
        except BenchError as exc:
            failures[key] = str(exc)
            print(f"  failed: {exc}", file=sys.stderr, flush=True)
            return
        if section is not None:
            sections.append(section)
            print("\n".join(table(section.rows)), flush=True)

    try:
        print(f"Installing flaskgen from {args.source} into {bench.venv} ...", flush=True)
        install(bench, args.source)
        info = machine(bench, args.source)
        attempt("new", lambda: bench_new(bench))
        attempt("startup", lambda: bench_startup(bench))
        if only & {"update", "check"}:
            try:
                template_repo = make_template_repo(bench)
                project_v1 = make_project_v1(bench, template_repo)
            except BenchError as exc:
                failures["update and check: setup"] = str(exc)
            else:
                attempt("update", lambda: bench_update(bench, template_repo, project_v1))
                attempt("check", lambda: bench_check(bench, project_v1))
        if only & {"project", "server"}:
            project = bench.work / "app" / SLUG
            try:
                bench.run([bench.flaskgen, "new", project, "--defaults", "--quiet"])
                make_project_venv(bench, project)
            except BenchError as exc:
                failures["project and server: setup"] = str(exc)
            else:
                attempt("project", lambda: bench_project(bench, project))
                attempt("server", lambda: bench_server(bench, project, load))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BenchError as exc:
        print(f"bench/run.py: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    elapsed = time.monotonic() - start
    busy_after = cpu_busy()
    others = max(0.0, (busy_after - busy_before) - (own_cpu() - own_before))
    load_after = os.getloadavg()
    share = others / (elapsed * (os.cpu_count() or 1))
    noise = (
        f"other processes used {share:.0%} of the CPUs during the run; 1-minute load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    if share > 0.1:
        noise += " (a shared machine: figures near a target may land on either side on a quieter run)"
    print(f"\nDone in {elapsed:.0f} s; {noise}.")
    if output is not None:
        text = render_results(
            sections,
            failures,
            info,
            started=started,
            elapsed=elapsed,
            plan=plan,
            quick=args.quick,
            noise=noise,
            load=load,
        )
        output.write_text(text, encoding="utf-8")
        print(f"Wrote {output}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
