"""The `flaskgen` command: parsing, messages and exit codes, nothing else.

The work is done by the core modules (template, answers, questions, create), imported
inside the commands so that `flaskgen --help` does not pay for Copier or YAML.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from .errors import FAILURE, USAGE, FlaskgenError

PROG = "flaskgen"
NEXT_STEPS = (
    "python -m venv .venv && . .venv/bin/activate",
    "pip install -r requirements-dev.txt",
    "flask db upgrade",
    "flask run --debug",
    "pytest",
)


def error(message: str) -> None:
    """Print the one-line error every failure ends in."""
    message = message.strip()
    if message and message[-1] not in ".?!":
        message += "."
    typer.echo(f"{PROG}: error: {message}", err=True)


class FlaskgenGroup(TyperGroup):
    """Reports usage errors (unknown option, missing argument) as one line too."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(
                args=args,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
        except (typer.Abort, KeyboardInterrupt, EOFError):
            error("interrupted; nothing was written")
            code = 130
        except Exception as exc:
            if not _is_click_error(exc):
                raise
            code = getattr(exc, "exit_code", USAGE)
            error(_click_message(exc))
        else:
            code = result if isinstance(result, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def _is_click_error(exc: BaseException) -> bool:
    # Click's ClickException, or the copy Typer vendors, recognised by what they carry.
    return hasattr(exc, "format_message") and hasattr(exc, "exit_code")


def _click_message(exc: Any) -> str:
    message = exc.format_message().strip()
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        if message[-1:] not in ".?!":
            message += "."
        message += f" See '{ctx.command_path} --help'"
    return message


class NewCommand(TyperCommand):
    """`flaskgen new`, whose help also lists the template's questions.

    The questions are read from copier.yml only when help is shown, so the rest of
    the CLI does not read files it does not need.
    """

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        super().format_epilog(ctx, formatter)
        from . import questions, template

        try:
            config = template.config_path(template.bundled_root())
            questionnaire = questions.parse(config.read_text(encoding="utf-8"))
        except OSError as exc:
            with formatter.section("Questions of the bundled template"):
                formatter.write_text(f"(cannot read them: {exc})")
            return
        except FlaskgenError as exc:
            with formatter.section("Questions of the bundled template"):
                formatter.write_text(f"(cannot read them: {exc.message})")
            return
        if questionnaire is None:
            return
        with formatter.section("Questions of the bundled template (answer with --data KEY=VALUE)"):
            _write_rows(formatter, questionnaire.help_rows())


def _write_rows(formatter: Any, rows: list[tuple[str, str]]) -> None:
    """Like Click's write_dl, but never breaks a value such as docker-ssh at its hyphen."""
    import textwrap

    if not rows:
        return
    indent = " " * formatter.current_indent
    first = min(max(len(name) for name, _ in rows), 30)
    width = max((formatter.width or 80) - len(indent) - first - 2, 20)
    for name, text in rows:
        lines = textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False) or [""]
        if len(name) > first:
            formatter.write(f"{indent}{name}\n")
            lines_start = 0
        else:
            formatter.write(f"{indent}{name:<{first}}  {lines[0]}\n")
            lines_start = 1
        for line in lines[lines_start:]:
            formatter.write(f"{indent}{'':<{first}}  {line}\n")


app = typer.Typer(
    cls=FlaskgenGroup,
    name=PROG,
    help="Generate Flask projects that work on the first command.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain Click help: Rich would triple the start-up time
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"{PROG} {version(PROG)}")
        except PackageNotFoundError:
            typer.echo(f"{PROG} (not installed)")
        raise typer.Exit()


@app.callback()
def flaskgen(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print flaskgen's version and exit.",
        ),
    ] = False,
) -> None:
    """Generate Flask projects that work on the first command."""


