"""What `flaskgen update` says beyond the changed files, and the answers it keeps.

Copier, left alone, drops the keys of .copier-answers.yml that the template does not ask and
leaves a file the user deleted deleted even when the new version changes it, both without a
word. Around its run, flaskgen puts such keys back (a team's own keys) and names the answers
of questions the new version dropped, reports those deleted files, and prints the template's
changelog entries between the two versions.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import project as project_module
from .errors import FlaskgenError
from .project import ANSWERS_FILE, Recorded
from .questions import parse


def questions_at(recorded: Recorded) -> set[str] | None:
    """The questions of the version the project was generated from, None if unknown."""
    from . import bundle

    try:
        if recorded.src == bundle.SRC_PATH:
            installed = bundle.installed_path()
            ref = recorded.oid or bundle.read_refs(installed).commit_of(recorded.commit)
            config = bundle.read_config(installed, ref)
        else:
            config = template_config_at(Path(recorded.src).expanduser(), recorded.oid or recorded.commit)
        questionnaire = parse(config) if config is not None else None
    except (FlaskgenError, OSError, ValueError):
        return None
    return {q.name for q in questionnaire.questions} if questionnaire is not None else None


def template_config_at(repo: Path, ref: str) -> str | None:
    """copier.yml of a local git template at `ref`; None when it is not one."""
    if not repo.is_dir():
        return None
    shown = subprocess.run(
        ["git", "-C", str(repo), "show", f"{ref}:copier.yml"], capture_output=True, text=True
    )
    return shown.stdout if shown.returncode == 0 else None


def keep_unasked_answers(
    path: Path, before: dict[str, Any], asked: set[str], old_questions: set[str] | None
) -> tuple[list[str], list[str]]:
    """Put back the keys of the answers file that Copier dropped though no question of either
    version asks them (a team's own keys); name the answers of questions the new version dropped."""
    after = project_module.raw_answers(path)
    gone = [key for key in before if key not in after and key not in asked]
    dropped = [key for key in gone if old_questions is not None and key in old_questions]
    kept = [key for key in gone if key not in dropped]
    if kept:
        import yaml

        answers_file = path / ANSWERS_FILE
        text = answers_file.read_text(encoding="utf-8")
        extra = yaml.safe_dump({key: before[key] for key in kept}, sort_keys=False, allow_unicode=True)
        answers_file.write_text(text.rstrip("\n") + "\n" + extra, encoding="utf-8")
    return kept, dropped


def changelog(recorded: Recorded, after: Recorded) -> list[str]:
    """The CHANGELOG.md sections of the releases between the two versions (best effort: a
    template without a changelog, or a remote one, gives none)."""
    from . import bundle, releases

    old, new = recorded.oid or recorded.commit, after.oid or after.commit
    if old == new:
        return []
    try:
        with contextlib.ExitStack() as stack:
            if recorded.src == bundle.SRC_PATH:
                git_dir = stack.enter_context(bundle.history())
                tags = bundle.read_refs(bundle.installed_path()).tags
            else:
                repo = Path(recorded.src).expanduser()
                if not (repo / ".git").exists():
                    return []
                git_dir = repo / ".git"
                tags = _tags(repo)
            git = ["git", f"--git-dir={git_dir}"]
            new_commit = tags.get(new, new)
            shown = subprocess.run(
                [*git, "show", f"{new_commit}:{releases.CHANGELOG}"], capture_output=True, text=True
            )
            if shown.returncode != 0:
                return []
            missing = releases.missing_releases(git_dir, tags, tags.get(old, old), new_commit)
    except (FlaskgenError, OSError):
        return []
    entries = releases.entries_between(shown.stdout, missing, unreleased=after.oid is not None)
    return [entry.text for entry in entries]


def _tags(repo: Path) -> dict[str, str]:
    shown = subprocess.run(
        ["git", "-C", str(repo), "show-ref", "--tags", "--dereference"], capture_output=True, text=True
    )
    tags: dict[str, str] = {}
    for line in shown.stdout.splitlines():
        oid, _, name = line.partition(" ")
        tags[name.removeprefix("refs/tags/").removesuffix("^{}")] = oid
    return tags


@contextlib.contextmanager
def noticing_deleted_files(top: Path) -> Iterator[dict[str, str]]:
    """While Copier updates, note the files of the old version that the project lacks (the
    user deleted them), with their old content's digest: Copier leaves them deleted, and
    `_deleted_but_changed` tells which of them the new version changes."""
    from copier import _main

    from .pristine import digest

    original = _main._remove_old_files
    found: dict[str, str] = {}
    calls: list[Path] = []

    def remove_old_files(prefix: Path, cmp: Any, rm_common: bool = False) -> None:
        if not calls:  # the top-level call compares the old and new renders, whole
            old = Path(cmp.left)
            for rendered in old.rglob("*"):
                relative = rendered.relative_to(old)
                if relative.parts[0] == ".git" or relative.name == ANSWERS_FILE or not rendered.is_file():
                    continue
                if not os.path.lexists(top / relative):
                    found[relative.as_posix()] = digest(rendered)
        calls.append(prefix)
        original(prefix, cmp, rm_common)

    _main._remove_old_files = remove_old_files
    try:
        yield found
    finally:
        _main._remove_old_files = original


def deleted_but_changed(top: Path, deleted: dict[str, str], after: Recorded) -> list[str]:
    """The files the user deleted that the new version changes (best effort: a template that
    cannot be rendered again here gives none)."""
    from . import bundle, pristine

    if not deleted:
        return []
    tags = bundle.read_refs(bundle.installed_path()).tags if after.src == bundle.SRC_PATH else {}
    version = pristine.version_of(after, tags)
    manifest = pristine.manifests([(version, after.answers)])[version.key(after.answers)]
    if isinstance(manifest, str):
        return []
    top_to_project = after.path.resolve().relative_to(top)
    changed = []
    for relative, old_digest in deleted.items():
        inside = Path(relative).relative_to(top_to_project).as_posix()
        new = manifest.get(inside)
        if new is not None and new[1] != old_digest and not (after.path / inside).exists():
            changed.append(inside)
    return sorted(changed)
