"""`flaskgen update`, `flaskgen check` and plain `copier update` on generated projects.

Most tests use a tiny template with several tagged versions, made in tmp_path, to pin the
mechanics down; the others use the real template: its history from a temporary clone of
this repository (an older commit tagged v0.1.0, the working tree as v0.2.0), bundled and
installed by flaskgen under a temporary HOME, as on a user's machine. Nothing here uses
the network.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flaskgen import bundle
from flaskgen.cli import app
from support import REPO_ROOT, ProjectVenv, assert_one_line_error, skip_unless_required, tool

VenvFor = Callable[[Path], ProjectVenv]
BUNDLE_SRC = "~/.local/share/flaskgen/template.bundle"
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

TINY_V1 = {
    "copier.yml": """\
_subdirectory: template
_answers_file: .copier-answers.yml
name:
  type: str
  default: app
flavour:
  type: str
  choices: [vanilla, chocolate]
  default: vanilla
""",
    "template/{{ _copier_conf.answers_file }}.jinja": "{{ _copier_answers | to_nice_yaml }}",
    "template/README.md.jinja": "# {{ name }}\n\nintro\n\nmiddle\n\nend\n",
    "template/config.txt": "a=1\nb=2\n",
    "template/notes.txt": "notes, dropped in v2\n",
    "template/unused.txt": "dropped in v2 too\n",
    "template/{% if flavour == 'chocolate' %}chocolate.txt{% endif %}.jinja": "cocoa\n",
}
TINY_V2 = {
    **TINY_V1,
    "template/README.md.jinja": "# {{ name }}\n\nintro, improved in v2\n\nmiddle\n\nend\n",
    "template/config.txt": "a=1\nb=2\nc=3\n",
    "template/added.txt": "new in v2\n",
    "template/notes.txt": None,
    "template/unused.txt": None,
}


# --- helpers ---------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def write_files(root: Path, files: dict[str, str | None]) -> None:
    for name, text in files.items():
        path = root / name
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


def make_template(root: Path, *versions: tuple[str, dict[str, str | None]]) -> Path:
    """A git template with one commit and tag per (tag, files) version."""
    root.mkdir(parents=True)
    git(root, "init", "-q")
    for tag, files in versions:
        write_files(root, files)
        git(root, "add", "-A")
        git(root, "commit", "-qm", f"template {tag}")
        git(root, "tag", tag)
    return root


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def new_project(runner: CliRunner, dest: Path, *args: str) -> Path:
    result = runner.invoke(app, ["new", str(dest), "--defaults", "-q", *args])
    assert result.exit_code == 0, result.output
    git(dest, "init", "-q")
    commit_all(dest, "generated")
    return dest


def answers_of(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def status(repo: Path) -> str:
    return git(repo, "status", "--porcelain", "--untracked-files=all", "--ignored")


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root (but .git's insides) with its content."""
    return {
        str(path.relative_to(root)): path.read_bytes() if path.is_file() else None
        for path in sorted(root.rglob("*"))
        if ".git" not in path.relative_to(root).parts[:1]
    }


def output_section(output: str, heading: str) -> list[str]:
    """The indented lines listed under a heading of the update summary."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    section = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        section.append(line.strip())
    return section


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs on a fresh machine (see isolated_home), with a git identity."""
    monkeypatch.delenv("FLASKGEN_DEBUG", raising=False)
    for key, value in GIT_IDENTITY.items():
        monkeypatch.setenv(key, value)
    return isolated_home


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return make_template(tmp_path / "tiny", ("v1.0.0", TINY_V1), ("v2.0.0", TINY_V2))


@pytest.fixture
def tiny_project(runner: CliRunner, tiny: Path, tmp_path: Path) -> Path:
    """A project of the tiny template at v1.0.0, committed."""
    return new_project(runner, tmp_path / "proj", "--template", str(tiny), "--vcs-ref", "v1.0.0")


