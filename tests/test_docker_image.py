"""The generated Dockerfile, built unmodified on a real Docker engine and run as production runs
it: the release command in a one-off container, then Gunicorn read-only as a non-root user."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from containers import (
    build,
    container,
    docker,
    inspect,
    python_images,
    require_docker,
    wait_healthy,
    wait_http_ok,
)
from support import PYTHON_VERSIONS, Render, free_port, http_get, machine_lock, version_key

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DATABASES = ["postgresql", "mysql"]
# Pairwise, to keep CI short: every offered Python version, and each database with several.
COMBINATIONS = [(version, DATABASES[i % len(DATABASES)]) for i, version in enumerate(PYTHON_VERSIONS)]
GRACEFUL_TIMEOUT = 20  # gunicorn.conf.py's default graceful_timeout
# Run in the image: the virtualenv's ELF files that still carry debug sections, whether the
# app's own modules are compiled (the container runs read-only, so it could not cache them), the
# dependencies' sources left beside their bytecode, and which of psycopg's builds is installed.
LEAN_CHECK = """
import importlib, importlib.util, json, os, pathlib, struct, sys
debug = []
for lib in pathlib.Path(sys.prefix).rglob("*.so*"):
    data = lib.read_bytes()
    if data[:5] != b"\\x7fELF\\x02":  # 64-bit ELF
        continue
    (table,) = struct.unpack_from("<Q", data, 0x28)
    entry, count, names = struct.unpack_from("<HHH", data, 0x3A)
    def header(i):
        return struct.unpack_from("<IIQQQQ", data, table + i * entry)
    strings = header(names)[4]
    for i in range(count):
        start = strings + header(i)[0]
        if data[start : data.index(b"\\0", start)].startswith(b".debug_"):
            debug.append(str(lib))
            break
module = importlib.import_module(sys.argv[1])
compiled = os.path.exists(module.__cached__)
(site,) = pathlib.Path(sys.prefix).glob("lib/python*/site-packages")
sources = [str(path) for path in site.rglob("*.py*") if path.suffix in (".py", ".pyi")]
sources = [path for path in sources if "/templates/" not in path]
psycopg = importlib.import_module("psycopg").pq.__impl__ if importlib.util.find_spec("psycopg") else None
print(json.dumps({
    "debug": debug,
    "compiled": compiled,
    "pip": os.path.exists(sys.prefix + "/bin/pip"),
    "sources": sources[:5],
    "psycopg": psycopg,
    "psycopg_binary": importlib.util.find_spec("psycopg_binary") is not None,
}))
"""


@pytest.fixture(scope="session")
def base_images() -> list[str]:
    """The stand-in python:X.Y-slim of every offered version (built once, kept by the engine)."""
    require_docker()
    return python_images(PYTHON_VERSIONS)


@pytest.fixture(scope="session")
def images(
    base_images: list[str], render: Render, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, str], tuple[str, Path]]:
    """The generated image of (Python version, database), built once per session. Its tag stays
    (the next build replaces it): the engine keeps its layers, so that the next session's build of
    unchanged requirements installs nothing."""
    built: dict[tuple[str, str], tuple[str, Path]] = {}

    def get(version: str, database: str) -> tuple[str, Path]:
        if (version, database) not in built:
            project = render(
                tmp_path_factory.mktemp(f"image-{version}-{database}") / "shop",
                python_version=version,
                database=database,
            )
            tag = f"flaskgen-test/shop:{version}-{database}"
            # The tag is the machine's (other runs build it too): the tests use the image's id.
            with machine_lock(f"image-shop-{version}-{database}"):
                build(project, tag)
                image = docker("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()
            built[version, database] = image, project
        return built[version, database]

    return get


def production_env(database_url: str, **extra: str) -> list[str]:
    settings = {"SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": database_url, **extra}
    return [arg for key, value in settings.items() for arg in ("--env", f"{key}={value}")]


@pytest.mark.parametrize(
    ("version", "database"),
    # A build each: a group each, so that xdist's workers share them out (conftest.py).
    [
        pytest.param(
            version, database, id=f"py{version}-{database}", marks=pytest.mark.xdist_group(f"image-{version}")
        )
        for version, database in COMBINATIONS
    ],
)
def test_image_releases_serves_read_only_and_stops_cleanly(
    images, fresh_database, version: str, database: str
) -> None:
    image, _ = images(version, database)
    database_url = fresh_database(image, database)
    settings = production_env(database_url)

    # The release step, as every deploy target runs it: a one-off container, read-only too.
    release = docker(
        "run", "--rm", "--network", "host", "--read-only", "--tmpfs", "/tmp", *settings,
        image, "flask", "--app", "shop", "release",
    )  # fmt: skip
    assert "release: database at 0001" in release.stdout + release.stderr
    docker("run", "--rm", "--network", "host", *settings, image, "flask", "--app", "shop", "db", "check")

    port = free_port()
    with container(image, "--read-only", "--tmpfs", "/tmp", *settings, "--env", f"PORT={port}") as name:
        assert inspect(name, "{{.Config.User}}") == "10001:10001"
        base = f"http://127.0.0.1:{port}"
        wait_http_ok(f"{base}/healthz", timeout=60)
        assert http_get(f"{base}/healthz")[0] == 200
        status, body = http_get(f"{base}/readyz")
        assert status == 200, body
        assert docker("exec", name, "id", "-u").stdout.strip() == "10001"
        wait_healthy(name, timeout=60)

        started = time.monotonic()
        docker("stop", "--time", str(GRACEFUL_TIMEOUT + 10), name)
        stopped_in = time.monotonic() - started
        assert inspect(name, "{{.State.ExitCode}}") == "0"
        assert stopped_in < GRACEFUL_TIMEOUT, f"docker stop took {stopped_in:.1f}s"


@pytest.mark.parametrize(
    ("version", "database"),
    # The newest Python with each database: the image the size target is measured on (PostgreSQL).
    [
        max((c for c in COMBINATIONS if c[1] == database), key=lambda c: version_key(c[0]))
        for database in DATABASES
    ],
    ids=DATABASES,
)
def test_image_is_lean_and_compiled(images, version: str, database: str) -> None:
    """No debug information in compiled extensions, no pip in the virtualenv, the app compiled,
    the dependencies as bytecode alone, and with PostgreSQL psycopg's C build (over Debian's
    libpq) in place of the binary wheel and its bundled libraries."""
    image, _ = images(version, database)
    found = docker(
        "run", "--rm", "--network", "host", "--read-only", image, "python", "-c", LEAN_CHECK, "shop"
    )
    assert json.loads(found.stdout) == {
        "debug": [],
        "compiled": True,
        "pip": False,
        "sources": [],
        "psycopg": "c" if database == "postgresql" else None,
        "psycopg_binary": False,
    }


def test_image_builds_with_buildkit(base_images: list[str], render: Render, tmp_path: Path) -> None:
    """Current Docker builds with BuildKit: the same Dockerfile, offline, without a frontend pull."""
    project = render(tmp_path / "shop", python_version=PYTHON_VERSIONS[-1], database="postgresql")
    tag = f"flaskgen-test/shop:buildkit-{uuid.uuid4().hex[:6]}"
    try:
        build(project, tag, buildkit=True)
        assert inspect(tag, "{{.Config.User}}") == "10001:10001"
        assert "/healthz" in " ".join(yaml.safe_load(inspect(tag, "{{json .Config.Healthcheck.Test}}")))
    finally:
        docker("rmi", "--force", tag, check=False)
