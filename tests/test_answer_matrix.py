"""Every combination of the pairwise answer matrix (tests/answer_matrix.py, read from copier.yml),
rendered, installed, linted, migrated and tested for real, the way the project's own CI would.

Each combination runs the steps of `run_steps` in order, on the Python its python_version answer
names, against a fresh database on the machine's server for its database answer (and the
machine's RabbitMQ when it has one). Combinations whose apps are the same (every file but the
deployment files, and the Python: `app_fingerprint`) differ only in what the artifact linters
and the conflict-marker hook read: the app's steps (install, ruff, mypy, openapi.json, the lock
checks, migrations, the suite) run for the first of them, and the others run those two and take
its verdict. The combinations of an app are one xdist group, so that the workers run apps side
by side (and beside the other long tests); they share one venv per Python and dependency set
(conftest.py's venv_for) and mypy's cache of the installed packages. A failure names the
combination and the step.
"""

from __future__ import annotations

import fnmatch
import hashlib
import itertools
import json
import secrets
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

import answer_matrix
from support import (
    PYTHON_VERSIONS,
    MypyCache,
    ProjectVenv,
    VenvFor,
    interpreter,
    require_server,
    tool,
    version_key,
)
from test_databases import ADMIN_SCRIPT, SERVER_URLS

COMBINATIONS = answer_matrix.combinations()
# The name of the property a combination's test records: the combination whose run of the
# app's steps it took (None when it ran them), for the run's summary.
APP_OF = "app_of"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
REDIS_URL = "redis://127.0.0.1:6379/0"
# The project's hooks (.pre-commit-config.yaml), id: name; each must run and pass.
PRE_COMMIT_HOOKS = {
    "conflict-markers": "no conflict markers",
    "ruff-check": "ruff check",
    "ruff-format": "ruff format",
    "mypy": "mypy (strict, the app package)",
    "openapi-json": "openapi.json matches the app",
    "uv-lock": "uv.lock is current",
    "requirements-export": "requirements/ matches uv.lock",
}
# The hook that reads every file; the others read the app's files only.
EVERY_FILE_HOOK = "conflict-markers"
# What no step but the artifact linters and EVERY_FILE_HOOK reads: the deployment and CI files
# (and README.md). Python files count wherever they are.
DEPLOYMENT_FILES = (
    "README.md",
    ".copier-answers.yml",
    "Dockerfile",
    ".dockerignore",
    "compose*.yaml",
    "deploy/*",
    ".github/*",
    ".gitlab-ci.yml",
    ".gitlab/*",
    "fly.toml",
    "render.yaml",
    "app.json",
    "Procfile",
)
# The generated suites that play outages for minutes (a proxy that refuses, stays silent,
# freezes; clients that trickle bodies) depend only on the database and broker answers:
# test_databases.py and test_rabbitmq.py run them on each database server, with and without
# the broker. Every combination runs the rest of its suite.
OUTAGE_SUITES_LEFT_OUT = [
    "--ignore=tests/test_database_outages.py",
    "--ignore=tests/test_slow_clients.py",
    "--ignore=tests/test_rabbitmq_broker.py",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.mysql,
    pytest.mark.rabbitmq,
    pytest.mark.redis,
]


class StepFailed(Exception):
    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"step '{step}' failed:\n{detail}")
        self.step, self.detail = step, detail


def app_fingerprint(project: Path, python: Path) -> str:
    """What the app's steps depend on: the Python that runs them and every file of the project
    but DEPLOYMENT_FILES (and the caches and git data the steps write)."""
    digest = hashlib.sha256(str(python).encode())
    for path in sorted(p for p in project.rglob("*") if p.is_file()):
        relative = path.relative_to(project).as_posix()
        if relative.startswith((".git/", ".mypy_cache/", ".ruff_cache/")) or "__pycache__" in relative:
            continue
        if path.suffix in (".py", ".pyi") or not any(fnmatch.fnmatch(relative, p) for p in DEPLOYMENT_FILES):
            content = path.read_bytes()
            digest.update(f"{relative}\0{len(content)}\0".encode() + content)
    return digest.hexdigest()


