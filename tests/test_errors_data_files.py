"""`flaskgen new --data-file` with a bad team file: not YAML, not a mapping, not UTF-8,
unreadable, a pipe or a device, too big or too deeply nested, or with a bad answer. One exact
line, exit code 2, and nothing changed; the README's example team file renders.

These use the real bundled template, whose copier.yml validators word most refusals, and
run flaskgen through conftest.py's `flaskgen` fixture, which points the system temp dir at a
folder of their own, to see that Copier's clones are removed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from refusals import assert_refused, needs_permissions, untouched
from support import REPO_ROOT


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"database: [postgresql\n",
            "--data-file {path} is not valid YAML: expected ',' or ']', but got '<stream end>' at "
            "line 2, column 1. Write it as lines of question: answer.",
        ),
        (
            b"database: postgresql\n\tci: none\n",
            "--data-file {path} is not valid YAML: found character '\\t' that cannot start any token "
            "at line 2, column 1. Write it as lines of question: answer.",
        ),
        (
            b"- database: postgresql\n",
            "--data-file {path} is not a mapping of answers. Write it as lines of question: answer, "
            "e.g. python_version: '3.12'.",
        ),
        (
            b"postgresql\n",
            "--data-file {path} is not a mapping of answers. Write it as lines of question: answer, "
            "e.g. python_version: '3.12'.",
        ),
        (
            b"database: \xe9\n",
            "cannot read --data-file: {path} is not UTF-8 text. Pass a readable YAML file of answers.",
        ),
        (
            b"databse: postgresql\n",
            "unknown question 'databse' in --data-file {path}. Did you mean database? "
            "See them all with flaskgen new --help.",
        ),
        (
            b"deploy_target: aws\n",
            "invalid deploy_target 'aws' in --data-file {path}: choose one of docker-ssh, compose, "
            "kubernetes, fly, render, heroku, none. Pass e.g. --data deploy_target=docker-ssh.",
        ),
        (
            b"auth: jwt\n",
            "invalid auth 'jwt' in --data-file {path}: choose one of none, token. "
            "Pass e.g. --data auth=none.",
        ),
    ],
)
def test_bad_data_file(flaskgen, tmp_path: Path, content: bytes, message: str) -> None:
    team = tmp_path / "team.yml"
    team.write_bytes(content)
    with untouched(tmp_path):
        result = flaskgen("new", tmp_path / "app", "--defaults", "--data-file", team)
    assert_refused(result, message.format(path=team))


def test_data_file_that_cannot_be_read(flaskgen, tmp_path: Path) -> None:
    (tmp_path / "folder.yml").mkdir()
    with untouched(tmp_path):
        missing = flaskgen("new", tmp_path / "app", "--defaults", "--data-file", tmp_path / "team.yml")
        folder = flaskgen("new", tmp_path / "app", "--defaults", "--data-file", tmp_path / "folder.yml")
    fix = "Pass a readable YAML file of answers."
    assert_refused(
        missing, f"cannot read --data-file: no such file or directory: {tmp_path / 'team.yml'}. {fix}"
    )
    assert_refused(folder, f"cannot read --data-file: is a directory: {tmp_path / 'folder.yml'}. {fix}")


def test_data_file_that_is_not_a_regular_file(flaskgen, tmp_path: Path) -> None:
    """Once a MemoryError (/dev/zero) and a hang (a pipe without a writer): refused unread."""
    fifo = tmp_path / "team.fifo"
    os.mkfifo(fifo)
    fix = "Pass a readable YAML file of answers."
    with untouched(tmp_path):
        zero = flaskgen("new", tmp_path / "app", "--defaults", "--data-file", "/dev/zero")
        pipe = flaskgen("new", tmp_path / "app", "--defaults", "--data-file", fifo)
    prefix = "cannot read --data-file:"
    assert_refused(zero, f"{prefix} /dev/zero is a character device, not a regular file. {fix}")
    assert_refused(pipe, f"{prefix} {fifo} is a named pipe (FIFO), not a regular file. {fix}")


def test_data_file_too_big_or_too_deep(flaskgen, tmp_path: Path) -> None:
    """Once "unexpected RecursionError": nesting deeper than any answer needs is refused."""
    deep = tmp_path / "deep.yml"
    deep.write_text("database: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    nested = tmp_path / "nested.yml"
    nested.write_text("database: " + "[" * 40 + "]" * 40 + "\n", encoding="utf-8")
    big = tmp_path / "big.yml"
    big.write_text("# padding\n" * 200_000, encoding="utf-8")
    with untouched(tmp_path):
        results = [flaskgen("new", tmp_path / "app", "--defaults", "--data-file", f) for f in (deep, nested)]
        too_big = flaskgen("new", tmp_path / "app", "--defaults", "--data-file", big)
    for result, path in zip(results, (deep, nested), strict=True):
        assert_refused(
            result,
            f"--data-file {path} nests deeper than 32 levels, and answers are plain values or short "
            "lists. Write it as lines of question: answer.",
        )
    fix = "Pass a readable YAML file of answers."
    assert_refused(too_big, f"cannot read --data-file: {big} is larger than 1024 KiB. {fix}")


@needs_permissions
def test_data_file_without_read_permission(flaskgen, tmp_path: Path) -> None:
    team = tmp_path / "team.yml"
    team.write_text("database: postgresql\n", encoding="utf-8")
    team.chmod(0)
    try:
        with untouched(tmp_path):
            result = flaskgen("new", tmp_path / "app", "--defaults", "--data-file", team)
    finally:
        team.chmod(0o644)
    assert_refused(
        result, f"cannot read --data-file: permission denied: {team}. Pass a readable YAML file of answers."
    )


def test_example_team_file_renders(flaskgen, tmp_path: Path) -> None:
    """The README's team preset, examples/team.yml, is a valid set of answers."""
    dest = tmp_path / "billing"
    result = flaskgen(
        "new",
        dest,
        "--defaults",
        "--quiet",
        "--data-file",
        REPO_ROOT / "examples" / "team.yml",
        "--data",
        "project_name=Billing API",
    )
    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((dest / ".copier-answers.yml").read_text(encoding="utf-8"))
    team = yaml.safe_load((REPO_ROOT / "examples" / "team.yml").read_text(encoding="utf-8"))
    assert {key: answers[key] for key in team} == team
    assert answers["project_slug"] == "billing_api"