@app.command(cls=NewCommand)
def new(
    dest: Annotated[
        str,
        typer.Argument(
            metavar="DEST",
            help="Folder to create the project in: new, or an empty folder "
            "(or one with other files, with --into-existing).",
        ),
    ],
    template_src: Annotated[
        str | None,
        typer.Option(
            "--template",
            metavar="SRC",
            help="Template to use instead of flaskgen's own: a path, a git URL or gh:org/repo.",
        ),
    ] = None,
    vcs_ref: Annotated[
        str | None,
        typer.Option(
            "--vcs-ref",
            metavar="REF",
            help="Template version: a git tag, branch or commit (default: its latest release).",
        ),
    ] = None,
    defaults: Annotated[
        bool,
        typer.Option(
            "--defaults",
            help="Answer every question not given with --data by its default; never ask.",
        ),
    ] = False,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            metavar="KEY=VALUE",
            help="Answer a question, e.g. --data python_version=3.13. Repeatable.",
        ),
    ] = None,
    data_file: Annotated[
        str | None,
        typer.Option(
            "--data-file",
            metavar="FILE",
            help="YAML file of answers (question: answer), e.g. a team's standard answers. "
            "--data wins over it.",
        ),
    ] = None,
    into_existing: Annotated[
        bool,
        typer.Option(
            "--into-existing",
            help="Allow a DEST that already holds files: add the project beside them. "
            "Never overwrites or deletes: if one of the project's files is already there, "
            "nothing is written.",
        ),
    ] = False,
    trust: Annotated[
        bool,
        typer.Option(
            "--trust",
            help="Allow a --template that runs its own code (tasks, migrations).",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="FLASKGEN_DEBUG",
            help="Show Copier's output, and a full traceback instead of the one-line error.",
        ),
    ] = False,
) -> None:
    """Create a new Flask project in DEST.

    Asks the template's questions (listed below), renders the project in a temporary
    folder next to DEST and moves it into place only when everything succeeded.
    """
    with _reported(debug):
        from . import answers, create, questions, template

        given = answers.collect(data or [], Path(data_file) if data_file else None)
        source = template.resolve(template_src, vcs_ref)
        config = source.config_text()
        questionnaire = questions.parse(config) if config is not None else None
        if questionnaire is not None:
            given.check(questionnaire)

        target = Path(os.path.abspath(dest))
        create.check_destination(target, into_existing=into_existing)
        if not defaults and not (sys.stdin and sys.stdin.isatty()):
            raise FlaskgenError(
                "no terminal to ask the template's questions on. Pass --defaults to accept "
                "the defaults (and --data KEY=VALUE to change answers)",
                exit_code=USAGE,
            )
        user_defaults = {}
        if "project_name" not in given.values and (
            questionnaire is None or questionnaire.get("project_name") is not None
        ):
            user_defaults["project_name"] = target.name

        with _terminate_as_interrupt():
            created = create.create(
                target,
                source,
                data=given.values,
                user_defaults=user_defaults,
                defaults=defaults,
                trust=trust,
                verbose=debug,
                into_existing=into_existing,
                # Known only once Copier fetched the template: checked before anything is kept.
                check_answers=given.check if questionnaire is None else None,
            )
        if quiet:
            return
        for warning in (*source.notes, *created.warnings):
            typer.echo(f"{PROG}: warning: {warning}", err=True)
        _summary(dest, created, bundled=source.bundled, label=source.label)


def _summary(dest: str, created: Any, *, bundled: bool, label: str) -> None:
    from .questions import show

    origin = "flaskgen's template" if bundled else f"template {label}"
    lines = [f"Created {created.path} from {origin}.", ""]
    width = max((len(key) for key in created.answers), default=0)
    lines += [f"  {key:<{width}}  {show(value)}" for key, value in created.answers.items()]
    steps = []
    if created.path != Path.cwd():
        steps.append(f"cd {shlex.quote(dest)}")
    if bundled:
        steps += NEXT_STEPS
    if steps:
        lines += ["", "Next steps:", *(f"  {step}" for step in steps)]
    typer.echo("\n".join(lines))


@app.command()
def update(
    path: Annotated[
        str,
        typer.Argument(metavar="PATH", help="The project to update (its root folder)."),
    ] = ".",
    vcs_ref: Annotated[
        str | None,
        typer.Option(
            "--vcs-ref",
            metavar="REF",
            help="Template version to update to (a tag, branch or commit); default: the latest.",
        ),
    ] = None,
    defaults: Annotated[
        bool,
        typer.Option(
            "--defaults",
            help="Keep every recorded answer and take the default for new questions; never ask.",
        ),
    ] = False,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            metavar="KEY=VALUE",
            help="Change an answer, e.g. --data database=postgresql. Repeatable.",
        ),
    ] = None,
    conflict: Annotated[
        str,
        typer.Option(
            "--conflict",
            metavar="inline|rej",
            help="How to leave a change that does not merge: conflict markers in the file "
            "(inline), or the template's side in FILE.rej beside it (rej).",
        ),
    ] = "inline",
    trust: Annotated[
        bool,
        typer.Option("--trust", help="Allow a template other than flaskgen's to run its own code."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only conflicts and errors.")] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="FLASKGEN_DEBUG",
            help="Show Copier's output, and a full traceback instead of the one-line error.",
        ),
    ] = False,
) -> int:
    """Bring a project up to the latest template version, keeping your changes.

    The project must be a git repository with nothing uncommitted: the update is then
    a diff to review and commit. Your edits are merged into the new version; what does
    not merge is left as a conflict to resolve. Exits 1 while conflicts remain.
    """
    with _reported(debug):
        from . import answers
        from . import update as updating

        if conflict not in ("inline", "rej"):
            raise FlaskgenError(
                f"--conflict {conflict!r} is not inline or rej. Pass --conflict inline (markers "
                "in the file) or --conflict rej (a .rej file beside it)",
                exit_code=USAGE,
            )
        given = answers.collect(data or [], None)
        target = updating.check_target(Path(os.path.abspath(path)))
        if not defaults and not (sys.stdin and sys.stdin.isatty()):
            raise FlaskgenError(
                "no terminal to ask the template's questions on. Pass --defaults to keep the "
                "recorded answers (and --data KEY=VALUE to change some)",
                exit_code=USAGE,
            )
        with _terminate_as_interrupt():
            updated = updating.update(
                target,
                data=given.values,
                check_data=given.check,
                defaults=defaults,
                vcs_ref=vcs_ref,
                conflict=conflict,
                trust=trust,
                verbose=debug,
            )
        _update_summary(path, updated, quiet=quiet)
        return 1 if updated.conflicts else 0
    return FAILURE  # not reached: _reported exits


