"""Fixtures shared by flaskgen's tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

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
