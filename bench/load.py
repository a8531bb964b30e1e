"""HTTP load on 127.0.0.1 for a bounded time, and servers that run only while a block does.

wrk (Debian's `wrk` package: `apt-get install -y wrk`) makes the load when it is installed.
Without it, Python threads do, each with its own keep-alive connection: they share one
interpreter lock, so on a small machine they measure the client as much as the server, and
RESULTS.md says so when that happened.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import resource
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.workspace import BenchError

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Load:
    ok: int
    errors: int
    wall: float
    client_cpu: float  # CPU seconds the load generator used
    server_cpu: float  # CPU seconds the server's master and workers used


class LoadGenerator:
    """GET requests on 127.0.0.1 for a bounded time: wrk when asked or installed, else Python threads."""

    MAX_REQUESTS_PER_CONNECTION = 2_000_000

    def __init__(self, kind: str, connections: int) -> None:
        wrk = shutil.which("wrk")
        if kind == "wrk" and not wrk:
            raise SystemExit("--load wrk: wrk is not installed (apt-get install -y wrk)")
        self.wrk = wrk if kind in ("wrk", "auto") else None
        self.connections = connections

    @property
    def description(self) -> str:
        if self.wrk:
            return f"wrk, 2 threads, {self.connections} connections"
        return f"Python http.client, {self.connections} threads each with its own connection (no wrk)"

    def run(self, port: int, path: str, duration: float, server_pids: Callable[[], list[int]]) -> Load:
        server_before = cpu_of(server_pids())
        if self.wrk:
            ok, errors, wall, client = self._wrk(port, path, duration)
        else:
            ok, errors, wall, client = self._python(port, path, duration)
        server = cpu_of(server_pids()) - server_before
        if not ok:
            raise BenchError(f"no request to 127.0.0.1:{port}{path} succeeded ({errors} failed)")
        return Load(ok, errors, wall, client, server)

    def _wrk(self, port: int, path: str, duration: float) -> tuple[int, int, float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        args = [self.wrk or "wrk", "-t2", f"-c{self.connections}", f"-d{max(1, round(duration))}s"]
        result = subprocess.run(
            [*args, f"http://127.0.0.1:{port}{path}"],
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=False,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode != 0:
            raise BenchError(f"wrk exited {result.returncode}: {result.stderr or result.stdout}")
        requests = re.search(r"(\d+) requests in ([\d.]+)(\w+)", result.stdout)
        if requests is None:
            raise BenchError(f"cannot read wrk's output:\n{result.stdout}")
        unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[requests[3]]
        found = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
        non_2xx = int(found[1]) if found else 0
        # Read errors are left out: a sync worker closes every connection after its response.
        found = re.search(
            r"Socket errors: connect (\d+), read \d+, write (\d+), timeout (\d+)", result.stdout
        )
        socket_errors = sum(int(count) for count in found.groups()) if found else 0
        client = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        total = int(requests[1])
        return total - non_2xx, non_2xx + socket_errors, float(requests[2]) * unit, client

    def _python(self, port: int, path: str, duration: float) -> tuple[int, int, float, float]:
        counts = [(0, 0)] * self.connections
        deadline = time.monotonic() + duration

        def client(index: int) -> None:
            ok = errors = 0
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                for _ in range(self.MAX_REQUESTS_PER_CONNECTION):
                    if time.monotonic() >= deadline:
                        break
                    try:
                        connection.request("GET", path)
                        response = connection.getresponse()
                        response.read()
                    except (OSError, http.client.HTTPException):
                        errors += 1
                        connection.close()  # the next request reconnects
                        continue
                    if response.status == 200:
                        ok += 1
                    else:
                        errors += 1
            finally:
                connection.close()
                counts[index] = (ok, errors)

        cpu_before = time.process_time()
        start = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(self.connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=duration + 30)
        wall = time.perf_counter() - start
        client_cpu = time.process_time() - cpu_before
        return sum(c[0] for c in counts), sum(c[1] for c in counts), wall, client_cpu


def cpu_of(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes used so far; gone processes count 0."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def children_of(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
                if int(fields[1]) == pid:
                    children.append(int(entry))
    return children


def http_request(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@contextlib.contextmanager
def serving(
    args: list[str], cwd: Path, env: dict[str, str], port: int, log: Path, workers: int
) -> Iterator[int]:
    """Run a Gunicorn until the block ends; yields its master's pid once /healthz answers."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the runner, which stops the server itself
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise BenchError(f"{args} exited {process.returncode}:\n{tail(log)}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if http_request(port, "GET", "/healthz")[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise BenchError(f"{args} did not answer on 127.0.0.1:{port} within 60 s:\n{tail(log)}")
            time.sleep(0.2)
        if "0.0.0.0" in log.read_text(encoding="utf-8", errors="replace"):
            raise BenchError(f"{args} listens beyond 127.0.0.1:\n{tail(log)}")
        # Workers answer as soon as one is up: wait for all of them (bounded).
        for _ in range(100):
            if len(children_of(process.pid)) >= workers:
                break
            time.sleep(0.1)
        yield process.pid
    finally:
        if process.poll() is None:
            process.terminate()  # SIGTERM: Gunicorn's graceful stop
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-3000:]
