"""flaskgen's template history: the tagged versions it bundles (a git bundle installed in
~/.local/share/flaskgen/, recorded in projects as the same path on every machine), refreshed
without losing versions, rendered from untagged and shallow clones, and shipped in the wheel
and the sdist.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flaskgen import bundle
from flaskgen.cli import app
from histories import (
    TINY_V1,
    TINY_V2,
    answers_of,
    git,
    make_template,
    new_project,
    snapshot,
    status,
    table_row,
)
from support import REPO_ROOT

# Every test runs on a fresh machine, with a git identity (conftest.py's `home`).
pytestmark = pytest.mark.usefixtures("home")


BUNDLE_SRC = "~/.local/share/flaskgen/template.bundle"


def test_answers_file_records_no_machine_path(runner: CliRunner, home: Path, tmp_path: Path) -> None:
    project = new_project(runner, tmp_path / "svc")
    text = (project / ".copier-answers.yml").read_text()
    assert answers_of(project)["_src_path"] == BUNDLE_SRC
    for machine_specific in (str(home), str(tmp_path), "/tmp", "site-packages", sys.prefix, str(REPO_ROOT)):
        assert machine_specific not in text
    assert (home / ".local" / "share" / "flaskgen" / "template.bundle").is_file()


def test_bundled_template_round_trip(runner: CliRunner, tmp_path: Path) -> None:
    project = new_project(runner, tmp_path / "svc")
    check = runner.invoke(app, ["check", str(project)])
    assert check.exit_code == 0, check.output
    row = table_row(check.stdout, project)
    assert (row["STATUS"], row["RELEASES BEHIND"], row["CHANGED FILES"]) == ("current", "0", "none")
    before = snapshot(project)
    result = runner.invoke(app, ["update", str(project), "--defaults"])
    assert result.exit_code == 0, result.output
    assert "(unchanged)" in result.stdout and "Nothing changed." in result.stdout
    assert status(project) == ""
    assert snapshot(project) == before


def test_history_refresh_keeps_versions_it_does_not_know(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another flaskgen's versions stay installed: its projects must still update."""
    newer = make_template(tmp_path / "newer", ("v1.0.0", TINY_V1), ("v2.0.0", TINY_V2))
    older = tmp_path / "older"
    subprocess.run(["git", "clone", "-q", str(newer), str(older)], check=True)
    git(older, "reset", "-q", "--hard", "v1.0.0")
    git(older, "tag", "-d", "v2.0.0")
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(newer))
    bundle.ensure_installed()
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(older))
    source = bundle.ensure_installed()
    installed = bundle.read_refs(bundle.installed_path())
    assert source.refs.default_ref() == "v1.0.0"
    assert set(installed.tags) == {"v1.0.0", "v2.0.0"}
    assert installed.head == source.refs.head
    cloned = tmp_path / "cloned"
    subprocess.run(["git", "clone", "-q", str(bundle.installed_path()), str(cloned)], check=True)
    assert git(cloned, "describe", "--tags", "v2.0.0").strip() == "v2.0.0"


def test_untagged_history_renders_head(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh clone without tags: HEAD renders, and its version is named after the release
    that pyproject.toml's version history derives (v<version>, or N commits after it)."""
    repo = tmp_path / "untagged"
    subprocess.run(["git", "clone", "-q", "--no-tags", str(REPO_ROOT), str(repo)], check=True)
    for tag in git(repo, "tag").split():
        git(repo, "tag", "-d", tag)
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(repo))
    project = new_project(runner, tmp_path / "svc")
    head = git(repo, "rev-parse", "HEAD").strip()
    version = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["version"]
    recorded = answers_of(project)["_commit"]
    assert recorded == f"v{version}" or (
        recorded.startswith(f"v{version}-") and head.startswith(recorded.rsplit("-g", 1)[1])
    )
    assert runner.invoke(app, ["check", str(project)]).exit_code == 0


def test_shallow_clone_is_bundled_as_its_tree(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI's default shallow clone has no parents to bundle: its tree is one stand-in commit,
    the same on every run, and nothing is written into the clone."""
    repo = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{REPO_ROOT}", str(repo)], check=True)
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(repo))
    objects_before = git(repo, "count-objects")
    project = new_project(runner, tmp_path / "svc")
    installed = bundle.read_refs(bundle.installed_path())
    assert installed.head.startswith(answers_of(project)["_commit"])
    assert installed.head != git(repo, "rev-parse", "HEAD").strip()
    assert bundle.source().refs == installed  # computed again: same id, nothing to refresh
    assert git(repo, "count-objects") == objects_before
    assert runner.invoke(app, ["check", str(project)]).exit_code == 0
    result = runner.invoke(app, ["update", str(project), "--defaults"])
    assert result.exit_code == 0, result.output
    assert status(project) == ""


@pytest.mark.slow
def test_wheel_and_sdist_ship_every_release(
    real_history: Path, tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wheel carries the checkout's tags, so does the sdist, and a wheel built from the
    sdist (no .git there); the installed wheel renders the latest release, offline."""
    pytest.importorskip("hatchling")
    import tarfile
    import zipfile

    from hatchling.builders.sdist import SdistBuilder
    from hatchling.builders.wheel import WheelBuilder

    dist = tmp_path / "dist"
    wheel = Path(next(WheelBuilder(str(real_history)).build(directory=str(dist), versions=["standard"])))
    sdist = Path(next(SdistBuilder(str(real_history)).build(directory=str(dist), versions=["standard"])))
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path / "sdist", filter="data")
    (unpacked,) = (tmp_path / "sdist").iterdir()
    assert (unpacked / "template.bundle").is_file() and not (unpacked / ".git").exists()
    from_sdist = Path(
        next(WheelBuilder(str(unpacked)).build(directory=str(tmp_path / "dist2"), versions=["standard"]))
    )

    latest_config = git(real_history, "show", "v0.2.0:copier.yml")
    for built in (wheel, from_sdist):
        site = tmp_path / f"site-{built.parent.name}"
        with zipfile.ZipFile(built) as archive:
            archive.extractall(site)
        packaged = site / "flaskgen" / "_template"
        assert set(bundle.read_refs(packaged / "template.bundle").tags) == {"v0.1.0", "v0.2.0"}
        assert (packaged / "copier.yml").read_text() == latest_config
        assert not (site / "flaskgen" / "_build_hook.py").exists()

    # The wheel's flaskgen (first on sys.path), in a fresh HOME: no checkout, no network.
    env = {**os.environ, "PYTHONPATH": str(site), "HOME": str(home)}
    env.pop(bundle.TEMPLATE_REPO_ENV, None)
    project = tmp_path / "svc"
    out = subprocess.run(
        [sys.executable, "-m", "flaskgen", "new", str(project), "--defaults", "-q"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert answers_of(project)["_commit"] == "v0.2.0"
    assert answers_of(project)["_src_path"] == BUNDLE_SRC
    located = subprocess.run(
        [sys.executable, "-c", "import flaskgen.bundle as b; print(b.source().bundle)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert located.stdout.strip().startswith(str(site))
