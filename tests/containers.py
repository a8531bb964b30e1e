"""A real Docker engine for flaskgen's tests: the client, stand-in base images, builds and runs.

No image registry is reachable from this machine or from CI, so the generated Dockerfile's base
images, `python:X.Y-slim`, are stand-ins built here and tagged with the official names (see
`python_image`). Every build and container uses the host's network (`--network host`): the
engine runs without a bridge, and all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support import free_port, http_get, machine_lock, require_server, skip_unless_required

# Debian's own client where it is installed, so that the client matches the engine that the
# tests claim to run on (another client earlier on PATH may expect BuildKit's buildx plugin).
DOCKER = os.environ.get("FLASKGEN_DOCKER") or (
    "/usr/bin/docker" if Path("/usr/bin/docker").exists() else shutil.which("docker") or "docker"
)
DEBIAN_MIRROR = os.environ.get("FLASKGEN_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# The bundle of the CA that signs this machine's package traffic (a proxy's): images must trust it.
CA_BUNDLE = Path(
    os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"
)
# Bump to rebuild the cached stand-ins; the label records it.
STANDIN_RECIPE = "6"
STANDIN_LABEL = "org.flaskgen.standin"
PYENV_ROOT = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
# What the official slim images carry besides Debian's minimal base: the shared libraries their
# interpreter's modules load (ssl, sqlite3, ctypes, bz2, lzma, readline, dbm, uuid), CA
# certificates, netbase and tzdata.
RUNTIME_PACKAGES = [
    "ca-certificates",
    "netbase",
    "tzdata",
    "libssl3",
    "libsqlite3-0",
    "libffi8",
    "libbz2-1.0",
    "liblzma5",
    "libreadline8",
    "libncursesw6",
    "libgdbm6",
    "libuuid1",
    "zlib1g",
    "libexpat1",
    "libtirpc3",
    "libnsl2",
]
# Interpreters this machine has no build of come from Debian's unstable suite (sid).
DEBIAN_PYTHONS = {"3.14": "sid"}
STANDIN_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
    "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
}


def docker(
    *args: str, check: bool = True, timeout: float = 600, input: bytes | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the docker client; on failure raise with its output."""
    raw = subprocess.run(
        [DOCKER, *args], input=input, capture_output=True, timeout=timeout, env={**os.environ, **env}
    )
    result = subprocess.CompletedProcess(
        raw.args, raw.returncode, raw.stdout.decode(errors="replace"), raw.stderr.decode(errors="replace")
    )
    if check and result.returncode != 0:
        output = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        raise AssertionError(f"docker {' '.join(args)} exited {result.returncode}\n{output}")
    return result


