"""flaskgen's command line: what it renders, what it refuses, and that it never half-writes.

Most tests render a tiny template made in tmp_path, so they do not depend on the bundled
template's questions (which grow); the ones that render the bundled template read its
copier.yml to know what to expect. Nothing here uses the network.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flaskgen.cli import app
from support import assert_one_line_error

# flaskgen installs its template history in ~/.local/share/flaskgen/: in a temporary HOME here.
pytestmark = pytest.mark.usefixtures("isolated_home")

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CONFIG = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
needs_bundled_template = pytest.mark.skipif(
    not (ROOT / "template").is_dir(), reason="template/ is not written yet"
)

TINY_COPIER_YML = """\
_subdirectory: template
_answers_file: .copier-answers.yml
project_name:
  type: str
  help: Name of the project
  default: "{{ (_copier_conf.dst_path | string).split('/') | last }}"
  validator: "{% if not project_name.strip() %}project_name must not be empty{% endif %}"
flavour:
  type: str
  help: Flavour of the project
  choices: [vanilla, chocolate]
  default: vanilla
count:
  type: int
  help: How many scoops
  default: 3
  validator: >-
    {% if count < 1 %}
    count must be
    at least 1
    {% endif %}
toppings:
  type: yaml
  when: false
  default: [nuts, cream]
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write_template(root: Path, readme: str = "{{ project_name }} {{ flavour }} {{ count }}\n") -> Path:
    (root / "template").mkdir(parents=True, exist_ok=True)
    (root / "copier.yml").write_text(TINY_COPIER_YML, encoding="utf-8")
    (root / "template" / "README.md.jinja").write_text(readme, encoding="utf-8")
    (root / "template" / "{{ _copier_conf.answers_file }}.jinja").write_text(
        "{{ _copier_answers | to_nice_yaml }}", encoding="utf-8"
    )
    return root


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_template(tmp_path / "tiny")


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            *args,
        ],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def tagged(tmp_path: Path) -> Path:
    """A git template: 1.0.0, then 2.0.0 with a new question, then an untagged commit."""
    repo = write_template(tmp_path / "tagged", readme="v1 {{ project_name }}\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1")
    git(repo, "tag", "1.0.0")
    write_template(repo, readme="v2 {{ project_name }} {{ extra }}\n")
    with (repo / "copier.yml").open("a", encoding="utf-8") as config:
        config.write("extra:\n  type: str\n  default: more\n")
    git(repo, "commit", "-qam", "v2")
    git(repo, "tag", "2.0.0")
    (repo / "template" / "README.md.jinja").write_text("v3 {{ project_name }}\n", encoding="utf-8")
    git(repo, "commit", "-qam", "v3, unreleased")
    return repo


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root with its content, to prove a failure wrote nothing.

    cache/ is left out: tests point Copier's cache of git URLs there (COPIER_CACHE_DIR).
    """
    return {
        str(path.relative_to(root)): path.read_bytes() if path.is_file() else None
        for path in sorted(root.rglob("*"))
        if path.relative_to(root).parts[0] != "cache"
    }


def answers_of(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def bundled_questions() -> dict[str, dict]:
    """The bundled template's user-facing questions, in the long form."""
    return {
        name: spec if isinstance(spec, dict) else {"default": spec}
        for name, spec in BUNDLED_CONFIG.items()
        if not name.startswith("_") and not (isinstance(spec, dict) and spec.get("when") is False)
    }


# --- help and version ---------------------------------------------------------------


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "flaskgen 0.1.0"


