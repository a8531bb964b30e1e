"""Fixtures shared by flaskgen's tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import plumbum
import pytest
from pytest_copie.plugin import Copie
from typer.testing import CliRunner

from containers import fresh_database, registry  # noqa: F401 (fixtures of the tests marked docker)
from flaskgen import bundle
from flaskgen.cli import app
from histories import TINY_V1, TINY_V2, clone_with_working_tree, git, make_template, new_project
from support import (
    DEPLOY_TARGETS,
    REPO_ROOT,
    MypyCache,
    ProjectVenv,
    Render,
    VenvFor,
    run_dir,
    shared_venv,
    skip_unless_required,
    uv_command,
)

# --- running in parallel (pytest-xdist, `-n 3 --dist loadgroup` in pyproject.toml) ------------

# Tests are shared out one by one, except those marked `pytest.mark.xdist_group("...")`: a
# group runs on one worker, one test after the other (the answer matrix's combinations of one
# app, each database of tests/test_databases.py, each Python's image), so that what its tests
# share is made once. Module fixtures are made once per worker that runs the module's tests.
XDIST_GROUP = "xdist_group"
# The groups the workers take first, longest first: the scheduler hands out groups in
# collection order, and a long group taken last would leave the other workers idle.
FIRST_MARKS = ("docker", "slow", "postgres", "mysql", "rabbitmq")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):
        return  # the controller, or a run without xdist: nothing is distributed
    groups: dict[str, list[pytest.Item]] = {}
    for item in items:
        marker = item.get_closest_marker(XDIST_GROUP)
        if marker is None:
            name = item.nodeid
        else:
            name = str(marker.args[0] if marker.args else marker.kwargs.get("name", "default"))
        groups.setdefault(name, []).append(item)

    def cost(group: list[pytest.Item]) -> tuple[int, int]:
        marks = {mark.name for item in group for mark in item.iter_markers()}
        tier = next((i for i, mark in enumerate(FIRST_MARKS) if mark in marks), len(FIRST_MARKS))
        return tier, -len(group)

    # The same order in every worker (xdist checks that they collected the same tests).
    items[:] = [item for group in sorted(groups.values(), key=cost) for item in group]


@pytest.fixture(scope="session")
def shared_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run shares (venvs, caches made once per run)."""
    return run_dir(tmp_path_factory)


@pytest.fixture(autouse=True, scope="session")
def test_extras_first_on_path() -> Iterator[None]:
    """The test extras' commands (uv, which updates run to regenerate a project's lock) come
    first on PATH, as on a user's machine, not through pyenv shims (which a project's
    .python-version would steer to another Python). plumbum, which runs Copier's tasks, keeps
    its own copy of the environment. uv uses this Python where a project's .python-version
    names one the machine lacks (the default answer may be newer than its interpreters; the
    lock is universal), and never tries to download one."""
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
    }
    with pytest.MonkeyPatch.context() as patch, plumbum.local.env(**env):
        for key, value in env.items():
            patch.setenv(key, value)
        yield


@pytest.fixture(scope="session")
def venv_for(shared_tmp: Path) -> VenvFor:
    """venv_for(project, python=sys.executable): one venv per distinct lock and Python, made once
    for the whole run (its xdist workers included: see support.shared_venv)."""

    def get(project: Path, python: str = sys.executable) -> ProjectVenv:
        return shared_venv(shared_tmp / "venvs", project, python)

    return get


@pytest.fixture(scope="session")
def mypy_cache(shared_tmp: Path) -> MypyCache:
    """mypy's cache for the answer matrix's combinations (see support.MypyCache)."""
    return MypyCache(shared_tmp / "matrix-mypy-cache")


@pytest.fixture(scope="session")
def app_verdicts(shared_tmp: Path) -> Any:
    """The answer matrix's record of which combination ran each app's steps, for the run."""
    from test_answer_matrix import AppVerdicts  # the matrix's own helper; imported on use

    return AppVerdicts(shared_tmp / "matrix-apps")


@pytest.fixture(scope="session")
def render(copie_session: Copie) -> Render:
    """Renders the template with pytest-copie (its --template option: this checkout, uncommitted
    changes included), then moves the project to `dest`; a refused answer raises."""

    def render_into(dest: Path, **answers: Any) -> Path:
        answers.setdefault("project_name", dest.name)
        result = copie_session.copy(extra_answers=answers)
        if result.exception is not None:
            raise result.exception
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(result.project_dir, dest)
        return dest

    return render_into


