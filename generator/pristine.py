"""What a project would hold had nobody touched it: the template rendered at the project's
recorded version with its recorded answers, and the template-owned files a project changed.

A render is kept as a manifest (each file's size and SHA-256) under
~/.cache/flaskgen/pristine/ (`$XDG_CACHE_HOME` if set), keyed by template, version, answers
and Copier's version: projects of the same version and answers share one render, and a
second `flaskgen check` renders nothing (nor imports Copier).

The renders a cache lacks run in worker processes, one per usable core, forked once Copier is
imported and each version unpacked and parsed. Within a process, renders of one version share
what does not depend on the answers: Copier's parsed template, Jinja's compiled code, and
(per render) Copier's context; each is checked to give the manifest a render made alone gives.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import threading
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import FlaskgenError, from_copier, one_line
from .project import ANSWERS_FILE, Recorded

FORMAT = 1  # bump when the manifest's content changes
MODIFIED, DELETED = "modified", "deleted"
Manifest = dict[str, list[Any]]  # relative path -> [size, sha256] (a symbolic link: [-1, its target])


@dataclass(frozen=True)
class Version:
    """A template version to render: where the template is and which commit of it."""

    src: str  # _src_path, as recorded
    ref: str  # a commit id or tag that the template's history has
    trusted: bool  # flaskgen's own template may run its own code; others may not

    def key(self, answers: dict[str, Any]) -> str:
        blob = json.dumps(
            [FORMAT, _copier_version(), self.src, self.ref, answers], sort_keys=True, default=str
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:40]


@functools.cache
def _copier_version() -> str:
    from importlib.metadata import version

    return version("copier")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "flaskgen", "pristine")


def version_of(recorded: Recorded, tags: dict[str, str]) -> Version:
    """The version a project records, by commit id where the template's tags are known (a
    tag of flaskgen's history may be derived, and so may not exist in every clone of it)."""
    from . import bundle

    ref = recorded.oid or tags.get(recorded.commit, recorded.commit)
    return Version(src=recorded.src, ref=ref, trusted=recorded.src == bundle.SRC_PATH)


def manifests(wanted: Iterable[tuple[Version, dict[str, Any]]]) -> dict[str, Manifest | str]:
    """The manifest of each (version, answers), by key; a render that failed gives its error."""
    found: dict[str, Manifest | str] = {}
    missing: dict[str, tuple[Version, dict[str, Any]]] = {}
    for version, answers in wanted:
        key = version.key(answers)
        if key in found or key in missing:
            continue
        cached = _read_cached(key)
        if cached is not None:
            found[key] = cached
        else:
            missing[key] = (version, answers)
    if missing:
        found.update(_render_all(missing))
    return found


def changed_files(project: Path, manifest: Manifest) -> dict[str, str]:
    """The template-owned files of `project` that differ from the pristine render: path ->
    modified or deleted. Files the user added are not the template's, so not listed."""
    changed: dict[str, str] = {}
    for relative, (size, expected) in manifest.items():
        path = project / relative
        if size == -1:
            if not path.is_symlink():
                changed[relative] = DELETED if not os.path.lexists(path) else MODIFIED
            elif os.readlink(path) != expected:
                changed[relative] = MODIFIED
            continue
        try:
            info = path.stat()
        except OSError:
            changed[relative] = DELETED
            continue
        if info.st_size != size or digest(path) != expected:
            changed[relative] = MODIFIED
    return changed