@pytest.fixture(scope="module")
def real_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of this repository whose template has two releases: an older commit as
    v0.1.0 and the working tree (uncommitted changes included) as v0.2.0."""
    clone = tmp_path_factory.mktemp("history") / "flaskgen"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True, capture_output=True)
    env_git = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    previous = git(clone, "log", "--format=%H", "--fixed-strings", f"--grep={PREVIOUS_RELEASE_SUBJECT}")
    if not previous.split():
        skip_unless_required(
            f"no commit '{PREVIOUS_RELEASE_SUBJECT} ...' in this clone (shallow?) to tag v0.1.0"
        )
    for name in WORKING_TREE:
        target = clone / name
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copyfile(source, target)
    git(clone, "add", "-A", *WORKING_TREE)
    if git(clone, "status", "--porcelain", "--", *WORKING_TREE).strip():
        git(clone, *env_git, "commit", "-qm", "the working tree")
    git(clone, "tag", "v0.1.0", previous.split()[-1])
    git(clone, "tag", "v0.2.0", "HEAD")
    return clone


@pytest.fixture
def real_template(real_history: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """flaskgen's template history is the tagged clone's (as if this flaskgen were v0.2.0)."""
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(real_history))
    return real_history


# --- update: merging --------------------------------------------------------------------


def test_update_merges_user_edits_and_keeps_deleted_files_deleted(
    runner: CliRunner, tiny_project: Path
) -> None:
    readme = tiny_project / "README.md"
    readme.write_text(readme.read_text().replace("end\n", "end, with my words\n"))
    (tiny_project / "config.txt").unlink()  # v2 changes it: it must stay deleted
    (tiny_project / "mine.txt").write_text("my own file\n")
    commit_all(tiny_project, "my edits")

    result = runner.invoke(app, ["update", str(tiny_project), "--defaults"])

    assert result.exit_code == 0, result.output
    assert readme.read_text() == "# app\n\nintro, improved in v2\n\nmiddle\n\nend, with my words\n"
    assert not (tiny_project / "config.txt").exists()
    assert (tiny_project / "added.txt").read_text() == "new in v2\n"
    assert not (tiny_project / "unused.txt").exists()  # dropped by v2, untouched by the user
    assert (tiny_project / "mine.txt").read_text() == "my own file\n"
    assert answers_of(tiny_project)["_commit"] == "v2.0.0"
    assert "template version v1.0.0 -> v2.0.0" in result.stdout
    changed = output_section(result.stdout, "Changed files")
    assert "M README.md" in changed and "?? added.txt" in changed and "D unused.txt" in changed
    assert "Conflicts" not in result.stdout


@pytest.mark.parametrize("mode", ["inline", "rej"])
def test_conflicting_edit_is_left_to_resolve_and_exits_1(
    runner: CliRunner, tiny_project: Path, mode: str
) -> None:
    readme = tiny_project / "README.md"
    readme.write_text(readme.read_text().replace("intro\n", "intro, rewritten by me\n"))
    commit_all(tiny_project, "my intro")

    result = runner.invoke(app, ["update", str(tiny_project), "--defaults", "--conflict", mode])

    assert result.exit_code == 1, result.output
    text = readme.read_text()
    if mode == "inline":
        assert "<<<<<<< before updating" in text and ">>>>>>> after updating" in text
        assert "intro, rewritten by me" in text and "intro, improved in v2" in text
        assert output_section(result.stdout, "Conflicts") == ["README.md"]
    else:
        rejected = tiny_project / "README.md.rej"
        assert "intro, rewritten by me" in rejected.read_text()
        assert output_section(result.stdout, "Conflicts") == ["README.md.rej"]
    assert answers_of(tiny_project)["_commit"] == "v2.0.0"


@pytest.mark.parametrize("mode", ["inline", "rej"])
def test_changed_file_that_the_new_version_drops_is_kept_and_reported(
    runner: CliRunner, tiny_project: Path, mode: str
) -> None:
    notes = tiny_project / "notes.txt"
    notes.write_text("notes, dropped in v2\nmy precious notes\n")
    commit_all(tiny_project, "my notes")

    result = runner.invoke(app, ["update", str(tiny_project), "--defaults", "--conflict", mode])

    assert result.exit_code == 0, result.output
    assert notes.read_text() == "notes, dropped in v2\nmy precious notes\n"
    assert not (tiny_project / "notes.txt.rej").exists()
    assert not (tiny_project / "unused.txt").exists()  # unchanged: dropped as Copier does
    assert output_section(result.stdout, "Kept") == ["notes.txt"]
    assert "notes.txt" not in status(tiny_project)  # exactly as committed


def test_data_changes_an_answer(runner: CliRunner, tiny_project: Path) -> None:
    result = runner.invoke(app, ["update", str(tiny_project), "--defaults", "--data", "flavour=chocolate"])
    assert result.exit_code == 0, result.output
    assert (tiny_project / "chocolate.txt").read_text() == "cocoa\n"
    assert answers_of(tiny_project)["flavour"] == "chocolate"
    assert answers_of(tiny_project)["_commit"] == "v2.0.0"


def test_data_at_the_same_version(runner: CliRunner, tiny_project: Path) -> None:
    args = ["update", str(tiny_project), "--defaults", "--vcs-ref", "v1.0.0", "-d", "flavour=chocolate"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "template version v1.0.0 (unchanged)" in result.stdout
    assert (tiny_project / "chocolate.txt").is_file()
    assert (tiny_project / "notes.txt").is_file()  # still v1


@pytest.mark.parametrize(
    ("data", "phrases"),
    [
        ("flavour=mint", ["invalid flavour 'mint'", "vanilla, chocolate"]),
        ("flavor=chocolate", ["unknown question 'flavor'", "Did you mean flavour?"]),
    ],
)
def test_bad_data_changes_nothing(
    runner: CliRunner, tiny_project: Path, data: str, phrases: list[str]
) -> None:
    before = snapshot(tiny_project)
    result = runner.invoke(app, ["update", str(tiny_project), "--defaults", "--data", data])
    assert_one_line_error(result, 2, *phrases)
    assert snapshot(tiny_project) == before
    assert status(tiny_project) == ""


def test_renamed_file_follows_through_migrations(runner: CliRunner, tmp_path: Path) -> None:
    """v2 renames old.txt to renamed.txt; a `_migrations` entry moves the user's file first."""
    v1 = {**TINY_V1, "template/old.txt": "one\ntwo\nthree\n"}
    v2 = {
        **v1,
        "template/old.txt": None,
        "template/renamed.txt": "one\ntwo\nthree\n",
        "copier.yml": TINY_V1["copier.yml"]
        + "_migrations:\n"
        + "  - version: v2.0.0\n"
        + "    when: \"{{ _stage == 'before' }}\"\n"
        + "    command: [git, mv, -k, --, old.txt, renamed.txt]\n",
    }
    template = make_template(tmp_path / "renaming", ("v1.0.0", v1), ("v2.0.0", v2))
    edited = new_project(runner, tmp_path / "edited", "--template", str(template), "--vcs-ref", "v1.0.0")
    (edited / "old.txt").write_text("one\ntwo, edited\nthree\n")
    commit_all(edited, "my edit")
    untouched = new_project(
        runner, tmp_path / "untouched", "--template", str(template), "--vcs-ref", "v1.0.0"
    )
    deleted = new_project(runner, tmp_path / "deleted", "--template", str(template), "--vcs-ref", "v1.0.0")
    (deleted / "old.txt").unlink()
    commit_all(deleted, "not needed")

    refused = runner.invoke(app, ["update", str(untouched), "--defaults"])
    assert_one_line_error(refused, 2, "runs its own code", "--trust")
    assert status(untouched) == ""

    for project in (edited, untouched, deleted):
        result = runner.invoke(app, ["update", str(project), "--defaults", "--trust"])
        assert not (project / "old.txt").exists()
        if project is edited:
            # The user's edit moved with the file. With nothing to compare it to in the old
            # version (Copier sees the file as added on both sides), it is left to confirm.
            assert result.exit_code == 1, result.output
            assert "two, edited" in (project / "renamed.txt").read_text()
            assert output_section(result.stdout, "Conflicts") == ["renamed.txt"]
        else:
            assert result.exit_code == 0, result.output
            assert (project / "renamed.txt").read_text() == "one\ntwo\nthree\n"


