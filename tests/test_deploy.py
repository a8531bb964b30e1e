"""Deploy targets: every target renders, passes the field's linters, and its release step
migrates a real database before the web process would start."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from support import ProjectVenv, render, require_server, tool

VenvFor = Callable[[Path], ProjectVenv]
TARGETS = ["docker-ssh", "compose", "kubernetes", "fly", "render", "heroku", "none"]
FAKES = Path(__file__).parent / "fakes"
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
RELEASE = ["flask", "--app", "shop", "release"]
pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def postgres_databases(
    tmp_path_factory: pytest.TempPathFactory, venv_for: VenvFor
) -> Iterator[Callable[[], str]]:
    """Creates fresh PostgreSQL databases (platform URL form); drops them at the end."""
    require_server("postgresql")
    project = render(tmp_path_factory.mktemp("admin") / "shop", database="postgresql", deploy_target="none")
    venv = venv_for(project)
    names: list[str] = []
    script = (
        "import sys\nfrom sqlalchemy import create_engine, text\n"
        "with create_engine(sys.argv[1], isolation_level='AUTOCOMMIT').connect() as c:\n"
        "    [c.execute(text(s)) for s in sys.argv[2:]]\n"
    )

    def create() -> str:
        name = f"flaskgen_{uuid.uuid4().hex[:10]}"
        venv.run(["python", "-c", script, ADMIN_URL, f"CREATE DATABASE {name}"], cwd=project)
        names.append(name)
        return f"postgres://postgres@127.0.0.1:5432/{name}"

    yield create
    if names:
        venv.run(
            ["python", "-c", script, ADMIN_URL, *(f"DROP DATABASE IF EXISTS {n}" for n in names)], cwd=project
        )


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """One project per (deploy target, CI), PostgreSQL, rendered once for the module."""
    rendered = {}
    for target in TARGETS:
        for ci in ("github", "gitlab"):
            dest = tmp_path_factory.mktemp(f"{target}-{ci}") / "shop"
            rendered[target, ci] = render(dest, database="postgresql", deploy_target=target, ci=ci)
    return rendered


def production_env(database_url: str) -> dict[str, str]:
    return {"APP_ENV": "production", "SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": database_url}


def assert_at_head(venv: ProjectVenv, project: Path, database_url: str) -> None:
    venv.run(["flask", "db", "check"], cwd=project, **production_env(database_url))


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


@pytest.mark.parametrize("target", TARGETS)
def test_github_target_passes_linters(projects: dict, target: str) -> None:
    project = projects[target, "github"]
    workflow = ".github/workflows/ci.yml"
    zizmor = subprocess.run(
        [tool("zizmor"), "--offline", "--min-severity", "medium", workflow],
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


@pytest.mark.parametrize("target", TARGETS)
def test_gitlab_target_passes_the_schema(projects: dict, target: str) -> None:
    project = projects[target, "gitlab"]
    assert not (project / ".github").exists()
    lint([tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml"], project)
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert {"lint", "test"} <= pipeline.keys()
    if target == "none":
        assert "deploy" not in pipeline
    else:
        assert pipeline["deploy"]["environment"] == "production"
        assert pipeline["deploy"]["resource_group"] == "production"


def test_github_deploy_uses_the_job_token_for_ghcr(projects: dict) -> None:
    workflow = yaml.safe_load((projects["docker-ssh", "github"] / ".github/workflows/ci.yml").read_text())
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


# --- the release step migrates a real database, before the web process ---------------------


def fake_bin(tmp_path: Path) -> Path:
    """docker and kubectl stand-ins (tests/fakes) that run under this test's Python."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    for name in ("docker", "kubectl"):
        wrapper = bin_dir / name
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKES / (name + ".py")}" "$@"\n')
        wrapper.chmod(0o755)
    return bin_dir


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def docker_ssh(projects: dict, venv_for: VenvFor, tmp_path: Path, postgres_databases: Callable[[], str]):
    """Runs the docker-ssh target's remote-deploy.sh with a fake docker against a real database."""
    project = projects["docker-ssh", "github"]
    venv = venv_for(project)
    app_dir = tmp_path / "srv"
    app_dir.mkdir()
    log = tmp_path / "calls.log"
    bin_dir = fake_bin(tmp_path)

    def deploy(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        (app_dir / ".env").write_text("".join(f"{k}={v}\n" for k, v in production_env(database_url).items()))
        environment = venv.env(
            APP_DIR=str(app_dir), FAKE_LOG=str(log), FAKE_WORKDIR=str(project), HEALTH_TIMEOUT="5", **env
        )
        environment["PATH"] = f"{bin_dir}{os.pathsep}{environment['PATH']}"
        return subprocess.run(
            ["bash", str(project / "deploy/remote-deploy.sh"), *args],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return project, venv, app_dir, log, deploy


def test_docker_ssh_migrates_then_swaps(docker_ssh, postgres_databases) -> None:
    project, venv, app_dir, log, deploy = docker_ssh
    database_url = postgres_databases()
    image = "ghcr.io/acme/shop@sha256:" + "a" * 64
    result = deploy(database_url, image, FAKE_OLD="old-container-id")
    assert result.returncode == 0, result.stdout + result.stderr
    assert_at_head(venv, project, database_url)

    recorded = calls(log)
    verbs = [call[1] for call in recorded]
    release = next(i for i, call in enumerate(recorded) if call[1] == "run" and call[-4:] == RELEASE)
    start = next(i for i, call in enumerate(recorded) if call[1] == "run" and "--detach" in call)
    stop = verbs.index("stop")
    assert verbs[0] == "pull" and recorded[0][-1] == image  # pulled by digest, never :latest
    assert release < start < stop  # migrate, then start the new release, then stop the old one
    assert "--rm" in recorded[release] and image in recorded[release]
    assert "GUNICORN_REUSE_PORT=1" in recorded[start]
    assert recorded[stop][-1] == "old-container-id" and "--time" in recorded[stop]
    assert (app_dir / "current-image").read_text().strip() == image

    # The next release keeps the previous image for --rollback, which does not migrate.
    second = "ghcr.io/acme/shop@sha256:" + "b" * 64
    assert deploy(database_url, second).returncode == 0
    assert (app_dir / "previous-image").read_text().strip() == image
    log.unlink()
    rollback = deploy(database_url, "--rollback")
    assert rollback.returncode == 0, rollback.stderr
    assert not any(call[-4:] == RELEASE for call in calls(log))
    assert any(call[1] == "run" and image in call for call in calls(log))


def test_docker_ssh_failed_migration_keeps_the_running_release(docker_ssh) -> None:
    _, _, _, log, deploy = docker_ssh
    missing = f"postgres://postgres@127.0.0.1:5432/flaskgen_missing_{uuid.uuid4().hex[:8]}"
    result = deploy(missing, "ghcr.io/acme/shop@sha256:" + "c" * 64, FAKE_OLD="old-container-id")
    assert result.returncode != 0
    verbs = [call[1] for call in calls(log)]
    assert "stop" not in verbs
    assert not any(call[1] == "run" and "--detach" in call for call in calls(log))


def test_docker_ssh_unhealthy_release_is_removed(docker_ssh, postgres_databases) -> None:
    _, _, _, log, deploy = docker_ssh
    result = deploy(
        postgres_databases(), "ghcr.io/acme/shop@sha256:" + "d" * 64, FAKE_OLD="old", FAKE_HEALTH="unhealthy"
    )
    assert result.returncode == 1 and "keeps serving" in result.stderr
    recorded = calls(log)
    assert not any(call[1] == "stop" and call[-1] == "old" for call in recorded)  # the old one serves
    assert [call[1] for call in recorded][-2:] == ["stop", "rm"]  # the new one, stopped and removed


def test_kubernetes_job_migrates_before_the_rollout(
    projects: dict, venv_for: VenvFor, tmp_path: Path, postgres_databases
) -> None:
    project = projects["kubernetes", "github"]
    venv = venv_for(project)
    log = tmp_path / "calls.log"
    bin_dir = fake_bin(tmp_path)
    image = "ghcr.io/acme/shop@sha256:" + "e" * 64

    def deploy(database_url: str) -> subprocess.CompletedProcess[str]:
        secret = {"SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": database_url}
        env = venv.env(
            FAKE_LOG=str(log),
            FAKE_WORKDIR=str(project),
            FAKE_SECRET_ENV=json.dumps(secret),
            FAKE_MANIFESTS=str(project / "deploy/kubernetes"),
            MIGRATE_TIMEOUT="30",
        )
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
        return subprocess.run(
            ["bash", str(project / "deploy/kubernetes/deploy.sh"), image],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    database_url = postgres_databases()
    result = deploy(database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert_at_head(venv, project, database_url)
    applied = [call[1:] for call in calls(log) if call[0] == "applied"]
    assert applied[0] == ["Job", "shop-migrate"] and ["Deployment", "shop-web"] in applied[1:]

    log.unlink()
    (log.with_suffix(".job")).unlink()
    failed = deploy(f"postgres://postgres@127.0.0.1:5432/flaskgen_missing_{uuid.uuid4().hex[:8]}")
    assert failed.returncode == 1 and "keeps serving" in failed.stderr
    assert [call[1:] for call in calls(log) if call[0] == "applied"] == [["Job", "shop-migrate"]]

    job = yaml.safe_load((project / "deploy/kubernetes/migrate-job.yaml").read_text())
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == RELEASE
    deployment = yaml.safe_load((project / "deploy/kubernetes/deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] >= 2
    assert pod["securityContext"]["runAsNonRoot"] is True
    web_lifecycle = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    # The endpoint removal's delay plus Gunicorn's graceful timeout (20 s) fit in the grace period.
    assert pod["terminationGracePeriodSeconds"] > web_lifecycle + 20
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    web = pod["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert "limits" in web["resources"]
    assert "secretRef" in web["envFrom"][1] and "data" not in yaml.safe_load(
        (project / "deploy/kubernetes/configmap.yaml").read_text()
    ).get("SECRET_KEY", {})


def native_release_command(project: Path, target: str) -> list[str]:
    """The release command exactly as the target's own file states it."""
    if target == "fly":
        fly = tomllib.loads((project / "fly.toml").read_text())
        assert set(fly["deploy"]) <= {
            "release_command",
            "release_command_vm",
            "max_unavailable",
            "strategy",
            "wait_timeout",
        }
        assert fly["kill_signal"] == "SIGTERM" and fly["kill_timeout"] > 20
        assert fly["http_service"]["checks"][0]["path"] in ("/healthz", "/readyz")
        return fly["deploy"]["release_command"].split()
    if target == "render":
        blueprint = yaml.safe_load((project / "render.yaml").read_text())
        (web,) = blueprint["services"]
        assert web["healthCheckPath"] in ("/healthz", "/readyz")
        assert {"key": "SECRET_KEY", "generateValue": True} in web["envVars"]
        return web["preDeployCommand"].split()
    if target == "heroku":
        processes = dict(line.split(": ", 1) for line in (project / "Procfile").read_text().splitlines())
        assert processes["web"] == "gunicorn --config gunicorn.conf.py"
        app = json.loads((project / "app.json").read_text())
        assert app["env"]["SECRET_KEY"]["generator"] == "secret"
        return processes["release"].split()
    if target == "compose":
        production = yaml.safe_load((project / "compose.prod.yaml").read_text())
        web = production["services"]["web"]
        assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert int(web["stop_grace_period"].rstrip("s")) > 20
        assert "healthcheck" in web
        return production["services"]["migrate"]["command"]
    raise AssertionError(target)


@pytest.mark.parametrize("target", ["compose", "fly", "render", "heroku"])
def test_platform_release_phase_migrates(
    projects: dict, venv_for: VenvFor, postgres_databases, target: str
) -> None:
    project = projects[target, "github"]
    command = native_release_command(project, target)
    assert command == RELEASE  # the one release command, said the same way everywhere
    venv = venv_for(project)
    database_url = postgres_databases()
    result = venv.run(command, cwd=project, **production_env(database_url))
    assert "release: database at 0001" in result.stdout
    assert_at_head(venv, project, database_url)
    # Run again (a retried or concurrent release): nothing to do, still succeeds.
    venv.run(command, cwd=project, **production_env(database_url))


# --- combinations that cannot work are refused ---------------------------------------------


@pytest.mark.parametrize("target", ["kubernetes", "fly", "render", "heroku"])
@pytest.mark.usefixtures("isolated_home")  # `flaskgen new` installs its template history in HOME
def test_sqlite_is_refused_where_instances_are_several(tmp_path: Path, target: str) -> None:
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
def test_sqlite_is_allowed_on_a_single_host(tmp_path: Path, target: str) -> None:
    project = render(tmp_path / "single", deploy_target=target)
    if target == "docker-ssh":
        assert "--volume" in (project / "deploy/remote-deploy.sh").read_text()
    if target == "compose":
        assert "instance:/app/instance" in (project / "compose.prod.yaml").read_text()


# --- the RabbitMQ worker runs as its own process on every target ---------------------------

WORKER = ["flask", "--app", "shop", "consume"]


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
def test_rabbitmq_worker_is_wired_into_the_target(tmp_path: Path, target: str) -> None:
    project = render(tmp_path / "shop", database="postgresql", deploy_target=target, use_rabbitmq=True)
    assert worker_command(project, target) == WORKER
    lint_deploy_files(project, target)
    if target == "kubernetes":
        assert "worker-deployment.yaml" in (project / "deploy/kubernetes/deploy.sh").read_text()
    without = render(tmp_path / "plain" / "shop", database="postgresql", deploy_target=target)
    assert "consume" not in "".join(
        path.read_text() for path in without.rglob("*") if path.is_file() and path.suffix != ".py"
    )


def test_docker_ssh_swaps_the_worker_after_the_web(
    tmp_path: Path, venv_for: VenvFor, postgres_databases: Callable[[], str]
) -> None:
    project = render(tmp_path / "shop", database="postgresql", deploy_target="docker-ssh", use_rabbitmq=True)
    venv = venv_for(project)
    app_dir = tmp_path / "srv"
    app_dir.mkdir()
    database_url = postgres_databases()
    settings = {**production_env(database_url), "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/%2F"}
    (app_dir / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    log = tmp_path / "calls.log"
    env = venv.env(APP_DIR=str(app_dir), FAKE_LOG=str(log), FAKE_WORKDIR=str(project), FAKE_OLD="old-id")
    env["PATH"] = f"{fake_bin(tmp_path)}{os.pathsep}{env['PATH']}"
    image = "ghcr.io/acme/shop@sha256:" + "f" * 64
    result = subprocess.run(
        ["bash", str(project / "deploy/remote-deploy.sh"), image],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    venv.run(["flask", "db", "check"], cwd=project, **settings)
    recorded = calls(log)
    starts = [i for i, call in enumerate(recorded) if call[1] == "run" and "--detach" in call]
    assert len(starts) == 2
    web, worker = (recorded[i] for i in starts)
    assert "role=web" in web and "role=worker" in worker and worker[-4:] == WORKER
    stops = [i for i, call in enumerate(recorded) if call[1] == "stop"]
    assert stops[0] < starts[1] < stops[1]  # old web drained, new worker up, then old worker stopped


def test_kubernetes_worker_liveness_probe_catches_a_wedged_worker(
    tmp_path: Path, venv_for: VenvFor, postgres_databases: Callable[[], str]
) -> None:
    """The probe passes while the real worker's consume loop turns, and fails once it stops."""
    require_server("rabbitmq")
    project = render(tmp_path / "shop", database="postgresql", deploy_target="kubernetes", use_rabbitmq=True)
    worker = yaml.safe_load((project / "deploy/kubernetes/worker-deployment.yaml").read_text())
    probe = worker["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["exec"]["command"]
    heartbeat = tmp_path / "heartbeat"
    probe = [part.replace("/tmp/worker-heartbeat", str(heartbeat)) for part in probe]
    venv = venv_for(project)
    env = venv.env(
        **production_env(postgres_databases()),
        RABBITMQ_URL="amqp://guest:guest@127.0.0.1:5672/%2F",
        RABBITMQ_QUEUE=(queue := f"flaskgen-{uuid.uuid4().hex[:10]}"),
        WORKER_HEARTBEAT_FILE=str(heartbeat),
    )
    venv.run(
        RELEASE, cwd=project, **{k: env[k] for k in ("APP_ENV", "SECRET_KEY", "DATABASE_URL", "RABBITMQ_URL")}
    )
    process = subprocess.Popen(
        WORKER, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while not heartbeat.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert subprocess.run(probe, env=env).returncode == 0  # a live worker passes
        process.send_signal(signal.SIGSTOP)  # wedged: its loop no longer turns
        old = time.time() - 300
        os.utime(heartbeat, (old, old))  # ... for 5 minutes
        time.sleep(1)
        assert subprocess.run(probe, env=env).returncode != 0  # the probe catches it
        process.send_signal(signal.SIGCONT)  # unwedged: the loop touches the file again
        time.sleep(2)
        assert subprocess.run(probe, env=env).returncode == 0
    finally:
        process.terminate()
        process.wait(timeout=30)
        if shutil.which("rabbitmqctl"):
            for name in (queue, f"{queue}.dead-letter"):
                subprocess.run(["rabbitmqctl", "delete_queue", name], capture_output=True, check=False)