def _read_cached(key: str) -> Manifest | None:
    try:
        return json.loads((cache_dir() / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_cached(key: str, manifest: Manifest) -> None:
    directory = cache_dir()
    with contextlib.suppress(OSError):  # a read-only cache only costs time
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
        os.replace(tmp, directory / f"{key}.json")


def _render_all(missing: dict[str, tuple[Version, dict[str, Any]]]) -> dict[str, Manifest | str]:
    """Render each missing (version, answers) once, in parallel processes when there are several
    (Copier renders in the current directory's process state: threads would share it)."""
    from . import bundle

    results: dict[str, Manifest | str] = {}
    with contextlib.ExitStack() as stack:
        stack.callback(_SHARED.clear)  # its folders are deleted with the stack
        # Copier's import (a third of a second) runs while git unpacks the versions.
        importing = threading.Thread(target=_import_copier, daemon=True)
        importing.start()
        try:
            histories: dict[str, Path | None] = {}
            sources: dict[tuple[str, str], Path | str] = {}
            jobs = []
            for key, (version, answers) in missing.items():
                if version.src not in histories:
                    histories[version.src] = _history(version.src, stack, bundle)
                source_key = (version.src, version.ref)
                if source_key not in sources:
                    sources[source_key] = _unpacked(histories[version.src], version, stack)
                jobs.append((key, sources[source_key], version, answers))
        finally:
            importing.join()
        workers = min(len(jobs), _usable_cores())
        if workers > 1:
            from concurrent.futures import ProcessPoolExecutor

            context = _fork_context()
            if context is not None:  # the workers inherit Copier and each version's parsed template
                from copier import _main

                for source in dict.fromkeys(job[1] for job in jobs):
                    if isinstance(source, Path):
                        _share(_main, source)
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                rendered = list(pool.map(_render_job, jobs))
        else:
            rendered = [_render_job(job) for job in jobs]
    for (key, *_), result in zip(jobs, rendered, strict=True):
        if not isinstance(result, str):
            _write_cached(key, result)
        results[key] = result
    return results


def _import_copier() -> None:
    with contextlib.suppress(Exception):  # a broken install is reported by the render itself
        import copier  # noqa: F401


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _fork_context() -> Any:
    """Linux's fork, which Python 3.14 no longer makes the default: a forked worker starts with
    what this process has imported and parsed, where a spawned one would import it all again.
    (Other systems keep their default: fork is unsafe on macOS.)"""
    import multiprocessing

    return multiprocessing.get_context("fork") if sys.platform == "linux" else None


def _render_job(job: tuple[str, Path | str, Version, dict[str, Any]]) -> Manifest | str:
    _, source, version, answers = job
    try:
        return _render(source, version, answers)
    except FlaskgenError as exc:
        return exc.message


def _history(src: str, stack: contextlib.ExitStack, bundle: Any) -> Path | None:
    """A git directory holding the template's versions, or None for a remote template."""
    if src == bundle.SRC_PATH:
        try:
            return stack.enter_context(bundle.history())
        except FlaskgenError:
            return None
    path = Path(src).expanduser()
    if (path / ".git").exists() or (path / "HEAD").is_file():
        return path / ".git" if (path / ".git").exists() else path
    return None


def _unpacked(git_dir: Path | None, version: Version, stack: contextlib.ExitStack) -> Path | str:
    """The template at `version` as a plain folder (quicker to render than a clone), else the
    source for Copier to clone."""
    if git_dir is None:
        return version.src
    archived = subprocess.run(
        ["git", f"--git-dir={git_dir}", "archive", "--format=tar", version.ref],
        capture_output=True,
        check=False,
    )
    if archived.returncode != 0:
        return version.src  # Copier says why, in the project's error
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="flaskgen-pristine-")))
    with tarfile.open(fileobj=io.BytesIO(archived.stdout)) as archive:
        archive.extractall(folder, filter="data")
    return folder


