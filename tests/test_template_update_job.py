"""The generated template-update job (ci/template_update.py, run by the GitHub workflow and the
GitLab include), run for real: flaskgen installed from a wheel built from a tagged clone of
this repository (v0.2.0 the working tree, v0.3.0 one change more), a project pushed to a local
bare repository as its remote, the job's script run in a clone of it as CI would.

The forge's REST API cannot be reached here: the script calls GITHUB_API_URL / CI_API_V4_URL,
which these tests point at a fake API served on 127.0.0.1 that records each request.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flaskgen import bundle
from histories import commit_all, git, new_project
from support import REPO_ROOT, Render, create_venv, tool
from test_update_real_template import tag_next_release

pytestmark = pytest.mark.usefixtures("home")

TIMEOUT = '"GUNICORN_TIMEOUT", "30"'
SCRIPT = ["python", "ci/template_update.py"]


class FakeForge:
    """GitHub's pulls and GitLab's merge_requests endpoints, as far as the script uses them."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], object]] = []
        self.opened: list[dict] = []
        forge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                headers = {key.lower(): value for key, value in self.headers.items()}
                forge.requests.append((self.command, self.path, headers, body))
                reply = forge.reply(self.command, self.path.split("?")[0], body)
                data = json.dumps(reply).encode()
                self.send_response(201 if self.command == "POST" else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reply(self, method: str, path: str, body: object) -> object:
        if method == "GET":
            return self.opened
        if method == "POST":
            assert isinstance(body, dict)
            number = len(self.opened) + 1
            self.opened.append({"number": number, "iid": number, **body})
        else:
            self.opened[-1].update(body)  # type: ignore[arg-type]
        return {**self.opened[-1], "html_url": f"{self.url}/pull/1", "web_url": f"{self.url}/mr/1"}

    def writes(self) -> list[tuple[str, str, object]]:
        return [(method, path, body) for method, path, _, body in self.requests if method != "GET"]


@pytest.fixture
def forge() -> Iterator[FakeForge]:
    fake = FakeForge()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture(scope="module")
def job_history(real_history: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """real_history (v0.1.0, v0.2.0 = the working tree) and v0.3.0: a longer Gunicorn timeout."""
    gunicorn = "template/gunicorn.conf.py.jinja"
    text = (real_history / gunicorn).read_text()
    assert TIMEOUT in text
    longer = text.replace(TIMEOUT, '"GUNICORN_TIMEOUT", "45"')
    return tag_next_release(real_history, tmp_path_factory.mktemp("job"), "v0.3.0", {gunicorn: longer})


@pytest.fixture(scope="module")
def job_bin(job_history: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv where ci/requirements.txt installed flaskgen from the wheel of job_history, as
    the job's `pip install -r ci/requirements.txt` would from the team's index."""
    pytest.importorskip("hatchling")
    from hatchling.builders.wheel import WheelBuilder

    dist = tmp_path_factory.mktemp("dist")
    list(WheelBuilder(str(job_history)).build(directory=str(dist), versions=["standard"]))
    requirements = job_history / "template" / "ci" / "requirements.txt"
    # create_venv installs a project's requirements-dev.txt: point it at a folder holding ours.
    holder = tmp_path_factory.mktemp("job-requirements")
    (holder / "requirements-dev.txt").write_text(f"--find-links {dist}\n-r {requirements}\n")
    return create_venv(holder, tmp_path_factory.mktemp("job-venv")).bin


@pytest.fixture
def job_template(job_history: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """flaskgen new, in the test's process, generates from job_history."""
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(job_history))
    return job_history


def job_env(bin_dir: Path, runner_home: Path, **ci: str) -> dict[str, str]:
    """The job's environment on a fresh runner: the venv first on PATH, a new HOME."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "GITLAB", "CI_"))
    }
    env.pop(bundle.TEMPLATE_REPO_ENV, None)
    env.pop("VIRTUAL_ENV", None)
    runner_home.mkdir(exist_ok=True)
    return {**env, "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}", "HOME": str(runner_home), **ci}


def github(forge: FakeForge) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_API_URL": forge.url,
        "GITHUB_REPOSITORY": "acme/billing",
        "TEMPLATE_UPDATE_TOKEN": "the-token",
    }


def run_job(work: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SCRIPT, *args], cwd=work, env=env, capture_output=True, text=True, check=False, timeout=600
    )


def publish(project: Path, tmp_path: Path) -> tuple[Path, str]:
    """Push the project to a bare remote; return a clone of it (CI's checkout) and its branch."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(project), str(remote)], check=True)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(remote), str(work)], check=True)
    return work, git(work, "branch", "--show-current").strip()


def edited_project(runner: CliRunner, tmp_path: Path, *args: str) -> Path:
    """A v0.2.0 project whose README and Gunicorn timeout the user edited."""
    project = new_project(runner, tmp_path / "billing", "--vcs-ref", "v0.2.0", *args)
    assert (project / "ci" / "template_update.py").is_file()
    readme = project / "README.md"
    first, rest = readme.read_text().split("\n", 1)
    readme.write_text(f"{first} - the billing service\n{rest}")
    gunicorn = project / "gunicorn.conf.py"
    gunicorn.write_text(gunicorn.read_text().replace(TIMEOUT, '"GUNICORN_TIMEOUT", "60"'))
    commit_all(project, "billing README, longer timeout")
    return project


def remote_ref(work: Path, name: str) -> str:
    listed = git(work, "ls-remote", "origin", f"refs/heads/{name}").split()
    return listed[0] if listed else ""


def show(work: Path, ref: str, path: str) -> str:
    git(work, "fetch", "-q", "origin", f"+refs/heads/{ref}:refs/remotes/origin/{ref}")
    return git(work, "show", f"origin/{ref}:{path}")


@pytest.mark.slow
def test_github_job_opens_refreshes_and_leaves_your_commits_alone(
    runner: CliRunner, job_template: Path, job_bin: Path, forge: FakeForge, tmp_path: Path
) -> None:
    work, base = publish(edited_project(runner, tmp_path), tmp_path)
    env = job_env(job_bin, tmp_path / "runner-home", **github(forge))

    first = run_job(work, env, "open", "--base", base)

    assert first.returncode == 0, first.stdout + first.stderr
    assert "Update the template from v0.2.0 to v0.3.0" in first.stdout
    assert "conflict: gunicorn.conf.py" in first.stdout
    tip = remote_ref(work, "template-update")
    assert git(work, "rev-parse", f"{tip}^").strip() == remote_ref(work, base)
    assert yaml.safe_load(show(work, "template-update", ".copier-answers.yml"))["_commit"] == "v0.3.0"
    assert show(work, "template-update", "README.md").startswith("# billing - the billing service\n")
    assert "<<<<<<< before updating" in show(work, "template-update", "gunicorn.conf.py")
    ((method, path, pull),) = forge.writes()
    assert (method, path) == ("POST", "/repos/acme/billing/pulls")
    assert (pull["head"], pull["base"]) == ("template-update", base)
    assert pull["title"] == "Update the template from v0.2.0 to v0.3.0"
    conflicts = pull["body"].split("Conflicts to resolve")[1]
    assert "- `gunicorn.conf.py`" in conflicts and "README.md" not in conflicts
    assert "\n- M `gunicorn.conf.py`\n" in pull["body"], pull["body"]
    assert {headers["authorization"] for _, _, headers, _ in forge.requests} == {"Bearer the-token"}

    # CI's conflict check: fails on the branch, passes on the default branch.
    git(work, "checkout", "-q", "-B", "review", "origin/template-update")
    checked = run_job(work, env, "check")
    assert checked.returncode == 1 and "gunicorn.conf.py: line" in checked.stdout, checked.stdout
    git(work, "checkout", "-q", base)
    assert run_job(work, env, "check").returncode == 0

    # The next run finds the same update: the branch stays, the pull request is refreshed.
    again = run_job(work, env, "open", "--base", base)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already holds this update" in again.stdout
    assert remote_ref(work, "template-update") == tip
    assert [(m, p) for m, p, _ in forge.writes()] == [
        ("POST", "/repos/acme/billing/pulls"),
        ("PATCH", "/repos/acme/billing/pulls/1"),
    ]

    # A person resolves the conflict on the branch: the job leaves the branch to them.
    person = tmp_path / "person"
    subprocess.run(
        ["git", "clone", "-q", "-b", "template-update", str(tmp_path / "remote.git"), str(person)], check=True
    )
    gunicorn = person / "gunicorn.conf.py"
    resolved = re.sub(
        r"<<<<<<< before updating\n(.*?)=======\n.*?>>>>>>> after updating\n",
        r"\1",
        gunicorn.read_text(),
        flags=re.DOTALL,
    )
    gunicorn.write_text(resolved)
    commit_all(person, "keep our 60 s timeout")
    git(person, "push", "-q", "origin", "template-update")
    assert run_job(person, env, "check").returncode == 0
    left = run_job(work, env, "open", "--base", base)
    assert left.returncode == 0 and "keep our 60 s timeout" in left.stdout, left.stdout + left.stderr
    assert remote_ref(work, "template-update") == git(person, "rev-parse", "HEAD").strip()
    assert len(forge.writes()) == 2

    # Merged: the project is current, and the job deletes the branch it no longer needs.
    git(person, "checkout", "-q", base)
    git(person, "merge", "-q", "--ff-only", "origin/template-update")
    git(person, "push", "-q", "origin", base)
    done = run_job(work, env, "open", "--base", base)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Already at the latest template version (v0.3.0)" in done.stdout
    assert remote_ref(work, "template-update") == ""
    assert len(forge.writes()) == 2


@pytest.mark.slow
def test_gitlab_job_opens_a_merge_request(
    runner: CliRunner, job_template: Path, job_bin: Path, forge: FakeForge, tmp_path: Path
) -> None:
    project = new_project(runner, tmp_path / "billing", "--vcs-ref", "v0.2.0", "--data", "ci=gitlab")
    assert "local: .gitlab/template-update.yml" in (project / ".gitlab-ci.yml").read_text()
    work, base = publish(project, tmp_path)
    git(work, "checkout", "-q", "--detach")  # GitLab's checkout
    ci = {"GITLAB_CI": "true", "CI_API_V4_URL": f"{forge.url}/api/v4", "CI_PROJECT_ID": "7"}
    env = job_env(job_bin, tmp_path / "runner-home", TEMPLATE_UPDATE_TOKEN="the-token", **ci)

    result = run_job(work, env, "open", "--base", base)

    assert result.returncode == 0, result.stdout + result.stderr
    ((method, path, merge),) = forge.writes()
    assert (method, path) == ("POST", "/api/v4/projects/7/merge_requests")
    assert (merge["source_branch"], merge["target_branch"]) == ("template-update", base)
    assert merge["remove_source_branch"] is True
    assert "No conflicts" in merge["description"] and "gunicorn.conf.py" in merge["description"]
    assert {headers["private-token"] for _, _, headers, _ in forge.requests} == {"the-token"}
    assert yaml.safe_load(show(work, "template-update", ".copier-answers.yml"))["_commit"] == "v0.3.0"


def test_check_finds_markers_and_rej_files(tmp_path: Path) -> None:
    script = REPO_ROOT / "template" / "ci" / "template_update.py"
    (tmp_path / "app.py").write_text("x = 1\n<<<<<<< before updating\nx = 2\n=======\nx = 3\n>>>>>>> after\n")
    (tmp_path / "docs.md").write_text("Markers look like `<<<<<<< ours` inside a line: not one.\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "lib.py").write_text("<<<<<<< vendored, skipped\n")

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(script), "check"], cwd=tmp_path, capture_output=True, text=True
        )

    found = check()
    assert found.returncode == 1
    assert found.stdout.splitlines()[:2] == [
        "app.py: line 2: a conflict marker",
        "app.py: line 6: a conflict marker",
    ]
    (tmp_path / "app.py").write_text("x = 2\n")
    (tmp_path / "config.py.rej").write_text("@@ -1 +1 @@\n")
    assert check().returncode == 1
    (tmp_path / "config.py.rej").unlink()
    clean = check()
    assert clean.returncode == 0 and clean.stdout == "No conflict markers or .rej files.\n"


def test_the_job_pins_the_flaskgen_that_ships_the_template() -> None:
    """ci/requirements.txt names the flaskgen release that carries this template version."""
    import tomllib

    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    pins = [
        line
        for line in (REPO_ROOT / "template" / "ci" / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert pins == [f"flaskgen=={version}"]


def test_generated_job_files_pass_zizmor_and_their_schemas(render: Render, tmp_path: Path) -> None:
    """Least privilege: nothing at the workflow level, writes only in the job that pushes."""
    github_project = render(tmp_path / "gh" / "billing")
    workflow = ".github/workflows/template-update.yml"
    zizmor = subprocess.run(
        [tool("zizmor"), "--offline", "--min-severity", "low", workflow],
        cwd=github_project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
    schema = [tool("check-jsonschema"), "--builtin-schema"]
    subprocess.run([*schema, "vendor.github-workflows", workflow], cwd=github_project, check=True)
    parsed = yaml.safe_load((github_project / workflow).read_text())
    assert parsed["permissions"] == {}
    assert parsed["jobs"]["conflicts"]["permissions"] == {"contents": "read"}
    assert parsed["jobs"]["update"]["permissions"] == {"contents": "write", "pull-requests": "write"}
    dependabot = yaml.safe_load((github_project / ".github" / "dependabot.yml").read_text())
    (pinned,) = [entry for entry in dependabot["updates"] if entry["directory"] == "/ci"]
    assert pinned["cooldown"]["default-days"] >= 7

    gitlab_project = render(tmp_path / "gl" / "billing", ci="gitlab")
    for name in (".gitlab-ci.yml", ".gitlab/template-update.yml"):
        subprocess.run([*schema, "vendor.gitlab-ci", name], cwd=gitlab_project, check=True)
    assert yaml.safe_load((gitlab_project / ".gitlab-ci.yml").read_text())["include"] == [
        {"local": ".gitlab/template-update.yml"}
    ]
    without = render(tmp_path / "off" / "billing", ci="gitlab", template_updates=False)
    assert "include" not in yaml.safe_load((without / ".gitlab-ci.yml").read_text())
    assert not (without / "ci").exists() and not (without / ".gitlab").exists()