def engine_problem() -> str | None:
    """Why the tests cannot use a Docker engine here, or None when they can."""
    if not shutil.which(DOCKER):
        return "no docker client (apt-get install docker.io)"
    try:
        info = subprocess.run(
            [DOCKER, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        return "the Docker engine does not answer"
    if info.returncode != 0:
        said = info.stderr.strip().splitlines() or ["docker version failed"]
        return f"no Docker engine running ({said[-1]})"
    return None


def require_docker() -> None:
    """Skip (or, under .ci/run, fail) when no Docker engine answers."""
    problem = engine_problem()
    if problem:
        skip_unless_required(problem)


# --- stand-in base images -------------------------------------------------------------------


def _label(image: str) -> str | None:
    """The stand-in label of a local image; "" for an image that is not a stand-in; None if absent."""
    found = docker("image", "inspect", "--format", "{{json .Config.Labels}}", image, check=False)
    if found.returncode != 0:
        return None
    return (json.loads(found.stdout) or {}).get(STANDIN_LABEL, "")


def _current(image: str, recipe: str) -> bool:
    """A real image of that name (pulled where a registry is reachable) or a current stand-in."""
    label = _label(image)
    return label is not None and label in ("", recipe)


def _debootstrap(suite: str, packages: list[str], image: str, recipe: str, links: dict[str, str]) -> None:
    """Import a minimal Debian `suite` with `packages` as `image` (debootstrap needs root)."""
    with tempfile.TemporaryDirectory(prefix="flaskgen-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(packages)}",
                suite,
                str(rootfs),
                DEBIAN_MIRROR,
            ],
            check=True,
            capture_output=True,
            timeout=900,
        )
        shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
        shutil.rmtree(rootfs / "var/lib/apt/lists", ignore_errors=True)
        shutil.copyfile(CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
        for name, target in links.items():
            (rootfs / "usr/local/bin" / name).symlink_to(target)
        changes = [f"ENV {key}={value}" for key, value in STANDIN_ENV.items()]
        changes += [f"LABEL {STANDIN_LABEL}={recipe}", 'CMD ["python3"]' if links else 'CMD ["bash"]']
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            [DOCKER, "import", *(arg for change in changes for arg in ("--change", change)), "-", image],
            stdin=tar.stdout,
            check=True,
            capture_output=True,
            timeout=600,
        )
        tar.wait()


def _pyenv_python(version: str) -> Path | None:
    """This machine's pyenv build of `version` (the newest patch release), if any."""
    builds = sorted(
        PYENV_ROOT.glob(f"versions/{version}.*"),
        key=lambda p: [int(n) for n in p.name.split(".")[2:3] if n.isdigit()],
    )
    builds = [path for path in builds if (path / "bin" / f"python{version}").exists()]
    return builds[-1] if builds else None


def _interpreter_context(build: Path, version: str, base: str, recipe: str) -> bytes:
    """A build context (tar) that installs a pyenv interpreter under /usr/local, as the official
    images do (Debian-built CPython in /usr/local with pip and its C headers, which a package's
    C extension builds against), without its tests and extra packages."""
    stdlib = f"lib/python{version}/"
    skipped = (f"{stdlib}test/", f"{stdlib}idlelib/", f"{stdlib}tkinter/", f"{stdlib}turtledemo/")
    buffer = io.BytesIO()
    # Compressed: the client recognises a gzip stream as a context by its magic number.
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for path in sorted(build.rglob("*")):
            relative = path.relative_to(build).as_posix()
            if (
                relative.startswith(skipped)
                or relative.startswith(("share/", "lib/pkgconfig/"))
                or "/config-" in relative
            ):
                continue
            site = f"{stdlib}site-packages/"
            if relative.startswith(site) and not relative[len(site) :].startswith("pip"):
                continue
            info = tar.gettarinfo(str(path), arcname=f"python/{relative}")
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if info.isfile():
                data = path.read_bytes()
                if relative.startswith("bin/") and data.startswith(b"#!" + str(build).encode()):
                    # pip's and the tools' scripts: point them at the interpreter's new home.
                    data = b"#!/usr/local/bin/python" + version.encode() + data[data.index(b"\n") :]
                    info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
        dockerfile = (
            f"FROM {base}\n"
            "COPY python/ /usr/local/\n"
            f"RUN ldconfig && ln -sf python{version} /usr/local/bin/python"
            f" && ln -sf python{version} /usr/local/bin/python3\n"
            f"ENV PYTHON_VERSION={version}\n"
            f"LABEL {STANDIN_LABEL}={recipe}\n"
            'CMD ["python3"]\n'
        ).encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    return buffer.getvalue()


def _add_pip(base: str, version: str, image: str, recipe: str) -> None:
    """`base` with pip in /usr/local, as the official images have it: Debian's python3.14 has
    no pip of its own, so the pip wheel its ensurepip would use installs itself (Debian's
    scheme puts a root install under /usr/local). Like the official images, it does not mark
    the interpreter as managed by the system (PEP 668)."""
    dockerfile = (
        f"FROM {base}\n"
        "RUN wheel=$(ls /usr/share/python-wheels/pip-*.whl)"
        f' && python{version} "$wheel/pip" install --no-cache-dir --no-index --break-system-packages'
        f' "$wheel" && rm -f /usr/lib/python{version}/EXTERNALLY-MANAGED'
        # The mirror this machine reaches serves a frozen snapshot of unstable, whose Release
        # file has expired: apt in a build stage (the generated Dockerfile's) must accept it.
        f" && echo 'Acquire::Check-Valid-Until \"false\";' >/etc/apt/apt.conf.d/99flaskgen-snapshot\n"
        f"ENV PYTHON_VERSION={version}\n"
        f"LABEL {STANDIN_LABEL}={recipe}\n"
    )
    context = dockerfile.encode()
    docker("build", "--network", "host", "--quiet", "--tag", image, "-", input=context, DOCKER_BUILDKIT="0")


def python_images(versions: list[str]) -> list[str]:
    """`python_image` of each version; the Debian bases they need are bootstrapped concurrently
    (each takes a minute or two of downloads, once: the engine keeps them)."""
    from concurrent.futures import ThreadPoolExecutor

    debian = [version for version in versions if version in DEBIAN_PYTHONS]
    with ThreadPoolExecutor() as pool:
        firsts = list(pool.map(python_image, debian + [v for v in versions if v not in debian][:1]))
    return [firsts[debian.index(v)] if v in debian else python_image(v) for v in versions]


def python_image(version: str) -> str:
    """`python:{version}-slim`, built here when the engine lacks it, and cached by the engine.

    Stand-in for Docker Hub's official image (Debian slim with CPython in /usr/local and pip):
    - a version this machine has a pyenv build of (3.10 to 3.13, built on Debian 12) is that
      build copied into /usr/local of a minimal Debian 12 (debootstrap) with the official image's
      runtime libraries;
    - 3.14 is Debian unstable's python3.14 (with venv and its C headers), linked as python and
      python3 in /usr/local/bin.
    Both trust this machine's CA bundle (package traffic passes a proxy that signs with it).
    The label org.flaskgen.standin records the recipe: a current stand-in is never rebuilt.
    """
    image = f"python:{version}-slim"
    recipe = hashlib.sha256(f"{STANDIN_RECIPE}:{version}:{RUNTIME_PACKAGES}".encode()).hexdigest()[:12]
    if _current(image, recipe):
        return image
    # One build per image on this machine: xdist's workers (and other runs) wait for it.
    with machine_lock(f"standin-python-{version}"):
        if not _current(image, recipe):
            _build_python_image(version, image, recipe)
    return image


def _build_python_image(version: str, image: str, recipe: str) -> None:
    if version in DEBIAN_PYTHONS:
        # -dev: the C headers, which the official images carry too.
        packages = [f"python{version}", f"python{version}-venv", f"python{version}-dev"]
        packages += ["ca-certificates", "netbase", "tzdata"]
        links = {"python": f"/usr/bin/python{version}", "python3": f"/usr/bin/python{version}"}
        debian = f"flaskgen-standin/debian-python:{version}"
        if not _current(debian, recipe):
            _debootstrap(DEBIAN_PYTHONS[version], packages, debian, recipe, links)
        _add_pip(debian, version, image, recipe)
        return
    build = _pyenv_python(version)
    if build is None:
        skip_unless_required(f"no Python {version} to build a stand-in python:{version}-slim from (pyenv)")
    base = "flaskgen-standin/debian:bookworm"
    base_recipe = hashlib.sha256(f"{STANDIN_RECIPE}:{RUNTIME_PACKAGES}".encode()).hexdigest()[:12]
    with machine_lock("standin-debian-bookworm"):  # the base of every pyenv version's stand-in
        if not _current(base, base_recipe):
            _debootstrap("bookworm", RUNTIME_PACKAGES, base, base_recipe, {})
    context = _interpreter_context(build, version, base, recipe)
    docker("build", "--network", "host", "--quiet", "--tag", image, "-", input=context, DOCKER_BUILDKIT="0")


# --- building and running the generated image -----------------------------------------------


def build(
    context: Path, tag: str, *, buildkit: bool = False, cache: bool = True, timeout: float = 900
) -> float:
    """Build `context`'s Dockerfile unmodified as `tag` (`cache`: reuse the engine's layers);
    return the seconds it took."""
    started = time.monotonic()
    docker(
        "build",
        "--network",
        "host",
        "--force-rm",  # a failed step leaves no container behind
        *([] if cache else ["--no-cache"]),
        "--tag",
        tag,
        str(context),
        timeout=timeout,
        DOCKER_BUILDKIT="1" if buildkit else "0",
    )
    return time.monotonic() - started


def build_variant(dockerfile: str, tag: str, files: dict[str, str] | None = None) -> None:
    """Build `dockerfile` (typically FROM an image built here) with `files` as its context."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in {"Dockerfile": dockerfile, **(files or {})}.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    context = buffer.getvalue()
    docker("build", "--network", "host", "--quiet", "--tag", tag, "-", input=context, DOCKER_BUILDKIT="0")


def image_size(image: str) -> int:
    return int(docker("image", "inspect", "--format", "{{.Size}}", image).stdout)


def inspect(container: str, template: str) -> str:
    return docker("inspect", "--format", template, container).stdout.strip()


@contextlib.contextmanager
def container(image: str, *args: str, name: str | None = None) -> Iterator[str]:
    """A detached container on the host's network, removed at the end."""
    name = name or f"flaskgen-test-{uuid.uuid4().hex[:10]}"
    docker("run", "--detach", "--name", name, "--network", "host", *args, image)
    try:
        yield name
    finally:
        docker("rm", "--force", "--volumes", name, check=False)


def wait_for(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout}s")


def wait_healthy(name: str, timeout: float = 90) -> float:
    """Seconds until the engine reports the container's HEALTHCHECK healthy."""
    started = time.monotonic()

    def healthy() -> bool:
        status = inspect(name, "{{.State.Status}} {{.State.Health.Status}}")
        if status.startswith("exited"):
            logs = docker("logs", "--tail", "40", name, check=False)
            raise AssertionError(f"{name} exited: {logs.stdout}{logs.stderr}")
        assert status != "running unhealthy", docker("inspect", name).stdout[-3000:]
        return status == "running healthy"

    wait_for(healthy, timeout, 0.2, f"{name} healthy")
    return time.monotonic() - started


def wait_http_ok(url: str, timeout: float = 60) -> float:
    started = time.monotonic()

    def ok() -> bool:
        try:
            return http_get(url, timeout=2)[0] == 200
        except OSError:
            return False

    wait_for(ok, timeout, 0.05, f"200 from {url}")
    return time.monotonic() - started


# --- databases on the machine's servers, created through an image's own driver ---------------

ADMIN_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/mysql",
}
APP_URLS = {
    "postgresql": "postgres://postgres@127.0.0.1:5432/{name}",
    "mysql": "mysql://root@127.0.0.1:3306/{name}",
}