def _render(source: Path | str, version: Version, answers: dict[str, Any]) -> Manifest:
    import copier  # only for a render the cache lacks
    from copier import _main

    with (
        tempfile.TemporaryDirectory(prefix="flaskgen-pristine-", dir=_scratch_dir()) as tmp,
        _without_git_index_sync(_main),
        _compiled_once(),
        _context_built_once(_main),
        _template_shared(_main, source) as fixed,
    ):
        dst = Path(tmp, "project")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                copier.run_copy(
                    str(source),
                    dst,
                    data={**fixed, **answers},
                    vcs_ref=None if isinstance(source, Path) else version.ref,
                    defaults=True,
                    unsafe=version.trusted,
                    skip_tasks=True,
                    quiet=True,
                )
            except Exception as exc:
                error = from_copier(exc, template=repr(version.src), vcs_ref=version.ref)
                message = error.message if error is not None else one_line(exc)
                raise FlaskgenError(
                    f"cannot render template version {version.ref} to compare: {message.rstrip('.')}"
                ) from None
        return _manifest(dst)


def _scratch_dir() -> str | None:
    """Where renders are written and deleted: memory (/dev/shm) where there is one, since
    they only live until they are hashed; else the system's temporary folder."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


# A template folder's Copier Template (its parsed copier.yml, and what git said of the folder)
# and its plain computed values, for the renders of one _render_all in this process.
_SHARED: dict[Path, tuple[Any, dict[str, Any]]] = {}


def _share(main: Any, source: Path) -> tuple[Any, dict[str, Any]]:
    """The template folder's Copier Template, with what renders read of it (copier.yml, what
    git says of the folder), and its plain computed values; made once per process."""
    if source not in _SHARED:
        template = main.Template(url=str(source), ref=None, use_prereleases=False)
        template.local_abspath, template.config_data  # noqa: B018 (read now, once)
        _SHARED[source] = (template, _fixed_values(source, template))
    return _SHARED[source]


@contextlib.contextmanager
def _template_shared(main: Any, source: Path | str) -> Iterator[dict[str, Any]]:
    """Copier parses copier.yml (with PyYAML's pure-Python loader) and runs git twice to probe
    the template folder on every render: renders of one unpacked version share that work, as
    nothing of it depends on the answers. Yields the template's plain computed values."""
    if not isinstance(source, Path):
        yield {}
        return
    template, fixed = _share(main, source)
    original = main.Worker.__dict__["template"]

    def shared(self: Any) -> Any:
        # What Worker.template builds for run_copy(str(source), vcs_ref=None).
        if self.src_path == str(source) and self.vcs_ref is None and not self.use_prereleases:
            return template
        return original.func(self)

    patched = functools.cached_property(shared)
    patched.__set_name__(main.Worker, "template")
    main.Worker.template = patched
    try:
        yield fixed
    finally:
        main.Worker.template = original


def _fixed_values(source: Path, template: Any) -> dict[str, Any]:
    """The template's computed values that are plain data (no Jinja), given as answers: the
    same values, but Copier then does not render each item of a long list as a template."""
    from .questions import from_config
    from .template import config_path

    try:
        if re.search(r"!include\b", config_path(source).read_text(encoding="utf-8")):
            return {}  # questions from other files: left to Copier
        questionnaire = from_config(template._raw_config)  # Copier's own parse of copier.yml
    except Exception:  # Copier says what is wrong with the template, when it renders
        return {}
    return {
        q.name: q.default
        for q in questionnaire.questions
        if q.computed
        and isinstance(q.default, list | dict)
        and not any(mark in json.dumps(q.default) for mark in ("<<", "<%", "{{", "{%"))
    }


def _manifest(root: Path) -> Manifest:
    manifest: Manifest = {}
    for directory, dirs, files in os.walk(root):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(directory, d))]:
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            if relative == ANSWERS_FILE:
                continue
            if path.is_symlink():
                manifest[relative] = [-1, os.readlink(path)]
            else:
                manifest[relative] = [path.stat().st_size, digest(path)]
    return manifest