@pytest.fixture(scope="module")
def default_project(render: Render, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project rendered with the default answers; tests must not change it."""
    return render(tmp_path_factory.mktemp("default") / "acme_service")


@pytest.fixture(scope="session")
def uv_cache() -> str:
    """uv's real cache, kept when a test moves HOME (so project venvs install offline)."""
    found = subprocess.run([uv_command(), "cache", "dir"], capture_output=True, text=True, check=False)
    return os.environ.get("UV_CACHE_DIR") or found.stdout.strip()


@pytest.fixture
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, uv_cache: str
) -> Path:
    """A fresh HOME, as on a new machine: flaskgen installs its template history there
    (~/.local/share/flaskgen/), not in the home of whoever runs the tests."""
    home = tmp_path_factory.mktemp("home")  # not in tmp_path, which tests snapshot
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("UV_CACHE_DIR", uv_cache)
    monkeypatch.delenv("FLASKGEN_TEMPLATE_REPO", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)  # pristine renders are cached in HOME too
    return home


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


# --- update, check and the template history ------------------------------------------------

# The commit whose template the real-template tests tag as v0.1.0: same questions as now.
PREVIOUS_RELEASE_SUBJECT = "deploy targets:"
# What the tagged clone takes from the working tree, uncommitted changes included.
WORKING_TREE = ("copier.yml", "template", "locks", "generator", "pyproject.toml", "README.md")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


@pytest.fixture
def home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh machine (see isolated_home), with a git identity, for the tests of update,
    check and the template history (they use it for every test: `pytestmark`)."""
    monkeypatch.delenv("FLASKGEN_DEBUG", raising=False)
    for key, value in GIT_IDENTITY.items():
        monkeypatch.setenv(key, value)
    return isolated_home


@pytest.fixture
def tiny_releases(tmp_path: Path) -> Path:
    """The tiny template (support.TINY_V1, TINY_V2) released as v1.0.0 and v2.0.0."""
    return make_template(tmp_path / "tiny", ("v1.0.0", TINY_V1), ("v2.0.0", TINY_V2))


@pytest.fixture
def tiny_project(runner: CliRunner, tiny_releases: Path, tmp_path: Path) -> Path:
    """A project of the tiny template at v1.0.0, committed."""
    return new_project(runner, tmp_path / "proj", "--template", str(tiny_releases), "--vcs-ref", "v1.0.0")


@pytest.fixture(scope="session")
def real_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of this repository whose template has two releases: an older commit as
    v0.1.0 and the working tree (uncommitted changes included) as v0.2.0. Tests must not
    change it (they clone it to add releases)."""
    clone = clone_with_working_tree(REPO_ROOT, tmp_path_factory.mktemp("history") / "flaskgen", WORKING_TREE)
    previous = git(clone, "log", "--format=%H", "--fixed-strings", f"--grep={PREVIOUS_RELEASE_SUBJECT}")
    if not previous.split():
        skip_unless_required(
            f"no commit '{PREVIOUS_RELEASE_SUBJECT} ...' in this clone (shallow?) to tag v0.1.0"
        )
    git(clone, "tag", "v0.1.0", previous.split()[-1])
    git(clone, "tag", "v0.2.0", "HEAD")
    return clone


@pytest.fixture
def real_template(real_history: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """flaskgen's template history is the tagged clone's (as if this flaskgen were v0.2.0)."""
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(real_history))
    return real_history


# --- flaskgen new, on a tiny template --------------------------------------------------------

TINY_COPIER_YML = """\
_subdirectory: template
_answers_file: .copier-answers.yml
project_name:
  type: str
  help: Name of the project
  default: "{{ (_copier_conf.dst_path | string).split('/') | last }}"
  validator: "{% if not project_name.strip() %}project_name must not be empty{% endif %}"
flavour:
  type: str
  help: Flavour of the project
  choices: [vanilla, chocolate]
  default: vanilla
count:
  type: int
  help: How many scoops
  default: 3
  validator: >-
    {% if count < 1 %}
    count must be
    at least 1
    {% endif %}
toppings:
  type: yaml
  when: false
  default: [nuts, cream]
"""


