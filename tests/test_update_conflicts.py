"""`flaskgen update` when the user's edits and the new template version collide: a conflict
is left to resolve (inline markers or .rej files, exit code 1), and a file the user changed that
the new version drops is kept and reported. On the tiny template (support.TINY_V1, TINY_V2).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flaskgen.cli import app
from histories import answers_of, commit_all, output_section, status

# Every test runs on a fresh machine, with a git identity (conftest.py's `home`).
pytestmark = pytest.mark.usefixtures("home")


@pytest.mark.parametrize("mode", ["inline", "rej"])
def test_conflicting_edit_is_left_to_resolve_and_exits_1(
    runner: CliRunner, tiny_project: Path, mode: str
) -> None:
    readme = tiny_project / "README.md"
    readme.write_text(readme.read_text().replace("intro\n", "intro, rewritten by me\n"))
    commit_all(tiny_project, "my intro")

    result = runner.invoke(app, ["update", str(tiny_project), "--defaults", "--conflict", mode])

    assert result.exit_code == 1, result.output
    text = readme.read_text()
    if mode == "inline":
        assert "<<<<<<< before updating" in text and ">>>>>>> after updating" in text
        assert "intro, rewritten by me" in text and "intro, improved in v2" in text
        assert output_section(result.stdout, "Conflicts") == ["README.md"]
    else:
        rejected = tiny_project / "README.md.rej"
        assert "intro, rewritten by me" in rejected.read_text()
        assert output_section(result.stdout, "Conflicts") == ["README.md.rej"]
    assert answers_of(tiny_project)["_commit"] == "v2.0.0"


@pytest.mark.parametrize("mode", ["inline", "rej"])
def test_changed_file_that_the_new_version_drops_is_kept_and_reported(
    runner: CliRunner, tiny_project: Path, mode: str
) -> None:
    notes = tiny_project / "notes.txt"
    notes.write_text("notes, dropped in v2\nmy precious notes\n")
    commit_all(tiny_project, "my notes")

    result = runner.invoke(app, ["update", str(tiny_project), "--defaults", "--conflict", mode])

    assert result.exit_code == 0, result.output
    assert notes.read_text() == "notes, dropped in v2\nmy precious notes\n"
    assert not (tiny_project / "notes.txt.rej").exists()
    assert not (tiny_project / "unused.txt").exists()  # unchanged: dropped as Copier does
    assert output_section(result.stdout, "Kept") == ["notes.txt"]
    assert "notes.txt" not in status(tiny_project)  # exactly as committed
