"""Which template version each project is at, and which is the latest: read, never rendered.

Each project's .copier-answers.yml gives its template (`_src_path`) and version (`_commit`).
Each distinct template is looked up once: flaskgen's own from its history (the bundle's
header, no git), any other through `git ls-remote`, in parallel. Checking a hundred
repositories costs about what reading a hundred small YAML files does.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from . import project
from .errors import FlaskgenError, one_line
from .project import Recorded

CURRENT, BEHIND, AHEAD, ERROR = "current", "behind", "ahead", "error"
_SHORTCUTS = (
    (re.compile(r"^gh:/?(.*?)(\.git)?$"), r"https://github.com/\1.git"),
    (re.compile(r"^gl:/?(.*?)(\.git)?$"), r"https://gitlab.com/\1.git"),
)


@dataclass(frozen=True)
class Status:
    path: str
    status: str  # current, behind, ahead (a commit after the latest release) or error
    version: str | None = None  # the project's template version (_commit)
    latest: str | None = None  # the template's latest version
    template: str | None = None  # _src_path
    error: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


@dataclass(frozen=True)
class Latest:
    """A template's latest version: a release tag, else HEAD's commit; or why it is unknown."""

    ref: str | None = None  # the tag name or commit id
    commit: str | None = None  # the commit it names, when known
    error: str | None = None

    @property
    def label(self) -> str | None:
        if self.ref is not None and re.fullmatch(r"[0-9a-f]{40,64}", self.ref):
            return self.ref[:7]
        return self.ref


def check(paths: Iterable[Path]) -> list[Status]:
    """The status of each project; problems are reported per project, never raised."""
    found: list[Recorded | Status] = []
    for path in paths:
        try:
            found.append(project.read(path))
        except FlaskgenError as exc:
            found.append(Status(path=str(path), status=ERROR, error=exc.message))
    sources = sorted({item.src for item in found if isinstance(item, Recorded)})
    latest = _latest_versions(sources)
    return [item if isinstance(item, Status) else _compare(item, latest[item.src]) for item in found]


def _latest_versions(sources: list[str]) -> dict[str, Latest]:
    from . import bundle

    result: dict[str, Latest] = {}
    others = [src for src in sources if src != bundle.SRC_PATH]
    if bundle.SRC_PATH in sources:
        try:
            refs = bundle.ensure_installed().refs
            ref = refs.default_ref()
            result[bundle.SRC_PATH] = Latest(ref=ref, commit=refs.tags.get(ref, refs.head))
        except FlaskgenError as exc:
            result[bundle.SRC_PATH] = Latest(error=exc.message)
    if others:
        with ThreadPoolExecutor(max_workers=min(8, len(others))) as pool:
            result.update(zip(others, pool.map(_remote_latest, others), strict=True))
    return result


def _remote_latest(src: str) -> Latest:
    """The latest release tag (or HEAD) of any git template, from `git ls-remote`."""
    from .bundle import Refs

    url = src
    for pattern, replacement in _SHORTCUTS:
        url = pattern.sub(replacement, url)
    url = url.removeprefix("git+")
    if url.startswith("~"):
        url = os.path.expanduser(url)
    try:
        listed = subprocess.run(
            ["git", "ls-remote", "--", url],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except FileNotFoundError:
        return Latest(error="git is not installed, and checking this template needs it. Install git")
    except subprocess.TimeoutExpired:
        return Latest(error=f"template {src!r} did not answer within 60 s. Check your network")
    if listed.returncode != 0:
        reason = (listed.stderr.strip().splitlines() or ["no answer"])[-1].removeprefix("fatal: ")
        return Latest(error=f"cannot read template {src!r}: {one_line(reason)}. Check that it is reachable")
    head, tags, peeled = "", {}, {}
    for line in listed.stdout.splitlines():
        oid, _, name = line.partition("\t")
        if name == "HEAD":
            head = oid
        elif name.startswith("refs/tags/") and name.endswith("^{}"):
            peeled[name.removeprefix("refs/tags/").removesuffix("^{}")] = oid
        elif name.startswith("refs/tags/"):
            tags[name.removeprefix("refs/tags/")] = oid
    refs = Refs(head=head, tags={**tags, **peeled})
    ref = refs.default_ref()
    if not ref:
        return Latest(error=f"template {src!r} has no commit. Check that it is the right repository")
    return Latest(ref=ref, commit=refs.tags.get(ref, head))


def _compare(recorded: Recorded, latest: Latest) -> Status:
    base = Status(path=str(recorded.path), status=ERROR, version=recorded.commit, template=recorded.src)
    if latest.error is not None or latest.ref is None:
        return _replace(base, error=f"{recorded.path}: {latest.error}")
    status = BEHIND
    if recorded.commit == latest.ref or (
        recorded.oid is not None and latest.commit and latest.commit.startswith(recorded.oid)
    ):
        status = CURRENT
    elif recorded.tag is not None and latest.ref != latest.commit:
        status = _compare_versions(recorded, latest.ref)
    return _replace(base, status=status, latest=latest.label)


def _compare_versions(recorded: Recorded, latest_tag: str) -> str:
    """behind, current or ahead: the project's version against the latest release tag."""
    from packaging.version import InvalidVersion, Version

    try:
        mine, theirs = Version(recorded.tag or ""), Version(latest_tag)
    except InvalidVersion:
        return BEHIND
    if mine < theirs:
        return BEHIND
    if mine > theirs or recorded.oid is not None:  # vX.Y.Z-N-g...: commits after the release
        return AHEAD
    return CURRENT


def _replace(item: Status, **changes: str | None) -> Status:
    from dataclasses import replace

    return replace(item, **changes)
