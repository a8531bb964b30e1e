"""docker-ssh releases for real: deploy/remote-deploy.sh pulls images by digest from a registry
on 127.0.0.1 (Debian's docker-registry) and swaps them on the real engine, under load from
another process, without failing a request."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from containers import DOCKER, build, build_variant, docker, require_docker
from support import REPO_ROOT, Render, free_port, http_get, skip_unless_required

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.postgres]

PYTHON = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())["python_version"]["default"]
RELEASE_TARGET_SECONDS = 15  # bench/ reports the figure; here only a gross regression fails

# Requests /healthz from 4 threads, a new connection each, until SIGTERM; prints the counts.
LOAD = """
import http.client, json, signal, sys, threading, time
port, stop, lock = int(sys.argv[1]), threading.Event(), threading.Lock()
counts = {"ok": 0, "failed": 0, "errors": []}
def hit():
    while not stop.is_set():
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            status = conn.getresponse().status
            conn.close()
            outcome = "ok" if status == 200 else f"status {status}"
        except OSError as exc:
            outcome = repr(exc)
        with lock:
            if outcome == "ok":
                counts["ok"] += 1
            else:
                counts["failed"] += 1
                counts["errors"] = (counts["errors"] + [f"{time.time():.2f} {outcome}"])[-10:]
signal.signal(signal.SIGTERM, lambda *_: stop.set())
threads = [threading.Thread(target=hit) for _ in range(4)]
[t.start() for t in threads]
print("started", flush=True)
stop.wait()
[t.join() for t in threads]
print(json.dumps(counts), flush=True)
"""

FAILING_REVISION = '''"""A migration that fails, as a broken release's would."""

revision = "0099"
down_revision = "0001"


def upgrade():
    raise RuntimeError("this migration fails on purpose")


def downgrade():
    pass
'''


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Debian's docker-registry on 127.0.0.1 (the engine pushes to 127.0.0.0/8 without TLS)."""
    require_docker()
    if not shutil.which("docker-registry"):
        skip_unless_required("no docker-registry (apt-get install docker-registry)")
    root = tmp_path_factory.mktemp("registry")
    address = f"127.0.0.1:{free_port()}"
    config = root / "config.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "version": 0.1,
                "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
                "http": {"addr": address},
            }
        )
    )
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if http_get(f"http://{address}/v2/")[0] == 200:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError("docker-registry did not answer")
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)


def push(image: str, repository: str) -> str:
    """Push `image` as `repository`; return `repository@sha256:...` as CI hands it to the deploy."""
    docker("tag", image, repository)
    pushed = docker("push", repository)
    digest = next(word for word in pushed.stdout.split() if word.startswith("sha256:"))
    docker("rmi", repository)
    return f"{repository.rsplit(':', 1)[0]}@{digest}"


@contextlib.contextmanager
def load(port: int) -> Iterator[dict]:
    """Another process calling /healthz throughout; the dict gets its counts at the end."""
    counts: dict = {}
    process = subprocess.Popen([sys.executable, "-c", LOAD, str(port)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "started"
    try:
        yield counts
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
        counts.update(json.loads(out))


def serving(app: str) -> list[str]:
    """The image references (name@digest) the running web containers of `app` were started from."""
    ids = docker("ps", "--quiet", "--filter", f"label=app={app}", "--filter", "label=role=web").stdout.split()
    return [docker("inspect", "--format", "{{.Config.Image}}", id_).stdout.strip() for id_ in ids]


def test_three_releases_and_a_rollback_fail_no_request(
    registry: str, fresh_database, render: Render, tmp_path: Path
) -> None:
    migrate_req = Path("/proc/sys/net/ipv4/tcp_migrate_req")
    if not migrate_req.exists() or migrate_req.read_text().strip() != "1":
        skip_unless_required("net.ipv4.tcp_migrate_req is not 1 on this host (.ci/run sets it)")
    slug = f"shop{uuid.uuid4().hex[:6]}"
    app = slug
    project = render(
        tmp_path / slug, python_version=PYTHON, database="postgresql", deploy_target="docker-ssh"
    )
    local = f"flaskgen-test/{slug}:built"
    variants = {
        **{f"r{n}": (f"FROM {local}\nLABEL release={n}\n", {}) for n in (1, 2, 3)},
        "badmigration": (
            f"FROM {local}\nCOPY 0099_fails.py migrations/versions/0099_fails.py\n",
            {"0099_fails.py": FAILING_REVISION},
        ),
        # An image whose health check never passes.
        "unhealthy": (
            f'FROM {local}\nHEALTHCHECK --interval=1s --start-period=1s --retries=1 CMD ["false"]\n',
            {},
        ),
    }
    pushed: dict[str, str] = {}

    phases: list[tuple[float, str]] = []  # when each deploy started and ended, for a failure's report

    def deploy(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
        phases.append((time.time(), f"deploy {args[0][-12:]} starts"))
        started = time.monotonic()
        result = subprocess.run(
            ["bash", str(project / "deploy/remote-deploy.sh"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        phases.append((time.time(), f"deploy {args[0][-12:]} exited {result.returncode}"))
        return result, time.monotonic() - started

    try:
        build(project, local)
        for name, (dockerfile, files) in variants.items():
            build_variant(dockerfile, f"{local}-{name}", files)
            pushed[name] = push(f"{local}-{name}", f"{registry}/{slug}:{name}")
        releases = [pushed["r1"], pushed["r2"], pushed["r3"]]
        bad_migration, unhealthy = pushed["badmigration"], pushed["unhealthy"]

        port = free_port()
        app_dir = tmp_path / "srv"
        app_dir.mkdir()
        settings = {
            "SECRET_KEY": secrets.token_hex(32),
            "DATABASE_URL": fresh_database(local, "postgresql"),
            "PORT": str(port),
        }
        (app_dir / ".env").write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "docker").symlink_to(DOCKER)  # the engine's own client
        env = {
            **os.environ,
            "APP_DIR": str(app_dir),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "HEALTH_PORTS": f"{free_port()} {free_port()}",
        }

        first, _ = deploy(releases[0])
        assert first.returncode == 0, first.stdout + first.stderr
        assert "tcp_migrate_req" not in first.stderr
        assert http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200

        walls = {}
        with load(port) as counts:
            for name, args in (("r2", releases[1]), ("r3", releases[2]), ("rollback", "--rollback")):
                result, walls[name] = deploy(args)
                assert result.returncode == 0, result.stdout + result.stderr
            assert serving(app) == [releases[1]]  # the rollback serves the release before r3

            failed, _ = deploy(bad_migration)
            assert failed.returncode != 0 and "this migration fails on purpose" in failed.stderr
            assert serving(app) == [releases[1]]

            sick, _ = deploy(unhealthy)
            assert sick.returncode == 1 and "keeps serving" in sick.stderr, sick.stdout + sick.stderr
            assert serving(app) == [releases[1]]
            assert len(docker("ps", "--all", "--quiet", "--filter", f"label=app={app}").stdout.split()) == 1
            time.sleep(1)
        print(f"release wall times: {walls}, load: {counts['ok']} ok, {counts['failed']} failed")
        assert counts["ok"] > 100
        assert counts["failed"] == 0, (counts, phases)
        assert max(walls.values()) < 3 * RELEASE_TARGET_SECONDS, walls
    finally:
        containers = docker("ps", "--all", "--quiet", "--filter", f"label=app={app}").stdout.split()
        if containers:
            docker("rm", "--force", *containers, check=False)
        for image in (local, *(f"{local}-{name}" for name in variants), *pushed.values()):
            docker("rmi", "--force", image, check=False)