# --- update: what it refuses --------------------------------------------------------------


@pytest.mark.parametrize("change", ["modified", "untracked", "staged"])
def test_dirty_tree_is_refused_and_nothing_changes(
    runner: CliRunner, tiny_project: Path, change: str
) -> None:
    if change == "untracked":
        (tiny_project / "scratch.txt").write_text("wip\n")
    else:
        (tiny_project / "config.txt").write_text("a=1\nb=20\n")
        if change == "staged":
            git(tiny_project, "add", "config.txt")
    before, git_before = snapshot(tiny_project), status(tiny_project)
    index_before = (tiny_project / ".git" / "index").read_bytes()

    result = runner.invoke(app, ["update", str(tiny_project), "--defaults"])

    assert_one_line_error(result, 2, "uncommitted changes", "git stash -u")
    assert snapshot(tiny_project) == before
    assert status(tiny_project) == git_before
    assert (tiny_project / ".git" / "index").read_bytes() == index_before


def test_not_a_git_repository(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    project = tmp_path / "loose"
    assert (
        runner.invoke(app, ["new", str(project), "--template", str(tiny), "--defaults", "-q"]).exit_code == 0
    )
    before = snapshot(project)
    result = runner.invoke(app, ["update", str(project), "--defaults"])
    assert_one_line_error(result, 2, "is not in a git repository", "git init")
    assert snapshot(project) == before


def test_not_a_flaskgen_project(runner: CliRunner, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    git(plain, "init", "-q")
    (plain / "app.py").write_text("print('hi')\n")
    commit_all(plain, "mine")
    before = snapshot(plain)
    result = runner.invoke(app, ["update", str(plain), "--defaults"])
    assert_one_line_error(result, 2, "is not a flaskgen project", ".copier-answers.yml")
    assert snapshot(plain) == before
    missing = runner.invoke(app, ["update", str(tmp_path / "nowhere"), "--defaults"])
    assert_one_line_error(missing, 2, "does not exist")


def test_git_missing(
    runner: CliRunner, tiny_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(tiny_project)
    empty = tmp_path / "no-git-here"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = runner.invoke(app, ["update", str(tiny_project), "--defaults"])
    assert_one_line_error(result, 2, "git is not installed", "Install git")
    assert snapshot(tiny_project) == before


def test_version_missing_from_the_template(runner: CliRunner, tiny_project: Path) -> None:
    answers = tiny_project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("_commit: v1.0.0", "_commit: deadbee"))
    commit_all(tiny_project, "a version from elsewhere")
    before = snapshot(tiny_project)
    result = runner.invoke(app, ["update", str(tiny_project), "--defaults"])
    assert_one_line_error(result, 2, "generated from template version deadbee", "nothing was changed")
    assert snapshot(tiny_project) == before and status(tiny_project) == ""


def test_downgrade_is_refused(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    project = new_project(runner, tmp_path / "latest", "--template", str(tiny))
    before = snapshot(project)
    result = runner.invoke(app, ["update", str(project), "--defaults", "--vcs-ref", "v1.0.0"])
    assert_one_line_error(result, 2, "at template version v2.0.0, newer than v1.0.0", "nothing was changed")
    assert snapshot(project) == before and status(project) == ""


def test_update_without_a_terminal_needs_defaults(runner: CliRunner, tiny_project: Path) -> None:
    result = runner.invoke(app, ["update", str(tiny_project)])
    assert_one_line_error(result, 2, "no terminal", "--defaults")


def test_bad_conflict_mode(runner: CliRunner, tiny_project: Path) -> None:
    result = runner.invoke(app, ["update", str(tiny_project), "--defaults", "--conflict", "ours"])
    assert_one_line_error(result, 2, "--conflict 'ours'", "inline", "rej")


# --- plain copier update -----------------------------------------------------------------


def test_plain_copier_update_on_a_generated_project(tiny_project: Path) -> None:
    readme = tiny_project / "README.md"
    readme.write_text(readme.read_text().replace("end\n", "end, mine\n"))
    commit_all(tiny_project, "mine")
    out = subprocess.run(
        [tool("copier"), "update", "--defaults", "--quiet"],
        cwd=tiny_project,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "intro, improved in v2" in readme.read_text() and "end, mine" in readme.read_text()
    assert answers_of(tiny_project)["_commit"] == "v2.0.0"


# --- check ----------------------------------------------------------------------------


def test_check_exit_codes_and_json(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    behind = new_project(runner, tmp_path / "behind", "--template", str(tiny), "--vcs-ref", "v1.0.0")
    current = new_project(runner, tmp_path / "current", "--template", str(tiny))
    bundled = new_project(runner, tmp_path / "bundled")
    (tmp_path / "plain").mkdir()

    ok = runner.invoke(app, ["check", str(current), str(bundled)])
    assert ok.exit_code == 0, ok.output
    assert f"{current}: template v2.0.0, the latest" in ok.stdout

    late = runner.invoke(app, ["check", str(current), str(behind)])
    assert late.exit_code == 1, late.output
    assert f"{behind}: template v1.0.0, behind the latest v2.0.0" in late.stdout
    assert f"flaskgen update {behind}" in late.stdout

    bad = runner.invoke(app, ["check", str(current), str(behind), str(tmp_path / "plain")])
    assert bad.exit_code == 2, bad.output
    assert bad.stderr.splitlines() == [
        f"flaskgen: error: {tmp_path / 'plain'} is not a flaskgen project: it has no "
        ".copier-answers.yml. Pass the root folder of a project that flaskgen new generated."
    ]

    as_json = runner.invoke(app, ["check", "--json", str(behind), str(current), str(tmp_path / "plain")])
    assert as_json.exit_code == 2
    projects = json.loads(as_json.stdout)["projects"]
    assert [(p["path"], p["status"], p["version"], p["latest"]) for p in projects] == [
        (str(behind), "behind", "v1.0.0", "v2.0.0"),
        (str(current), "current", "v2.0.0", "v2.0.0"),
        (str(tmp_path / "plain"), "error", None, None),
    ]
    assert projects[0]["template"] == str(tiny)
    assert "is not a flaskgen project" in projects[2]["error"]


def test_check_defaults_to_the_current_folder(
    runner: CliRunner, tiny_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tiny_project)
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith(".: template v1.0.0, behind the latest v2.0.0")


def test_check_many_projects_is_quick(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    """The team use case: one look-up per template, however many projects share it."""
    first = new_project(runner, tmp_path / "p00", "--template", str(tiny), "--vcs-ref", "v1.0.0")
    projects = [first]
    for number in range(1, 20):
        copy = tmp_path / f"p{number:02d}"
        shutil.copytree(first, copy)
        projects.append(copy)
    started = time.perf_counter()
    result = runner.invoke(app, ["check", "--json", *map(str, projects)])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 1
    assert {p["status"] for p in json.loads(result.stdout)["projects"]} == {"behind"}
    assert elapsed < 2, f"checking 20 projects took {elapsed:.2f}s"


def test_check_does_not_import_copier(tiny_project: Path) -> None:
    code = (
        "import sys; from flaskgen.cli import main; sys.argv = ['flaskgen', 'check', sys.argv[1]]\n"
        "try: main()\nexcept SystemExit: pass\n"
        "print('copier' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tiny_project)], capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout + out.stderr


# --- the bundled template ----------------------------------------------------------------


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
    assert "the latest" in check.stdout
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
    """A fresh clone without tags: HEAD is the version, recorded as its commit id."""
    repo = tmp_path / "untagged"
    subprocess.run(["git", "clone", "-q", "--no-tags", str(REPO_ROOT), str(repo)], check=True)
    for tag in git(repo, "tag").split():
        git(repo, "tag", "-d", tag)
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(repo))
    project = new_project(runner, tmp_path / "svc")
    head = git(repo, "rev-parse", "HEAD").strip()
    assert head.startswith(answers_of(project)["_commit"])
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


def test_help_lists_update_and_check(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("new", "update", "check"):
        assert command in result.stdout
    update_help = runner.invoke(app, ["update", "--help"])
    for option in ("--defaults", "--data", "--vcs-ref", "--conflict"):
        assert option in update_help.stdout
    assert "--json" in runner.invoke(app, ["check", "--help"]).stdout


# --- the real template: previous release to this one ---------------------------------------

POST_MODEL = '''"""Posts: added by the user after generation."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import TimestampedModel


class Post(TimestampedModel):
    __tablename__ = "posts"

    title: Mapped[str] = mapped_column(String(200))
'''
POST_MIGRATION = '''"""create posts

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "posts",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
    )


def downgrade():
    op.drop_table("posts")
'''
POST_TEST = """from flask import Flask

from {slug}.db import db
from {slug}.models import Post


def test_a_post_is_stored(app: Flask) -> None:
    db.session.add(Post(title="Hello"))
    db.session.commit()
    assert db.session.query(Post).one().title == "Hello"
"""


def make_typical_edits(project: Path, slug: str) -> dict[str, str]:
    """A model with its migration and test, an edited README line and config value."""
    models = project / slug / "models"
    (models / "post.py").write_text(POST_MODEL)
    init = models / "__init__.py"
    init.write_text(
        init.read_text()
        .replace("from .user import User\n", "from .post import Post\nfrom .user import User\n")
        .replace('__all__ = ["TimestampedModel"', '__all__ = ["Post", "TimestampedModel"')
    )
    (project / "migrations" / "versions" / "0002_create_posts.py").write_text(POST_MIGRATION)
    (project / "tests" / "test_posts.py").write_text(POST_TEST.format(slug=slug))
    readme = project / "README.md"
    first, rest = readme.read_text().split("\n", 1)
    readme.write_text(f"{first} - the billing service\n{rest}")
    gunicorn = project / "gunicorn.conf.py"
    gunicorn.write_text(gunicorn.read_text().replace('"GUNICORN_TIMEOUT", "30"', '"GUNICORN_TIMEOUT", "60"'))
    commit_all(project, "posts, README, longer timeout")
    return {
        f"{slug}/models/post.py": POST_MODEL,
        "migrations/versions/0002_create_posts.py": POST_MIGRATION,
        "tests/test_posts.py": POST_TEST.format(slug=slug),
    }


@pytest.mark.slow
def test_real_template_previous_release_to_current_keeps_typical_edits(
    runner: CliRunner, real_template: Path, tmp_path: Path, venv_for: VenvFor
) -> None:
    project = new_project(runner, tmp_path / "billing", "--vcs-ref", "v0.1.0")
    assert answers_of(project)["_commit"] == "v0.1.0"
    owned = make_typical_edits(project, "billing")

    behind = runner.invoke(app, ["check", str(project)])
    assert behind.exit_code == 1 and "behind the latest v0.2.0" in behind.stdout
    result = runner.invoke(app, ["update", str(project), "--defaults"])
    assert result.exit_code == 0, result.output
    assert "template version v0.1.0 -> v0.2.0" in result.stdout
    assert answers_of(project)["_commit"] == "v0.2.0"
    for relative, text in owned.items():
        assert (project / relative).read_text() == text
    readme = (project / "README.md").read_text()
    assert readme.startswith("# billing - the billing service\n")
    assert "flaskgen check" in readme  # the README section v0.2.0 rewrote
    assert '"GUNICORN_TIMEOUT", "60"' in (project / "gunicorn.conf.py").read_text()
    assert "from .post import Post" in (project / "billing" / "models" / "__init__.py").read_text()
    assert runner.invoke(app, ["check", str(project)]).exit_code == 0

    venv = venv_for(project)
    venv.run([str(venv.bin / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project)


@pytest.mark.slow
def test_real_template_answers_change_through_update(
    runner: CliRunner, real_template: Path, tmp_path: Path
) -> None:
    project = new_project(runner, tmp_path / "shop")
    before = snapshot(project)
    # The template's validator refuses SQLite on Fly.io: one line, and the project as it was.
    refused = runner.invoke(app, ["update", str(project), "--defaults", "--data", "deploy_target=fly"])
    assert_one_line_error(refused, 2, "invalid deploy_target", "database=postgresql")
    assert snapshot(project) == before and status(project) == ""

    args = ["update", str(project), "--defaults", "-d", "database=postgresql", "-d", "deploy_target=fly"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    answers = answers_of(project)
    assert (answers["database"], answers["deploy_target"]) == ("postgresql", "fly")
    assert "psycopg" in (project / "pyproject.toml").read_text()
    # The lock followed the merged pyproject.toml (the update regenerated it).
    assert 'name = "psycopg-binary"' in (project / "uv.lock").read_text()
    assert (project / "fly.toml").is_file()
    assert not (project / "deploy").exists()  # docker-ssh's files, unchanged by the user
    changed = output_section(result.stdout, "Changed files")
    assert "?? fly.toml" in changed and "M pyproject.toml" in changed and "M uv.lock" in changed


@pytest.mark.slow
def test_teammates_machine_updates_with_flaskgen_and_plain_copier(
    runner: CliRunner, real_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alice generates and pushes; Bob, with flaskgen installed in another HOME, updates."""
    project = new_project(runner, tmp_path / "alice" / "billing", "--vcs-ref", "v0.1.0")
    make_typical_edits(project, "billing")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(project), str(origin)], check=True)

    bob = tmp_path / "bob-home"
    bob.mkdir()
    monkeypatch.setenv("HOME", str(bob))
    with_flaskgen, with_copier = tmp_path / "bob" / "one", tmp_path / "bob" / "two"
    for clone in (with_flaskgen, with_copier):
        subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)

    installed = runner.invoke(app, ["check", str(with_copier)])  # any flaskgen command installs it
    assert installed.exit_code == 1, installed.output
    assert (bob / ".local" / "share" / "flaskgen" / "template.bundle").is_file()

    result = runner.invoke(app, ["update", str(with_flaskgen), "--defaults"])
    assert result.exit_code == 0, result.output
    out = subprocess.run(
        [tool("copier"), "update", "--defaults", "--trust", "--quiet"],
        cwd=with_copier,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "HOME": str(bob)},
    )
    assert out.returncode == 0, out.stderr
    assert answers_of(with_copier)["_commit"] == answers_of(with_flaskgen)["_commit"] == "v0.2.0"
    assert snapshot(with_copier) == snapshot(with_flaskgen)


def test_template_files_of_user_owned_folders_still_get_updates() -> None:
    """copier.yml's _skip_if_exists keeps the files a user adds in tests/ and models/; it
    must list the template's own files there with `!`, or they would never be updated."""
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    patterns = set(config["_skip_if_exists"])
    for folder, pattern in (("tests", "tests/"), ("<<project_slug>>/models", "<< project_slug >>/models/")):
        for path in sorted((REPO_ROOT / "template" / folder).iterdir()):
            if path.name == "__pycache__":
                continue
            # A conditional file name, `<% if use_rabbitmq %>name.py<% endif %>`, renders to its name.
            rendered = re.sub(r"<%.*?%>", "", path.name).removesuffix(".jinja")
            assert f"!{pattern}{rendered}" in patterns, f"add '!{pattern}{rendered}' to _skip_if_exists"


def tag_next_release(history: Path, tmp_path: Path, tag: str, files: dict[str, str | None]) -> Path:
    """A copy of a template history with one more release."""
    copy = tmp_path / f"history-{tag}"
    subprocess.run(["git", "clone", "-q", str(history), str(copy)], check=True)
    write_files(copy, files)
    commit_all(copy, f"release {tag}")
    git(copy, "tag", tag)
    return copy


@pytest.mark.slow
def test_real_template_update_leaves_the_migration_history_alone(
    runner: CliRunner, real_history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release that touches migrations/versions/ changes nothing there in projects."""
    versions = "template/migrations/versions"
    shipped = (real_history / versions / "0001_create_users.py").read_text()
    history = tag_next_release(
        real_history,
        tmp_path,
        "v0.3.0",
        {
            f"{versions}/0001_create_users.py": shipped.replace('"""create users', '"""create the users'),
            f"{versions}/0002_from_the_template.py": '"""would fork the history"""\n',
        },
    )
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(history))
    edited = new_project(runner, tmp_path / "edited", "--vcs-ref", "v0.2.0")
    initial = edited / "migrations" / "versions" / "0001_create_users.py"
    initial.write_text(initial.read_text().replace("sa.String(length=50)", "sa.String(length=80)"))
    commit_all(edited, "longer usernames, before the first deploy")
    squashed = new_project(runner, tmp_path / "squashed", "--vcs-ref", "v0.2.0")
    (squashed / "migrations" / "versions" / "0001_create_users.py").rename(
        squashed / "migrations" / "versions" / "0001_initial.py"
    )
    commit_all(squashed, "my own initial revision")

    for project in (edited, squashed):
        before = {p.name: p.read_bytes() for p in (project / "migrations" / "versions").iterdir()}
        result = runner.invoke(app, ["update", str(project), "--defaults"])
        assert result.exit_code == 0, result.output
        assert answers_of(project)["_commit"] == "v0.3.0"
        after = {p.name: p.read_bytes() for p in (project / "migrations" / "versions").iterdir()}
        assert after == before
    # A new project of that release gets the template's revisions, of course.
    fresh = new_project(runner, tmp_path / "fresh")
    assert (fresh / "migrations" / "versions" / "0002_from_the_template.py").is_file()


EXPORT_COMMANDS = (  # as the project's pre-commit hook writes requirements/
    "--locked --no-annotate --no-dev --quiet --output-file requirements/production.txt",
    "--locked --no-annotate --quiet --output-file requirements/dev.txt",
)


@pytest.mark.slow
def test_update_regenerates_the_lock_and_keeps_added_dependencies(
    runner: CliRunner, real_history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uv.lock is never merged as text: after an update it is the lock of the merged
    pyproject.toml, with the dependency the user added and the pin the release changed."""
    pyproject = "template/pyproject.toml.jinja"
    shipped = (real_history / pyproject).read_text()
    assert '"alembic==1.20.1",' in shipped
    # The release moves alembic (to the version before, which PyPI is sure to keep serving).
    history = tag_next_release(
        real_history, tmp_path, "v0.3.0", {pyproject: shipped.replace("alembic==1.20.1", "alembic==1.20.0")}
    )
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(history))
    project = new_project(runner, tmp_path / "billing", "--vcs-ref", "v0.2.0")
    uv = tool("uv")
    subprocess.run([uv, "add", "--quiet", "--no-sync", "six==1.17.0"], cwd=project, check=True)
    for command in EXPORT_COMMANDS:
        subprocess.run([uv, "export", *command.split()], cwd=project, check=True)
    commit_all(project, "six")

    result = runner.invoke(app, ["update", str(project), "--defaults"])

    assert result.exit_code == 0, result.output
    assert "Conflicts" not in result.stdout
    assert set(output_section(result.stdout, "Changed files")) >= {
        "M pyproject.toml",
        "M uv.lock",
        "M requirements/production.txt",
        "M requirements/dev.txt",
    }
    dependencies = tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {"six==1.17.0", "alembic==1.20.0"} <= set(dependencies)
    lock = tomllib.loads((project / "uv.lock").read_text())
    versions = {package["name"]: package["version"] for package in lock["package"]}
    assert versions["six"] == "1.17.0" and versions["alembic"] == "1.20.0"
    # The lock and the exports are what uv writes for the merged pyproject.toml.
    subprocess.run([uv, "lock", "--check", "--quiet"], cwd=project, check=True)
    exported = {name: (project / "requirements" / name).read_text() for name in ("production.txt", "dev.txt")}
    assert "\nsix==1.17.0 \\\n" in exported["production.txt"]
    assert "\nalembic==1.20.0 \\\n" in exported["production.txt"]
    for command in EXPORT_COMMANDS:
        subprocess.run([uv, "export", *command.split()], cwd=project, check=True)
    assert {name: (project / "requirements" / name).read_text() for name in exported} == exported


def test_project_of_a_newer_flaskgen_asks_for_an_upgrade(
    runner: CliRunner, tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A teammate's flaskgen is older than the release the project is at: say so."""
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(tiny))
    project = new_project(runner, tmp_path / "svc")
    assert answers_of(project)["_commit"] == "v2.0.0"
    older = tmp_path / "older"
    subprocess.run(["git", "clone", "-q", str(tiny), str(older)], check=True)
    git(older, "reset", "-q", "--hard", "v1.0.0")
    git(older, "tag", "-d", "v2.0.0")
    other_home = tmp_path / "other-home"
    other_home.mkdir()
    monkeypatch.setenv("HOME", str(other_home))
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(older))
    before = snapshot(project)
    result = runner.invoke(app, ["update", str(project), "--defaults"])
    assert_one_line_error(result, 2, "is at template version v2.0.0", "Upgrade flaskgen")
    assert snapshot(project) == before


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
