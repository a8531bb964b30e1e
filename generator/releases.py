"""Release numbers for the template's versions, and the changelog entries between two of them.

A release is a PEP 440 tag (`v0.2.0`), which Copier and Renovate compare. Pushed tags are not
required: when flaskgen bundles a checkout (the wheel's build, or a development checkout on
demand) each version that `pyproject.toml` took gets the tag `v<version>` on the first commit
that had it, the commit that bumped it, unless a tag of that version exists already. So a
release is made by bumping the version, and the same commit gets the same tag on every clone.

CHANGELOG.md, at the root of the template's history, has one `## <version>` section per
release (and `## Unreleased` for what is not released yet); `flaskgen update` prints the
sections between a project's version and the one it updates to.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

CHANGELOG = "CHANGELOG.md"
UNRELEASED = "Unreleased"
_HEADING = re.compile(r"^##\s+\[?(?P<name>[^\]\s]+)\]?")


def derived_tags(repo: Path, existing: Iterable[str]) -> dict[str, str]:
    """`v<version>` -> the first commit whose pyproject.toml has that version, for each
    version no tag in `existing` names already (`0.2.0` and `v0.2.0` are the same version)."""
    from packaging.version import InvalidVersion, Version

    commits = _git(repo, "log", "--topo-order", "--reverse", "--format=%H", "--", "pyproject.toml")
    if commits is None or not commits.split():
        return {}
    blobs = "".join(f"{oid}:pyproject.toml\n" for oid in commits.split())
    batch = ["git", "-C", str(repo), "cat-file", "--batch"]
    shown = subprocess.run(batch, input=blobs.encode(), capture_output=True, check=False)
    known = set()
    for name in existing:
        try:
            known.add(Version(name))
        except InvalidVersion:
            continue
    found: dict[str, str] = {}
    for oid, text in zip(commits.split(), _batch_contents(shown.stdout), strict=False):
        version = _project_version(text)
        if version is None:
            continue
        try:
            parsed = Version(version)
        except InvalidVersion:
            continue
        if parsed not in known:
            known.add(parsed)
            found[f"v{version}"] = oid
    return found


def _batch_contents(output: bytes) -> list[bytes | None]:
    """The objects `git cat-file --batch` printed, None for a missing one."""
    contents: list[bytes | None] = []
    position = 0
    while position < len(output):
        end = output.index(b"\n", position)
        header = output[position:end].split()
        position = end + 1
        if len(header) < 3 or header[1] == b"missing":
            contents.append(None)
            continue
        size = int(header[2])
        contents.append(output[position : position + size])
        position += size + 1
    return contents


def _project_version(text: bytes | None) -> str | None:
    if text is None:
        return None
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    version = data.get("project", {}).get("version")
    return version if isinstance(version, str) else None


def releases_behind(commit: str, releases: Iterable[str]) -> int | None:
    """How many of `releases` (tags) are newer than the recorded version; None if unknown."""
    from packaging.version import InvalidVersion, Version

    from .project import release_of

    base = release_of(commit)
    if base is None:
        return None
    try:
        mine = Version(base)
    except InvalidVersion:
        return None
    count = 0
    for tag in releases:
        try:
            if Version(tag) > mine:
                count += 1
        except InvalidVersion:
            continue
    return count


@dataclass(frozen=True)
class Entry:
    """One section of CHANGELOG.md: its version (or Unreleased) and its text."""

    name: str
    text: str


def parse_changelog(text: str) -> list[Entry]:
    """The `## <version>` sections of a changelog, in the file's order (newest first)."""
    entries: list[Entry] = []
    name: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            if name is not None:
                entries.append(Entry(name, "\n".join(lines).strip("\n")))
            name, lines = match["name"], [line]
        elif name is not None:
            lines.append(line)
    if name is not None:
        entries.append(Entry(name, "\n".join(lines).strip("\n")))
    return entries


def entries_between(text: str, missing: Iterable[str], *, unreleased: bool) -> list[Entry]:
    """The changelog's sections of the releases in `missing` (tags), and the Unreleased one
    if `unreleased` (the new version is a commit after the latest release)."""
    from packaging.version import InvalidVersion, Version

    wanted = set()
    for tag in missing:
        try:
            wanted.add(Version(tag))
        except InvalidVersion:
            continue
    chosen = []
    for entry in parse_changelog(text):
        if entry.name.lower() == UNRELEASED.lower():
            if unreleased:
                chosen.append(entry)
            continue
        try:
            if Version(entry.name) in wanted:
                chosen.append(entry)
        except InvalidVersion:
            continue
    return chosen


def missing_releases(git_dir: Path, tags: Mapping[str, str], old: str, new: str) -> list[str]:
    """The release tags that the commit `new` has in its history and `old` has not."""
    from .bundle import release_tags

    found = []
    for tag in release_tags(tags):
        oid = tags[tag]
        if _ancestor(git_dir, oid, new) and not _ancestor(git_dir, oid, old):
            found.append(tag)
    return found


def _ancestor(git_dir: Path, commit: str, of: str) -> bool:
    result = subprocess.run(
        ["git", f"--git-dir={git_dir}", "merge-base", "--is-ancestor", commit, of],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def _git(repo: Path, *args: str) -> str | None:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    return result.stdout if result.returncode == 0 else None
