"""Refusals of `flaskgen new`: one exact line, and the file system left as it was."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

State = dict[str, tuple[int, int, int, bytes | str | None]]


def tree(root: Path) -> State:
    """Every path under root, root included: type, mode, mtime and content (or link target)."""
    paths = [root]
    for directory, dirs, files in os.walk(root):  # symbolic links are listed, not followed
        paths += [Path(directory, name) for name in dirs + files]
    return {path.relative_to(root).as_posix(): _entry(path) for path in sorted(paths)}


def _entry(path: Path) -> tuple[int, int, int, bytes | str | None]:
    info = path.lstat()
    content: bytes | str | None = None
    if stat.S_ISLNK(info.st_mode):
        content = os.readlink(path)
    elif stat.S_ISREG(info.st_mode):
        try:
            content = path.read_bytes()
        except PermissionError:
            content = "<unreadable>"
    return stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), info.st_mtime_ns, content


@contextlib.contextmanager
def untouched(root: Path) -> Iterator[None]:
    """Assert that nothing under root changed, down to directory mtimes."""
    before = tree(root)
    yield
    after = tree(root)
    assert after == before, sorted(set(after.items()) ^ set(before.items()))


def assert_refused(result, message: str, exit_code: int = 2) -> None:
    """Exactly `flaskgen: error: <message>` on stderr, nothing on stdout, no traceback."""
    assert "Traceback" not in result.output
    assert result.stderr == f"flaskgen: error: {message}\n", result.output
    assert result.stdout == ""
    assert result.exit_code == exit_code, result.output


def permissions_enforced() -> bool:
    """False where a read-only folder can still be written to, as root can."""
    with tempfile.TemporaryDirectory() as scratch:
        locked = Path(scratch, "locked")
        locked.mkdir(mode=0o555)
        try:
            (locked / "probe").touch()
        except PermissionError:
            return True
        finally:
            locked.chmod(0o755)
        return False


needs_permissions = pytest.mark.skipif(
    not permissions_enforced(), reason="root ignores permissions; requires a non-root user"
)
