"""Every combination of the pairwise answer matrix (tests/answer_matrix.py, read from copier.yml),
rendered, installed, linted, migrated and tested for real, the way the project's own CI would.

Each combination runs the steps of `run_steps` in order, on the Python its python_version answer
names, against a fresh database on the machine's server for its database answer (and the
machine's RabbitMQ when it has one). Each combination is a test of its own xdist group, so that
the workers run combinations side by side (and beside the other long tests); they share one venv
per Python and dependency set (conftest.py's venv_for) and mypy's cache of the installed packages.
A failure names the combination and the step.
"""

from __future__ import annotations

import itertools
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

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
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
REDIS_URL = "redis://127.0.0.1:6379/0"
# The names of the project's hooks (.pre-commit-config.yaml): each must run and pass.
PRE_COMMIT_HOOKS = [
    "no conflict markers",
    "ruff check",
    "ruff format",
    "mypy (strict, the app package)",
    "openapi.json matches the app",
    "uv.lock is current",
    "requirements/ matches uv.lock",
]
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
        self.step = step


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


def run_steps(combination: Combination, venv_for: VenvFor, mypy_cache: MypyCache) -> None:
    """The combination's steps, in order; the first failure raises StepFailed naming its step."""
    version = combination.answers["python_version"]
    # A version this machine has no interpreter of (3.14: no pyenv build here) runs on the newest
    # older one it has; tests/test_python_versions.py runs that version's own suite in its image.
    older = [v for v in PYTHON_VERSIONS if version_key(v) <= version_key(version) and interpreter(v)]
    python = interpreter(max(older, key=version_key)) if older else None
    if python is None:
        raise StepFailed("install", f"no Python {version} (nor an older one) on this machine")
    try:
        combination.venv = venv_for(combination.project, python=python)
    except subprocess.SubprocessError as exc:
        raise StepFailed("install", str(exc)) from exc
    # The project's pre-commit hooks, as its CI runs them: ruff, ruff format, mypy (strict, the
    # app package), uv.lock current, requirements/ matching it, no conflict markers.
    for git in (["git", "init", "-q"], ["git", "add", "-A"]):  # pre-commit checks git's files
        combination.run("pre-commit", git)
    mypy_cache.seed(combination.project)  # after `git add`: .gitignore keeps the cache out anyway
    output = combination.run("pre-commit", ["pre-commit", "run", "--all-files", "--show-diff-on-failure"])
    passed = [line.rsplit(".", 1)[0].rstrip(".") for line in output.splitlines() if line.endswith("Passed")]
    if passed != PRE_COMMIT_HOOKS:
        raise StepFailed("pre-commit", f"expected {PRE_COMMIT_HOOKS} to pass:\n{output}")
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
    for linter in artifact_linters(combination):
        result = subprocess.run(linter, cwd=combination.project, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise StepFailed("artifact linters", f"$ {' '.join(linter)}\n{result.stdout}\n{result.stderr}")


def check_combination(
    answers: dict[str, Any],
    copie_session: Any,
    venv_for: VenvFor,
    mypy_cache: MypyCache,
    workdir: Path,
    template: Path | None = None,
) -> None:
    """Render the combination (from `template`, else the checkout) and run its steps; a failure
    fails the test with one message naming the combination and the step."""
    name = answer_matrix.combination_id(answers)
    try:
        result = copie_session.copy(extra_answers={**answer_matrix.FIXED, **answers}, template_dir=template)
        if result.exception is not None:
            raise StepFailed("render", f"{type(result.exception).__name__}: {result.exception}")
        combination = Combination(answers, result.project_dir, workdir)
        try:
            run_steps(combination, venv_for, mypy_cache)
        finally:
            combination.drop_databases()
    except StepFailed as failure:
        pytest.fail(f"combination {name}: {failure}", pytrace=False)


@pytest.mark.parametrize(
    "answers",
    [
        # Its own xdist group: the workers spread the combinations (conftest.py).
        pytest.param(answers, id=name, marks=pytest.mark.xdist_group(f"matrix-{name}"))
        for answers in COMBINATIONS
        for name in [answer_matrix.combination_id(answers)]
    ],
)
def test_combination_installs_lints_migrates_and_passes_its_tests(
    copie_session: Any, venv_for: VenvFor, mypy_cache: MypyCache, tmp_path: Path, answers: dict[str, Any]
) -> None:
    for server in ("postgresql", "mysql", "rabbitmq", "redis"):
        require_server(server)
    check_combination(answers, copie_session, venv_for, mypy_cache, tmp_path)


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
