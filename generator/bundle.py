"""Where the versions of flaskgen's template live: a git bundle of its tagged history.

Projects record `_src_path: ~/.local/share/flaskgen/template.bundle`, the same text on every
machine, which Copier expands to each user's home. The commands that render or compare
flaskgen's template install the bundle there from the running flaskgen first, so
`flaskgen update` and plain `copier update` find every released version offline:

- an installed wheel ships the bundle (the build hook makes it from the checkout's tags);
- a source checkout (editable install) bundles its own git history on demand;
- `FLASKGEN_TEMPLATE_REPO=/path/to/repo` bundles another checkout (tests, template forks).

Refreshing never drops a version: tags and heads that the installed bundle holds and the
new history lacks are carried over. Versions are the release tags `vX.Y.Z`: pushed tags, and
the ones derived from pyproject.toml's version history where none was pushed (releases.py).
flaskgen renders the commit it comes from (HEAD): a project records its release tag (also for
a later commit that left the template alone), or `vX.Y.Z-N-g<commit>` for a commit N commits
after release X.Y.Z that changed the template (a development checkout).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import FlaskgenError, InputError, one_line

SRC_PATH = "~/.local/share/flaskgen/template.bundle"
TEMPLATE_REPO_ENV = "FLASKGEN_TEMPLATE_REPO"
PACKAGED = "template.bundle"  # in the wheel, beside copier.yml in flaskgen/_template/
TEMPLATE_RELEASE = "template-release"  # beside it: Refs.template_release, when the build had one
KEPT = "refs/heads/kept/"  # earlier heads that are no ancestor of HEAD (clones fetch refs/heads)
_HEADERS = (b"# v2 git bundle\n", b"# v3 git bundle\n")


def release_tags(tags: Iterable[str]) -> list[str]:
    """The tags that name releases (PEP 440, no pre-releases), newest first: what Copier picks from."""
    from packaging.version import InvalidVersion, Version

    found = []
    for tag in tags:
        try:
            version = Version(tag)
        except InvalidVersion:
            continue
        if not version.is_prerelease:
            found.append((version, tag))
    return [tag for _, tag in sorted(found, reverse=True)]


@dataclass(frozen=True)
class Refs:
    """The refs of a template history: HEAD's commit, tags (name -> object id), kept heads."""

    head: str
    tags: dict[str, str] = field(default_factory=dict)
    kept: frozenset[str] = frozenset()
    # The release whose template (copier.yml, template/) HEAD still has, when HEAD is a later
    # commit that changed other files only: flaskgen renders and records that release.
    template_release: str | None = field(default=None, compare=False)

    def releases(self) -> list[str]:
        """Release tags (PEP 440, no pre-releases), newest first."""
        return release_tags(self.tags)

    def default_ref(self) -> str:
        """The latest release, or HEAD's commit if none: what Copier picks in a git template."""
        releases = self.releases()
        return releases[0] if releases else self.head

    def current_ref(self) -> str:
        """What this flaskgen renders: HEAD, named by its release tag when it is a release.

        A commit after the latest release that changed the template (a development checkout)
        is HEAD's commit id, which Copier records as `vX.Y.Z-N-g<commit>`; one that changed
        other files only renders the release.
        """
        tagged = next((tag for tag in self.releases() if self.tags[tag] == self.head), None)
        return tagged or self.template_release or self.head

    def commit_of(self, ref: str) -> str:
        """The commit a tag names (derived tags exist only in bundles), else `ref` itself."""
        return self.tags.get(ref, ref)

    def holds(self, other: Refs) -> bool:
        """True if every ref of `other` is here with the same value, and HEAD is the same."""
        return (
            self.head == other.head
            and all(self.tags.get(name) == oid for name, oid in other.tags.items())
            and other.kept <= self.kept
        )