DATABASE_SCRIPT = (
    "import sys\nfrom sqlalchemy import create_engine, text\n"
    "with create_engine(sys.argv[1], isolation_level='AUTOCOMMIT').connect() as c:\n"
    "    c.execute(text(sys.argv[2]))\n"
)


def create_database(image: str, database: str) -> tuple[str, str]:
    """A new database on the machine's `database` server, created through the image's own
    driver; its name and the DATABASE_URL the app gets."""
    name = f"flaskgen_{uuid.uuid4().hex[:10]}"
    docker(
        "run", "--rm", "--network", "host", image, "python", "-c", DATABASE_SCRIPT,
        ADMIN_URLS[database], f"CREATE DATABASE {name}",
    )  # fmt: skip
    return name, APP_URLS[database].format(name=name)


def drop_database(image: str, database: str, name: str) -> None:
    docker(
        "run", "--rm", "--network", "host", image, "python", "-c", DATABASE_SCRIPT,
        ADMIN_URLS[database], f"DROP DATABASE IF EXISTS {name}",
    check=False)  # fmt: skip


@pytest.fixture
def fresh_database() -> Iterator[Callable[[str, str], str]]:
    """Creates a database on the machine's server, through the image's own driver; drops it after."""
    created: list[tuple[str, str, str]] = []

    def create(image: str, database: str) -> str:
        require_server(database)
        name, url = create_database(image, database)
        created.append((image, database, name))
        return url

    yield create
    for image, database, name in created:
        drop_database(image, database, name)


