"""The generated project's lock: current for every dependency set, with hashes, naming the
project, refused when stale; its pip exports install with plain pip, hash-checked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from support import REPO_ROOT, Render, uv_command


def uv_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    return {**env, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"}


def test_the_template_locks_are_current() -> None:
    """locks/ is what scripts/lock_template.py writes for the template's pyproject.toml (a
    release that changes a dependency runs the script)."""
    result = subprocess.run(
        [sys.executable, "scripts/lock_template.py", "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"run python scripts/lock_template.py\n{result.stderr}"


@pytest.mark.parametrize("name", ["aardvark", "mid", "zulu"])
def test_the_lock_names_the_project_where_uv_sorts_it(render: Render, tmp_path: Path, name: str) -> None:
    project = render(tmp_path / name, database="postgresql")
    text = (project / "uv.lock").read_text()
    assert "flaskgen-lock" not in text
    packages = tomllib.loads(text)["package"]
    names = [package["name"] for package in packages]
    assert names == sorted(names)
    (own,) = [package for package in packages if package["source"] == {"virtual": "."}]
    assert own["name"] == name
    for package in packages:
        if package is not own:  # every download is pinned by its hash
            files = [package.get("sdist", {}), *package.get("wheels", [])]
            assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", f["hash"]) for f in files if f), package["name"]


def test_a_stale_lock_fails_uv_sync_locked(render: Render, tmp_path: Path) -> None:
    project = render(tmp_path / "shop")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('"werkzeug==3.1.9",', '"werkzeug==3.1.9",\n    "six",')
    )
    result = subprocess.run(
        [uv_command(), "sync", "--locked", "--python", sys.executable],
        cwd=project,
        env=uv_env(tmp_path / "venv"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    # uv wraps its message to the terminal's width (narrower under pytest-xdist's workers).
    assert "needs to be updated, but `--locked` was provided" in " ".join(result.stderr.split())
    assert not list(tmp_path.glob("venv/lib/*/site-packages/flask"))  # refused before installing


def test_the_pip_exports_are_hash_pinned(default_project: Path) -> None:
    for name in ("production.txt", "dev.txt"):
        text = (default_project / "requirements" / name).read_text()
        requirements = re.findall(r"^([A-Za-z0-9_.\[\]-]+)==\S+", text, re.MULTILINE)
        assert "flask" in requirements and ("pytest" in requirements) == (name == "dev.txt")
        entries = re.split(r"\n(?=[A-Za-z])", text.split("\n", 2)[2])
        assert len(entries) == len(requirements)
        assert all("--hash=sha256:" in entry for entry in entries)


@pytest.mark.slow
def test_plain_pip_installs_the_production_export_with_hashes(default_project: Path, tmp_path: Path) -> None:
    """The documented path for a team without uv: pip, hash-checked, gives a working app."""
    venv = tmp_path / "pip-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "install", "-q"]
    requirements = str(default_project / "requirements" / "production.txt")
    subprocess.run([*pip, "--require-hashes", "-r", requirements], check=True, timeout=600)
    result = subprocess.run(
        [str(venv / "bin" / "flask"), "--app", "acme_service", "routes"],
        cwd=default_project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "/healthz" in result.stdout, result.stderr
