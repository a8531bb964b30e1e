"""Releases: PEP 440 tags derived from pyproject.toml's version history where none was pushed
(the commit that set a version is its release), what flaskgen renders (HEAD, by its release
tag when it is one), how many releases a project is behind, and the CHANGELOG.md sections
`flaskgen update` prints between two versions.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flaskgen import bundle, releases
from flaskgen.cli import app
from histories import TINY_V1, TINY_V2, answers_of, commit_all, git, new_project, write_files

# Every test runs on a fresh machine, with a git identity (conftest.py's `home`).
pytestmark = pytest.mark.usefixtures("home")


def pyproject(version: str) -> str:
    return f'[project]\nname = "tiny"\nversion = "{version}"\n\n[tool.other]\nversion = "9.9.9"\n'


CHANGELOG = """\
# Changelog

## Unreleased

- README: a closing line.

## 2.0.0

- added.txt; notes.txt and unused.txt go.

## [1.1.0] - 2026-11-30

- config.txt gets c.

**Do**

- `flask db migrate`

## 1.0.0

- The first release.
"""


@pytest.fixture
def untagged(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The tiny template released by bumping pyproject.toml only (no tag pushed), then a commit
    after the last release; returns the repository and each commit by name."""
    repo = tmp_path / "untagged"
    repo.mkdir()
    git(repo, "init", "-q")
    commits = {}
    steps = [
        ("1.0.0", {**TINY_V1, "pyproject.toml": pyproject("1.0.0")}),
        ("fix", {"template/notes.txt": "notes, fixed\n"}),
        ("1.1.0", {"pyproject.toml": pyproject("1.1.0"), "template/config.txt": "a=1\nb=2\nc=3\n"}),
        ("2.0.0", {**TINY_V2, "pyproject.toml": pyproject("2.0.0"), "CHANGELOG.md": CHANGELOG}),
        ("after", {"template/README.md.jinja": TINY_V2["template/README.md.jinja"] + "bye\n"}),
    ]
    for name, files in steps:
        write_files(repo, files)
        commit_all(repo, name)
        commits[name] = git(repo, "rev-parse", "HEAD").strip()
    return repo, commits


def test_tags_derived_from_the_version_history(untagged: tuple[Path, dict[str, str]]) -> None:
    repo, commits = untagged
    assert releases.derived_tags(repo, []) == {
        "v1.0.0": commits["1.0.0"],
        "v1.1.0": commits["1.1.0"],
        "v2.0.0": commits["2.0.0"],
    }
    # A pushed tag of the same version wins, wherever it is (and 1.1.0 == 1.1.0.0 in PEP 440).
    git(repo, "tag", "1.1.0.0", commits["fix"])
    assert set(releases.derived_tags(repo, ["1.1.0.0"])) == {"v1.0.0", "v2.0.0"}
    refs = bundle._repo_refs(repo)
    assert refs.tags["1.1.0.0"] == commits["fix"] and refs.tags["v2.0.0"] == commits["2.0.0"]
    assert refs.releases() == ["v2.0.0", "1.1.0.0", "v1.0.0"]
    assert refs.current_ref() == commits["after"]  # a commit after the latest release
    git(repo, "reset", "-q", "--hard", commits["2.0.0"])
    assert bundle._repo_refs(repo).current_ref() == "v2.0.0"
    # Later commits that leave the template alone still render (and record) the release.
    write_files(repo, {"CHANGELOG.md": CHANGELOG + "\n", "notes/plan.txt": "next\n"})
    commit_all(repo, "docs only")
    refs = bundle._repo_refs(repo)
    assert (refs.current_ref(), refs.head) == ("v2.0.0", git(repo, "rev-parse", "HEAD").strip())


def test_update_prints_the_changelog_between_versions(
    runner: CliRunner, untagged: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, commits = untagged
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(repo))
    project = new_project(runner, tmp_path / "svc", "--vcs-ref", "v1.0.0")
    assert answers_of(project)["_commit"] == "v1.0.0"

    checked = runner.invoke(app, ["check", "--json", "--no-files", str(project)])
    assert checked.exit_code == 1, checked.output
    assert '"releases_behind": 2' in checked.stdout

    result = runner.invoke(app, ["update", str(project), "--defaults"])
    assert result.exit_code == 0, result.output
    after = answers_of(project)["_commit"]
    assert after.startswith("v2.0.0-1-g") and commits["after"].startswith(after.rsplit("-g", 1)[1])
    lines = result.stdout.splitlines()
    start = lines.index("What the new template version changes (its CHANGELOG.md):")
    printed = []
    for line in lines[start + 1 :]:
        if line and not line.startswith("  "):
            break
        printed += [line.strip()] if line.strip() else []
    assert printed == [
        "## Unreleased",
        "- README: a closing line.",
        "## 2.0.0",
        "- added.txt; notes.txt and unused.txt go.",
        "## [1.1.0] - 2026-11-30",
        "- config.txt gets c.",
        "**Do**",
        "- `flask db migrate`",
    ]
    assert "The first release" not in result.stdout


def test_changelog_sections_chosen() -> None:
    chosen = releases.entries_between(CHANGELOG, ["v1.1.0"], unreleased=False)
    assert [entry.name for entry in chosen] == ["1.1.0"]
    assert chosen[0].text.splitlines()[-1] == "- `flask db migrate`"
    assert releases.entries_between(CHANGELOG, [], unreleased=True)[0].name == "Unreleased"
    assert releases.releases_behind("v1.0.0-3-gabc1234", ["v2.0.0", "v1.1.0", "v1.0.0"]) == 2
    assert releases.releases_behind("abc1234", ["v2.0.0"]) is None


def test_this_repository_changelog_names_every_release() -> None:
    """Each release derived from this repository's pyproject.toml has a CHANGELOG.md section."""
    from support import REPO_ROOT, skip_unless_required

    derived = releases.derived_tags(REPO_ROOT, [])
    if not derived:
        skip_unless_required("a shallow clone: no version history is required for this test")
    names = {entry.name for entry in releases.parse_changelog((REPO_ROOT / "CHANGELOG.md").read_text())}
    assert {tag.removeprefix("v") for tag in derived} <= names
