"""The answer matrix: combinations of copier.yml's answers that cover every pair of values.

Read from copier.yml, so a new question with choices (or a new choice) joins the matrix without
editing a test. A combination copier.yml refuses (a validator says why) is left out of the
matrix and listed in `refused_pairs`, so tests can check that it really is refused.
"""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

COPIER_YML = Path(__file__).resolve().parent.parent / "copier.yml"

# Questions every combination answers the same way: they are text, not choices.
FIXED = {"project_name": "Matrix App", "project_slug": "matrix_app"}
# Questions whose answers choose deployment files only (and README lines): combinations that
# differ in nothing else make the same app, whose steps (install, lint, type-check, migrate,
# test) tests/test_answer_matrix.py runs once for them all. The matrix is built to reuse few
# apps. (`ci` is not one: with template_updates it adds ci/template_update.py.) A question not
# listed counts as the app's: that only makes more apps, never fewer, since what is shared is
# decided by the rendered files (test_answer_matrix.app_fingerprint).
DEPLOYMENT_QUESTIONS = frozenset({"deploy_target", "container_registry"})


@cache
def _config() -> dict[str, Any]:
    return yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))


@cache
def _jinja() -> jinja2.Environment:
    envops = {k: v for k, v in _config()["_envops"].items() if k.endswith("_string")}
    return jinja2.Environment(**envops, autoescape=False, undefined=jinja2.StrictUndefined)


@cache
def _compiled(template: str) -> jinja2.Template:
    return _jinja().from_string(template)


def _render(template: str, answers: dict[str, Any]) -> str:
    # Compiled once per expression: the pair checks render validators thousands of times.
    return _compiled(template).render(**answers).strip()


def choice_questions() -> dict[str, list[Any]]:
    """Every asked question with a closed set of answers, with its values, in copier.yml's order."""
    questions: dict[str, list[Any]] = {}
    for name, spec in _config().items():
        if name.startswith("_") or not isinstance(spec, dict) or spec.get("when") is False:
            continue
        if spec.get("type") == "bool":
            questions[name] = [spec.get("default", False), not spec.get("default", False)]
        elif "choices" in spec:
            choices = spec["choices"]
            values = list(choices.values()) if isinstance(choices, dict) else list(choices)
            default = spec.get("default")
            questions[name] = [default, *(v for v in values if v != default)]
    return questions


def offered(spec: dict[str, Any], value: Any) -> list[Any]:
    """The values a question `spec` (from some version's copier.yml) accepts; [value] if open."""
    choices = spec.get("choices") if isinstance(spec, dict) else None
    if choices is None:
        return [value]
    return list(choices.values()) if isinstance(choices, dict) else list(choices)


def is_asked(question: str, answers: dict[str, Any]) -> bool:
    """Whether copier.yml asks `question` given the other answers (its `when:`)."""
    when = _config()[question].get("when", True)
    if isinstance(when, str):
        return _render(when, answers).lower() in ("true", "yes", "1")
    return bool(when)


def refusal(answers: dict[str, Any]) -> str:
    """The first validator message copier.yml gives for these answers, or '' if none refuses."""
    context = {**FIXED, **answers}
    for name in answers:
        validator = _config()[name].get("validator")
        if validator and is_asked(name, context):
            message = _render(validator, context)
            if message:
                return message
    return ""


def consistent(answers: dict[str, Any]) -> bool:
    """Whether a question copier.yml does not ask (its `when:`) keeps its default, so that every
    pair the matrix counts is one a project can really have."""
    context, defaults = {**FIXED, **answers}, choice_questions()
    return all(value == defaults[name][0] or is_asked(name, context) for name, value in answers.items())


def _pairs(combination: dict[str, Any]) -> set[tuple[tuple[str, Any], tuple[str, Any]]]:
    return set(itertools.combinations(combination.items(), 2))


@cache
def _product() -> tuple[tuple[tuple[str, Any], ...], ...]:
    """Every combination of values (a few hundred: few enough to enumerate)."""
    questions = choice_questions()
    return tuple(
        tuple(zip(questions, values, strict=True)) for values in itertools.product(*questions.values())
    )


@cache
def _accepted() -> tuple[tuple[tuple[str, Any], ...], ...]:
    return tuple(c for c in _product() if not refusal(dict(c)))


def app_answers(combination: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The answers of a combination that shape its app (all but DEPLOYMENT_QUESTIONS')."""
    return tuple((name, value) for name, value in combination.items() if name not in DEPLOYMENT_QUESTIONS)


def _greedy_cover(
    candidates: list[dict[str, Any]], uncovered: set, preferred: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Candidates covering every pair of `uncovered`, each the one covering most of those left
    (ties go to the earliest: defaults first), taken from `preferred` while one of them helps."""
    chosen: list[dict[str, Any]] = []
    while uncovered:
        for pool in (preferred or [], candidates):
            best = max(pool, key=lambda c: len(uncovered & _pairs(c)), default=None)
            if best is not None and uncovered & _pairs(best):
                break
        chosen.append(best)
        uncovered = uncovered - _pairs(best)
    return chosen


@cache
def _matrix() -> tuple[tuple[tuple[str, Any], ...], ...]:
    """A pairwise cover of the accepted, consistent combinations that reuses few apps: first a
    pairwise cover of the app's answers alone, then combinations of those apps (others only
    where none of them can give a pair) covering every pair of the whole answers."""
    candidates = [dict(c) for c in _accepted() if consistent(dict(c))]
    apps = list(dict.fromkeys(app_answers(c) for c in candidates))
    app_pairs = set().union(*(_pairs(dict(a)) for a in apps))
    chosen_apps = {app_answers(c) for c in _greedy_cover([dict(a) for a in apps], app_pairs)}
    preferred = [c for c in candidates if app_answers(c) in chosen_apps]
    uncovered = set().union(*(_pairs(c) for c in candidates))
    return tuple(tuple(c.items()) for c in _greedy_cover(candidates, uncovered, preferred))


def combinations() -> list[dict[str, Any]]:
    """The pairwise matrix: every pair of values two questions can take together appears."""
    return [dict(c) for c in _matrix()]


def refused_combinations() -> list[dict[str, Any]]:
    """For each pair of values copier.yml never accepts together, the first whole combination
    holding it (with defaults elsewhere where possible), for tests to check it is refused."""
    accepted = set().union(*(_pairs(dict(c)) for c in _accepted()))
    refused: dict[tuple, dict[str, Any]] = {}
    for combination in map(dict, _product()):
        for pair in _pairs(combination) - accepted:
            refused.setdefault(pair, combination)
    return list(refused.values())


def combination_id(answers: dict[str, Any]) -> str:
    """A short, stable name for a combination, used in test ids and failure messages."""
    return "-".join(
        (name if value else f"no_{name}") if isinstance(value, bool) else str(value)
        for name, value in answers.items()
    )


def each_value() -> list[dict[str, Any]]:
    """A few combinations of the matrix that together give every question each of its values."""
    wanted = {(name, value) for name, values in choice_questions().items() for value in values}
    chosen = []
    for combination in combinations():
        if wanted & set(combination.items()):
            chosen.append(combination)
            wanted -= set(combination.items())
    return chosen