def test_help_lists_new(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "new" in result.stdout
    assert "--version" in result.stdout


def test_new_help_lists_every_question_with_choices_and_default(
    runner: CliRunner,
) -> None:
    result = runner.invoke(app, ["new", "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    for option in (
        "--defaults",
        "--data KEY=VALUE",
        "--data-file FILE",
        "--template SRC",
    ):
        assert option in text
    for name, spec in bundled_questions().items():
        assert name in text
        if spec.get("help"):
            assert " ".join(spec["help"].split()) in text
        choices = spec.get("choices") or []
        for choice in choices.values() if isinstance(choices, dict) else choices:
            value = choice[1] if isinstance(choice, list) else choice  # [label, value] pairs
            assert str(value) in text
        default = spec.get("default")
        if isinstance(default, str) and "<<" not in default and "<%" not in default:
            assert f"[default: {default}]" in text
    assert "[default: the destination folder name]" in text  # project_name's Jinja default
    assert "<<" not in result.stdout and "<%" not in result.stdout
    for name, spec in BUNDLED_CONFIG.items():
        if isinstance(spec, dict) and spec.get("when") is False:
            assert name not in text, f"computed helper {name} shown in help"


def test_help_does_not_import_copier_or_yaml() -> None:
    code = (
        "import sys; from flaskgen.cli import main; sys.argv = ['flaskgen', '--help']\n"
        "try: main()\nexcept SystemExit: pass\n"
        "print(sorted(m for m in ('copier', 'yaml', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_python_m_flaskgen_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "flaskgen", "--version"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0
    assert out.stdout.strip() == "flaskgen 0.1.0"


# --- rendering -------------------------------------------------------------------------


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
    before = snapshot(tmp_path)
    result = runner.invoke(
        app,
        ["new", str(tmp_path / "app"), "--defaults", "--data", "project_slug=Bad-Slug"],
    )
    assert_one_line_error(result, 2, "invalid project_slug", "'Bad-Slug'", "--data project_slug=")
    assert snapshot(tmp_path) == before


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
    before = snapshot(tmp_path)
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
    assert snapshot(tmp_path) == before


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
    before = snapshot(tmp_path)
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
    assert snapshot(tmp_path) == before


# --- no terminal -----------------------------------------------------------------------


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


# --- errors: one line, exit code, nothing written ------------------------------------


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
    before = snapshot(tmp_path)
    result = runner.invoke(
        app,
        ["new", str(tmp_path / "out"), "--template", str(tiny), "--defaults", *extra],
    )
    assert_one_line_error(result, exit_code, *phrases)
    assert snapshot(tmp_path) == before


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
    before = snapshot(tmp_path)
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
    assert snapshot(tmp_path) == before


def test_unreadable_data_file(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
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
    assert snapshot(tmp_path) == before


def test_bad_templates(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "not-a-template").mkdir()
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    before = snapshot(tmp_path)
    cases = [
        (str(tmp_path / "nowhere"), 2, "does not exist"),
        (str(tmp_path / "not-a-template"), 2, "has no copier.yml"),
        (str(tmp_path / "afile"), 2, "is a file, not a template directory"),
        (f"git+file://{tmp_path}/no-such-repo", 1, "could not fetch template"),
    ]
    for template, exit_code, phrase in cases:
        result = runner.invoke(app, ["new", str(tmp_path / "out"), "--template", template, "--defaults"])
        assert_one_line_error(result, exit_code, phrase)
    assert snapshot(tmp_path) == before


def test_bad_vcs_ref(runner: CliRunner, tagged: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "cache"))
    before = snapshot(tmp_path)
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
    assert snapshot(tmp_path) == before


def test_destination_that_exists_is_refused_untouched(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "afile").write_text("mine too", encoding="utf-8")
    before = snapshot(tmp_path)
    full = runner.invoke(app, ["new", str(tmp_path / "taken"), "--template", str(tiny), "--defaults"])
    assert_one_line_error(full, 2, "already exists and is not empty")
    file = runner.invoke(app, ["new", str(tmp_path / "afile"), "--template", str(tiny), "--defaults"])
    assert_one_line_error(file, 2, "exists and is not a directory")
    assert snapshot(tmp_path) == before


def test_failure_part_way_leaves_nothing(runner: CliRunner, tiny: Path, tmp_path: Path) -> None:
    (tiny / "template" / "zz-broken.txt.jinja").write_text("{{ nope.attr }}\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    before = snapshot(tmp_path)
    for dest in (
        tmp_path / "out",
        tmp_path / "empty",
        tmp_path / "new" / "parents" / "out",
    ):
        result = runner.invoke(app, ["new", str(dest), "--template", str(tiny), "--defaults"])
        assert_one_line_error(result, 1, "failed to render", "'nope' is undefined")
        assert snapshot(tmp_path) == before


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
