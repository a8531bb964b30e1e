"""The questions a template asks, read from its copier.yml without running Copier.

Used to list the questions in `flaskgen new --help` and to check answers before
rendering. Copier stays the authority: anything this module cannot judge (Jinja
validators, choices computed by Jinja) is left for Copier to check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InputError, one_line

TYPES = ("str", "int", "float", "bool", "json", "yaml", "path")
NO_DEFAULT = object()


@dataclass(frozen=True)
class Question:
    name: str
    type: str
    help: str
    choices: tuple[Any, ...] | None  # the values an answer may take; None when free
    default: Any  # NO_DEFAULT when the template gives none
    computed_default: bool  # the default is Jinja, rendered from other answers
    computed: bool  # `when: false`: a helper value the template computes, never asked
    multiselect: bool = False
    asked_when: str | None = None  # Jinja deciding whether the question is asked at all

    def default_text(self, names: list[str]) -> str | None:
        """The default as help shows it; Jinja is described, not printed."""
        if self.default is NO_DEFAULT:
            return None
        if not self.computed_default:
            return show(self.default)
        if "dst_path" in self.default:
            return "the destination folder name"
        used = _mentioned(self.default, names, self.name)
        return f"derived from {', '.join(used)}" if used else "computed by the template"

    def check(self, value: Any, origin: str) -> None:
        """Refuse an answer of the wrong type or outside the choices, naming `origin`."""
        items = value if self.multiselect and isinstance(value, list) else [value]
        for item in items:
            try:
                answer = cast(self.type, item)
            except (TypeError, ValueError):
                quote = " (quote it there)" if origin.startswith("--data-file") else ""
                raise InputError(
                    f"invalid {self.name} {show(item)!r} in {origin}{quote}: not a valid "
                    f"{self.type}. Change it with --data {self.name}=VALUE"
                ) from None
            if self.choices is not None and answer not in self.choices:
                valid = ", ".join(show(choice) for choice in self.choices)
                raise InputError(
                    f"invalid {self.name} {show(item)!r} in {origin}: choose one of {valid}. "
                    f"Pass e.g. --data {self.name}={show(self.choices[0])}"
                )


@dataclass(frozen=True)
class Questionnaire:
    """Every question of a template, asked or computed, in copier.yml's order."""

    questions: tuple[Question, ...]

    @property
    def asked(self) -> list[Question]:
        """The questions a user answers (computed helpers left out)."""
        return [q for q in self.questions if not q.computed]

    def get(self, name: str) -> Question | None:
        return next((q for q in self.questions if q.name == name), None)

    def help_rows(self) -> list[tuple[str, str]]:
        """(name, description) pairs for `flaskgen new --help`."""
        names = [q.name for q in self.asked]  # computed helpers mean nothing to a user
        rows = []
        for q in self.asked:
            text = q.help or q.name
            if q.choices is not None:
                text += f"  [choices: {', '.join(show(c) for c in q.choices)}]"
            if q.asked_when is not None:
                used = _mentioned(q.asked_when, names, q.name)
                text += f"  [asked depending on {', '.join(used) or 'other answers'}]"
            default = q.default_text(names)
            text += f"  [default: {default}]" if default is not None else "  [required]"
            rows.append((q.name, text))
        return rows


def parse(text: str, origin: str = "copier.yml") -> Questionnaire | None:
    """The questionnaire of a copier.yml, or None when it cannot be known without Copier
    (questions pulled in with `!include`)."""
    import yaml

    if re.search(r"!include\b", text):
        return None
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise InputError(f"{origin} is not valid YAML ({one_line(exc)}). Fix the template") from None
    config: dict[str, Any] = {}
    for doc in documents:
        if not isinstance(doc, Mapping):
            raise InputError(f"{origin} is not a YAML mapping of questions. Fix the template")
        config.update(doc)
    return from_config(config)


def from_config(config: Mapping[str, Any]) -> Questionnaire:
    """The questionnaire of a loaded copier.yml (settings start with `_`)."""
    envops = config.get("_envops") or {}
    delimiters = (
        envops.get("variable_start_string", "{{"),
        envops.get("block_start_string", "{%"),
    )
    questions = [
        _question(str(name), spec, delimiters)
        for name, spec in config.items()
        if not str(name).startswith("_")
    ]
    return Questionnaire(tuple(questions))


def _question(name: str, spec: Any, delimiters: tuple[str, str]) -> Question:
    if not isinstance(spec, Mapping):
        spec = {"default": spec}  # the short form `name: default`

    def is_jinja(value: Any) -> bool:
        return isinstance(value, str) and any(d in value for d in delimiters)

    default = spec.get("default", NO_DEFAULT)
    type_name = spec.get("type") or type(default).__name__
    if type_name not in TYPES:
        type_name = "yaml"
    help_text = spec.get("help", "")
    choices = _choices(spec.get("choices"), type_name, is_jinja)
    return Question(
        name=name,
        type=type_name,
        help="" if is_jinja(help_text) else one_line(help_text),
        choices=choices,
        default=default,
        computed_default=is_jinja(default),
        computed=spec.get("when", True) is False,
        multiselect=spec.get("multiselect", False) is True,
        asked_when=spec["when"] if is_jinja(spec.get("when")) else None,
    )


def _choices(raw: Any, type_name: str, is_jinja: Any) -> tuple[Any, ...] | None:
    """Choice values cast like Copier casts them; None if Jinja decides them."""
    if raw is None or is_jinja(raw):
        return None
    items = list(raw.values()) if isinstance(raw, Mapping) else list(raw)
    values = []
    for item in items:
        value = item[1] if isinstance(item, list | tuple) and len(item) == 2 else item
        if isinstance(value, Mapping):  # {value: ..., validator: ...}
            value = value.get("value")
        if is_jinja(value):
            return None
        try:
            values.append(cast(type_name, value))
        except (TypeError, ValueError):
            return None
    return tuple(values)


def _mentioned(jinja: str, names: list[str], itself: str) -> list[str]:
    """The other questions a Jinja expression uses."""
    return [n for n in names if n != itself and re.search(rf"\b{re.escape(n)}\b", jinja)]


def cast(type_name: str, value: Any) -> Any:
    """An answer converted to the question's type, as Copier does before checking it."""
    if type_name == "str":
        if isinstance(value, bool | list | dict) or value is None:
            raise TypeError(value)
        return str(value)
    if type_name == "path":
        return str(value)
    if type_name == "int":
        return int(value)
    if type_name == "float":
        return float(value)
    if type_name == "bool":
        return _bool(value)
    if isinstance(value, str):
        if type_name == "json":
            return json.loads(value)
        import yaml

        return yaml.safe_load(value)
    return value


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    text = str(value).strip().lower()
    try:
        return bool(float(text))
    except ValueError:
        pass
    if text in {"y", "yes", "t", "true", "on"}:
        return True
    if text in {"n", "no", "f", "false", "off", ""}:
        return False
    raise ValueError(value)


def show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)
