"""`flaskgen new` with bad input: one exact line that names the problem and the fix, the
exit code, and a file system left as it was (paths, contents, modes and mtimes).

These use the real bundled template, whose copier.yml validators word most refusals, and
point the system temp dir at a folder of their own, to see that Copier's clones are removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from flaskgen.cli import app
from support import REPO_ROOT, ProjectVenv, skip_unless_required

ROOT = Path(__file__).resolve().parent.parent
CONFIG = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
KEYWORDS = set(CONFIG["python_keywords"]["default"])
STDLIB = set(CONFIG["stdlib_modules"]["default"])
DEPENDENCIES = set(CONFIG["dependency_modules"]["default"])
SLUG = re.compile(r"[a-z][a-z0-9_]*")
QUESTIONS = ", ".join(
    name
    for name, spec in yaml.safe_load((REPO_ROOT / "copier.yml").read_text()).items()
    if not name.startswith("_") and spec.get("when") is not False
)

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


@pytest.fixture
def system_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temp dir Copier clones templates into: empty after every run, or something leaked."""
    scratch = tmp_path_factory.mktemp("system-tmp")
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


@pytest.fixture
def flaskgen(system_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., object]:
    """Run `flaskgen ARGS...` in-process, never in debug mode, checking the temp dir after."""
    monkeypatch.delenv("FLASKGEN_DEBUG", raising=False)
    runner = CliRunner()

    def run(*args: str | Path):
        result = runner.invoke(app, [str(arg) for arg in args])
        assert list(system_tmp.iterdir()) == [], "a temporary folder was left behind"
        return result

    return run


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


# --- project_slug: the validator of the real copier.yml, worded as one line --------------

NOT_AN_IDENTIFIER = (
    "project_slug {0!r} is not a lowercase Python identifier: use letters, digits and _, "
    "starting with a letter"
)
KEYWORD = "project_slug {0!r} is a Python keyword: pick another name, e.g. {0}_app"
STDLIB_MODULE = (
    "project_slug {0!r} shadows the standard-library module {0!r}: pick another name, e.g. {0}_app"
)
USED_MODULE = (
    "project_slug {0!r} shadows {0!r}, a module or folder the project uses: pick another name, e.g. {0}_app"
)


@pytest.mark.parametrize(
    ("slug", "reason"),
    [
        ("1app", NOT_AN_IDENTIFIER),  # starts with a digit
        ("my-app", NOT_AN_IDENTIFIER),  # a character an import name cannot have
        ("MyApp", NOT_AN_IDENTIFIER),  # not lowercase
        ("café", NOT_AN_IDENTIFIER),
        ("_private", NOT_AN_IDENTIFIER),
        ("", NOT_AN_IDENTIFIER),
        ("class", KEYWORD),
        ("async", KEYWORD),
        ("email", STDLIB_MODULE),
        ("json", STDLIB_MODULE),
        ("test", STDLIB_MODULE),
        ("flask", USED_MODULE),
        ("sqlalchemy", USED_MODULE),
        ("pygments", USED_MODULE),  # pytest's: it imports it before the project's conftest
        ("tests", USED_MODULE),  # the project's own folders
        ("deploy", USED_MODULE),
    ],
)
def test_bad_project_slug(flaskgen, tmp_path: Path, slug: str, reason: str) -> None:
    with untouched(tmp_path):
        result = flaskgen("new", tmp_path / "app", "--defaults", "--data", f"project_slug={slug}")
    assert_refused(
        result,
        f"invalid project_slug: {reason.format(slug)}. Change it with --data project_slug=VALUE.",
    )


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("My Shop!", "my_shop"),
        ("日本語", "app"),  # no ASCII letter or digit left
        ("---", "app"),
        ("2FA service", "app_2fa_service"),  # an import name cannot start with a digit
        ("Email", "email_app"),  # would shadow the standard library
        ("Class", "class_app"),  # a keyword
        ("Flask", "flask_app"),  # a dependency
    ],
)
def test_derived_project_slug_is_always_valid(flaskgen, tmp_path: Path, name: str, slug: str) -> None:
    dest = tmp_path / "out"
    result = flaskgen("new", dest, "--defaults", "--quiet", "--data", f"project_name={name}")
    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((dest / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert (answers["project_name"], answers["project_slug"]) == (name, slug)
    assert (dest / slug / "__init__.py").is_file()


EMPTY_NAME = "project_name must not be empty"
MULTILINE_NAME = "project_name must be one line of text: remove its control characters (newlines, tabs)"


@pytest.mark.parametrize(
    ("name", "reason"),
    [("", EMPTY_NAME), (" \t", EMPTY_NAME), ("My\nApp", MULTILINE_NAME), ("My\tApp", MULTILINE_NAME)],
)
def test_bad_project_name(flaskgen, tmp_path: Path, name: str, reason: str) -> None:
    with untouched(tmp_path):
        result = flaskgen("new", tmp_path / "app", "--defaults", "--data", f"project_name={name}")
    assert_refused(result, f"invalid project_name: {reason}. Change it with --data project_name=VALUE.")


# --- other answers ---------------------------------------------------------------------


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


# --- DEST --------------------------------------------------------------------------------


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


# --- --data-file -------------------------------------------------------------------------


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
        ROOT / "examples" / "team.yml",
        "--data",
        "project_name=Billing API",
    )
    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((dest / ".copier-answers.yml").read_text(encoding="utf-8"))
    team = yaml.safe_load((ROOT / "examples" / "team.yml").read_text(encoding="utf-8"))
    assert {key: answers[key] for key in team} == team
    assert answers["project_slug"] == "billing_api"


# --- --template and --vcs-ref ----------------------------------------------------------


@pytest.fixture
def git_template(tmp_path: Path) -> Path:
    """A one-question Copier template in a git repository, tagged 1.0.0."""
    repo = tmp_path / "template-repo"
    (repo / "template").mkdir(parents=True)
    (repo / "copier.yml").write_text("_subdirectory: template\nname:\n  default: x\n", encoding="utf-8")
    (repo / "template" / "README.md.jinja").write_text("{{ name }}\n", encoding="utf-8")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "v1"], ["tag", "1.0.0"]):
        subprocess.run(
            ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            check=True,
            capture_output=True,
        )
    return repo


