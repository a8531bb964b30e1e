"""Where a project's template comes from, and moving it elsewhere: `flaskgen source`.

A project records its template in `.copier-answers.yml` as `_src_path`, and its version as
`_commit`. Two kinds of source serve flaskgen's template:

- flaskgen's history installed at ~/.local/share/flaskgen/template.bundle (the default):
  offline, on every machine where flaskgen runs;
- a git URL, such as a team's fork or flaskgen's published repository, tagged with PEP 440
  releases: the form Renovate's Copier manager follows (a full URL, a tag in `_commit`).

Switching rewrites `_src_path` only, after checking that the new source has the project's
version (an update starts from it), so the next `flaskgen update` or `copier update` merges
from there.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import project as project_module
from .errors import InputError, one_line
from .project import ANSWERS_FILE

BUNDLED = "bundled"  # what users type for flaskgen's own offline history
# What Renovate's Copier manager accepts as `_src_path`: a URL, or git@host:path.
_URL = re.compile(r"^([a-z][a-z0-9+.-]*://\S|git@[^:]+:.)", re.IGNORECASE)
_SHORTCUTS = (
    (re.compile(r"^gh:/?(.*?)(\.git)?$"), r"https://github.com/\1.git"),
    (re.compile(r"^gl:/?(.*?)(\.git)?$"), r"https://gitlab.com/\1.git"),
)


def expand_shortcut(src: str) -> str:
    """`gh:org/repo` and `gl:org/repo` as the full URLs Copier clones (and Renovate reads)."""
    for pattern, replacement in _SHORTCUTS:
        if pattern.match(src):
            return pattern.sub(replacement, src)
    return src


def followable(src: str, version: str) -> list[str]:
    """Why tools that follow template releases (Renovate) cannot follow this source; [] if they can."""
    from . import bundle

    problems = []
    if src == bundle.SRC_PATH:
        problems.append(f"{src} is on each machine, not a git URL")
    elif not _URL.match(src):
        problems.append(f"{src} is a path, not a git URL")
    if not bundle.release_tags([version]):
        problems.append(f"version {version} is a commit, not a PEP 440 release tag")
    return problems


def untagged_url_warnings(path: Path) -> list[str]:
    """For a project just generated from a git URL: a warning if it records no release tag."""
    from . import bundle
    from .errors import FlaskgenError

    try:
        recorded = project_module.read(path)
    except FlaskgenError:
        return []
    if not _URL.match(recorded.src) or bundle.release_tags([recorded.commit]):
        return []
    return [
        f"template {recorded.src} has no release tag at the version rendered, so the project records "
        f"{recorded.commit}, which Renovate cannot follow. Tag the template's releases "
        "(git tag v1.0.0 && git push --tags) and pass one to --vcs-ref"
    ]


@dataclass(frozen=True)
class Switched:
    path: Path
    old: str
    new: str
    version: str
    warnings: list[str] = field(default_factory=list)


def switch(path: Path, spec: str) -> Switched:
    """Point the project at `path` to the template source `spec` (a git URL, a path to a git
    repository, or `bundled`), keeping its version; refuse a source that lacks that version."""
    from . import bundle

    recorded = project_module.read(path)
    new = _normalised(spec)
    warnings: list[str] = []
    if new == recorded.src:
        return Switched(path=path, old=recorded.src, new=new, version=recorded.commit)
    if new == bundle.SRC_PATH:
        bundle.ensure_installed()
    found = _version_commit(new, recorded.commit)
    if found is None:
        raise InputError(
            f"template source {new} has no version {recorded.commit}, the one {path} was "
            f"generated from, and an update starts from it: nothing was changed. Push that tag "
            f"there (git push --tags), or pick a source that has it"
        )
    try:
        before = _version_commit(recorded.src, recorded.commit)
    except InputError:  # the old source is gone: nothing to compare with
        before = None
    if before is not None and before != found:
        warnings.append(
            f"version {recorded.commit} is commit {found[:7]} in {new} but {before[:7]} in {recorded.src}: "
            "the next update compares your project with the new source's version"
        )
    answers = path / ANSWERS_FILE
    text = answers.read_text(encoding="utf-8")
    line = re.compile(r"^_src_path:.*$", re.MULTILINE)
    answers.write_text(line.sub(lambda _: f"_src_path: {_yaml_scalar(new)}", text, count=1), encoding="utf-8")
    for problem in followable(new, recorded.commit):
        warnings.append(f"Renovate cannot follow this project: {problem}")
    return Switched(path=path, old=recorded.src, new=new, version=recorded.commit, warnings=warnings)


def _normalised(spec: str) -> str:
    from . import bundle

    if spec in (BUNDLED, bundle.SRC_PATH):
        return bundle.SRC_PATH
    src = expand_shortcut(spec.strip())
    if _URL.match(src) or src.startswith("git+"):
        return src
    local = Path(src).expanduser()
    if not local.exists():
        raise InputError(
            f"template source {spec!r} is neither a git URL nor an existing path. Pass a git URL "
            f"(https://host/org/template.git), a path to a git repository, or {BUNDLED!r} for "
            "flaskgen's own offline history"
        )
    return str(local.resolve())


def _version_commit(src: str, version: str) -> str | None:
    """The commit that `version` (a tag, `tag-N-gOID` or a commit id) names in `src`, else None."""
    from .project import Recorded

    recorded = Recorded(path=Path("."), src=src, commit=version, answers={})
    url = os.path.expanduser(src.removeprefix("git+"))
    with tempfile.TemporaryDirectory(prefix="flaskgen-source-") as tmp:
        _git("init", "-q", "--bare", tmp)
        fetch = ("fetch", "-q", "--no-write-fetch-head", url)
        fetched = _git(f"--git-dir={tmp}", *fetch, "+refs/heads/*:refs/source/*", "+refs/tags/*:refs/tags/*")
        if fetched.returncode != 0:
            reason = (fetched.stderr.strip().splitlines() or ["no answer"])[-1].removeprefix("fatal: ")
            raise InputError(
                f"cannot read template source {src}: {one_line(reason)}. "
                "Check the URL, and that you can clone it"
            )
        # A git bundle's HEAD is no branch (flaskgen's history has its untagged versions there).
        _git(f"--git-dir={tmp}", *fetch, "+HEAD:refs/source-head")
        rev = recorded.oid or f"refs/tags/{recorded.tag}"
        shown = _git(f"--git-dir={tmp}", "rev-parse", "--verify", "-q", f"{rev}^{{commit}}")
    return shown.stdout.strip() if shown.returncode == 0 else None


def _yaml_scalar(value: str) -> str:
    import yaml

    return yaml.safe_dump(value, default_style=None).removesuffix("\n...\n").strip()


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except FileNotFoundError:
        raise InputError(
            "git is not installed, and template sources are git repositories. Install git"
        ) from None
