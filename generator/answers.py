"""Answers given up front: `--data KEY=VALUE` options and a `--data-file` of YAML."""

from __future__ import annotations

import difflib
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError, one_line, os_problem
from .questions import Questionnaire


@dataclass
class Given:
    """Answers given before rendering, and where each came from (for messages)."""

    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    def check(self, questionnaire: Questionnaire) -> None:
        check(self.values, questionnaire, self.origins)


def collect(data: Iterable[str], data_file: Path | None) -> Given:
    """`--data-file` answers overridden by `--data` ones."""
    given = Given()
    if data_file is not None:
        given.values = load_data_file(data_file)
        given.origins = dict.fromkeys(given.values, f"--data-file {data_file}")
    from_options = parse_data(data)
    given.values.update(from_options)
    given.origins.update(dict.fromkeys(from_options, "--data"))
    return given


def parse_data(items: Iterable[str]) -> dict[str, str]:
    """`--data KEY=VALUE` options as a mapping; values stay strings (Copier casts them)."""
    answers: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(
                f"--data {item!r} is not KEY=VALUE. Write it as e.g. --data project_name='My App'"
            )
        answers[key] = value
    return answers


def load_data_file(path: Path) -> dict[str, Any]:
    """A YAML mapping of answers, e.g. a team's standard answers.

    Keys starting with `_` are skipped, so a project's .copier-answers.yml can be reused.
    """
    try:
        data = load_yaml_file(path)
    except YamlFileError as exc:
        if exc.kind == UNREADABLE:
            fix = "Pass a readable YAML file of answers"
            raise InputError(f"cannot read --data-file: {exc}. {fix}") from None
        if exc.kind == TOO_DEEP:
            raise InputError(
                f"--data-file {path} {exc}, and answers are plain values or short lists. "
                "Write it as lines of question: answer"
            ) from None
        raise InputError(
            f"--data-file {path} is not valid YAML: {exc}. Write it as lines of question: answer"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping) or not all(isinstance(key, str) for key in data):
        raise InputError(
            f"--data-file {path} is not a mapping of answers. "
            "Write it as lines of question: answer, e.g. python_version: '3.12'"
        )
    return {key: value for key, value in data.items() if not key.startswith("_")}


# A file of answers is a few lines: anything bigger, or nested deeper, is a mistake (or
# /dev/zero), refused before it exhausts memory or Python's recursion limit.
MAX_YAML_BYTES = 1 << 20
MAX_YAML_DEPTH = 32
UNREADABLE, INVALID, TOO_DEEP = "unreadable", "invalid", "too deep"
_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class YamlFileError(Exception):
    """Why a YAML file was not loaded: `kind` is UNREADABLE, INVALID or TOO_DEEP."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.kind = kind


def load_yaml_file(path: Path) -> Any:
    """A small YAML file, loaded safely: never blocks on a pipe or a device, never reads more
    than MAX_YAML_BYTES, never nests deeper than MAX_YAML_DEPTH."""
    import yaml

    try:
        info = path.stat()  # never blocks, unlike opening a pipe without a writer
    except OSError as exc:
        raise YamlFileError(os_problem(exc), UNREADABLE) from None
    if stat.S_ISDIR(info.st_mode):
        raise YamlFileError(f"is a directory: {path}", UNREADABLE)
    for test, kind in _SPECIAL_FILES:
        if test(info.st_mode):
            raise YamlFileError(f"{path} is {kind}, not a regular file", UNREADABLE)
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_YAML_BYTES + 1)
    except OSError as exc:
        raise YamlFileError(os_problem(exc), UNREADABLE) from None
    if len(raw) > MAX_YAML_BYTES:
        raise YamlFileError(f"{path} is larger than {MAX_YAML_BYTES // 1024} KiB", UNREADABLE)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise YamlFileError(f"{path} is not UTF-8 text", UNREADABLE) from None
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise YamlFileError(f"nests deeper than {MAX_YAML_DEPTH} levels", TOO_DEEP) from None
    except yaml.YAMLError as exc:
        raise YamlFileError(_yaml_problem(exc), INVALID) from None
    if _depth(data) > MAX_YAML_DEPTH:
        raise YamlFileError(f"nests deeper than {MAX_YAML_DEPTH} levels", TOO_DEEP)
    return data


def _depth(data: Any) -> int:
    """How deeply lists and mappings nest (iterative: the data may be deep)."""
    deepest = 0
    pending = [(data, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, Mapping):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if level > MAX_YAML_DEPTH:
            break
        pending += [(child, level + 1) for child in children]
    return deepest


def _yaml_problem(exc: Exception) -> str:
    """PyYAML's problem and where it is, without the echo of the text and its caret."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if not problem:
        return one_line(exc)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{one_line(problem)}{where}"


def check(answers: Mapping[str, Any], questionnaire: Questionnaire, origins: Mapping[str, str]) -> None:
    """Refuse answers to questions the template does not ask, or outside their choices.

    `origins` names where each key came from (--data or the data file) for the message.
    """
    asked = [q.name for q in questionnaire.asked]
    for key, value in answers.items():
        origin = origins.get(key, "--data")
        question = questionnaire.get(key)
        if question is None:
            close = difflib.get_close_matches(key, asked, n=1)
            hint = f"Did you mean {close[0]}?" if close else f"The questions are: {', '.join(asked)}."
            raise InputError(
                f"unknown question {key!r} in {origin}. {hint} See them all with flaskgen new --help"
            )
        if question.computed:
            raise InputError(
                f"{key!r} in {origin} is computed by the template, not a question. "
                f"Remove it; the questions are: {', '.join(asked)}"
            )
        question.check(value, origin)
