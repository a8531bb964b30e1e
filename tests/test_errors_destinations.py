"""`flaskgen new` with a bad destination: a file, a path under a file, a broken link, an
unwritable folder, a folder that is not empty; --into-existing adds a project beside the files
already there, or refuses before writing anything. One exact line, exit code 2, and nothing
changed, down to mtimes.

These use the real bundled template, whose copier.yml validators word most refusals, and
run flaskgen through conftest.py's `flaskgen` fixture, which points the system temp dir at a
folder of their own, to see that Copier's clones are removed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from refusals import assert_refused, needs_permissions, tree, untouched


def test_dest_that_is_a_file(flaskgen, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with untouched(tmp_path):
        result = flaskgen("new", tmp_path / "notes.txt", "--defaults")
    assert_refused(result, f"{tmp_path / 'notes.txt'} exists and is not a directory. Pick a new folder name.")


@pytest.mark.parametrize("under", ["app", "a/b/app"])
def test_dest_under_a_file(flaskgen, tmp_path: Path, under: str) -> None:
    """A parent that is a file fails for any user, root included."""
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    dest = tmp_path / "notes.txt" / under
    with untouched(tmp_path):
        result = flaskgen("new", dest, "--defaults")
    assert_refused(
        result, f"cannot create {dest}: {tmp_path / 'notes.txt'} is not a directory. Pick another place."
    )


def test_dest_that_is_a_broken_link(flaskgen, tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    with untouched(tmp_path):
        result = flaskgen("new", tmp_path / "link", "--defaults")
    assert_refused(result, f"{tmp_path / 'link'} is a broken symbolic link. Pick another destination.")


@needs_permissions
@pytest.mark.parametrize("dest", ["locked/app", "locked/new/parents/app", "locked"])
def test_dest_in_an_unwritable_folder(flaskgen, tmp_path: Path, dest: str) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with untouched(tmp_path):
            result = flaskgen("new", tmp_path / dest, "--defaults")
    finally:
        locked.chmod(0o755)
    assert_refused(
        result,
        f"cannot create {tmp_path / dest}: {locked} is not writable (permission denied). "
        "Pick another place, or make it writable.",
    )


def test_non_empty_dest_is_refused_untouched(flaskgen, tmp_path: Path) -> None:
    dest = tmp_path / "work"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine", encoding="utf-8")
    (dest / ".git").mkdir()
    with untouched(tmp_path):
        result = flaskgen("new", dest, "--defaults")
    assert_refused(
        result,
        f"{dest} already exists and is not empty. Pick a new folder name, empty it first, "
        "or pass --into-existing to add the project beside its files.",
    )


def test_into_existing_adds_the_project_beside_the_files(flaskgen, tmp_path: Path) -> None:
    dest = tmp_path / "work"
    (dest / ".git").mkdir(parents=True)
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (dest / "NOTES.md").write_text("mine", encoding="utf-8")
    (dest / "tests").mkdir()  # a folder the project has too: shared, not replaced
    (dest / "tests" / "test_mine.py").write_text("def test_mine(): pass\n", encoding="utf-8")
    before = tree(tmp_path)
    result = flaskgen("new", dest, "--defaults", "--into-existing", "--quiet")
    assert result.exit_code == 0, result.output
    after = tree(tmp_path)
    # The folders that received the project changed (their mtime); nothing else that was there did.
    filled = {"work", "work/tests"}
    assert {key: before[key] for key in before if key not in filled} == {
        key: after[key] for key in before if key not in filled
    }
    assert (dest / "work" / "__init__.py").is_file()
    assert (dest / "tests" / "conftest.py").is_file()
    assert not [name for name in os.listdir(dest) if ".flaskgen-" in name]


def test_into_existing_refuses_to_overwrite(flaskgen, tmp_path: Path) -> None:
    dest = tmp_path / "work"
    (dest / "tests").mkdir(parents=True)
    (dest / "README.md").write_text("mine", encoding="utf-8")
    (dest / "tests" / "conftest.py").write_text("# mine\n", encoding="utf-8")
    (dest / "Dockerfile").mkdir()  # a folder where the project has a file
    (dest / "keep.txt").write_text("mine", encoding="utf-8")
    before = tree(tmp_path)
    result = flaskgen("new", dest, "--defaults", "--into-existing")
    after = tree(tmp_path)
    assert_refused(
        result,
        f"{dest} already has Dockerfile, README.md, tests/conftest.py, which the project would "
        "overwrite; nothing was written. Move them away, or pick a new folder name.",
    )
    # The project was rendered inside DEST, next to the user's files, then removed: the
    # folder's own mtime moved, nothing in it did.
    assert after.pop("work")[:2] == before.pop("work")[:2]
    assert after == before

    (dest / "Dockerfile").rmdir()
    (dest / "tests" / "conftest.py").unlink()
    one = flaskgen("new", dest, "--defaults", "--into-existing")
    assert_refused(
        one,
        f"{dest} already has README.md, which the project would overwrite; nothing was written. "
        "Move it away, or pick a new folder name.",
    )


# --- names and paths longer than the file system allows ---------------------------------------


def test_dest_name_too_long(flaskgen, tmp_path: Path) -> None:
    """Once "unexpected OSError: [Errno 36] File name too long" with the whole name, exit 1."""
    name = "a" * 300
    dest = tmp_path / name
    with untouched(tmp_path):
        result = flaskgen("new", dest, "--defaults")
    shown = str(dest)[:40] + "..." + "a" * 40
    assert_refused(
        result,
        f"cannot create {shown}: the folder name '{'a' * 40}...{'a' * 40}' is 300 bytes long, "
        f"and this file system allows {os.pathconf(tmp_path, 'PC_NAME_MAX')}. Pick a shorter name.",
    )


def test_dest_path_too_long(flaskgen, tmp_path: Path) -> None:
    """Every folder name is fine, but the project's files would pass PATH_MAX."""
    dest = tmp_path.joinpath(*["d" * 200] * 25)
    size = len(os.fsencode(str(dest)))
    with untouched(tmp_path):
        result = flaskgen("new", dest, "--defaults")
    assert_refused(
        result,
        f"cannot create {str(dest)[:40]}...{str(dest)[-40:]}: its path is {size} bytes long, and the "
        f"project's files below it would pass this system's limit of {os.pathconf(tmp_path, 'PC_PATH_MAX')} "
        "bytes. Pick a shorter path.",
    )
