"""Render a template into a new project, all or nothing.

Copier renders into a staging directory next to the destination (same filesystem) and
the result is moved into place only when rendering succeeded: a failure part-way, a
bad answer or Ctrl-C leaves no half-made project behind. Copier creates the staging
directory only once every answer passed its checks, so a refused answer writes nothing.
"""

from __future__ import annotations

import os
import secrets
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FlaskgenError, InputError, from_copier, one_line, os_problem
from .questions import Questionnaire, from_config
from .template import Template

AnswersCheck = Callable[[Questionnaire], None]


@dataclass(frozen=True)
class Created:
    path: Path
    # The answers the user gave or accepted; computed ones are left out.
    answers: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def check_destination(dest: Path, *, into_existing: bool = False) -> None:
    """Refuse a destination that cannot be created, exists as a file, or is a non-empty
    directory (unless `into_existing`: then the project goes beside what is there)."""
    _check_length(dest)  # first: stat() fails on a name too long
    if dest.is_symlink() and not dest.exists():
        raise InputError(f"{dest} is a broken symbolic link. Pick another destination")
    if not dest.exists():
        anchor = _nearest_existing(dest.parent)
        if not anchor.is_dir():
            raise InputError(f"cannot create {dest}: {anchor} is not a directory. Pick another place")
        _check_writable(anchor, dest)
        return
    if not dest.is_dir():
        raise InputError(f"{dest} exists and is not a directory. Pick a new folder name")
    if not into_existing and any(dest.iterdir()):
        raise InputError(
            f"{dest} already exists and is not empty. Pick a new folder name, empty it first, "
            "or pass --into-existing to add the project beside its files"
        )
    _check_writable(dest, dest)


# The longest path inside a project, with the staging folder it is rendered in first
# (`.<name, 64 at most>.flaskgen-<12 hex>/<name>/`): a slug of 63 and a deep file take ~130.
PROJECT_DEPTH = 256


def _check_length(dest: Path) -> None:
    """Refuse a destination whose name, or whose files' paths, this file system cannot hold
    (before Copier fails on a path in its temporary folder)."""
    anchor = _nearest_existing(dest.parent)
    name_max, path_max = _limit(anchor, "PC_NAME_MAX", 255), _limit(anchor, "PC_PATH_MAX", 4096)
    for part in dest.relative_to(anchor).parts:
        size = len(os.fsencode(part))
        if size > name_max:
            raise InputError(
                f"cannot create {_shortened(str(dest))}: the folder name {_shortened(part)!r} is "
                f"{size} bytes long, and this file system allows {name_max}. Pick a shorter name"
            )
    size = len(os.fsencode(str(dest)))
    if size + PROJECT_DEPTH > path_max:
        raise InputError(
            f"cannot create {_shortened(str(dest))}: its path is {size} bytes long, and the "
            f"project's files below it would pass this system's limit of {path_max} bytes. "
            "Pick a shorter path"
        )


def _limit(directory: Path, name: str, default: int) -> int:
    try:
        return os.pathconf(directory, name)
    except (OSError, ValueError):
        return default


def _shortened(text: str, keep: int = 40) -> str:
    """A long path or name as its start and end, so that the error stays readable."""
    return text if len(text) <= 2 * keep + 3 else f"{text[:keep]}...{text[-keep:]}"


def _nearest_existing(path: Path) -> Path:
    """`path` or its closest ancestor that exists (as anything, even a broken link)."""
    return next(p for p in (path, *path.parents) if os.path.lexists(p))


def _check_writable(directory: Path, dest: Path) -> None:
    # Root passes this check whatever the permissions, as it passes the writes themselves.
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InputError(
            f"cannot create {dest}: {directory} is not writable (permission denied). "
            "Pick another place, or make it writable"
        )


