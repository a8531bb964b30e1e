"""Where each project stands against its template: version, releases behind, the answers
that differ from a team's, and the template-owned files it changed.

Each project's .copier-answers.yml gives its template (`_src_path`), version (`_commit`) and
answers. Each distinct template is looked up once: flaskgen's own from its history (the
bundle's header, no git), any other through `git ls-remote`, in parallel. The changed files
come from a pristine render of the project's version and answers (pristine.py), cached: only
a render the cache lacks imports Copier. `check(files=False)` reads answers files only.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from . import project
from .errors import FlaskgenError, one_line
from .project import ANSWERS_FILE, Recorded

CURRENT, BEHIND, AHEAD, ERROR = "current", "behind", "ahead", "error"
_SHORTCUTS = (
    (re.compile(r"^gh:/?(.*?)(\.git)?$"), r"https://github.com/\1.git"),
    (re.compile(r"^gl:/?(.*?)(\.git)?$"), r"https://gitlab.com/\1.git"),
)
# Folders that never hold a project of their own: looked into, they only cost time.
SKIPPED = frozenset(
    {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".nox",
     ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages", ".cache"}
)  # fmt: skip


@dataclass(frozen=True)
class Status:
    path: str
    status: str  # current, behind, ahead (a commit after the latest release) or error
    version: str | None = None  # the project's template version (_commit)
    latest: str | None = None  # the template's latest version
    template: str | None = None  # _src_path
    error: str | None = None
    releases_behind: int | None = None  # releases newer than the project's; None if unknown
    changed_files: dict[str, str] | None = None  # path -> modified/deleted; None: not compared
    answers_differing: dict[str, dict[str, Any]] | None = None  # key -> {project, team}
    files_error: str | None = None  # why changed_files could not be computed

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Latest:
    """A template's latest version: a release tag, else HEAD's commit; or why it is unknown."""

    ref: str | None = None  # the tag name or commit id
    commit: str | None = None  # the commit it names, when known
    error: str | None = None
    tags: dict[str, str] = field(default_factory=dict)  # every tag of the template -> its commit
    bundled: bool = False  # flaskgen's own history: its tags are all there is

    @property
    def label(self) -> str | None:
        if self.ref is not None and re.fullmatch(r"[0-9a-f]{40,64}", self.ref):
            return self.ref[:7]
        return self.ref

    def releases(self) -> list[str]:
        from .bundle import release_tags

        return release_tags(self.tags)


def find_projects(root: Path) -> list[Path]:
    """`root` if it is a project, else every project below it; a project's own folders, and
    folders such as .git, node_modules and virtualenvs, are not looked into."""
    if os.path.lexists(root / ANSWERS_FILE) or not root.is_dir():
        return [root]
    found: list[Path] = []
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name, reverse=True)
        except OSError:
            continue
        for entry in entries:
            if entry.name in SKIPPED or not entry.is_dir(follow_symlinks=False):
                continue
            path = Path(entry.path)
            if os.path.lexists(path / ANSWERS_FILE):
                found.append(path)
            elif not (path / "pyvenv.cfg").exists():
                pending.append(path)
    return sorted(found)


def check(
    paths: Iterable[Path], *, team: Mapping[str, Any] | None = None, files: bool = True
) -> list[Status]:
    """The status of each project under `paths`; problems are reported per project, never
    raised. `team`: the answers to compare with; `files`: compare with pristine renders."""
    found: list[Recorded | Status] = []
    for root in paths:
        projects = find_projects(root)
        if not projects:
            found.append(Status(path=str(root), status=ERROR, error=_no_project(root)))
        for path in projects:
            try:
                found.append(project.read(path))
            except FlaskgenError as exc:
                found.append(Status(path=str(path), status=ERROR, error=exc.message))
    recorded = [item for item in found if isinstance(item, Recorded)]
    latest = _latest_versions(sorted({item.src for item in recorded}))
    unknown = _unknown_commits(recorded, latest)
    results = [
        item if isinstance(item, Status) else _compare(item, latest[item.src], item.path in unknown)
        for item in found
    ]
    if team is not None:
        results = [_with_answers(status, item, team) for status, item in zip(results, found, strict=True)]
    if files:
        results = _with_changed_files(results, found, latest)
    return results


def _no_project(root: Path) -> str:
    return (
        f"{root} is not a flaskgen project: it has no {ANSWERS_FILE}, nor has any folder below it. "
        "Pass the root folder of a project that flaskgen new generated, or a folder that holds some"
    )


def _latest_versions(sources: list[str]) -> dict[str, Latest]:
    from . import bundle

    result: dict[str, Latest] = {}
    others = [src for src in sources if src != bundle.SRC_PATH]
    if bundle.SRC_PATH in sources:
        try:
            refs = bundle.ensure_installed().refs
            ref = refs.current_ref()
            tags = bundle.read_refs(bundle.installed_path()).tags  # other flaskgens' versions too
            result[bundle.SRC_PATH] = Latest(
                ref=ref, commit=refs.tags.get(ref, refs.head), tags=tags, bundled=True
            )
        except (FlaskgenError, OSError, ValueError) as exc:
            message = exc.message if isinstance(exc, FlaskgenError) else one_line(exc)
            result[bundle.SRC_PATH] = Latest(error=message)
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
    return Latest(ref=ref, commit=refs.tags.get(ref, head), tags=refs.tags)


def _unknown_commits(recorded: list[Recorded], latest: Mapping[str, Latest]) -> set[Path]:
    """The projects whose recorded commit their template's history lacks (only knowable for
    flaskgen's own history and local git templates; looked up only for commit ids that are
    not the latest, so a tree of tagged projects costs no git command)."""
    from . import bundle

    suspects: dict[str, list[Recorded]] = {}
    for item in recorded:
        known = latest[item.src]
        if item.oid is None or known.error is not None:
            continue
        if known.commit and known.commit.startswith(item.oid):
            continue
        suspects.setdefault(item.src, []).append(item)
    unknown: set[Path] = set()
    for src, items in suspects.items():
        if src == bundle.SRC_PATH:
            with bundle.history() as git_dir:
                unknown |= {item.path for item in items if not _has_commit(git_dir, item.oid or "")}
            continue
        repo = Path(src).expanduser()
        if (repo / ".git").exists():
            unknown |= {item.path for item in items if not _has_commit(repo / ".git", item.oid or "")}
    return unknown


def _has_commit(git_dir: Path, oid: str) -> bool:
    found = subprocess.run(
        ["git", f"--git-dir={git_dir}", "cat-file", "-e", f"{oid}^{{commit}}"], capture_output=True
    )
    return found.returncode == 0


def _compare(recorded: Recorded, latest: Latest, unknown: bool = False) -> Status:
    base = Status(path=str(recorded.path), status=ERROR, version=recorded.commit, template=recorded.src)
    if latest.error is not None or latest.ref is None:
        return replace(base, error=f"{recorded.path}: {latest.error}")
    # Where flaskgen update would refuse the project's version, say what it would say.
    if recorded.oid is None and recorded.tag is not None and recorded.tag not in latest.tags:
        if latest.bundled:
            newest = latest.releases()[:1] or ["none"]
            return replace(base, error=project.unknown_release(recorded, newest[0]))
        return replace(base, error=project.unknown_commit(recorded, updating=False))
    if unknown:
        return replace(base, error=project.unknown_commit(recorded, updating=False))
    status = BEHIND
    if recorded.commit == latest.ref or (
        recorded.oid is not None and latest.commit and latest.commit.startswith(recorded.oid)
    ):
        status = CURRENT
    elif recorded.tag is not None and latest.ref != latest.commit:
        status = _compare_versions(recorded, latest.ref)
    from .releases import releases_behind

    behind = releases_behind(recorded.commit, latest.releases())
    if behind is None and status == CURRENT:
        behind = 0
    # A current project's version names the latest as the project records it (v0.2.0-3-g...).
    label = recorded.commit if status == CURRENT else latest.label
    return replace(base, status=status, latest=label, releases_behind=behind)


def _with_answers(status: Status, item: Recorded | Status, team: Mapping[str, Any]) -> Status:
    """The answers of the project that differ from the team's."""
    if not isinstance(item, Recorded):
        return status
    from .questions import show

    missing = object()
    differing = {}
    for key, wanted in team.items():
        mine = item.answers.get(key, missing)
        if mine is missing or show(mine) != show(wanted):
            differing[key] = {"project": None if mine is missing else mine, "team": wanted}
    return replace(status, answers_differing=differing)


def _with_changed_files(
    results: list[Status], found: list[Recorded | Status], latest: Mapping[str, Latest]
) -> list[Status]:
    """Each project's template-owned files that differ from a pristine render of its version."""
    from . import pristine

    versions = {}
    for status, item in zip(results, found, strict=True):
        if isinstance(item, Recorded) and status.status != ERROR:
            versions[item.path] = (pristine.version_of(item, latest[item.src].tags), item.answers)
    rendered = pristine.manifests(versions.values())
    out = []
    for status, item in zip(results, found, strict=True):
        if isinstance(item, Recorded) and item.path in versions:
            version, answers = versions[item.path]
            manifest = rendered[version.key(answers)]
            if isinstance(manifest, str):  # the version's status stands: exit codes as without files
                status = replace(status, files_error=f"{item.path}: {manifest}")
            else:
                status = replace(status, changed_files=pristine.changed_files(item.path, manifest))
        out.append(status)
    return out


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
