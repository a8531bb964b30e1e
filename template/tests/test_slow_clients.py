"""Gunicorn as gunicorn.conf.py runs it: clients that trickle their requests do not stall
/healthz (each holds a thread of a gthread worker, not the worker), and a stop that comes as
the workers start stops them."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
# Four times as many slow clients as workers: sync workers would all be held by them.
SLOW_CLIENTS = 4 * WORKERS
SLOW_REQUEST_HEAD = (
    b"POST /api/users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1000\r\n\r\n{"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """Gunicorn with the project's config, two workers, on a free port; its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(WORKERS),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"]
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)  # noqa: S603
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"gunicorn did not start:\n{(tmp_path / 'gunicorn.log').read_text()}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def trickle(base_url: str, stop: threading.Event) -> None:
    """Send a request head, then its body one byte every half second until `stop`."""
    port = int(base_url.rsplit(":", 1)[1])
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(SLOW_REQUEST_HEAD)
        while not stop.wait(0.5):
            sock.sendall(b" ")


def healthz_seconds(base_url: str) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(f"{base_url}/healthz", timeout=30) as response:  # noqa: S310
        assert response.status == 200
    return time.monotonic() - started


def test_healthz_stays_fast_while_clients_trickle_their_bodies(server: str) -> None:
    healthz_seconds(server)  # warm: each worker has loaded the app
    stop = threading.Event()
    clients = [
        threading.Thread(target=trickle, args=(server, stop), daemon=True)
        for _ in range(SLOW_CLIENTS)
    ]
    for client in clients:
        client.start()
    try:
        time.sleep(1.0)  # every slow client is now in the middle of its body
        latencies = [healthz_seconds(server) for _ in range(10)]
    finally:
        stop.set()
    assert max(latencies) < 1.0, f"/healthz took {max(latencies):.2f}s under slow clients"


# gunicorn.conf.py, stopped as it starts its workers (a release found unhealthy as it starts):
# the master gets SIGTERM just before it forks them, and they are slow to set their handlers.
STOPPED_WHILE_STARTING = """
import os, runpy, signal, time

globals().update(runpy.run_path("gunicorn.conf.py"))
_when_ready, _post_fork = when_ready, post_fork


def when_ready(server):
    _when_ready(server)
    os.kill(os.getpid(), signal.SIGTERM)


def post_fork(server, worker):
    _post_fork(server, worker)
    time.sleep(1)
"""


def test_workers_started_as_the_master_stops_stop_too(tmp_path: Path) -> None:
    """The master passes the stop on to workers that have no handlers of their own yet: each
    gets it once they are set (gunicorn.conf.py's pre_fork) and stops gracefully, instead of
    serving on until the master kills it at the graceful timeout with its requests in hand."""
    config = tmp_path / "stopped_while_starting.conf.py"
    config.write_text(STOPPED_WHILE_STARTING)
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "PORT": str(free_port()),
        "WEB_CONCURRENCY": str(WORKERS),
        "GUNICORN_GRACEFUL_TIMEOUT": "30",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    command = [sys.executable, "-m", "gunicorn", "--config", str(config)]
    started = time.monotonic()
    stopped = subprocess.run(  # noqa: S603 (Gunicorn, with the project's config)
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=90
    )
    seconds = time.monotonic() - started
    output = stopped.stdout + stopped.stderr
    assert seconds < 20, f"stopped after {seconds:.1f}s: a worker missed the stop\n{output}"
    assert output.count("Worker exiting") == WORKERS, output
