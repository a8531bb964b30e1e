"""`flaskgen new` refuses bad answers, options, data files, templates, versions and
destinations in one line, with an exit code, and never half-writes (even when rendering fails
part way); --debug shows the traceback instead.

These render a tiny template made in tmp_path (conftest.py's `tiny` and `tagged`) to pin the
mechanics down, Copier's own checks included; test_errors_*.py pin the exact wording with the
bundled template.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flaskgen.cli import app
from histories import snapshot
from support import assert_one_line_error

# flaskgen installs its template history in ~/.local/share/flaskgen/: in a temporary HOME here.
pytestmark = pytest.mark.usefixtures("isolated_home")


@pytest.mark.parametrize(
    ("extra", "exit_code", "phrases"),
    [
        (
            ["--data", "count=0"],
            2,
            ["invalid count: count must be at least 1.", "--data count="],
        ),
        (
            ["--data", "project_name= "],
            2,
            ["invalid project_name: project_name must not be empty"],
        ),
        (
            ["--data", "flavour=mint"],
            2,
            ["invalid flavour 'mint'", "vanilla, chocolate"],
        ),
        (
            ["--data", "count=many"],
            2,
            ["invalid count 'many' in --data: not a valid int"],
        ),
        (
            ["--data", "flavor=chocolate"],
            2,
            ["unknown question 'flavor'", "Did you mean flavour?"],
        ),
        (["--data", "toppings=[]"], 2, ["'toppings'", "computed by the template"]),
        (["--data", "flavour"], 2, ["--data 'flavour' is not KEY=VALUE"]),
        (["--data", "=x"], 2, ["is not KEY=VALUE"]),
        (["--vcs-ref", "1.0.0"], 2, ["--vcs-ref needs a git repository"]),
        (["--bogus"], 2, ["No such option: --bogus", "flaskgen new --help"]),
    ],
)
def test_bad_answers_and_options(
    runner: CliRunner,
    tiny: Path,
    tmp_path: Path,
    extra: list[str],
    exit_code: int,
    phrases: list[str],
) -> None:
    before = snapshot(tmp_path, leave_out="cache")
    result = runner.invoke(
        app,
        ["new", str(tmp_path / "out"), "--template", str(tiny), "--defaults", *extra],
    )
    assert_one_line_error(result, exit_code, *phrases)
    assert snapshot(tmp_path, leave_out="cache") == before


@pytest.mark.parametrize(
    ("content", "phrases"),
    [
        ("flavour: [unclosed\n", ["is not valid YAML"]),
        ("- flavour\n- count\n", ["is not a mapping of answers"]),
        ("flavour: mint\n", ["invalid flavour 'mint' in --data-file"]),
        ("colour: red\n", ["unknown question 'colour' in --data-file"]),
        ("project_name: no\n", ["invalid project_name 'false'", "(quote it there)"]),
    ],
)
def test_bad_data_file(
    runner: CliRunner, tiny: Path, tmp_path: Path, content: str, phrases: list[str]
) -> None:
    data_file = tmp_path / "answers.yml"
    data_file.write_text(content, encoding="utf-8")
    before = snapshot(tmp_path, leave_out="cache")
    args = [
        "new",
        str(tmp_path / "out"),
        "--template",
        str(tiny),
        "--defaults",
        "--data-file",
        str(data_file),
    ]
    assert_one_line_error(runner.invoke(app, args), 2, *phrases)
    assert snapshot(tmp_path, leave_out="cache") == before


def test_unreadable_data_file(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    before = snapshot(tmp_path, leave_out="cache")
    for path in (
        tmp_path / "missing.yml",
        tmp_path / "tiny",
    ):  # missing, and a directory
        args = [
            "new",
            str(tmp_path / "out"),
            "--template",
            str(tiny),
            "--defaults",
            "--data-file",
            str(path),
        ]
        assert_one_line_error(runner.invoke(app, args), 2, "cannot read --data-file", str(path))
    assert snapshot(tmp_path, leave_out="cache") == before


def test_bad_templates(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "not-a-template").mkdir()
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    before = snapshot(tmp_path, leave_out="cache")
    cases = [
        (str(tmp_path / "nowhere"), 2, "does not exist"),
        (str(tmp_path / "not-a-template"), 2, "has no copier.yml"),
        (str(tmp_path / "afile"), 2, "is a file, not a template directory"),
        (f"git+file://{tmp_path}/no-such-repo", 1, "could not fetch template"),
    ]
    for template, exit_code, phrase in cases:
        result = runner.invoke(app, ["new", str(tmp_path / "out"), "--template", template, "--defaults"])
        assert_one_line_error(result, exit_code, phrase)
    assert snapshot(tmp_path, leave_out="cache") == before


def test_bad_vcs_ref(runner: CliRunner, tagged: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "cache"))
    before = snapshot(tmp_path, leave_out="cache")
    result = runner.invoke(
        app,
        [
            "new",
            str(tmp_path / "out"),
            "--template",
            str(tagged),
            "--vcs-ref",
            "9.9.9",
            "--defaults",
        ],
    )
    assert_one_line_error(result, 2, "has no version '9.9.9'", "2.0.0, 1.0.0")
    remote = runner.invoke(
        app,
        [
            "new",
            str(tmp_path / "out"),
            "--template",
            f"git+file://{tagged}",
            "--vcs-ref",
            "9.9.9",
            "--defaults",
        ],
    )
    assert_one_line_error(remote, 2, "has no version '9.9.9'")
    no_template = runner.invoke(app, ["new", str(tmp_path / "out"), "--vcs-ref", "1.0.0", "--defaults"])
    assert_one_line_error(no_template, 2, "--vcs-ref", "--template")
    assert snapshot(tmp_path, leave_out="cache") == before


def test_destination_that_exists_is_refused_untouched(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "afile").write_text("mine too", encoding="utf-8")
    before = snapshot(tmp_path, leave_out="cache")
    full = runner.invoke(app, ["new", str(tmp_path / "taken"), "--template", str(tiny), "--defaults"])
    assert_one_line_error(full, 2, "already exists and is not empty")
    file = runner.invoke(app, ["new", str(tmp_path / "afile"), "--template", str(tiny), "--defaults"])
    assert_one_line_error(file, 2, "exists and is not a directory")
    assert snapshot(tmp_path, leave_out="cache") == before


def test_failure_part_way_leaves_nothing(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    (tiny / "template" / "zz-broken.txt.jinja").write_text("{{ nope.attr }}\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    before = snapshot(tmp_path, leave_out="cache")
    for dest in (
        tmp_path / "out",
        tmp_path / "empty",
        tmp_path / "new" / "parents" / "out",
    ):
        result = runner.invoke(app, ["new", str(dest), "--template", str(tiny), "--defaults"])
        assert_one_line_error(result, 1, "failed to render", "'nope' is undefined")
        assert snapshot(tmp_path, leave_out="cache") == before


def test_missing_argument_is_one_line(runner: CliRunner) -> None:
    assert_one_line_error(runner.invoke(app, ["new"]), 2, "Missing argument 'DEST'")


def test_debug_shows_the_traceback(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    args = [
        "new",
        str(tmp_path / "out"),
        "--template",
        str(tiny),
        "--defaults",
        "--data",
        "count=0",
    ]
    result = runner.invoke(app, [*args, "--debug"])
    assert result.exit_code != 0
    assert "count must be at least 1" in str(result.exception)
    from_env = runner.invoke(app, args, env={"FLASKGEN_DEBUG": "1"})
    assert from_env.exception is not None and not isinstance(from_env.exception, SystemExit)
    assert not (tmp_path / "out").exists()