def create(
    dest: Path,
    template: Template,
    *,
    data: dict[str, Any],
    user_defaults: dict[str, Any],
    defaults: bool,
    trust: bool = False,
    verbose: bool = False,
    into_existing: bool = False,
    check_answers: AnswersCheck | None = None,
) -> Created:
    """Render `template` into `dest`, which must be missing or an empty directory (or, with
    `into_existing`, a directory holding none of the paths the project has).

    `check_answers` gets the questionnaire Copier loaded, before anything is moved into
    place: for templates whose copier.yml could not be read beforehand (git URLs).
    """
    target = Path(os.path.abspath(dest))
    check_destination(target, into_existing=into_existing)
    # Inside an existing destination, else in its closest existing ancestor: the same
    # filesystem either way, and nothing to undo in missing parents if rendering fails.
    staging_parent = target if target.is_dir() else _nearest_existing(target.parent)
    staging = staging_parent / f".{target.name[:64]}.flaskgen-{secrets.token_hex(6)}"
    first_new_parent = None
    try:
        # Rendered under the destination's own name: Copier's dst_path feeds defaults.
        rendered = staging / target.name
        answers, messages = _render(
            template,
            rendered,
            data=data,
            user_defaults=user_defaults,
            defaults=defaults,
            trust=trust,
            verbose=verbose,
            check_answers=check_answers,
        )
        first_new_parent = _first_missing(target.parent)
        _make_parents(target.parent)
        _move_into_place(rendered, target)
    except BaseException:
        _remove(first_new_parent)
        raise
    finally:
        _remove(staging)
    return Created(path=target, answers=answers, warnings=messages)


def _render(
    template: Template,
    dst: Path,
    *,
    data: dict[str, Any],
    user_defaults: dict[str, Any],
    defaults: bool,
    trust: bool,
    verbose: bool,
    check_answers: AnswersCheck | None,
) -> tuple[dict[str, Any], list[str]]:
    import copier  # here, not at the top: it takes ~0.4 s to import
    from copier.errors import DirtyLocalWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            worker = copier.run_copy(
                template.src,
                dst,
                data=data,
                vcs_ref=template.vcs_ref,
                defaults=defaults,
                user_defaults=user_defaults,
                unsafe=trust or template.bundled,
                quiet=not verbose,
            )
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            error = from_copier(exc, template=template.label, vcs_ref=template.vcs_ref)
            if error is None:
                raise
            raise error from exc
    if check_answers is not None:
        config = {"_envops": worker.template.envops, **worker.template.questions_data}
        check_answers(from_config(config))
    answers = {
        key: worker.answers.combined[key]
        for key in worker.answers.user
        if key not in worker.answers.hidden and not key.startswith("_")
    }
    messages = [
        one_line(w.message)
        for w in caught
        # Editing flaskgen's own template leaves its checkout dirty: not news to anyone.
        if not (template.bundled and issubclass(w.category, DirtyLocalWarning))
    ]
    return answers, messages


def _first_missing(directory: Path) -> Path | None:
    """The topmost of `directory` and its ancestors that does not exist yet, to undo it."""
    missing = [p for p in (directory, *directory.parents) if not os.path.lexists(p)]
    return missing[-1] if missing else None


def _make_parents(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {directory}: {os_problem(exc)}. Pick another place") from None


def _move_into_place(rendered: Path, target: Path) -> None:
    if not rendered.is_dir():
        rendered.mkdir(parents=True)
    try:
        if not target.exists():
            os.rename(rendered, target)
            return
    except OSError as exc:
        raise FlaskgenError(f"cannot create {target}: {os_problem(exc)}") from None
    # An existing directory: keep it (someone may be `cd`'d in it), fill it, and refuse
    # before moving anything if one of the project's paths is already taken there.
    taken = [path.relative_to(target).as_posix() for path in _taken(rendered, target)]
    if taken:
        shown = ", ".join(taken[:3]) + (f" and {len(taken) - 3} more" if len(taken) > 3 else "")
        raise InputError(
            f"{target} already has {shown}, which the project would overwrite; nothing was written. "
            f"Move {'it' if len(taken) == 1 else 'them'} away, or pick a new folder name"
        )
    moved: list[Path] = []
    try:
        _merge(rendered, target, moved)
    except OSError as exc:
        for path in reversed(moved):
            _remove(path)
        raise FlaskgenError(f"cannot fill {target}: {os_problem(exc)}") from None


def _taken(rendered: Path, target: Path) -> list[Path]:
    """Paths of `target` that the rendered tree would replace (a shared real folder is fine)."""
    taken = []
    for entry in sorted(rendered.iterdir()):
        there = target / entry.name
        if not os.path.lexists(there):
            continue
        if entry.is_dir() and not entry.is_symlink() and there.is_dir() and not there.is_symlink():
            taken += _taken(entry, there)
        else:
            taken.append(there)
    return taken


def _merge(rendered: Path, target: Path, moved: list[Path]) -> None:
    """Move what `rendered` holds into `target`, recording each new path for an undo."""
    for entry in sorted(rendered.iterdir()):
        there = target / entry.name
        if os.path.lexists(there):
            _merge(entry, there, moved)  # a real folder on both sides (checked by _taken)
        else:
            os.rename(entry, there)
            moved.append(there)


def _remove(path: Path | None) -> None:
    if path is None:
        return
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
