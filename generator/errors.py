"""flaskgen's errors: one line that says what went wrong and how to fix it.

Every failure reaches the user as a `FlaskgenError`; the CLI prints it as
`flaskgen: error: <message>` and exits with its `exit_code`. Copier's and git's
exceptions are translated here, after the fact, by `from_copier`.
"""

from __future__ import annotations

import re

USAGE = 2  # bad input: a wrong option, answer, path or template
FAILURE = 1  # everything else


class FlaskgenError(Exception):
    """A failure the user can act on; `message` is one line, problem then fix."""

    def __init__(self, message: str, exit_code: int = FAILURE) -> None:
        self.message = one_line(message)
        self.exit_code = exit_code
        super().__init__(self.message)


class InputError(FlaskgenError):
    """The user asked for something that cannot work (exit code 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=USAGE)


def one_line(text: str) -> str:
    """Collapse whitespace, including the newlines of folded Jinja messages."""
    return " ".join(str(text).split())


_VALIDATION = re.compile(r"Validation error for question '(?P<name>[^']+)': (?P<reason>.*)", re.DOTALL)
_CHOICE = re.compile(r"Invalid choice for '(?P<name>[^']+)': (?P<reason>.*)", re.DOTALL)
_REQUIRED = re.compile(r'Question "(?P<name>[^"]+)" is required')
_UNKNOWN_REF = re.compile(r"Unknown revision: '(?P<ref>[^']*)'")


def from_copier(exc: BaseException, *, template: str, vcs_ref: str | None) -> FlaskgenError | None:
    """Reword an exception raised while Copier ran, or None if it is not one we know.

    Only called after Copier was imported, so importing its modules here costs nothing.
    """
    from copier.errors import (
        CopierError,
        InteractiveSessionError,
        UnsafeTemplateError,
        UnsupportedVersionError,
    )

    text = one_line(exc)
    if isinstance(exc, InteractiveSessionError):
        return InputError(
            "cannot ask the template's questions without a terminal. "
            "Pass --defaults (and --data KEY=VALUE to change answers)"
        )
    if isinstance(exc, UnsafeTemplateError):
        return InputError(
            f"template {template} runs its own code ({text}). "
            "Pass --trust if you trust it, or use another template"
        )
    if isinstance(exc, UnsupportedVersionError):
        return FlaskgenError(f"template {template} needs another Copier version: {text}")
    if isinstance(exc, ValueError):
        if match := _VALIDATION.match(text):
            name, reason = match["name"], match["reason"].rstrip(".")
            return InputError(f"invalid {name}: {reason}. Change it with --data {name}=VALUE")
        if match := _CHOICE.match(text):
            name, reason = match["name"], match["reason"].rstrip(".")
            return InputError(f"invalid {name}: {reason}. Change it with --data {name}=VALUE")
        if match := _REQUIRED.match(text):
            name = match["name"]
            return InputError(f"question {name} has no default. Answer it with --data {name}=VALUE")
        if match := _UNKNOWN_REF.match(text):
            return InputError(
                f"template {template} has no version {match['ref']!r}. "
                "Pass a tag, branch or commit of the template to --vcs-ref"
            )
    if _is_jinja_error(exc):
        where = getattr(exc, "filename", None) or getattr(exc, "name", None)
        line = getattr(exc, "lineno", None)
        place = f" ({where}{f', line {line}' if line else ''})" if where else ""
        return FlaskgenError(
            f"template {template} failed to render{place}: {text.rstrip('.')}. "
            "Fix the template, or report it to its authors"
        )
    if _is_git_failure(exc):
        return _git_failure(exc, template=template, vcs_ref=vcs_ref)
    if isinstance(exc, CopierError | ValueError):
        return FlaskgenError(f"Copier could not render template {template}: {text.rstrip('.')}")
    if isinstance(exc, OSError):
        return FlaskgenError(f"{os_problem(exc)}. Check the path and its permissions")
    return None


def os_problem(exc: OSError) -> str:
    """`No such file or directory: 'x'` without the `[Errno 2]` noise."""
    if exc.strerror and exc.filename is not None:
        return f"{exc.strerror.lower()}: {exc.filename}"
    return one_line(exc).rstrip(".")


def _is_jinja_error(exc: BaseException) -> bool:
    from jinja2 import TemplateError

    return isinstance(exc, TemplateError)


def _is_git_failure(exc: BaseException) -> bool:
    # plumbum's ProcessExecutionError, recognised by shape so that plumbum is not imported.
    return all(hasattr(exc, attr) for attr in ("argv", "retcode", "stderr"))


def _git_failure(exc: BaseException, *, template: str, vcs_ref: str | None) -> FlaskgenError:
    argv = [str(arg) for arg in getattr(exc, "argv", [])]
    stderr_lines = [line for line in str(getattr(exc, "stderr", "")).splitlines() if line.strip()]
    reason = stderr_lines[0].removeprefix("fatal: ") if stderr_lines else f"{argv} failed"
    if vcs_ref and (vcs_ref in reason or {"checkout", "worktree"} & set(argv)):
        return InputError(
            f"template {template} has no version {vcs_ref!r} ({reason}). "
            "Pass a tag, branch or commit of the template to --vcs-ref"
        )
    return FlaskgenError(
        f"could not fetch template {template}: {reason}. "
        "Check the URL and your network, or pass a local path to --template"
    )
