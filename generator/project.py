"""A generated project as flaskgen sees it: the answers file Copier wrote into it."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError

ANSWERS_FILE = ".copier-answers.yml"
# `git describe --tags --always` after a tag: <tag>-<commits since>-g<abbreviated id>.
_DESCRIBED = re.compile(r"^(?P<tag>.+)-(?P<distance>\d+)-g(?P<oid>[0-9a-f]{4,64})$")
_OID = re.compile(r"^[0-9a-f]{4,64}$")


@dataclass(frozen=True)
class Recorded:
    """What a project's .copier-answers.yml says: its template, version and answers."""

    path: Path  # the project's root, where the answers file is
    src: str  # _src_path: where the template is, as Copier will look for it
    commit: str  # _commit: the template version, `git describe --tags --always`
    answers: dict[str, Any]  # the questions' answers (keys without a leading _)

    @property
    def tag(self) -> str | None:
        """The release tag the version is, or is based on; None for a bare commit id."""
        return release_of(self.commit)

    @property
    def oid(self) -> str | None:
        """The abbreviated commit id in the version, if it names a commit rather than a tag."""
        if match := _DESCRIBED.match(self.commit):
            return match["oid"]
        return self.commit if _OID.match(self.commit) else None


def release_of(commit: str) -> str | None:
    """The release tag a recorded version is, or follows (`v0.2.0-3-gabc1234` -> `v0.2.0`);
    None for a bare commit id."""
    if match := _DESCRIBED.match(commit):
        return match["tag"]
    return None if _OID.match(commit) else commit


def raw_answers(path: Path) -> dict[str, Any]:
    """Every key of the project's answers file (read() checked it already)."""
    return _load(path / ANSWERS_FILE)


def read(path: Path) -> Recorded:
    """The answers of the project at `path`; refuse what is not a flaskgen project."""
    if not path.is_dir():
        problem = "does not exist" if not path.exists() else "is not a directory"
        raise InputError(f"{path} {problem}. Pass the folder of a project that flaskgen generated")
    answers_file = path / ANSWERS_FILE
    if not os.path.lexists(answers_file):
        raise InputError(
            f"{path} is not a flaskgen project: it has no {ANSWERS_FILE}. "
            "Pass the root folder of a project that flaskgen new generated"
        )
    data = _load(answers_file)
    if not data.get("_src_path"):
        raise InputError(
            f"{answers_file} names no template (_src_path), so {path} is not a flaskgen project. "
            f"Restore it from git (git checkout -- {ANSWERS_FILE})"
        )
    if not data.get("_commit"):
        raise InputError(
            f"{path} records no template version (_commit): it was generated from a template "
            "folder that is not a git repository, so it cannot be compared or updated. Generate "
            "it again with flaskgen new, or from the template's git repository"
        )
    return Recorded(
        path=path,
        src=str(data["_src_path"]),
        commit=str(data["_commit"]),
        answers={str(k): v for k, v in data.items() if not str(k).startswith("_")},
    )


def _load(answers_file: Path) -> dict[str, Any]:
    """The answers file as a mapping; anything else (not YAML, a pipe, a huge file, deeply
    nested) is refused in one line, without reading further than needed."""
    from .answers import YamlFileError, load_yaml_file

    try:
        data = load_yaml_file(answers_file)
    except YamlFileError as exc:  # a pipe, a device, a huge or deeply nested file: never read
        raise InputError(
            f"cannot read {answers_file}: {exc}. Restore it from git (git checkout -- {ANSWERS_FILE})"
        ) from None
    if not isinstance(data, dict):
        raise InputError(
            f"{answers_file} names no template (_src_path), so {answers_file.parent} is not a flaskgen "
            f"project. Restore it from git (git checkout -- {ANSWERS_FILE})"
        )
    return {str(key): value for key, value in data.items()}


def unknown_release(recorded: Recorded, latest: str) -> str:
    """Why flaskgen's own template cannot start from the project's release (check and update agree)."""
    return (
        f"{recorded.path} is at template version {recorded.tag}, which this flaskgen does not know "
        f"(its latest is {latest}). Upgrade flaskgen, then run flaskgen update again"
    )


def unknown_commit(recorded: Recorded, *, updating: bool = True) -> str:
    """Why a template cannot start from the project's version (check and update agree)."""
    consequence = (
        "and an update starts from it: nothing was changed"
        if updating
        else "so flaskgen update cannot start from it"
    )
    return (
        f"{recorded.path} was generated from template version {recorded.commit}, which "
        f"{recorded.src} does not have, {consequence}. "
        "Make that version available there (for flaskgen's own template: run the flaskgen, "
        "or the checkout, that generated the project), then run flaskgen update again"
    )