def write_template(root: Path, readme: str = "{{ project_name }} {{ flavour }} {{ count }}\n") -> Path:
    (root / "template").mkdir(parents=True, exist_ok=True)
    (root / "copier.yml").write_text(TINY_COPIER_YML, encoding="utf-8")
    (root / "template" / "README.md.jinja").write_text(readme, encoding="utf-8")
    (root / "template" / "{{ _copier_conf.answers_file }}.jinja").write_text(
        "{{ _copier_answers | to_nice_yaml }}", encoding="utf-8"
    )
    return root


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A three-question template in a plain folder (no git), with a computed answer."""
    return write_template(tmp_path / "tiny")


@pytest.fixture
def tagged(tmp_path: Path) -> Path:
    """A git template: 1.0.0, then 2.0.0 with a new question, then an untagged commit."""
    repo = write_template(tmp_path / "tagged", readme="v1 {{ project_name }}\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1")
    git(repo, "tag", "1.0.0")
    write_template(repo, readme="v2 {{ project_name }} {{ extra }}\n")
    with (repo / "copier.yml").open("a", encoding="utf-8") as config:
        config.write("extra:\n  type: str\n  default: more\n")
    git(repo, "commit", "-qam", "v2")
    git(repo, "tag", "2.0.0")
    (repo / "template" / "README.md.jinja").write_text("v3 {{ project_name }}\n", encoding="utf-8")
    git(repo, "commit", "-qam", "v3, unreleased")
    return repo


# --- refusals of flaskgen new, on the bundled template ---------------------------------------


@pytest.fixture
def system_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temp dir Copier clones templates into: empty after every run, or something leaked."""
    scratch = tmp_path_factory.mktemp("system-tmp")
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


@pytest.fixture
def flaskgen(system_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., object]:
    """Run `flaskgen ARGS...` in-process, never in debug mode, checking the temp dir after."""
    monkeypatch.delenv("FLASKGEN_DEBUG", raising=False)
    runner = CliRunner()

    def run(*args: str | Path):
        result = runner.invoke(app, [str(arg) for arg in args])
        assert list(system_tmp.iterdir()) == [], "a temporary folder was left behind"
        return result

    return run


# --- deploy targets -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def deploy_projects(render: Render, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """One project per (deploy target, CI), PostgreSQL, rendered once for the session."""
    rendered = {}
    for target in DEPLOY_TARGETS:
        for ci in ("github", "gitlab"):
            dest = tmp_path_factory.mktemp(f"{target}-{ci}") / "shop"
            rendered[target, ci] = render(dest, database="postgresql", deploy_target=target, ci=ci)
    return rendered


MATRIX_TEST = "test_combination_installs_lints_migrates_and_passes_its_tests["


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The answer matrix's combinations and their verdicts, at the end of the run (under xdist,
    the controller's: the workers' reports reach it, their node ids ending in `@group`)."""
    verdicts = {
        report.nodeid.partition(MATRIX_TEST)[2].rpartition("]")[0]: outcome
        for outcome in ("passed", "failed", "skipped", "error")
        for report in terminalreporter.stats.get(outcome, [])
        if getattr(report, "when", "call") in ("call", "setup") and MATRIX_TEST in report.nodeid
    }
    if verdicts:
        # What the matrix costs: from its first combination's start to its last one's end (the
        # workers run other tests meanwhile), and the time its tests took, added up.
        reports = [
            report
            for reports in terminalreporter.stats.values()
            for report in reports
            if isinstance(report, pytest.TestReport) and MATRIX_TEST in report.nodeid
        ]
        # Whose run of the app's steps each combination took (test_answer_matrix.APP_OF).
        apps_taken = {
            report.nodeid.partition(MATRIX_TEST)[2].rpartition("]")[0]: value
            for report in reports
            for name, value in report.user_properties
            if name == "app_of" and value
        }
        wall = max(r.stop for r in reports) - min(r.start for r in reports)
        added = sum(r.duration for r in reports)
        terminalreporter.section(
            f"answer matrix: {len(verdicts)} combinations, {wall:.0f} s wall, {added:.0f} s of test time"
        )
        for combination, outcome in verdicts.items():
            app_of = apps_taken.get(combination)
            shared = f"  (the app of {app_of})" if app_of else ""
            terminalreporter.line(f"{outcome:8} {combination}{shared}")