@dataclass(frozen=True)
class Source:
    """The running flaskgen's template history: a packaged bundle or a git checkout."""

    refs: Refs
    bundle: Path | None = None  # a bundle file shipped in the wheel
    repo: Path | None = None  # a git checkout, bundled on demand

    def config_text(self, ref: str) -> str | None:
        """copier.yml at `ref` (a tag or commit id), or None if this history lacks it."""
        if self.repo is not None:
            # HEAD, not its id: a shallow checkout's HEAD is bundled under another id.
            rev = "HEAD" if self.refs.commit_of(ref) == self.refs.head else self.refs.commit_of(ref)
            shown = _git("-C", str(self.repo), "show", f"{rev}:copier.yml", check=False)
            return shown.stdout if shown.returncode == 0 else None
        assert self.bundle is not None
        packaged = self.bundle.parent / "copier.yml"
        if ref == self.refs.current_ref() and packaged.is_file():
            return packaged.read_text(encoding="utf-8")
        try:
            return read_config(self.bundle, ref)
        except FlaskgenError:
            return None


def installed_path() -> Path:
    return Path(SRC_PATH).expanduser()


def read_refs(bundle: Path) -> Refs:
    """The refs listed in a bundle's header, read without git (it is a few text lines)."""
    head = ""
    tags: dict[str, str] = {}
    kept: set[str] = set()
    with bundle.open("rb") as stream:
        if stream.readline() not in _HEADERS:
            raise ValueError(f"{bundle} is not a git bundle")
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if not line:
                break
            if line.startswith(("@", "-")):  # v3 capabilities, prerequisites
                continue
            oid, _, name = line.partition(" ")
            if name == "HEAD":
                head = oid
            elif name.startswith("refs/tags/"):
                tags[name.removeprefix("refs/tags/")] = oid
            elif name.startswith(KEPT):
                kept.add(oid)
    if not head:
        raise ValueError(f"{bundle} has no HEAD")
    return Refs(head=head, tags=tags, kept=frozenset(kept))


def source() -> Source:
    """The template history of the running flaskgen (see the module's docstring)."""
    override = os.environ.get(TEMPLATE_REPO_ENV)
    if override:
        repo = Path(override).expanduser().resolve()
        if not (repo / "copier.yml").is_file() or not (repo / ".git").exists():
            raise InputError(
                f"{TEMPLATE_REPO_ENV}={override} is not a git checkout of flaskgen's template. "
                f"Point it at one, or unset {TEMPLATE_REPO_ENV}"
            )
        return Source(refs=_repo_refs(repo), repo=repo)
    from importlib.resources import files

    packaged = files(__package__) / "_template" / PACKAGED
    if isinstance(packaged, Path) and packaged.is_file():
        try:
            refs = read_refs(packaged)
            release = packaged.with_name(TEMPLATE_RELEASE)
            if release.is_file() and release.read_text(encoding="utf-8").strip() in refs.tags:
                refs = replace(refs, template_release=release.read_text(encoding="utf-8").strip())
            return Source(refs=refs, bundle=packaged)
        except (OSError, ValueError) as exc:
            raise FlaskgenError(
                f"flaskgen's template history is damaged ({one_line(exc)}). Reinstall flaskgen"
            ) from None
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "copier.yml").is_file() and (checkout / ".git").exists():
        return Source(refs=_repo_refs(checkout), repo=checkout)
    raise InputError(
        "flaskgen's template history is missing from this installation. "
        "Reinstall flaskgen, or pass a template with --template"
    )


def ensure_installed() -> Source:
    """Install or refresh ~/.local/share/flaskgen/template.bundle; return the source."""
    found = source()
    target = installed_path()
    if _is_current(_installed_refs(target), found):
        return found
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with _locked(target.parent / ".lock"):
            installed = _installed_refs(target)  # again: another flaskgen may have done it
            if installed is None and found.bundle is not None:
                _copy(found.bundle, target)
            elif not _is_current(installed, found):
                _rebuild(found, target, installed)
    except OSError as exc:
        raise FlaskgenError(
            f"cannot install flaskgen's template history at {SRC_PATH}: {one_line(exc)}. "
            "Check that your home directory is writable"
        ) from None
    return found


