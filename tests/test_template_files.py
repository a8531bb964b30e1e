"""Which files each combination of answers renders, decided in one place (copier.yml's _exclude).

template/ holds every file under its plain name; the list of files per combination of the
pairwise answer matrix is the fixture tests/fixtures/matrix_files.yml, reviewed on purpose when
it changes: `FLASKGEN_WRITE_FIXTURES=1 python -m pytest tests/test_template_files.py` rewrites it
(and fails, so that a rewrite is never mistaken for a pass); `git diff` then shows what changed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import answer_matrix
from flaskgen import bundle
from flaskgen.cli import app
from support import REPO_ROOT, skip_unless_required

FIXTURE = Path(__file__).parent / "fixtures" / "matrix_files.yml"
# The only template paths that vary: the app package and Copier's answers file.
TEMPLATED_NAMES = {"<<project_slug>>", "<<_copier_conf.answers_file>>.jinja"}


def rendered_files(project: Path) -> list[str]:
    """The project's files, executables marked with a trailing `*` as `ls -F` does."""
    return sorted(
        f"{p.relative_to(project)}{'*' if os.access(p, os.X_OK) else ''}"
        for p in project.rglob("*")
        if p.is_file()
    )


@pytest.fixture(scope="module")
def matrix_renders(copie_session: Any) -> dict[str, list[str]]:
    """Every combination of the pairwise matrix, rendered once, as its list of files."""
    renders = {}
    for answers in answer_matrix.combinations():
        result = copie_session.copy(extra_answers={**answer_matrix.FIXED, **answers})
        assert result.exception is None, f"{answer_matrix.combination_id(answers)}: {result.exception}"
        renders[answer_matrix.combination_id(answers)] = rendered_files(result.project_dir)
    return renders


def test_template_paths_hold_no_logic() -> None:
    paths = [p.relative_to(REPO_ROOT / "template") for p in (REPO_ROOT / "template").rglob("*")]
    assert [p for p in paths if "<%" in str(p)] == []
    templated = {part for p in paths for part in p.parts if "<<" in part}
    assert templated == TEMPLATED_NAMES


def test_each_combination_renders_the_files_of_the_fixture(matrix_renders: dict[str, list[str]]) -> None:
    if os.environ.get("FLASKGEN_WRITE_FIXTURES") == "1":
        FIXTURE.parent.mkdir(exist_ok=True)
        FIXTURE.write_text(yaml.safe_dump(matrix_renders, sort_keys=False), encoding="utf-8")
        pytest.fail(
            f"rewrote {FIXTURE.name}: review `git diff {FIXTURE}`, then run again without the variable"
        )
    expected = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    assert list(matrix_renders) == list(expected), "the matrix changed: rewrite the fixture and review it"
    for combination, files in matrix_renders.items():
        assert files == expected[combination], combination


def test_every_template_file_is_rendered_by_some_combination(matrix_renders: dict[str, list[str]]) -> None:
    """An _exclude entry that leaves a file out of every combination is a mistake."""
    rendered = {
        f.replace("matrix_app/", "<<project_slug>>/").removesuffix("*")
        for files in matrix_renders.values()
        for f in files
    }
    template = REPO_ROOT / "template"
    sources = {
        str(p.relative_to(template)).removesuffix(".jinja")
        for p in template.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith("<<_copier_conf")
    }
    assert sources - rendered == set()


@pytest.mark.parametrize("answers", answer_matrix.refused_combinations(), ids=answer_matrix.combination_id)
def test_refused_combinations_are_refused(copie: Any, answers: dict[str, Any]) -> None:
    result = copie.copy(extra_answers={**answer_matrix.FIXED, **answers})
    assert result.exception is not None
    assert answer_matrix.refusal(answers) in str(result.exception)


# --- projects generated before the paths were plain ----------------------------------------


@pytest.fixture(scope="module")
def history_around_plain_paths(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of this repository with the commit that made template/'s paths plain tagged v0.2.0
    and the commit before it v0.1.0."""
    clone = tmp_path_factory.mktemp("history") / "flaskgen"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True, capture_output=True)
    # The commit that removed the last conditional file name.
    found = subprocess.run(
        ["git", "log", "--format=%H", "-1", "--", "template/*<%*"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if not found:
        skip_unless_required("this clone has no commit that made template/'s paths plain (shallow?)")
    for tag, commit in (("v0.1.0", f"{found[0]}^"), ("v0.2.0", found[0])):
        subprocess.run(["git", "tag", tag, commit], cwd=clone, check=True)
    return clone


@pytest.mark.slow
@pytest.mark.parametrize("answers", answer_matrix.each_value(), ids=answer_matrix.combination_id)
def test_update_across_the_move_to_plain_paths_changes_only_the_version(
    history_around_plain_paths: Path,
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    answers: dict[str, Any],
) -> None:
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(history_around_plain_paths))
    for key in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{key}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{key}_EMAIL", "test@example.com")
    runner = CliRunner()
    project = tmp_path / "matrix_app"
    # Questions added since v0.2.0 are not asked by these versions, nor are choices added since
    # (a new python_version): those take the old version's default.
    config = subprocess.run(
        ["git", "show", "v0.1.0:copier.yml"], cwd=history_around_plain_paths, capture_output=True, text=True
    )
    known = yaml.safe_load(config.stdout)
    data = [
        arg
        for name, value in answers.items()
        if name in known
        and answer_matrix.is_asked(name, {**answer_matrix.FIXED, **answers})
        and value in answer_matrix.offered(known[name], value)
        for arg in ("--data", f"{name}={str(value).lower()}")
    ]
    created = runner.invoke(app, ["new", str(project), "--defaults", "--quiet", "--vcs-ref", "v0.1.0", *data])
    assert created.exit_code == 0, created.output
    git = ["git", "-C", str(project)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "generated"], check=True)

    updated = runner.invoke(app, ["update", str(project), "--defaults", "--vcs-ref", "v0.2.0"])

    assert updated.exit_code == 0, updated.output
    status = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True, check=True)
    assert status.stdout == " M .copier-answers.yml\n"
    diff = subprocess.run([*git, "diff", "-U0"], capture_output=True, text=True, check=True).stdout
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == ["-_commit: v0.1.0", "+_commit: v0.2.0"]
