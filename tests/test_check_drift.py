"""`flaskgen check DIR...` over a tree of projects: it finds every project below the folders
given (not inside projects, .git, node_modules or virtualenvs), and reports for each the
template-owned files it changed against a pristine render of its version and answers
(cached by version and answers), and the answers that differ from a team's --data-file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import copier
import pytest
import yaml
from typer.testing import CliRunner

from flaskgen import pristine
from flaskgen.cli import app
from histories import TINY_V1, commit_all, make_template, new_project, table_row

# Every test runs on a fresh machine, with a git identity (conftest.py's `home`).
pytestmark = pytest.mark.usefixtures("home")


def check_json(runner: CliRunner, *args: str | Path) -> tuple[int, dict[str, dict]]:
    result = runner.invoke(app, ["check", "--json", *map(str, args)])
    return result.exit_code, {p["path"]: p for p in json.loads(result.stdout)["projects"]}


@pytest.fixture
def fleet(runner: CliRunner, tiny_releases: Path, tmp_path: Path) -> Path:
    """A folder of services: some nested, one behind, and copies where no project is looked for."""
    root = tmp_path / "services"
    new_project(runner, root / "billing", "--template", str(tiny_releases), "--vcs-ref", "v1.0.0")
    new_project(runner, root / "team" / "shop", "--template", str(tiny_releases), "-d", "flavour=chocolate")
    for hidden in ("node_modules/old", ".venv/lib/x", "billing/vendor/copy", "team/.git/copy"):
        shutil.copytree(root / "billing", root / hidden, ignore=shutil.ignore_patterns(".git"))
    (root / "env").mkdir()
    (root / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    shutil.copytree(root / "billing", root / "env" / "copy", ignore=shutil.ignore_patterns(".git"))
    return root


def test_tree_finds_every_project_and_no_other(runner: CliRunner, fleet: Path) -> None:
    code, projects = check_json(runner, fleet)
    assert code == 1  # billing is behind
    assert sorted(projects) == [str(fleet / "billing"), str(fleet / "team" / "shop")]
    assert projects[str(fleet / "billing")]["releases_behind"] == 1
    assert projects[str(fleet / "team" / "shop")]["status"] == "current"


def test_changed_files_against_a_pristine_render(runner: CliRunner, fleet: Path) -> None:
    billing, shop = fleet / "billing", fleet / "team" / "shop"
    (billing / "config.txt").write_text("a=1\nb=20\n")
    (billing / "notes.txt").unlink()
    (billing / "mine.txt").write_text("not the template's\n")
    (shop / "chocolate.txt").write_text("more cocoa\n")  # a file of the chocolate answer only
    commit_all(billing, "edits")

    code, projects = check_json(runner, fleet)

    assert code == 1
    assert projects[str(billing)]["changed_files"] == {"config.txt": "modified", "notes.txt": "deleted"}
    assert projects[str(shop)]["changed_files"] == {"chocolate.txt": "modified"}
    table = runner.invoke(app, ["check", str(fleet)]).stdout
    assert table_row(table, billing)["CHANGED FILES"] == "2: config.txt, notes.txt"
    assert table_row(table, shop)["CHANGED FILES"] == "1: chocolate.txt"


def test_answers_unlike_the_team_file(runner: CliRunner, fleet: Path, tmp_path: Path) -> None:
    team = tmp_path / "team.yml"
    team.write_text("flavour: chocolate\nname: app\n")
    result = runner.invoke(app, ["check", "--data-file", str(team), str(fleet)])
    assert result.exit_code == 1, result.output
    assert table_row(result.stdout, fleet / "billing")[f"ANSWERS UNLIKE {team}"] == (
        "flavour=vanilla (team: chocolate)"
    )
    assert table_row(result.stdout, fleet / "team" / "shop")[f"ANSWERS UNLIKE {team}"] == "none"
    _, projects = check_json(runner, "--data-file", team, fleet)
    assert projects[str(fleet / "billing")]["answers_differing"] == {
        "flavour": {"project": "vanilla", "team": "chocolate"}
    }

    team.write_text("flavour: [chocolate\n")
    bad = runner.invoke(app, ["check", "--data-file", str(team), str(fleet)])
    assert bad.exit_code == 2 and bad.stdout == ""
    assert bad.stderr.startswith(f"flaskgen: error: --data-file {team} is not valid YAML")


def test_pristine_renders_are_cached_by_version_and_answers(
    runner: CliRunner, fleet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert check_json(runner, fleet)[0] == 1
    cached = sorted(pristine.cache_dir().glob("*.json"))
    assert len(cached) == 2  # v1.0.0 vanilla and v2.0.0 chocolate: one render each

    def no_render(*args: object, **kwargs: object) -> None:
        raise AssertionError("rendered again")

    monkeypatch.setattr(pristine, "_render_all", no_render)
    shutil.copytree(fleet / "billing", fleet / "billing-copy")
    code, projects = check_json(runner, fleet)
    assert code == 1 and projects[str(fleet / "billing-copy")]["changed_files"] == {}


def test_bundled_template_drift(runner: CliRunner, tmp_path: Path) -> None:
    """flaskgen's own template, rendered again from its history at the project's version."""
    project = new_project(runner, tmp_path / "svc", "-d", "database=postgresql")
    (project / "Dockerfile").write_text((project / "Dockerfile").read_text() + "# ours\n")
    (project / "gunicorn.conf.py").unlink()
    code, projects = check_json(runner, tmp_path)
    assert code == 0
    changed = projects[str(project)]["changed_files"]
    assert changed == {"Dockerfile": "modified", "gunicorn.conf.py": "deleted"}


def test_a_folder_without_projects(runner: CliRunner, fleet: Path, tmp_path: Path) -> None:
    (tmp_path / "empty" / "node_modules").mkdir(parents=True)
    shutil.copytree(fleet / "billing", tmp_path / "empty" / "node_modules" / "p")
    result = runner.invoke(app, ["check", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert "has no .copier-answers.yml, nor has any folder below it" in result.stderr


def test_a_render_that_fails_leaves_the_status_alone(runner: CliRunner, tmp_path: Path) -> None:
    """A template that runs its own code (here a Jinja extension) is not rendered again
    untrusted: its files show as unknown, with a warning, and the exit code is the versions'."""
    v1 = {**TINY_V1, "copier.yml": "_jinja_extensions: [jinja2.ext.do]\n" + TINY_V1["copier.yml"]}
    template = make_template(tmp_path / "extended", ("v1.0.0", v1))
    project = new_project(runner, tmp_path / "svc", "--template", str(template), "--trust")
    result = runner.invoke(app, ["check", str(project)])
    assert result.exit_code == 0, result.output
    assert table_row(result.stdout, project)["CHANGED FILES"] == "?"
    (warning,) = result.stderr.splitlines()
    assert warning.startswith(f"flaskgen: warning: {project}: cannot render template version ")
    assert "runs its own code" in warning