def write_bundle(repo: Path, out: Path) -> Refs:
    """Bundle a checkout's HEAD and tags into `out` (the build hook's job)."""
    found = Source(refs=_repo_refs(repo), repo=repo)
    _rebuild(found, out, None)
    return replace(read_refs(out), template_release=found.refs.template_release)


@contextlib.contextmanager
def history() -> Iterator[Path]:
    """A git directory holding every version of the installed template history (a temporary
    copy of ~/.local/share/flaskgen/template.bundle): for git commands that need commits."""
    with tempfile.TemporaryDirectory(prefix="flaskgen-") as tmp:
        git = _bare(Path(tmp, "repo.git"))
        git("fetch", "-q", str(installed_path()), "+HEAD:refs/heads/main", "+refs/*:refs/*")
        yield git.git_dir


def read_config(bundle: Path, ref: str) -> str:
    """copier.yml of a bundle at `ref` (a tag or a commit id)."""
    with tempfile.TemporaryDirectory(prefix="flaskgen-") as tmp:
        git = _bare(Path(tmp, "repo.git"))
        git("fetch", "-q", str(bundle.resolve()), "+HEAD:refs/heads/main", "+refs/*:refs/*")
        shown = git("show", f"{ref}:copier.yml", check=False)
    if shown.returncode != 0:
        raise InputError(f"flaskgen's template has no copier.yml at version {ref!r}")
    return shown.stdout


def _is_current(installed: Refs | None, found: Source) -> bool:
    return installed is not None and installed.holds(found.refs)


def _installed_refs(target: Path) -> Refs | None:
    try:
        return read_refs(target)
    except (OSError, ValueError):
        return None


def _repo_refs(repo: Path) -> Refs:
    """HEAD and tags of a checkout; a shallow one yields a stand-in root commit (see below)."""
    if _is_shallow(repo):
        return Refs(head=_shallow_commit(repo, None))
    shown = _git("-C", str(repo), "show-ref", "--head", "--tags", "--dereference", check=False)
    head = ""
    tags: dict[str, str] = {}
    for line in shown.stdout.splitlines():
        oid, _, name = line.partition(" ")
        if name == "HEAD":
            head = oid
        elif name.startswith("refs/tags/"):
            # An annotated tag's commit (its `^{}` line comes after the tag object's).
            tags[name.removeprefix("refs/tags/").removesuffix("^{}")] = oid
    if not head:
        raise InputError(f"{repo} has no commit yet, so its template has no version. Commit it first")
    from .releases import derived_tags

    tags = {**derived_tags(repo, tags), **tags}
    return Refs(head=head, tags=tags, template_release=_template_release(repo, head, tags))


def _template_release(repo: Path, head: str, tags: dict[str, str]) -> str | None:
    """The latest release, if HEAD comes after it with the same template (copier.yml, template/)."""
    releases = release_tags(tags)
    if not releases or tags[releases[0]] == head:
        return None
    oid = tags[releases[0]]
    paths = ("copier.yml", "template")
    trees = _git("-C", str(repo), "rev-parse", *(f"{rev}:{path}" for rev in (head, oid) for path in paths),
                 check=False)  # fmt: skip
    ids = trees.stdout.split()
    if trees.returncode != 0 or len(ids) != 4 or ids[:2] != ids[2:]:
        return None
    return releases[0]


