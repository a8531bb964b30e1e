"""A generated project as flaskgen sees it: the answers file Copier wrote into it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError, one_line

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
        if match := _DESCRIBED.match(self.commit):
            return match["tag"]
        return None if _OID.match(self.commit) else self.commit

    @property
    def oid(self) -> str | None:
        """The abbreviated commit id in the version, if it names a commit rather than a tag."""
        if match := _DESCRIBED.match(self.commit):
            return match["oid"]
        return self.commit if _OID.match(self.commit) else None


def read(path: Path) -> Recorded:
    """The answers of the project at `path`; refuse what is not a flaskgen project."""
    import yaml

    if not path.is_dir():
        problem = "does not exist" if not path.exists() else "is not a directory"
        raise InputError(f"{path} {problem}. Pass the folder of a project that flaskgen generated")
    answers_file = path / ANSWERS_FILE
    if not answers_file.is_file():
        raise InputError(
            f"{path} is not a flaskgen project: it has no {ANSWERS_FILE}. "
            "Pass the root folder of a project that flaskgen new generated"
        )
    try:
        data = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(
            f"cannot read {answers_file}: {one_line(exc)}. "
            f"Restore it from git (git checkout -- {ANSWERS_FILE})"
        ) from None
    if not isinstance(data, dict) or not data.get("_src_path"):
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
