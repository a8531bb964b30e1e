"""Fixtures shared by flaskgen's tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import plumbum
import pytest

from support import ProjectVenv, create_venv, lock_key, render, uv_command


@pytest.fixture(autouse=True, scope="session")
def test_extras_first_on_path() -> Iterator[None]:
    """The test extras' commands (uv, which updates run to regenerate a project's lock) come
    first on PATH, as on a user's machine, not through pyenv shims (which a project's
    .python-version would steer to another Python). plumbum, which runs Copier's tasks, keeps
    its own copy of the environment."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    with pytest.MonkeyPatch.context() as patch, plumbum.local.env(PATH=path):
        patch.setenv("PATH", path)
        yield


@pytest.fixture(scope="session")
def venv_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], ProjectVenv]:
    """One venv per distinct lock, shared by the whole session."""
    venvs: dict[str, ProjectVenv] = {}

    def get(project: Path) -> ProjectVenv:
        key = lock_key(project)
        if key not in venvs:
            venvs[key] = create_venv(project, tmp_path_factory.mktemp(f"venv-{key}"))
        return venvs[key]

    return get


@pytest.fixture(scope="module")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
    return home
