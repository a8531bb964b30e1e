"""Fixtures shared by flaskgen's tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from containers import fresh_database  # noqa: F401 (a fixture of the tests marked docker)

from support import ProjectVenv, create_venv, render, requirements_key


@pytest.fixture(scope="session")
def venv_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], ProjectVenv]:
    """One venv per distinct set of requirements, shared by the whole session."""
    venvs: dict[str, ProjectVenv] = {}

    def get(project: Path) -> ProjectVenv:
        key = requirements_key(project)
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
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    found = subprocess.run([uv, "cache", "dir"], capture_output=True, text=True, check=False)
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
