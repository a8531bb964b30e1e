"""`flaskgen new` renders: answers from --defaults, --data and --data-file, destinations that
are empty or missing, git templates at a version, and no terminal with --defaults.

Most tests render a tiny template made in tmp_path (conftest.py's `tiny` and `tagged`), so
they do not depend on the bundled template's questions (which grow); the ones that render
the bundled template read its copier.yml to know what to expect. Nothing here uses the network.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flaskgen.cli import app
from histories import answers_of, snapshot
from support import REPO_ROOT, assert_one_line_error, bundled_questions

# flaskgen installs its template history in ~/.local/share/flaskgen/: in a temporary HOME here.
pytestmark = pytest.mark.usefixtures("isolated_home")


needs_bundled_template = pytest.mark.skipif(
    not (REPO_ROOT / "template").is_dir(), reason="template/ is not written yet"
)


@needs_bundled_template
def test_bundled_template_with_defaults(runner: CliRunner, tmp_path: Path) -> None:
    dest = tmp_path / "shop-front"
    result = runner.invoke(app, ["new", str(dest), "--defaults"])
    assert result.exit_code == 0, result.output
    answers = answers_of(dest)
    assert answers["project_name"] == "shop-front"  # DEST's name is project_name's default
    for name, spec in bundled_questions().items():
        if "when" in spec:  # asked, and so answered, only for some other answers
            continue
        assert name in answers
        default = spec.get("default")
        if name != "project_name" and isinstance(default, str) and "<<" not in default:
            assert str(answers[name]) == default
    for step in (
        "cd ",
        "uv sync",
        "uv run flask db upgrade",
        "uv run flask run",
    ):
        assert step in result.stdout
    assert re.search(r"^  project_name +shop-front$", result.stdout, re.MULTILINE)
    assert [p.name for p in tmp_path.iterdir()] == ["shop-front"]  # no staging left


@needs_bundled_template
def test_bundled_template_validator_failure_is_one_line(runner: CliRunner, tmp_path: Path) -> None:
    before = snapshot(tmp_path, leave_out="cache")
    result = runner.invoke(
        app,
        ["new", str(tmp_path / "app"), "--defaults", "--data", "project_slug=Bad-Slug"],
    )
    assert_one_line_error(result, 2, "invalid project_slug", "'Bad-Slug'", "--data project_slug=")
    assert snapshot(tmp_path, leave_out="cache") == before


def test_data_answers_questions(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "new",
            str(dest),
            "--template",
            str(tiny),
            "--defaults",
            "-d",
            "flavour=chocolate",
            "--data",
            "count=7",
        ],
    )
    assert result.exit_code == 0, result.output
    assert answers_of(dest) == {
        "_src_path": str(tiny),
        "project_name": "out",
        "flavour": "chocolate",
        "count": 7,
    }
    assert (dest / "README.md").read_text() == "out chocolate 7\n"
    assert "cd " in result.stdout and "flask db upgrade" not in result.stdout  # not our template


def test_data_value_may_contain_equals(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "new",
            str(dest),
            "--template",
            str(tiny),
            "--defaults",
            "--data",
            "project_name=a=b c",
        ],
    )
    assert result.exit_code == 0, result.output
    assert answers_of(dest)["project_name"] == "a=b c"


def test_data_file_and_data_overrides_it(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    team = tmp_path / "team.yml"
    # _-keys are skipped, so a project's .copier-answers.yml can be reused as a data file.
    team.write_text("_src_path: elsewhere\nflavour: chocolate\ncount: 5\n", encoding="utf-8")
    dest = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "new",
            str(dest),
            "--template",
            str(tiny),
            "--defaults",
            "--data-file",
            str(team),
            "--data",
            "count=9",
        ],
    )
    assert result.exit_code == 0, result.output
    answers = answers_of(dest)
    assert (answers["flavour"], answers["count"], answers["_src_path"]) == (
        "chocolate",
        9,
        str(tiny),
    )


def test_quiet_prints_nothing(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", str(tmp_path / "out"), "--template", str(tiny), "--defaults", "-q"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == ""
    assert (tmp_path / "out" / "README.md").is_file()


def test_summary_shows_answers_and_next_steps(
    runner: CliRunner, tiny: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["new", "my app", "--template", str(tiny), "--defaults"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^  flavour +vanilla$", result.stdout, re.MULTILINE)
    assert "cd 'my app'" in result.stdout
    assert "toppings" not in result.stdout  # computed, not an answer


def test_existing_empty_directory_is_filled(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    dest = tmp_path / "empty"
    dest.mkdir()
    inode = dest.stat().st_ino
    result = runner.invoke(app, ["new", str(dest), "--template", str(tiny), "--defaults"])
    assert result.exit_code == 0, result.output
    assert dest.stat().st_ino == inode  # the same directory, now filled
    assert answers_of(dest)["project_name"] == "empty"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "tiny"]


def test_missing_parents_are_created(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    dest = tmp_path / "a" / "b" / "c"
    result = runner.invoke(app, ["new", str(dest), "--template", str(tiny), "--defaults"])
    assert result.exit_code == 0, result.output
    assert answers_of(dest)["project_name"] == "c"


def test_git_template_versions(runner: CliRunner, tagged: Path, tmp_path: Path) -> None:
    def render(name: str, *extra: str) -> Path:
        dest = tmp_path / name
        args = ["new", str(dest), "--template", str(tagged), "--defaults", *extra]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        return dest

    old = render("old", "--vcs-ref", "1.0.0")
    assert (old / "README.md").read_text() == "v1 old\n"
    assert answers_of(old)["_commit"] == "1.0.0"
    latest = render("latest")  # like Copier: the latest release tag, not HEAD
    assert (latest / "README.md").read_text() == "v2 latest more\n"
    head = render("head", "--vcs-ref", "HEAD")
    assert (head / "README.md").read_text() == "v3 head\n"


def test_git_template_answers_checked_against_the_chosen_version(
    runner: CliRunner, tagged: Path, tmp_path: Path
) -> None:
    before = snapshot(tmp_path, leave_out="cache")
    result = runner.invoke(
        app,
        [
            "new",
            str(tmp_path / "out"),
            "--template",
            str(tagged),
            "--vcs-ref",
            "1.0.0",
            "--defaults",
            "--data",
            "extra=x",
        ],
    )
    assert_one_line_error(result, 2, "unknown question 'extra'")
    assert snapshot(tmp_path, leave_out="cache") == before


def test_git_url_template_is_fetched_and_checked_after(
    runner: CliRunner, tagged: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "cache"))
    url = f"git+file://{tagged}"
    dest = tmp_path / "out"
    ok = runner.invoke(app, ["new", str(dest), "--template", url, "--vcs-ref", "1.0.0", "--defaults"])
    assert ok.exit_code == 0, ok.output
    assert (dest / "README.md").read_text() == "v1 out\n"
    # Its questions are known only once fetched: a wrong key still writes nothing.
    before = snapshot(tmp_path, leave_out="cache")
    bad = runner.invoke(
        app,
        [
            "new",
            str(tmp_path / "bad"),
            "--template",
            url,
            "--defaults",
            "--data",
            "flavor=chocolate",
        ],
    )
    assert_one_line_error(bad, 2, "unknown question 'flavor'", "Did you mean flavour?")
    # Copier's own checks still end in one line: here its choice check.
    args = ["new", str(tmp_path / "bad"), "--template", url, "--defaults"]
    mint = runner.invoke(app, [*args, "--data", "flavour=mint"])
    assert_one_line_error(mint, 2, "invalid flavour: 'mint' is not in", "vanilla")
    zero = runner.invoke(app, [*args, "--data", "count=0"])
    assert_one_line_error(zero, 2, "invalid count: count must be at least 1.")
    assert snapshot(tmp_path, leave_out="cache") == before


# --- no terminal ----------------------------------------------------------------------


def test_no_terminal_without_defaults_exits_2_without_hanging(tiny: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    out = subprocess.run(
        [sys.executable, "-m", "flaskgen", "new", str(dest), "--template", str(tiny)],
        stdin=subprocess.DEVNULL,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "FLASKGEN_DEBUG": ""},
    )
    assert out.returncode == 2
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("flaskgen: error: "), out.stderr
    assert "--defaults" in lines[0] and "--data KEY=VALUE" in lines[0]
    assert not dest.exists()


def test_no_terminal_with_defaults_renders(tiny: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "flaskgen",
            "new",
            str(dest),
            "--template",
            str(tiny),
            "--defaults",
        ],
        stdin=subprocess.DEVNULL,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert answers_of(dest)["flavour"] == "vanilla"
