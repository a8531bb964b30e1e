"""docker-ssh releases for real: deploy/remote-deploy.sh pulls images by digest from a registry
on 127.0.0.1 (Debian's docker-registry) and swaps them on the real engine, under load from
another process, without failing a request."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from containers import (
    DOCKER,
    build,
    build_variant,
    docker,
    load,
    push,
    python_image,
    remove_containers,
    server_app_dir,
    serving,
)
from support import REPO_ROOT, Render, free_port, http_get, skip_unless_required

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.postgres]

PYTHON = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())["python_version"]["default"]
RELEASE_TARGET_SECONDS = 15  # bench/ reports the figure; here only a gross regression fails

FAILING_REVISION = '''"""A migration that fails, as a broken release's would."""

revision = "0099"
down_revision = "0001"


def upgrade():
    raise RuntimeError("this migration fails on purpose")


def downgrade():
    pass
'''


def test_three_releases_and_a_rollback_fail_no_request(
    registry: str, fresh_database, render: Render, tmp_path: Path
) -> None:
    migrate_req = Path("/proc/sys/net/ipv4/tcp_migrate_req")
    if not migrate_req.exists() or migrate_req.read_text().strip() != "1":
        skip_unless_required("net.ipv4.tcp_migrate_req is not 1 on this host (.ci/run sets it)")
    # A fixed name, so that the engine's layers of its dependencies serve the next run: the
    # built image's tag stays (the next build replaces it). A crashed run's containers go first.
    slug = "shoprelease"
    app = slug
    remove_containers(app)
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
        python_image(PYTHON)  # the base, current (built here where it is missing or stale)
        build(project, local)
        for name, (dockerfile, files) in variants.items():
            build_variant(dockerfile, f"{local}-{name}", files)
            pushed[name] = push(f"{local}-{name}", f"{registry}/{slug}:{name}")
        releases = [pushed["r1"], pushed["r2"], pushed["r3"]]
        bad_migration, unhealthy = pushed["badmigration"], pushed["unhealthy"]

        port = free_port()
        app_dir = server_app_dir(tmp_path / "srv", fresh_database(local, "postgresql"), port)
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
        # When a request failed: which phase it fell in (the assertion's repr is cut short).
        print("failed requests (time, error):", *counts["errors"], sep="\n  ")
        print("phases:", *(f"{when:.2f} {what}" for when, what in phases), sep="\n  ")
        assert counts["ok"] > 100
        assert counts["failed"] == 0, (counts, phases)
        assert max(walls.values()) < 3 * RELEASE_TARGET_SECONDS, walls
    finally:
        remove_containers(app)
        for image in (*(f"{local}-{name}" for name in variants), *pushed.values()):
            docker("rmi", "--force", image, check=False)
