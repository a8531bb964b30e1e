"""Deploy targets' release step migrates a real PostgreSQL database before the web process
takes traffic: docker-ssh's remote-deploy.sh and Kubernetes' deploy.sh with stand-in docker
and kubectl (tests/fakes), and the platforms' own release phase; a failed migration or an
unhealthy release keeps the running one.
"""

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

from support import WORKER_COMMAND, ProjectVenv, Render, VenvFor, require_server

pytestmark = pytest.mark.postgres

FAKES = Path(__file__).parent / "fakes"
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
RELEASE = ["flask", "--app", "shop", "release"]


@pytest.fixture(scope="module")
def postgres_databases(
    render: Render, tmp_path_factory: pytest.TempPathFactory, venv_for: VenvFor
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


def production_env(database_url: str) -> dict[str, str]:
    return {"APP_ENV": "production", "SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": database_url}


def assert_at_head(venv: ProjectVenv, project: Path, database_url: str) -> None:
    venv.run(["flask", "db", "check"], cwd=project, **production_env(database_url))


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
def docker_ssh(
    deploy_projects: dict, venv_for: VenvFor, tmp_path: Path, postgres_databases: Callable[[], str]
):
    """Runs the docker-ssh target's remote-deploy.sh with a fake docker against a real database."""
    project = deploy_projects["docker-ssh", "github"]
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
    deploy_projects: dict, venv_for: VenvFor, tmp_path: Path, postgres_databases
) -> None:
    project = deploy_projects["kubernetes", "github"]
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
    deploy_projects: dict, venv_for: VenvFor, postgres_databases, target: str
) -> None:
    project = deploy_projects[target, "github"]
    command = native_release_command(project, target)
    assert command == RELEASE  # the one release command, said the same way everywhere
    venv = venv_for(project)
    database_url = postgres_databases()
    result = venv.run(command, cwd=project, **production_env(database_url))
    assert "release: database at 0001" in result.stdout
    assert_at_head(venv, project, database_url)
    # Run again (a retried or concurrent release): nothing to do, still succeeds.
    venv.run(command, cwd=project, **production_env(database_url))


# --- the RabbitMQ worker is swapped after the web process -----------------------------


def test_docker_ssh_swaps_the_worker_after_the_web(
    render: Render, tmp_path: Path, venv_for: VenvFor, postgres_databases: Callable[[], str]
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
    assert "role=web" in web and "role=worker" in worker and worker[-4:] == WORKER_COMMAND
    stops = [i for i, call in enumerate(recorded) if call[1] == "stop"]
    assert stops[0] < starts[1] < stops[1]  # old web drained, new worker up, then old worker stopped


def test_kubernetes_worker_liveness_probe_catches_a_wedged_worker(
    render: Render, tmp_path: Path, venv_for: VenvFor, postgres_databases: Callable[[], str]
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
        WORKER_COMMAND, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
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