def test_template_that_is_missing_or_not_a_template(flaskgen, tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "README.md").write_text("not a template", encoding="utf-8")
    dest = tmp_path / "app"
    fix = "Pass a directory holding copier.yml, a git URL or gh:org/repo to --template."
    with untouched(tmp_path):
        missing = flaskgen("new", dest, "--defaults", "--template", tmp_path / "nowhere")
        plain = flaskgen("new", dest, "--defaults", "--template", tmp_path / "plain")
        file = flaskgen("new", dest, "--defaults", "--template", tmp_path / "plain" / "README.md")
    assert_refused(missing, f"template '{tmp_path / 'nowhere'}' does not exist. {fix}")
    assert_refused(
        plain,
        f"{tmp_path / 'plain'} has no copier.yml, so it is not a Copier template. "
        "Pass the template's root directory to --template.",
    )
    assert_refused(
        file, f"template '{tmp_path / 'plain' / 'README.md'}' is a file, not a template directory. {fix}"
    )


def test_bad_vcs_ref(flaskgen, tmp_path: Path, git_template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path.parent / f"{tmp_path.name}-copier-cache"))
    (tmp_path / "untagged").mkdir()
    shutil.copytree(git_template, tmp_path / "untagged", dirs_exist_ok=True)
    subprocess.run(
        ["git", "-C", str(tmp_path / "untagged"), "tag", "-d", "1.0.0"], check=True, capture_output=True
    )
    dest = tmp_path / "app"
    url = f"git+file://{git_template}"
    with untouched(tmp_path):
        local = flaskgen("new", dest, "--defaults", "--template", git_template, "--vcs-ref", "2.0")
        untagged = flaskgen(
            "new", dest, "--defaults", "--template", tmp_path / "untagged", "--vcs-ref", "2.0"
        )
        remote = flaskgen("new", dest, "--defaults", "--template", url, "--vcs-ref", "2.0")
        bundled = flaskgen("new", dest, "--defaults", "--vcs-ref", "2.0")
    assert_refused(
        local,
        f"template '{git_template}' has no version '2.0'. Its tags: 1.0.0; pass one of them, "
        "a branch or a commit to --vcs-ref.",
    )
    assert_refused(
        untagged,
        f"template '{tmp_path / 'untagged'}' has no version '2.0'. It has no tags: pass a branch "
        "or a commit to --vcs-ref.",
    )
    assert_refused(
        remote,
        f"template '{url}' has no version '2.0' (invalid reference: 2.0). "
        "Pass a tag, branch or commit of the template to --vcs-ref.",
    )
    # The bundled template's history: its tags where the checkout has some, else commits only.
    assert "Traceback" not in bundled.output and bundled.exit_code == 2 and bundled.stdout == ""
    assert re.fullmatch(
        r"flaskgen: error: flaskgen's template has no version '2\.0'\. .*--vcs-ref.*\n", bundled.stderr
    ), bundled.stderr