def _update_summary(path: str, updated: Any, *, quiet: bool) -> None:
    lines = []
    if not quiet:
        if updated.version_from == updated.version_to:
            lines.append(f"{path}: template version {updated.version_to} (unchanged).")
        else:
            lines.append(f"{path}: template version {updated.version_from} -> {updated.version_to}.")
        for warning in updated.warnings:
            typer.echo(f"{PROG}: warning: {warning}", err=True)
        if updated.changed:
            lines += ["", "Changed files (review them with git diff, then commit):"]
            lines += [f"  {line}" for line in updated.changed]
        else:
            lines.append("Nothing changed.")
        if updated.kept:
            lines += ["", "Kept, though the new template version drops them (you changed them):"]
            lines += [f"  {name}" for name in updated.kept]
    if updated.conflicts:
        lines += ["", "Conflicts to resolve (markers <<<<<<< in the file, or a .rej file beside it):"]
        lines += [f"  {name}" for name in updated.conflicts]
        lines += ["", "Resolve them, then git add and commit."]
    if lines:
        typer.echo("\n".join(lines).strip("\n"))


@app.command()
def check(
    paths: Annotated[
        list[str] | None,
        typer.Argument(metavar="[PATH]...", help="Projects to check (default: the current folder)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON, for dashboards.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", envvar="FLASKGEN_DEBUG", help="Show a full traceback on failure."),
    ] = False,
) -> int:
    """Say which template version each project is at, and the latest one.

    Exits 0 when every project is current, 1 when any is behind (flaskgen update brings
    it up), 2 when a path is not a flaskgen project. Reads answers files only: quick on
    many repositories at once.
    """
    with _reported(debug):
        import json

        from . import check as checking

        results = checking.check(Path(p) for p in (paths or ["."]))
        if as_json:
            typer.echo(json.dumps({"projects": [r.as_dict() for r in results]}, indent=2))
        for result in results:
            if result.status == checking.ERROR:
                if not as_json:
                    error(result.error or f"{result.path}: cannot check it")
            elif not as_json:
                typer.echo(_check_line(result))
        if any(r.status == checking.ERROR for r in results):
            return USAGE
        return 1 if any(r.status == checking.BEHIND for r in results) else 0
    return FAILURE  # not reached: _reported exits


def _check_line(result: Any) -> str:
    if result.status == "behind":
        hint = f"run flaskgen update {shlex.quote(result.path)}"
        return f"{result.path}: template {result.version}, behind the latest {result.latest} ({hint})"
    if result.status == "ahead":
        return f"{result.path}: template {result.version}, ahead of the latest release {result.latest}"
    return f"{result.path}: template {result.version}, the latest"


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM cleans up like Ctrl-C does, instead of leaving the staging folder behind."""
    import signal

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _reported(debug: bool) -> Iterator[None]:
    """Turn any failure into the one-line error and an exit code (a traceback with --debug)."""
    try:
        yield
    except FlaskgenError as exc:
        if debug:
            raise
        error(exc.message)
        raise typer.Exit(exc.exit_code) from None
    except (KeyboardInterrupt, EOFError):
        if debug:
            raise
        error("interrupted; nothing was written")
        raise typer.Exit(130) from None
    except typer.Exit:
        raise
    except Exception as exc:
        if debug or _is_click_error(exc):
            raise
        error(
            f"unexpected {type(exc).__name__}: {' '.join(str(exc).split())}. "
            f"Run again with --debug for the traceback, and report it"
        )
        raise typer.Exit(FAILURE) from None


def main() -> None:
    """Entry point of the `flaskgen` console script."""
    app()
