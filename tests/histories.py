"""Template histories with tagged releases, and generated projects in git (update, check)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml
from typer.testing import CliRunner

from flaskgen.cli import app

# A tiny template with two releases: pins update's mechanics down without the real template.
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


def git(repo: Path, *args: str) -> str:
    """`git -C repo ARGS...`'s output; commits as Test unless the environment names someone."""
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    return subprocess.run(
        ["git", "-C", str(repo), *identity, *args], check=True, capture_output=True, text=True
    ).stdout


def write_files(root: Path, files: dict[str, str | None]) -> None:
    """Write each file of `files` under root; a None content deletes the file."""
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


def clone_with_working_tree(source: Path, clone: Path, names: tuple[str, ...]) -> Path:
    """A clone of the repository `source` whose HEAD commit adds the working tree's `names`
    (uncommitted changes included): the version under test, as the latest commit."""
    subprocess.run(["git", "clone", "-q", str(source), str(clone)], check=True, capture_output=True)
    for name in names:
        target = clone / name
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        if (source / name).is_dir():
            shutil.copytree(source / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copyfile(source / name, target)
    git(clone, "add", "-A", *names)
    if git(clone, "status", "--porcelain", "--", *names).strip():
        git(clone, "commit", "-qm", "the working tree")
    return clone


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def new_project(runner: CliRunner, dest: Path, *args: str) -> Path:
    """`flaskgen new DEST --defaults ARGS...`, then the user's first commit."""
    result = runner.invoke(app, ["new", str(dest), "--defaults", "-q", *args])
    assert result.exit_code == 0, result.output
    git(dest, "init", "-q")
    commit_all(dest, "generated")
    return dest


def answers_of(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def status(repo: Path) -> str:
    return git(repo, "status", "--porcelain", "--untracked-files=all", "--ignored")


def snapshot(root: Path, leave_out: str = ".git") -> dict[str, bytes | None]:
    """Every path under root with its content, to prove a failure wrote nothing; the top-level
    folder `leave_out` is not looked into (a project's .git, or a cache the test points at)."""
    return {
        str(path.relative_to(root)): path.read_bytes() if path.is_file() else None
        for path in sorted(root.rglob("*"))
        if path.relative_to(root).parts[0] != leave_out
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


def table_row(stdout: str, path: Path | str) -> dict[str, str]:
    """The row of `flaskgen check`'s table for one project, by column name."""
    lines = stdout.splitlines()
    columns = re.split(r"\s{2,}", lines[0].strip())
    for line in lines[1:]:
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] == str(path):
            return dict(zip(columns, cells, strict=True))
    raise AssertionError(f"no row for {path} in:\n{stdout}")