def digest(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


@contextlib.contextmanager
def _without_git_index_sync(main: Any) -> Iterator[None]:
    """Copier runs git for each file it renders, to sync executable bits into the index of a
    destination in a git repository; a pristine render is in none (a third of its time)."""
    original = main.is_git_available
    main.is_git_available = lambda: False
    try:
        yield
    finally:
        main.is_git_available = original


@contextlib.contextmanager
def _context_built_once(main: Any) -> Iterator[None]:
    """Copier builds its whole Jinja context (the answers, the answers it records, its
    settings) anew for each of the few hundred paths and strings of a render, a third of the
    render's time. In the render phase the answers are final: build it once per render, and
    give each caller a copy (of `_copier_conf` too, which Copier edits in place). Strings
    without Jinja are not rendered at all."""
    from copier._types import LazyDict, Phase

    original = main.Worker._render_context

    def render_context(self: Any) -> Any:
        if Phase.current() is not Phase.RENDER:
            return original(self)
        built = self.__dict__.get("_flaskgen_render_context")
        if built is None:
            built = self.__dict__["_flaskgen_render_context"] = original(self)
        conf = LazyDict[str, Any]()
        conf._pending, conf._done = dict(built["_copier_conf"]._pending), dict(built["_copier_conf"]._done)
        return {**built, "_copier_conf": conf}

    original_render_string = main.Worker._render_string

    def render_string(self: Any, string: str, extra_context: Any = None) -> str:
        # Most strings are path parts without Jinja ("tests", "conftest.py"): Jinja would give
        # them back unchanged, after running the extensions' preprocess hooks (see _compiled_once).
        env = self.jinja_env
        if _is_literal(env, string) and env.preprocess(string) == string:
            return string
        return original_render_string(self, string, extra_context)  # type: ignore[no-any-return]

    main.Worker._render_context = render_context
    main.Worker._render_string = render_string
    try:
        yield
    finally:
        main.Worker._render_context = original
        main.Worker._render_string = original_render_string


def _is_literal(env: Any, text: str) -> bool:
    """Whether Jinja renders `text` as itself: one line, no delimiter, no line statements,
    no extension that rewrites the token stream."""
    from jinja2.ext import Extension

    starts = (env.block_start_string, env.variable_start_string, env.comment_start_string)
    return (
        "\n" not in text
        and "\r" not in text
        and not any(start in text for start in starts)
        and env.line_statement_prefix is None
        and env.line_comment_prefix is None
        and all(type(ext).filter_stream is Extension.filter_stream for ext in env.extensions.values())
    )


_COMPILED: dict[tuple[Any, ...], Any] = {}


@contextlib.contextmanager
def _compiled_once() -> Iterator[None]:
    """Jinja compiles each template string (file, path, default) of every render anew; renders
    of one version with other answers compile the same strings, so reuse the code. The code
    depends only on the source and the environment's syntax options, which are in the key.
    The extensions' preprocess hooks still run for each compile: Copier's `yield` tag resets
    its state in one."""
    from jinja2 import Environment

    original = Environment.compile

    def compile(self: Any, source: Any, name: Any = None, filename: Any = None, raw: bool = False,
                defer_init: bool = False) -> Any:  # fmt: skip
        if raw or not isinstance(source, str):
            return original(self, source, name, filename, raw, defer_init)
        key = (type(self), _syntax(self), source, name, filename, defer_init)
        if key not in _COMPILED:
            _COMPILED[key] = original(self, source, name, filename, raw, defer_init)
        else:
            self.preprocess(source, name, filename)
        return _COMPILED[key]

    Environment.compile = compile  # type: ignore[method-assign]
    try:
        yield
    finally:
        Environment.compile = original  # type: ignore[method-assign]


def _syntax(env: Any) -> tuple[Any, ...]:
    return (
        env.block_start_string, env.block_end_string, env.variable_start_string,
        env.variable_end_string, env.comment_start_string, env.comment_end_string,
        env.line_statement_prefix, env.line_comment_prefix, env.trim_blocks, env.lstrip_blocks,
        env.newline_sequence, env.keep_trailing_newline, env.optimized, env.is_async,
        tuple(sorted(env.extensions)), repr(env.autoescape), repr(env.finalize),
    )  # fmt: skip