def _rebuild(found: Source, target: Path, installed: Refs | None) -> None:
    """Write a bundle holding `found`'s history plus what `installed` has that it lacks."""
    with tempfile.TemporaryDirectory(prefix=".flaskgen-", dir=target.parent) as tmp:
        bare = Path(tmp, "repo.git")
        git = _bare(bare)
        git("symbolic-ref", "HEAD", "refs/heads/main")
        if found.bundle is not None:
            git("fetch", "-q", str(found.bundle), "+HEAD:refs/heads/main", "+refs/tags/*:refs/tags/*")
        else:
            _import_checkout(git, found)
        if installed is not None:
            # Versions that another flaskgen installed: keep them for its projects.
            missing = [name for name in installed.tags if name not in found.refs.tags]
            specs = [f"refs/tags/{name}:refs/tags/{name}" for name in missing]
            previous = {installed.head, *installed.kept} - {found.refs.head}
            specs += [f"{oid}:{KEPT}{oid}" for oid in sorted(previous)]
            if specs:
                git("fetch", "-q", str(target), *specs)
            for oid in previous:
                # An ancestor of HEAD is in the bundle anyway.
                if git("merge-base", "--is-ancestor", oid, "HEAD", check=False).returncode == 0:
                    git("update-ref", "-d", f"{KEPT}{oid}")
        out = Path(tmp, "template.bundle")
        git("bundle", "create", "-q", str(out), "--tags", f"--glob={KEPT}*", "HEAD")
        os.replace(out, target)


def _import_checkout(git: _Git, found: Source) -> None:
    """Point the temporary repository at a checkout's objects and copy its HEAD and tags."""
    assert found.repo is not None
    common = _git("-C", str(found.repo), "rev-parse", "--path-format=absolute", "--git-common-dir")
    objects = Path(common.stdout.strip(), "objects")
    Path(git.git_dir, "objects", "info", "alternates").write_text(f"{objects}\n", encoding="utf-8")
    if _is_shallow(found.repo):
        head = _shallow_commit(found.repo, git)
        git("update-ref", "refs/heads/main", head)
        return
    git("update-ref", "refs/heads/main", found.refs.head)
    for name, oid in found.refs.tags.items():
        git("update-ref", f"refs/tags/{name}", oid)


def _shallow_commit(repo: Path, write: _Git | None) -> str:
    """A root commit with the tree, author, dates and subject of a shallow checkout's HEAD.

    A bundle cannot hold history whose parents are missing, so a shallow clone (CI's
    default) is bundled as this one commit: the same HEAD always gives the same id. With
    `write` None the id is only computed (nothing is written into the checkout).
    """
    fields = _git(
        "-C", str(repo), "log", "-1", "--date=raw", "--format=%T%n%an <%ae> %ad%n%cn <%ce> %cd%n%s"
    ).stdout.splitlines()
    tree, author, committer, subject = (fields + [""] * 4)[:4]
    body = (
        f"tree {tree}\nauthor {author}\ncommitter {committer}\n\n"
        f"{subject}\n\n(flaskgen: the tree of a shallow checkout, without its history)\n"
    )
    if write is None:
        return _git("-C", str(repo), "hash-object", "-t", "commit", "--stdin", input=body).stdout.strip()
    return write("hash-object", "-w", "-t", "commit", "--stdin", input=body).stdout.strip()


def _is_shallow(repo: Path) -> bool:
    shown = _git("-C", str(repo), "rev-parse", "--is-shallow-repository", check=False)
    return shown.stdout.strip() == "true"


def _copy(bundle: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(bundle, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One flaskgen at a time refreshes the installed bundle (best effort off POSIX)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class _Git:
    """git commands in one (bare) repository; a failure raises FlaskgenError."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir

    def __call__(
        self, *args: str, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return _git(f"--git-dir={self.git_dir}", *args, check=check, input=input)


def _bare(path: Path) -> _Git:
    _git("init", "-q", "--bare", str(path))
    return _Git(path)


def _git(*args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            check=False,
            input=input,
        )
    except FileNotFoundError:
        raise InputError(
            "git is not installed, and flaskgen keeps its template's versions in git. Install git"
        ) from None
    if check and result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise FlaskgenError(f"git {args[0]} failed while preparing flaskgen's template: {reason}")
    return result