# --- releases: a registry on 127.0.0.1 and load from another process -------------------------

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


@contextlib.contextmanager
def local_registry(root: Path) -> Iterator[str]:
    """Debian's docker-registry serving from `root` on 127.0.0.1; yields its address. The engine
    pushes to 127.0.0.0/8 registries without TLS settings."""
    address = f"127.0.0.1:{free_port()}"
    root.mkdir(parents=True, exist_ok=True)
    config = root / "config.yml"
    config.write_text(
        json.dumps(  # YAML is a superset of JSON
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

        def answers() -> bool:
            with contextlib.suppress(OSError):
                return http_get(f"http://{address}/v2/")[0] == 200
            return False

        wait_for(answers, 30, 0.1, "docker-registry answering")
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of Debian's docker-registry on 127.0.0.1, for the tests of a module."""
    require_docker()
    if not shutil.which("docker-registry"):
        skip_unless_required("no docker-registry (apt-get install docker-registry)")
    with local_registry(tmp_path_factory.mktemp("registry")) as address:
        yield address


def push(image: str, repository: str) -> str:
    """Push `image` as `repository`; return `repository@sha256:...` as CI hands it to the deploy."""
    docker("tag", image, repository)
    pushed = docker("push", repository)
    digest = next(word for word in pushed.stdout.split() if word.startswith("sha256:"))
    docker("rmi", repository)
    return f"{repository.rsplit(':', 1)[0]}@{digest}"


def remove_containers(app: str) -> None:
    """Remove every container, running or not, that a release of `app` started."""
    containers = docker("ps", "--all", "--quiet", "--filter", f"label=app={app}").stdout.split()
    if containers:
        docker("rm", "--force", *containers, check=False)


def serving(app: str) -> list[str]:
    """The image references (name@digest) the running web containers of `app` were started from."""
    ids = docker("ps", "--quiet", "--filter", f"label=app={app}", "--filter", "label=role=web").stdout.split()
    return [docker("inspect", "--format", "{{.Config.Image}}", id_).stdout.strip() for id_ in ids]


def server_app_dir(path: Path, database_url: str, port: int) -> Path:
    """A docker-ssh server's APP_DIR at `path`: its .env with a new SECRET_KEY, the database and
    the port the app serves on."""
    path.mkdir()
    settings = {"SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": database_url, "PORT": port}
    (path / ".env").write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    return path


@contextlib.contextmanager
def load(port: int) -> Iterator[dict]:
    """Another process calling /healthz throughout; the dict gets its counts at the end."""
    counts: dict = {}
    process = subprocess.Popen([sys.executable, "-c", LOAD, str(port)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "started"
    try:
        yield counts
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
        counts.update(json.loads(out))
