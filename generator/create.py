"""Render a template into a new project, all or nothing.

Copier renders into a staging directory next to the destination (same filesystem) and
the result is moved into place only when rendering succeeded: a failure part-way, a
bad answer or Ctrl-C leaves no half-made project behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
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


def check_destination(dest: Path) -> None:
    """Refuse a destination that exists as a file or as a non-empty directory."""
    if dest.is_symlink() and not dest.exists():
        raise InputError(f"{dest} is a broken symbolic link. Pick another destination")
    if not dest.exists():
        return
    if not dest.is_dir():
        raise InputError(f"{dest} exists and is not a directory. Pick a new folder name")
    if any(dest.iterdir()):
        raise InputError(f"{dest} already exists and is not empty. Pick a new folder name, or empty it first")


def create(
    dest: Path,
    template: Template,
    *,
    data: dict[str, Any],
    user_defaults: dict[str, Any],
    defaults: bool,
    trust: bool = False,
    verbose: bool = False,
    check_answers: AnswersCheck | None = None,
) -> Created:
    """Render `template` into `dest`, which must be missing or an empty directory.

    `check_answers` gets the questionnaire Copier loaded, before anything is moved into
    place: for templates whose copier.yml could not be read beforehand (git URLs).
    """
    target = Path(os.path.abspath(dest))
    check_destination(target)
    first_new_parent = _make_parents(target.parent)
    # Inside an existing (empty) destination, else beside it: the same filesystem either way.
    staging_parent = target if target.is_dir() else target.parent
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.flaskgen-", dir=staging_parent))
    except OSError as exc:
        _remove(first_new_parent)
        raise InputError(f"cannot write next to {dest}: {os_problem(exc)}. Pick another place") from None
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


def _make_parents(directory: Path) -> Path | None:
    """Create missing parent directories; return the topmost one created, to undo it."""
    missing = [p for p in (directory, *directory.parents) if not p.exists()]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {directory}: {os_problem(exc)}. Pick another place") from None
    return missing[-1] if missing else None


def _move_into_place(rendered: Path, target: Path) -> None:
    if not rendered.is_dir():
        rendered.mkdir(parents=True)
    try:
        if not target.exists():
            os.rename(rendered, target)
            return
    except OSError as exc:
        raise FlaskgenError(f"cannot create {target}: {os_problem(exc)}") from None
    # An existing empty directory: keep it (someone may be `cd`'d in it), fill it.
    moved: list[Path] = []
    try:
        for entry in sorted(rendered.iterdir()):
            os.rename(entry, target / entry.name)
            moved.append(target / entry.name)
    except OSError as exc:
        for path in moved:
            _remove(path)
        raise FlaskgenError(f"cannot fill {target}: {os_problem(exc)}") from None


def _remove(path: Path | None) -> None:
    if path is None:
        return
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
