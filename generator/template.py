"""Where a template comes from: the one bundled with flaskgen, a local path or a git URL."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

CONFIG_NAMES = ("copier.yml", "copier.yaml")
TEMPLATE_PATHS = ("copier.yml", "template")  # what of flaskgen's checkout is the template
# What Copier clones rather than reads from disk: gh:/gl: shortcuts, scp-style and URLs.
_REMOTE = re.compile(r"^(gh:|gl:|git@|git\+|[a-zA-Z][a-zA-Z0-9+.-]*://)")


@dataclass(frozen=True)
class Template:
    """A template source as Copier takes it, plus what flaskgen can read of it locally."""

    src: str  # what Copier's `src_path` gets
    vcs_ref: str | None = None  # what Copier's `vcs_ref` gets
    local_dir: Path | None = None  # the template's root on disk, if it is on disk
    # The git ref whose copier.yml Copier will use; None: the one on disk.
    config_ref: str | None = None
    bundled: bool = False
    # flaskgen's own template: copier.yml as Copier will see it, None if unknown beforehand.
    bundled_config: str | None = None
    notes: tuple[str, ...] = ()  # warnings about the template, for the user

    @property
    def label(self) -> str:
        """How messages name the template."""
        return "bundled with flaskgen" if self.bundled else repr(self.src)

    def config_text(self) -> str | None:
        """The text of copier.yml as Copier will see it, or None when it cannot be read
        without fetching the template (remote URLs, git bundles)."""
        if self.bundled:
            return self.bundled_config
        if self.local_dir is None:
            return None
        if self.config_ref is not None:
            for name in CONFIG_NAMES:
                shown = _git(self.local_dir, "show", f"{self.config_ref}:{name}")
                if shown.returncode == 0:
                    return shown.stdout
            raise InputError(
                f"template {self.label} has no copier.yml at version {self.config_ref!r}. "
                "Pass a version of the template that is a Copier template to --vcs-ref"
            )
        return config_path(self.local_dir).read_text(encoding="utf-8")


def bundled_root() -> Path:
    """The directory holding flaskgen's own copier.yml (and template/ beside it).

    In an installed wheel it ships inside the package as flaskgen/_template/. In an
    editable install or a source checkout it is the repository root, next to generator/.
    """
    from importlib.resources import files

    packaged = files(__package__) / "_template"
    if isinstance(packaged, Path) and (packaged / "copier.yml").is_file():
        return packaged
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "copier.yml").is_file() and (checkout / "template").is_dir():
        return checkout
    raise InputError(
        "flaskgen's bundled template is missing from this installation. "
        "Reinstall flaskgen, or pass a template with --template"
    )


def resolve(spec: str | None, vcs_ref: str | None = None) -> Template:
    """Turn `--template`/`--vcs-ref` into a Template, refusing what cannot work."""
    if spec is None:
        return bundled(vcs_ref)
    if _REMOTE.match(spec) or spec.endswith(".git"):
        from .sources import expand_shortcut

        # Recorded as a full URL: Renovate's Copier manager does not read gh:/gl: shortcuts.
        return Template(src=expand_shortcut(spec), vcs_ref=vcs_ref)

    path = Path(spec).expanduser()
    if path.is_file() and path.suffix == ".bundle":
        return Template(src=str(path.resolve()), vcs_ref=vcs_ref)
    if not path.exists():
        raise InputError(
            f"template {spec!r} does not exist. "
            "Pass a directory holding copier.yml, a git URL or gh:org/repo to --template"
        )
    if not path.is_dir():
        raise InputError(
            f"template {spec!r} is a file, not a template directory. "
            "Pass a directory holding copier.yml, a git URL or gh:org/repo to --template"
        )
    root = path.resolve()
    if vcs_ref is not None:
        if not _is_git_root(root):
            raise InputError(
                f"--vcs-ref needs a git repository, and template {spec!r} is not the root "
                "of one. Drop --vcs-ref, or pass the template's repository to --template"
            )
        _check_ref(root, spec, vcs_ref)
        config_ref: str | None = vcs_ref
    elif _is_git_root(root):
        # Like Copier: a git template without --vcs-ref renders its latest release tag,
        # or else HEAD with uncommitted changes (said explicitly, so Copier stays quiet).
        config_ref = _latest_tag(root)
        vcs_ref = config_ref or "HEAD"
    else:
        config_ref = None
    template = Template(src=str(root), vcs_ref=vcs_ref, local_dir=root, config_ref=config_ref)
    if config_ref is None:
        config_path(root)
    return template


def bundled(vcs_ref: str | None = None) -> Template:
    """flaskgen's own template, from its history installed at ~/.local/share/flaskgen/.

    Without `vcs_ref` it is the latest release tag (HEAD's commit when there is none), so
    that the answers file records a version that `flaskgen update` can find again.
    """
    from . import bundle

    history = bundle.ensure_installed()
    ref = vcs_ref or history.refs.current_ref()
    config = history.config_text(ref)
    if config is None and vcs_ref is not None:
        releases = history.refs.releases()
        known = (
            f"Its versions: {', '.join(releases[:10])}; pass one of them"
            if releases
            else "It has no release tag yet; pass a commit of its history"
        )
        raise InputError(
            f"flaskgen's template has no version {vcs_ref!r}. {known} to --vcs-ref, "
            "or another template with --template"
        )
    notes = ()
    if history.repo is not None and _git(history.repo, "status", "--porcelain", "--", *TEMPLATE_PATHS).stdout:
        notes = (
            f"the template in {history.repo} has uncommitted changes, which are not rendered: "
            "flaskgen renders committed versions, so that projects can be updated. Commit them, "
            f"or pass --template {history.repo} to render the working tree",
        )
    return Template(src=bundle.SRC_PATH, vcs_ref=ref, bundled=True, bundled_config=config, notes=notes)


def config_path(directory: Path) -> Path:
    """copier.yml (or copier.yaml) of a template directory."""
    found = [directory / name for name in CONFIG_NAMES if (directory / name).is_file()]
    if not found:
        raise InputError(
            f"{directory} has no copier.yml, so it is not a Copier template. "
            "Pass the template's root directory to --template"
        )
    if len(found) > 1:
        raise InputError(f"{directory} has both copier.yml and copier.yaml. Remove one of them")
    return found[0]


def _is_git_root(directory: Path) -> bool:
    top = _git(directory, "rev-parse", "--show-toplevel")
    return top.returncode == 0 and Path(top.stdout.strip()).resolve() == directory.resolve()


def _check_ref(root: Path, spec: str, vcs_ref: str) -> None:
    if _git(root, "rev-parse", "--verify", "--quiet", f"{vcs_ref}^{{commit}}").returncode:
        tags = _git(root, "tag", "--list", "--sort=-v:refname").stdout.split()
        known = f"Its tags: {', '.join(tags[:10])}; pass one of them," if tags else "It has no tags: pass"
        raise InputError(
            f"template {spec!r} has no version {vcs_ref!r}. {known} a branch or a commit to --vcs-ref"
        )


def _latest_tag(root: Path) -> str | None:
    """The tag Copier renders when no --vcs-ref is given: the highest PEP 440 release."""
    from . import bundle

    releases = bundle.release_tags(_git(root, "tag", "--list").stdout.split())
    return releases[0] if releases else None


def _git(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise InputError("git is not installed, and git templates need it. Install git") from None