# --- no terminal, --debug ----------------------------------------------------------------


def flaskgen_process(args: list[str | Path], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m flaskgen ARGS...` with no terminal (stdin is /dev/null)."""
    return subprocess.run(
        [sys.executable, "-m", "flaskgen", *map(str, args)],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**{k: v for k, v in os.environ.items() if k != "FLASKGEN_DEBUG"}, **env},
    )


def test_no_terminal_without_defaults_is_refused_at_once(tmp_path: Path) -> None:
    with untouched(tmp_path):
        out = flaskgen_process(["new", tmp_path / "app", "--data", "database=postgresql"], cwd=tmp_path)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == (
        "flaskgen: error: no terminal to ask the template's questions on. Pass --defaults to "
        "accept the defaults (and --data KEY=VALUE to change answers).\n"
    )


@pytest.mark.parametrize(
    ("option", "env"),
    [(["--debug"], {}), ([], {"FLASKGEN_DEBUG": "1"}), ([], {"FLASKGEN_DEBUG": "0"})],
    ids=["--debug", "FLASKGEN_DEBUG=1", "FLASKGEN_DEBUG=0"],
)
def test_debug_gives_the_full_traceback(tmp_path: Path, option: list[str], env: dict[str, str]) -> None:
    args = ["new", tmp_path / "app", "--defaults", "--data", "project_slug=json", *option]
    with untouched(tmp_path):
        out = flaskgen_process(args, cwd=tmp_path, **env)
    reason = f"invalid project_slug: {STDLIB_MODULE.format('json')}. Change it with --data project_slug=VALUE"
    if env.get("FLASKGEN_DEBUG") == "0":
        assert (out.returncode, out.stderr) == (2, f"flaskgen: error: {reason}.\n")
        return
    assert out.returncode == 1
    assert out.stderr.startswith("Traceback (most recent call last):\n"), out.stderr
    assert 'File "' in out.stderr and "copier" in out.stderr  # down to where Copier refused it
    assert out.stderr.rstrip().endswith(f"flaskgen.errors.InputError: {reason}")


# --- shell completion --------------------------------------------------------------------


def installed_flaskgen() -> str:
    command = Path(sys.executable).parent / "flaskgen"
    if not command.exists():
        skip_unless_required(f"no flaskgen command beside {sys.executable}: install flaskgen into this venv")
    return str(command)


def test_completion_options_are_listed(flaskgen) -> None:
    result = flaskgen("--help")
    assert result.exit_code == 0
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_show_completion_prints_a_bash_script(tmp_path: Path) -> None:
    # Typer finds the shell among the parent processes: run it from bash (`; exit` keeps bash
    # from exec-ing it, which would hide bash from the process tree).
    out = subprocess.run(
        ["bash", "-c", '"$0" --show-completion bash; exit $?', installed_flaskgen()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "SHELL": "/bin/bash"},
    )
    assert out.returncode == 0, out.stderr
    assert "_FLASKGEN_COMPLETE=complete_bash" in out.stdout
    assert "complete -o default -F _flaskgen_completion flaskgen" in out.stdout


def test_completion_completes_options_of_new(tmp_path: Path) -> None:
    out = subprocess.run(
        [installed_flaskgen()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={
            **os.environ,
            "_FLASKGEN_COMPLETE": "complete_bash",
            "COMP_WORDS": "flaskgen new --data-f",
            "COMP_CWORD": "2",
        },
    )
    assert (out.returncode, out.stdout.split()) == (0, ["--data-file"]), out.stderr


# --- property: any name gives an importable package, or a clean refusal ----------------


@pytest.fixture(scope="module")
def project_venv(default_project: Path, venv_for: Callable[[Path], ProjectVenv]) -> ProjectVenv:
    """The venv of the default answers' requirements, which every project rendered here has.

    Byte-compiled, so that each import below takes a fraction of a second even where
    PYTHONDONTWRITEBYTECODE is set.
    """
    venv = venv_for(default_project)
    site_packages = venv.run(
        ["python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=default_project
    )
    venv.run(["python", "-m", "compileall", "-q", "-j0", site_packages.stdout.strip()], cwd=default_project)
    return venv


@pytest.mark.slow
def test_slug_refuses_every_module_the_project_installs(
    default_project: Path, project_venv: ProjectVenv
) -> None:
    """A project named like one of its own dependencies would import that instead of itself."""
    listing = project_venv.run(
        [
            "python",
            "-c",
            "import pkgutil, sysconfig; "
            "[print(m.name) for m in pkgutil.iter_modules([sysconfig.get_path('purelib')])]",
        ],
        cwd=default_project,
    )
    folders = [p.name for p in default_project.iterdir() if p.is_dir() and p.name != "acme_service"]
    taken = {name for name in [*listing.stdout.split(), *folders] if SLUG.fullmatch(name)}
    assert taken - KEYWORDS - STDLIB - DEPENDENCIES == set()


@pytest.fixture(scope="module")
def imports_cleanly(project_venv: ProjectVenv) -> Callable[[Path, str], None]:
    """Check that `import <slug>` from the project gets the project's package and its app.

    Rendered projects differ only in project_name, which appears in no Python file, so one
    check per slug is enough.
    """
    checked: set[str] = set()
    code = (
        "import importlib, sys; package = importlib.import_module(sys.argv[1]); "
        "print(package.__file__); print(package.create_app('testing').name)"
    )

    def check(project: Path, slug: str) -> None:
        assert (project / slug / "__init__.py").is_file()
        if slug in checked:
            return
        out = project_venv.run(["python", "-c", code, slug], cwd=project)
        assert out.stdout.splitlines() == [str(project / slug / "__init__.py"), slug]
        checked.add(slug)

    return check


def render_or_refuse(flaskgen, tmp_path: Path, answer: str) -> tuple[Path, object]:
    """Render into a fresh folder of its own (hypothesis reuses tmp_path across examples)."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    before = tree(folder)
    result = flaskgen("new", folder / "project", "--defaults", "--quiet", "--data", answer)
    if result.exit_code != 0:
        assert tree(folder) == before, "a refusal wrote something"
    return folder / "project", result


PROPERTY = settings(
    max_examples=40,
    deadline=None,
    # tmp_path is shared by the examples: each renders into a new folder inside it.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
NAMES = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=30)


@pytest.mark.slow
@settings(PROPERTY, max_examples=30)  # nearly every name renders and imports: ~0.8 s each
@given(name=NAMES)
@example(name="日本語 アプリ")
@example(name="123")
@example(name="Email")
@example(name=" \t ")
@example(name="<< project_slug >> {{ x }}")
@example(name="NEL\x85")  # YAML would read it back as a space
def test_any_project_name_gives_an_importable_package_or_a_clean_refusal(
    flaskgen, tmp_path: Path, imports_cleanly, name: str
) -> None:
    project, result = render_or_refuse(flaskgen, tmp_path, f"project_name={name}")
    if not name.strip():
        assert_refused(
            result, f"invalid project_name: {EMPTY_NAME}. Change it with --data project_name=VALUE."
        )
        return
    if any(unicodedata.category(char) == "Cc" or char in "\u2028\u2029" for char in name):
        assert_refused(
            result, f"invalid project_name: {MULTILINE_NAME}. Change it with --data project_name=VALUE."
        )
        return
    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["project_name"] == name
    imports_cleanly(project, answers["project_slug"])
    shutil.rmtree(project.parent)


SLUGS = st.one_of(
    st.text(max_size=20),
    st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True),
    st.sampled_from(sorted(KEYWORDS | STDLIB | DEPENDENCIES)),
)


@pytest.mark.slow
@PROPERTY
@given(slug=SLUGS)
@example(slug="a")
@example(slug="app_")
@example(slug="flask_app")
def test_any_project_slug_gives_an_importable_package_or_a_clean_refusal(
    flaskgen, tmp_path: Path, imports_cleanly, slug: str
) -> None:
    project, result = render_or_refuse(flaskgen, tmp_path, f"project_slug={slug}")
    if SLUG.fullmatch(slug) and slug not in KEYWORDS | STDLIB | DEPENDENCIES:
        assert result.exit_code == 0, result.output
        imports_cleanly(project, slug)
        shutil.rmtree(project.parent)
        return
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    line = result.stderr.removesuffix("\n")
    assert "\n" not in line
    assert line.startswith("flaskgen: error: invalid project_slug: project_slug '")
    fix = "Change it with --data project_slug=VALUE."
    if SLUG.fullmatch(slug):
        assert line.endswith(f": pick another name, e.g. {slug}_app. {fix}"), line
    else:
        assert line.endswith(f"use letters, digits and _, starting with a letter. {fix}"), line
