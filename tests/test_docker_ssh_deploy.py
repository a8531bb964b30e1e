"""deploy/ssh-deploy.sh, CI's side of a docker-ssh release, over a real sshd on 127.0.0.1
(Debian's openssh-server with a throwaway host key and client key, as a process of the test's
own, never the system's sshd) to the real engine, pulling from a registry on 127.0.0.1."""

from __future__ import annotations

import getpass
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from containers import (
    build,
    build_variant,
    docker,
    push,
    python_image,
    remove_containers,
    server_app_dir,
    serving,
    wait_for,
)
from support import REPO_ROOT, Render, free_port, http_get, skip_unless_required

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.postgres]

PYTHON = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())["python_version"]["default"]
SSHD = "/usr/sbin/sshd"


@dataclass
class Server:
    port: int
    key: str  # the client's private key, as CI keeps it in DEPLOY_SSH_KEY
    known_hosts: str  # the server's line, as `ssh-keyscan` gives it
    home: Path  # where the server's environment points DOCKER_CONFIG


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Server]:
    """An sshd of this test on a free port of 127.0.0.1 that lets the current user in with a new key.

    The server's environment (sshd's SetEnv, as a server's own setup would) gives the releases
    two free health ports and a docker client configuration of the test's own, so that the
    deploy's `docker login` does not touch the user's."""
    if not Path(SSHD).exists() or not shutil.which("ssh-keygen"):
        skip_unless_required("no OpenSSH server (apt-get install openssh-server)")
    root = tmp_path / "sshd"
    root.mkdir()
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", root / name], check=True)
    shutil.copyfile(root / "client.pub", root / "authorized_keys")
    port = free_port()
    health_ports = f"{free_port()} {free_port()}"
    (root / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root / 'host'}\nPidFile {root / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\n"
        # The temporary folders are not the user's own: sshd would refuse their modes.
        "StrictModes no\n"
        f'SetEnv "HEALTH_PORTS={health_ports}" DOCKER_CONFIG={root / "docker"}\n'
    )
    # sshd needs its privilege separation directory, which only the system's service creates.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    process = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", root / "sshd_config"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:

        def scanned() -> str:
            assert process.poll() is None, process.stderr.read() if process.stderr else "sshd exited"
            keyscan = ["ssh-keyscan", "-t", "ed25519", "-p", str(port), "127.0.0.1"]
            return subprocess.run(keyscan, capture_output=True, text=True).stdout.strip()

        known_hosts = wait_for(scanned, 30, 0.2, "sshd answering")
        yield Server(port, (root / "client").read_text(), known_hosts, root)
    finally:
        process.terminate()
        process.wait(timeout=30)


def ssh_on_port(tmp_path: Path, port: int) -> Path:
    """A folder with `ssh` that reaches the test's sshd: the real client, on its port instead of 22."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ssh = bin_dir / "ssh"
    ssh.write_text(f'#!/bin/sh\nexec {shutil.which("ssh")} -p {port} "$@"\n')
    ssh.chmod(0o755)
    return bin_dir


def test_ssh_deploy_releases_through_a_real_sshd(
    sshd: Server, registry: str, fresh_database, render: Render, tmp_path: Path
) -> None:
    # A fixed name, so that the engine's layers of its dependencies serve the next run: the
    # built image's tag stays (the next build replaces it). A crashed run's containers go first.
    slug = "shopssh"
    remove_containers(slug)
    answers = {"python_version": PYTHON, "database": "postgresql", "deploy_target": "docker-ssh"}
    project = render(tmp_path / slug, **answers)
    local = f"flaskgen-test/{slug}:built"
    pushed: list[str] = []
    try:
        python_image(PYTHON)  # the base, current (built here where it is missing or stale)
        build(project, local)
        for n in (1, 2):  # two releases, each an image with a digest of its own
            build_variant(f"FROM {local}\nLABEL release={n}\n", f"{local}-r{n}")
            pushed.append(push(f"{local}-r{n}", f"{registry}/{slug}:r{n}"))
        port = free_port()
        app_dir = server_app_dir(tmp_path / "srv", fresh_database(local, "postgresql"), port)
        env = {
            **os.environ,
            "PATH": f"{ssh_on_port(tmp_path, sshd.port)}{os.pathsep}{os.environ['PATH']}",
            "DEPLOY_HOST": "127.0.0.1",
            "DEPLOY_USER": getpass.getuser(),
            "DEPLOY_SSH_KEY": sshd.key,
            "DEPLOY_KNOWN_HOSTS": sshd.known_hosts,
            "REGISTRY": registry,
            "REGISTRY_USER": "ci",
            "REGISTRY_TOKEN": secrets.token_hex(16),
            "APP_DIR": str(app_dir),
        }

        def deploy(image: str, **changes: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["bash", "deploy/ssh-deploy.sh"],
                cwd=project,
                env={**env, "IMAGE": image, **changes},
                capture_output=True,
                text=True,
                timeout=300,
            )

        # A server whose host key is not the one CI was given: refused before anything runs.
        other = tmp_path / "other"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other], check=True)
        forged = f"[127.0.0.1]:{sshd.port} {(other.with_suffix('.pub')).read_text().strip()}"
        refused = deploy(pushed[0], DEPLOY_KNOWN_HOSTS=forged)
        assert refused.returncode != 0 and "Host key verification failed" in refused.stderr
        assert serving(slug) == []

        for image in pushed:
            started = time.monotonic()
            result = deploy(image)
            assert result.returncode == 0, result.stdout + result.stderr
            print(f"ssh-deploy.sh {image[-12:]}: {time.monotonic() - started:.1f} s")
            assert serving(slug) == [image]
            assert http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200
        assert "release: migrating the database" in result.stdout + result.stderr
        # The registry login ends with the deploy: no credentials are left on the server.
        config = sshd.home / "docker" / "config.json"
        assert not config.exists() or registry not in config.read_text()
    finally:
        remove_containers(slug)
        for image in (f"{local}-r1", f"{local}-r2", *pushed):
            docker("rmi", "--force", image, check=False)