YIELDING = {
    **TINY_V1,
    "copier.yml": TINY_V1["copier.yml"] + "sizes:\n  type: yaml\n  default: [small, large]\n",
    "template/{% yield size from sizes %}{{ size }}{% endyield %}.txt.jinja": "{{ size }} {{ flavour }}\n",
}


@pytest.mark.parametrize("cores", [1, 2])
def test_renders_in_one_process_match_renders_made_alone(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cores: int
) -> None:
    """Renders of one version share Copier's parsed template, compiled Jinja and context in
    a process: each must still equal the render made alone, `yield` paths included (once, a
    reused compile skipped the reset of the yield tag's state, and such renders failed)."""
    template = make_template(tmp_path / "yielding", ("v1.0.0", YIELDING))
    fleet = tmp_path / "fleet"
    answers = [("vanilla", "[a, b]"), ("chocolate", "[c]"), ("vanilla", "[]"), ("chocolate", "[d, e]")]
    for number, (flavour, sizes) in enumerate(answers):
        new_project(runner, fleet / f"p{number}", "--template", str(template), "--trust",
                    "-d", f"flavour={flavour}", "-d", f"sizes={sizes}")  # fmt: skip

    def manifests() -> list[dict]:
        return sorted((json.loads(path.read_text()) for path in pristine.cache_dir().glob("*.json")), key=str)

    alone = []
    for project in sorted(fleet.iterdir()):  # one render per check
        result = runner.invoke(app, ["check", str(project)])
        assert result.exit_code == 0 and result.stderr == "", result.output
        alone += manifests()
        shutil.rmtree(pristine.cache_dir())
    assert [sorted(name for name in m if name.endswith(".txt") and len(name) == 5) for m in alone] == [
        ["a.txt", "b.txt"], ["c.txt"], [], ["d.txt", "e.txt"]
    ]  # fmt: skip
    for number, (flavour, sizes) in enumerate(answers):  # what Copier renders, left alone
        plain = tmp_path / "plain" / f"p{number}"
        data = {"flavour": flavour, "sizes": yaml.safe_load(sizes)}
        copier.run_copy(str(template), plain, data=data, vcs_ref="v1.0.0", defaults=True, quiet=True)
        assert pristine._manifest(plain) == alone[number]

    monkeypatch.setattr(pristine, "_usable_cores", lambda: cores)
    result = runner.invoke(app, ["check", str(fleet)])
    assert result.exit_code == 0 and result.stderr == "", result.output
    assert manifests() == sorted(alone, key=str)
