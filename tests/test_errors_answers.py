"""`flaskgen new` with a bad --data answer: a choice it does not offer, a question it does
not ask (naming the closest one), a computed answer, and combinations the template refuses
(SQLite on a multi-instance target). One exact line, exit code 2, and nothing changed.

These use the real bundled template, whose copier.yml validators word most refusals, and
run flaskgen through conftest.py's `flaskgen` fixture, which points the system temp dir at a
folder of their own, to see that Copier's clones are removed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from refusals import assert_refused, untouched
from support import TEMPLATE_CONFIG

QUESTIONS = ", ".join(
    name
    for name, spec in TEMPLATE_CONFIG.items()
    if not name.startswith("_") and spec.get("when") is not False
)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            "database=oracle",
            "invalid database 'oracle' in --data: choose one of sqlite, postgresql, mysql. "
            "Pass e.g. --data database=sqlite.",
        ),
        (
            "deploy_target=aws",
            "invalid deploy_target 'aws' in --data: choose one of docker-ssh, compose, kubernetes, "
            "fly, render, heroku, none. Pass e.g. --data deploy_target=docker-ssh.",
        ),
        (
            "python_version=3.10",
            "invalid python_version '3.10' in --data: choose one of 3.11, 3.12, 3.13, 3.14. "
            "Pass e.g. --data python_version=3.11.",
        ),
        (
            "auth=foo",
            "invalid auth 'foo' in --data: choose one of none, token. Pass e.g. --data auth=none.",
        ),
        (
            "auth=Token",
            "invalid auth 'Token' in --data: choose one of none, token. Pass e.g. --data auth=none.",
        ),
        (
            "databse=postgresql",
            "unknown question 'databse' in --data. Did you mean database? "
            "See them all with flaskgen new --help.",
        ),
        (
            "deploy-target=none",
            "unknown question 'deploy-target' in --data. Did you mean deploy_target? "
            "See them all with flaskgen new --help.",
        ),
        (
            "colour=red",
            f"unknown question 'colour' in --data. The questions are: {QUESTIONS}. "
            "See them all with flaskgen new --help.",
        ),
        (
            "stdlib_modules=[]",
            f"'stdlib_modules' in --data is computed by the template, not a question. "
            f"Remove it; the questions are: {QUESTIONS}.",
        ),
    ],
)
def test_bad_answer(flaskgen, tmp_path: Path, answer: str, message: str) -> None:
    with untouched(tmp_path):
        result = flaskgen("new", tmp_path / "app", "--defaults", "--data", answer)
    assert_refused(result, message)


@pytest.mark.parametrize("target", ["kubernetes", "fly", "render", "heroku"])
def test_sqlite_with_a_multi_instance_target_is_refused(flaskgen, tmp_path: Path, target: str) -> None:
    with untouched(tmp_path):
        # sqlite is the default database: given or not, the combination is refused.
        given = flaskgen(
            "new", tmp_path / "app", "--defaults", "-d", "database=sqlite", "-d", f"deploy_target={target}"
        )
        default = flaskgen("new", tmp_path / "app", "--defaults", "-d", f"deploy_target={target}")
    message = (
        f"invalid deploy_target: deploy_target '{target}' cannot use database 'sqlite': its instances "
        "are several or their disks ephemeral, so each would see its own data; choose "
        "database=postgresql or database=mysql, or deploy_target=docker-ssh, compose or none. "
        "Change it with --data deploy_target=VALUE."
    )
    assert_refused(given, message)
    assert_refused(default, message)
