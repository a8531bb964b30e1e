"""Deploy targets render and pass the field's linters (with GitHub Actions or GitLab CI), the
RabbitMQ worker is wired into each as its own process, and SQLite is refused where instances
are several. The projects are rendered once (conftest.py's `deploy_projects`).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from support import DEPLOY_TARGETS, WORKER_COMMAND, Render, tool

pytestmark = pytest.mark.postgres


def lint(args: list[str], cwd: Path) -> None:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"


def lint_deploy_files(project: Path, target: str) -> None:
    """Compose files, deploy scripts and Kubernetes manifests pass their linters."""
    lint(
        [
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            *map(str, project.glob("compose*.yaml")),
        ],
        project,
    )
    scripts = [str(path) for path in project.glob("deploy/**/*.sh")]
    if scripts:
        lint([tool("shellcheck"), *scripts], project)
    if target == "kubernetes":
        lint(
            [tool("kubernetes-validate"), "--strict", *map(str, project.glob("deploy/kubernetes/*.yaml"))],
            project,
        )


# --- every target passes the linters -------------------------------------------------------


@pytest.mark.parametrize("target", DEPLOY_TARGETS)
def test_github_target_passes_linters(deploy_projects: dict, target: str) -> None:
    project = deploy_projects[target, "github"]
    workflow = ".github/workflows/ci.yml"
    zizmor = subprocess.run(
        [tool("zizmor"), "--offline", "--min-severity", "medium", ".github/"],  # workflow and Dependabot
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
    lint([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", workflow], project)
    lint(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml"], project
    )
    lint([tool("hadolint"), "--failure-threshold", "warning", "Dockerfile"], project)
    lint_deploy_files(project, target)

    parsed = yaml.safe_load((project / workflow).read_text())
    deploy = parsed["jobs"].get("deploy")
    if target == "none":
        assert deploy is None and "image" not in parsed["jobs"]
        return
    assert deploy["environment"] == "production"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    for step in deploy["steps"]:
        # Secrets reach commands through env:, never through ${{ }} inside run:.
        assert "${{" not in step.get("run", "")
    text = (project / workflow).read_text()
    assert "pull_request_target" not in text and ":latest" not in text


@pytest.mark.parametrize("target", DEPLOY_TARGETS)
def test_gitlab_target_passes_the_schema(deploy_projects: dict, target: str) -> None:
    project = deploy_projects[target, "gitlab"]
    assert not (project / ".github").exists()
    lint([tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml"], project)
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert {"lint", "test"} <= pipeline.keys()
    if target == "none":
        assert "deploy" not in pipeline
    else:
        assert pipeline["deploy"]["environment"] == "production"
        assert pipeline["deploy"]["resource_group"] == "production"


def test_github_deploy_uses_the_job_token_for_ghcr(deploy_projects: dict) -> None:
    workflow = yaml.safe_load(
        (deploy_projects["docker-ssh", "github"] / ".github/workflows/ci.yml").read_text()
    )
    image = workflow["jobs"]["image"]
    assert image["permissions"] == {"contents": "read", "packages": "write"}
    login = next(step for step in image["steps"] if step.get("uses", "").startswith("docker/login-action@"))
    assert login["with"]["password"] == "${{ secrets.GITHUB_TOKEN }}"
    push = next(
        step for step in image["steps"] if step.get("uses", "").startswith("docker/build-push-action@")
    )
    assert push["with"]["tags"].endswith(":${{ github.sha }}")
    deploy_env = workflow["jobs"]["deploy"]["steps"][-1]["env"]
    assert deploy_env["IMAGE"] == "${{ needs.image.outputs.image }}"


# --- combinations that cannot work are refused ---------------------------------------------


@pytest.mark.parametrize("target", ["kubernetes", "fly", "render", "heroku"])
@pytest.mark.usefixtures("isolated_home")  # `flaskgen new` installs its template history in HOME
def test_sqlite_is_refused_where_instances_are_several(render: Render, tmp_path: Path, target: str) -> None:
    dest = tmp_path / "refused"
    with pytest.raises(ValueError, match=r"cannot use database 'sqlite'.*choose database=postgresql"):
        render(dest, deploy_target=target)
    assert not dest.exists()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flaskgen",
            "new",
            str(dest),
            "--defaults",
            "--data",
            f"deploy_target={target}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "sqlite" in result.stderr
    assert not dest.exists()


@pytest.mark.parametrize("target", ["docker-ssh", "compose", "none"])
def test_sqlite_is_allowed_on_a_single_host(render: Render, tmp_path: Path, target: str) -> None:
    project = render(tmp_path / "single", deploy_target=target)
    if target == "docker-ssh":
        assert "--volume" in (project / "deploy/remote-deploy.sh").read_text()
    if target == "compose":
        assert "instance:/app/instance" in (project / "compose.prod.yaml").read_text()


# --- the RabbitMQ worker runs as its own process on every target ----------------------


def worker_command(project: Path, target: str) -> list[str]:
    """The worker command as the target's own file states it."""
    if target == "docker-ssh":
        script = (project / "deploy/remote-deploy.sh").read_text()
        (line,) = [line for line in script.splitlines() if line.strip().startswith("--no-healthcheck")]
        return line.split('"$image"')[1].split(">/dev/null")[0].split()
    if target == "compose":
        worker = yaml.safe_load((project / "compose.prod.yaml").read_text())["services"]["worker"]
        assert worker["healthcheck"] == {"disable": True}
        assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        return worker["command"]
    if target == "kubernetes":
        worker = yaml.safe_load((project / "deploy/kubernetes/worker-deployment.yaml").read_text())
        pod = worker["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] > 30
        assert "worker-heartbeat" in " ".join(pod["containers"][0]["livenessProbe"]["exec"]["command"])
        return pod["containers"][0]["command"]
    if target == "fly":
        fly = tomllib.loads((project / "fly.toml").read_text())
        assert fly["http_service"]["processes"] == ["app"]
        return fly["processes"]["worker"].split()
    if target == "render":
        services = yaml.safe_load((project / "render.yaml").read_text())["services"]
        (worker,) = [service for service in services if service["type"] == "worker"]
        return worker["dockerCommand"].split()
    if target == "heroku":
        processes = dict(line.split(": ", 1) for line in (project / "Procfile").read_text().splitlines())
        return processes["worker"].split()
    raise AssertionError(target)


@pytest.mark.parametrize("target", ["docker-ssh", "compose", "kubernetes", "fly", "render", "heroku"])
def test_rabbitmq_worker_is_wired_into_the_target(render: Render, tmp_path: Path, target: str) -> None:
    project = render(tmp_path / "shop", database="postgresql", deploy_target=target, use_rabbitmq=True)
    assert worker_command(project, target) == WORKER_COMMAND
    lint_deploy_files(project, target)
    if target == "kubernetes":
        assert "worker-deployment.yaml" in (project / "deploy/kubernetes/deploy.sh").read_text()
    without = render(tmp_path / "plain" / "shop", database="postgresql", deploy_target=target)
    assert "consume" not in "".join(
        path.read_text() for path in without.rglob("*") if path.is_file() and path.suffix != ".py"
    )