@dataclass
class Combination:
    answers: dict[str, Any]
    project: Path
    workdir: Path
    venv: ProjectVenv | None = None
    databases: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return answer_matrix.combination_id(self.answers)

    def run(self, step: str, args: list[str], timeout: float = 600, **env: str) -> str:
        assert self.venv is not None
        result = self.venv.run(args, cwd=self.project, timeout=timeout, check=False, **env)
        if result.returncode != 0:
            raise StepFailed(step, f"$ {' '.join(args)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result.stdout

    def new_database_url(self) -> str:
        name = f"matrix_{uuid.uuid4().hex[:10]}"
        database = self.answers["database"]
        if database == "sqlite":
            return f"sqlite:///{self.workdir / name}.db"
        admin, url = SERVER_URLS[database]
        self.run("create a database", ["python", "-c", ADMIN_SCRIPT, admin, f"CREATE DATABASE {name}"])
        self.databases.append(name)
        return url.format(name=name)

    def drop_databases(self) -> None:
        if self.venv is not None and self.databases:
            admin, _ = SERVER_URLS[self.answers["database"]]
            drops = [f"DROP DATABASE IF EXISTS {name}" for name in self.databases]
            self.venv.run(["python", "-c", ADMIN_SCRIPT, admin, *drops], cwd=self.workdir, check=False)


def artifact_linters(combination: Combination) -> Iterator[list[str]]:
    """The linters of the combination's CI files, Dockerfile, compose files, scripts, manifests."""
    project, answers = combination.project, combination.answers
    if answers["ci"] == "github":
        yield [tool("zizmor"), "--offline", "--min-severity", "medium", ".github"]
        yield [
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            ".github/workflows/ci.yml",
        ]
        yield [tool("check-jsonschema"), "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml"]
    elif answers["ci"] == "gitlab":
        yield [tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml"]
    yield [tool("hadolint"), "--failure-threshold", "warning", "Dockerfile"]
    yield [
        tool("check-jsonschema"),
        "--builtin-schema",
        "vendor.compose-spec",
        *sorted(p.name for p in project.glob("compose*.yaml")),
    ]
    scripts = sorted(str(p.relative_to(project)) for p in project.glob("deploy/**/*.sh"))
    if scripts:
        yield [tool("shellcheck"), *scripts]
    manifests = sorted(str(p.relative_to(project)) for p in project.glob("deploy/kubernetes/*.yaml"))
    if manifests:
        yield [tool("kubernetes-validate"), "--strict", *manifests]


class AppVerdicts:
    """Which combination ran each app's steps, and how they ended: files that xdist's workers
    share for the run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def run_once(self, fingerprint: str, combination: str, steps: Callable[[], None]) -> str | None:
        """Run `steps` for the first combination of an app; returns None then, and for the
        others the name of that combination (or raises its StepFailed again)."""
        record = self.root / f"{fingerprint[:20]}.json"
        with FileLock(f"{record}.lock"):
            if record.exists():
                verdict = json.loads(record.read_text())
                if verdict["step"]:
                    detail = f"(the app of {verdict['combination']}, the same)\n{verdict['detail']}"
                    raise StepFailed(verdict["step"], detail)
                return str(verdict["combination"])
            try:
                steps()
            except StepFailed as failure:
                verdict = {"combination": combination, "step": failure.step, "detail": failure.detail}
                record.write_text(json.dumps(verdict))
                raise
            record.write_text(json.dumps({"combination": combination, "step": None}))
            return None


def run_steps(
    combination: Combination, venv_for: VenvFor, mypy_cache: MypyCache, apps: AppVerdicts
) -> str | None:
    """The combination's steps, in order; the first failure raises StepFailed naming its step.
    Returns the combination whose run of the app's steps this one took, if another's."""
    version = combination.answers["python_version"]
    # A version this machine has no interpreter of (3.14: no pyenv build here) runs on the newest
    # older one it has; tests/test_python_versions.py runs that version's own suite in its image.
    older = [v for v in PYTHON_VERSIONS if version_key(v) <= version_key(version) and interpreter(v)]
    python = interpreter(max(older, key=version_key)) if older else None
    if python is None:
        raise StepFailed("install", f"no Python {version} (nor an older one) on this machine")
    fingerprint = app_fingerprint(combination.project, python)
    try:
        combination.venv = venv_for(combination.project, python=python)
    except subprocess.SubprocessError as exc:
        raise StepFailed("install", str(exc)) from exc
    for git in (["git", "init", "-q"], ["git", "add", "-A"]):  # pre-commit checks git's files
        combination.run("pre-commit", git)
    app_of = apps.run_once(fingerprint, combination.name, lambda: run_app_steps(combination, mypy_cache))
    if app_of is not None:
        # The app's hooks passed on the same files: the hook that reads every file runs here.
        skip = ",".join(hook for hook in PRE_COMMIT_HOOKS if hook != EVERY_FILE_HOOK)
        output = combination.run("pre-commit", ["pre-commit", "run", "--all-files"], SKIP=skip)
        every_file = PRE_COMMIT_HOOKS[EVERY_FILE_HOOK]
        if passed_hooks(output) != [every_file]:
            raise StepFailed("pre-commit", f"expected {every_file!r} to pass:\n{output}")
    for linter in artifact_linters(combination):
        result = subprocess.run(linter, cwd=combination.project, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise StepFailed("artifact linters", f"$ {' '.join(linter)}\n{result.stdout}\n{result.stderr}")
    return app_of


def passed_hooks(output: str) -> list[str]:
    """The names of the hooks pre-commit's output says passed, in its order."""
    return [line.rsplit(".", 1)[0].rstrip(".") for line in output.splitlines() if line.endswith("Passed")]


def run_app_steps(combination: Combination, mypy_cache: MypyCache) -> None:
    """The steps that read the app's files: every pre-commit hook (ruff, ruff format, mypy strict
    on the app package, openapi.json current, uv.lock current, requirements/ matching it, no
    conflict markers) as the project's CI runs them, the migrations on a fresh database, the
    generated suite against the real servers."""
    mypy_cache.seed(combination.project)  # after `git add`: .gitignore keeps the cache out anyway
    output = combination.run("pre-commit", ["pre-commit", "run", "--all-files", "--show-diff-on-failure"])
    if passed_hooks(output) != list(PRE_COMMIT_HOOKS.values()):
        raise StepFailed("pre-commit", f"expected {list(PRE_COMMIT_HOOKS.values())} to pass:\n{output}")
    mypy_cache.keep(combination.project)
    broker = {"RABBITMQ_URL": RABBITMQ_URL} if combination.answers["use_rabbitmq"] else {}
    # auth=token: production's token key and the limiter's Redis; the suite counts logins there.
    token = combination.answers["auth"] == "token"
    auth = {"JWT_SECRET_KEY": secrets.token_hex(32), "RATELIMIT_STORAGE_URI": REDIS_URL} if token else {}
    production = {"APP_ENV": "production", "SECRET_KEY": secrets.token_hex(32), **broker, **auth}
    database_url = combination.new_database_url()
    combination.run("migrate", ["flask", "db", "upgrade"], **production, DATABASE_URL=database_url)
    combination.run("migrate", ["flask", "db", "check"], **production, DATABASE_URL=database_url)
    output = combination.run(
        "tests",
        ["python", "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *OUTAGE_SUITES_LEFT_OUT],
        TEST_DATABASE_URL=combination.new_database_url(),
        **broker,
        **({"TEST_RATELIMIT_STORAGE_URI": REDIS_URL} if token else {}),
    )
    if "skipped" in output:
        raise StepFailed("tests", f"the generated suite skipped tests:\n{output[-3000:]}")


def check_combination(
    answers: dict[str, Any],
    copie_session: Any,
    venv_for: VenvFor,
    mypy_cache: MypyCache,
    apps: AppVerdicts,
    workdir: Path,
    template: Path | None = None,
) -> str | None:
    """Render the combination (from `template`, else the checkout) and run its steps; a failure
    fails the test with one message naming the combination and the step. Returns the
    combination whose run of the app's steps it took, if another's."""
    name = answer_matrix.combination_id(answers)
    try:
        result = copie_session.copy(extra_answers={**answer_matrix.FIXED, **answers}, template_dir=template)
        if result.exception is not None:
            raise StepFailed("render", f"{type(result.exception).__name__}: {result.exception}")
        combination = Combination(answers, result.project_dir, workdir)
        try:
            return run_steps(combination, venv_for, mypy_cache, apps)
        finally:
            combination.drop_databases()
    except StepFailed as failure:
        pytest.fail(f"combination {name}: {failure}", pytrace=False)


@pytest.mark.parametrize(
    "answers",
    [
        # The combinations of an app are one xdist group, run one after the other: the first
        # runs the app's steps, the others take its verdict. The workers spread the apps.
        pytest.param(answers, id=name, marks=pytest.mark.xdist_group(f"matrix-{app}"))
        for answers in COMBINATIONS
        for name, app in [
            (
                answer_matrix.combination_id(answers),
                answer_matrix.combination_id(dict(answer_matrix.app_answers(answers))),
            )
        ]
    ],
)
def test_combination_installs_lints_migrates_and_passes_its_tests(
    copie_session: Any,
    venv_for: VenvFor,
    mypy_cache: MypyCache,
    app_verdicts: AppVerdicts,
    tmp_path: Path,
    answers: dict[str, Any],
    record_property: Callable[[str, object], None],
) -> None:
    for server in ("postgresql", "mysql", "rabbitmq", "redis"):
        require_server(server)
    app_of = check_combination(answers, copie_session, venv_for, mypy_cache, app_verdicts, tmp_path)
    record_property(APP_OF, app_of)  # for the run's summary (conftest.py)


def test_matrix_gives_every_answer_each_of_its_values() -> None:
    for question, values in answer_matrix.choice_questions().items():
        assert {c[question] for c in COMBINATIONS} == set(values), question


def test_matrix_covers_every_pair_of_values_a_project_can_have() -> None:
    questions = answer_matrix.choice_questions()
    possible = set()
    for values in itertools.product(*questions.values()):
        answers = dict(zip(questions, values, strict=True))
        if not answer_matrix.refusal(answers) and answer_matrix.consistent(answers):
            possible |= set(itertools.combinations(answers.items(), 2))
    covered = {pair for c in COMBINATIONS for pair in itertools.combinations(c.items(), 2)}
    assert possible - covered == set()
