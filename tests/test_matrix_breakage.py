"""The answer matrix catches a broken template: one line of an answer's files is broken in a copy
of the template (never the checkout), and the matrix's check of the first combination holding
that answer must fail with a message naming the combination and the step.

CI runs one breakage per question: BREAKAGES, which break the answers' own files and fail at
different steps (pre-commit, migrate, tests, artifact linters), and for a question they miss (a
new one) a line that mypy refuses, rendered only for one of its values. `FLASKGEN_BREAKAGE=all`
adds such a line for every other answer value (a minute or two each: run it locally after
adding a question or a choice):

    FLASKGEN_BREAKAGE=all python -m pytest tests/test_matrix_breakage.py
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import answer_matrix
from support import REPO_ROOT, MypyCache, VenvFor, require_server
from test_answer_matrix import COMBINATIONS, check_combination

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.mysql, pytest.mark.rabbitmq]


@dataclass(frozen=True)
class Breakage:
    question: str
    value: Any
    path: str  # under template/
    line: str  # appended to the file
    step: str  # the matrix step that must fail
    # Extra answers the combination needs for the file to be rendered at all.
    needs: tuple[tuple[str, Any], ...] = ()

    @property
    def id(self) -> str:
        return f"{self.question}-{self.value}"


def only_for(question: str, value: Any, line: str) -> str:
    """`line`, rendered only for that answer value (the tags on lines of their own: the template
    trims the newline after a tag)."""
    return f"<% if {question} == {value!r} %>\n{line}\n<% endif %>"


BREAKAGES = [
    # python_version brings no file of its own: a line only its value renders.
    Breakage(
        "python_version",
        "3.12",
        "<<project_slug>>/config.py.jinja",
        only_for("python_version", "3.12", 'broken: int = "a str"'),
        "pre-commit",
    ),
    # A statement every import of the app runs: the first step to import it is pre-commit's
    # "openapi.json matches the app" hook.
    Breakage(
        "database",
        "mysql",
        "<<project_slug>>/__init__.py.jinja",
        only_for("database", "mysql", 'raise RuntimeError("broken for MySQL")'),
        "pre-commit",
    ),
    # The worker's own tests. (Not tests/worker_with_test_handlers.py: only the broker's outage
    # suite uses it, which tests/test_rabbitmq.py runs and the matrix leaves out.)
    Breakage(
        "use_rabbitmq",
        True,
        "tests/test_rabbitmq_worker.py.jinja",
        'raise RuntimeError("broken worker tests")',
        "tests",
    ),
    Breakage("ci", "gitlab", ".gitlab-ci.yml.jinja", "broken-job: {script: 42}", "artifact linters"),
    Breakage(
        "deploy_target",
        "docker-ssh",
        "deploy/remote-deploy.sh.jinja",
        'if [ "$broken" = 1 ] then echo broken; fi',
        "artifact linters",
    ),
    Breakage(
        "container_registry",
        "dockerhub",
        ".github/workflows/ci.yml.jinja",
        only_for("container_registry", "dockerhub", "broken: ["),
        "artifact linters",
        needs=(("ci", "github"),),
    ),
    Breakage("template_updates", True, "ci/template_update.py", "import os", "pre-commit"),
]


def refused_by_mypy(question: str, value: Any) -> Breakage:
    """A line of the app's config that only `value` renders, and that mypy refuses."""
    return Breakage(
        question,
        value,
        "<<project_slug>>/config.py.jinja",
        only_for(question, value, f'broken_{question}: int = "{value}"'),
        "pre-commit",
    )


def one_per_question() -> list[Breakage]:
    """BREAKAGES, and for a question they do not cover yet (a new one), its last value's line
    refused by mypy: a new question is checked without editing this file."""
    covered = {b.question for b in BREAKAGES}
    return BREAKAGES + [
        refused_by_mypy(question, values[-1])
        for question, values in answer_matrix.choice_questions().items()
        if question not in covered
    ]


def every_value() -> list[Breakage]:
    """One per question, and a line refused by mypy for each value they leave out."""
    chosen = one_per_question()
    covered = {(b.question, b.value) for b in chosen}
    return chosen + [
        refused_by_mypy(question, value)
        for question, values in answer_matrix.choice_questions().items()
        for value in values
        if (question, value) not in covered
    ]


SELECTED = every_value() if os.environ.get("FLASKGEN_BREAKAGE") == "all" else one_per_question()


def affected(breakage: Breakage) -> dict[str, Any]:
    """The first combination of the matrix that answers the value (and renders the file)."""
    wanted = {breakage.question: breakage.value, **dict(breakage.needs)}
    for answers in COMBINATIONS:
        if all(answers[name] == value for name, value in wanted.items()):
            return answers
    raise AssertionError(f"no combination of the matrix answers {wanted}")


@pytest.mark.parametrize(
    "breakage",
    [pytest.param(b, id=b.id, marks=pytest.mark.xdist_group(f"breakage-{b.id}")) for b in SELECTED],
)
def test_the_matrix_names_the_combination_and_the_step_of_a_broken_line(
    breakage: Breakage,
    copie_session: Any,
    venv_for: VenvFor,
    mypy_cache: MypyCache,
    app_verdicts: Any,
    tmp_path: Path,
) -> None:
    for server in ("postgresql", "mysql", "rabbitmq"):
        require_server(server)
    copy = tmp_path / "flaskgen"
    copy.mkdir()
    for name in ("copier.yml", "template", "locks"):
        source = REPO_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, copy / name)
    target = copy / "template" / breakage.path
    assert target.is_file(), f"{breakage.path} is gone from the template: pick another line"
    # After two blank lines, as ruff format wants a statement after a function.
    target.write_text(target.read_text().rstrip("\n") + f"\n\n\n{breakage.line}\n")
    answers = affected(breakage)
    (tmp_path / "work").mkdir()

    with pytest.raises(pytest.fail.Exception) as failure:
        check_combination(
            answers, copie_session, venv_for, mypy_cache, app_verdicts, tmp_path / "work", template=copy
        )

    message = str(failure.value)
    expected = f"combination {answer_matrix.combination_id(answers)}: step '{breakage.step}' failed"
    assert message.startswith(expected), message[:3000]
