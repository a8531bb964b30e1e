"""`flaskgen new` with a bad --template or --vcs-ref: a missing folder, a folder or file that
is not a template, a version the template does not have (local, remote or bundled). One exact
line, exit code 2, and nothing changed.

These use the real bundled template, whose copier.yml validators word most refusals, and
run flaskgen through conftest.py's `flaskgen` fixture, which points the system temp dir at a
folder of their own, to see that Copier's clones are removed.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from histories import git
from refusals import assert_refused, untouched


@pytest.fixture
def git_template(tmp_path: Path) -> Path:
    """A one-question Copier template in a git repository, tagged 1.0.0."""
    repo = tmp_path / "template-repo"
    (repo / "template").mkdir(parents=True)
    (repo / "copier.yml").write_text("_subdirectory: template\nname:\n  default: x\n", encoding="utf-8")
    (repo / "template" / "README.md.jinja").write_text("{{ name }}\n", encoding="utf-8")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "v1"], ["tag", "1.0.0"]):
        git(repo, *args)
    return repo


def test_template_that_is_missing_or_not_a_template(flaskgen, tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "README.md").write_text("not a template", encoding="utf-8")
    dest = tmp_path / "app"
    fix = "Pass a directory holding copier.yml, a git URL or gh:org/repo to --template."
    with untouched(tmp_path):
        missing = flaskgen("new", dest, "--defaults", "--template", tmp_path / "nowhere")
        plain = flaskgen("new", dest, "--defaults", "--template", tmp_path / "plain")
        file = flaskgen("new", dest, "--defaults", "--template", tmp_path / "plain" / "README.md")
    assert_refused(missing, f"template '{tmp_path / 'nowhere'}' does not exist. {fix}")
    assert_refused(
        plain,
        f"{tmp_path / 'plain'} has no copier.yml, so it is not a Copier template. "
        "Pass the template's root directory to --template.",
    )
    assert_refused(
        file, f"template '{tmp_path / 'plain' / 'README.md'}' is a file, not a template directory. {fix}"
    )


def test_bad_vcs_ref(flaskgen, tmp_path: Path, git_template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path.parent / f"{tmp_path.name}-copier-cache"))
    (tmp_path / "untagged").mkdir()
    shutil.copytree(git_template, tmp_path / "untagged", dirs_exist_ok=True)
    git(tmp_path / "untagged", "tag", "-d", "1.0.0")
    dest = tmp_path / "app"
    url = f"git+file://{git_template}"
    with untouched(tmp_path):
        local = flaskgen("new", dest, "--defaults", "--template", git_template, "--vcs-ref", "2.0")
        untagged = flaskgen(
            "new", dest, "--defaults", "--template", tmp_path / "untagged", "--vcs-ref", "2.0"
        )
        remote = flaskgen("new", dest, "--defaults", "--template", url, "--vcs-ref", "2.0")
        bundled = flaskgen("new", dest, "--defaults", "--vcs-ref", "2.0")
    assert_refused(
        local,
        f"template '{git_template}' has no version '2.0'. Its tags: 1.0.0; pass one of them, "
        "a branch or a commit to --vcs-ref.",
    )
    assert_refused(
        untagged,
        f"template '{tmp_path / 'untagged'}' has no version '2.0'. It has no tags: pass a branch "
        "or a commit to --vcs-ref.",
    )
    assert_refused(
        remote,
        f"template '{url}' has no version '2.0' (invalid reference: 2.0). "
        "Pass a tag, branch or commit of the template to --vcs-ref.",
    )
    # The bundled template's history: its tags where the checkout has some, else commits only.
    assert "Traceback" not in bundled.output and bundled.exit_code == 2 and bundled.stdout == ""
    assert re.fullmatch(
        r"flaskgen: error: flaskgen's template has no version '2\.0'\. .*--vcs-ref.*\n", bundled.stderr
    ), bundled.stderr
