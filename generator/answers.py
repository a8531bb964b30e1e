"""Answers given up front: `--data KEY=VALUE` options and a `--data-file` of YAML."""

from __future__ import annotations

import difflib
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
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = os_problem(exc) if isinstance(exc, OSError) else f"{path} is not UTF-8 text"
        raise InputError(
            f"cannot read --data-file: {problem}. Pass a readable YAML file of answers"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(
            f"--data-file {path} is not valid YAML: {_yaml_problem(exc)}. "
            "Write it as lines of question: answer"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping) or not all(isinstance(key, str) for key in data):
        raise InputError(
            f"--data-file {path} is not a mapping of answers. "
            "Write it as lines of question: answer, e.g. python_version: '3.12'"
        )
    return {key: value for key, value in data.items() if not key.startswith("_")}


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
