"""Write the generated projects' locks: run at release, after changing a dependency of the template.

A project's dependencies depend on three answers, database, use_rabbitmq and auth (copier.yml's
`dependency_set`). For each set this renders the template, resolves it with `uv lock` (keeping the
stored pins unless --upgrade) and stores, under locks/<set>/, the uv.lock and its two pip exports
(production.txt, dev.txt) that template/uv.lock.jinja and template/requirements/ include. The
lock records the project under the placeholder name flaskgen-lock, as its last entry, for
uv.lock.jinja to rename and sort.

    python scripts/lock_template.py            # after editing template/pyproject.toml.jinja
    python scripts/lock_template.py --upgrade  # move every pin the template leaves free
    python scripts/lock_template.py --check    # exit 1 if a stored lock is stale (the tests run it)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCKS = REPO_ROOT / "locks"
PLACEHOLDER = "flaskgen-lock"  # the app_name of project_name "flaskgen lock"
PACKAGE = "\n[[package]]\n"
# The exports, as the generated project's pre-commit hook (and CI) and updates write them:
# the same arguments in the same order, which the files' headers record.
EXPORTS = {
    "production.txt": "--locked --no-annotate --no-dev --quiet --output-file requirements/production.txt",
    "dev.txt": "--locked --no-annotate --quiet --output-file requirements/dev.txt",
}


def dependency_sets() -> dict[str, dict[str, object]]:
    """Each set's name (as copier.yml's `dependency_set` computes it) and answers that give it."""
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
    databases = config["database"]["choices"]
    databases = list(databases.values()) if isinstance(databases, dict) else list(databases)
    return {
        f"{database}{'-rabbitmq' if rabbitmq else ''}{'-token' if auth == 'token' else ''}": {
            "database": database,
            "use_rabbitmq": rabbitmq,
            "auth": auth,
        }
        for database in databases
        for rabbitmq in (False, True)
        for auth in ("none", "token")
    }


def render(dest: Path, answers: dict[str, object]) -> Path:
    import copier
    from copier.errors import DirtyLocalWarning

    data = {"project_name": "flaskgen lock", "ci": "none", "deploy_target": "none", **answers}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DirtyLocalWarning)  # the working tree, on purpose
        copier.run_copy(str(REPO_ROOT), dest, data=data, defaults=True, vcs_ref="HEAD", quiet=True)
    return dest


def own_entry_last(lock: str) -> str:
    """The lock with the project's own entry moved to the end, where uv.lock.jinja finds it."""
    head, *packages = lock.split(PACKAGE)
    own = [p for p in packages if p.startswith(f'name = "{PLACEHOLDER}"\n')]
    if len(own) != 1:
        raise SystemExit(f"expected one entry named {PLACEHOLDER} in the lock, found {len(own)}")
    return PACKAGE.join([head, *(p for p in packages if p is not own[0]), own[0]])


def uv(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # The uv beside this Python first: a pyenv shim would obey the project's .python-version.
    beside = Path(sys.executable).parent / "uv"
    uv_bin = str(beside) if beside.exists() else shutil.which("uv") or "uv"
    # The lock is universal (requires-python decides it), so this Python serves: the project's
    # .python-version may name one this machine lacks.
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_PYTHON": sys.executable}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([uv_bin, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def lock_set(name: str, answers: dict[str, object], *, upgrade: bool, check: bool, work: Path) -> list[str]:
    """Lock one dependency set; return what is stale (check) or write the files (otherwise)."""
    stored = LOCKS / name
    if not stored.is_dir():
        if check:
            return [f"{name}: no locks/{name}/ (run python scripts/lock_template.py)"]
        stored.mkdir(parents=True)
        for file in ("uv.lock", *EXPORTS):
            (stored / file).write_text("")  # so that the template renders; replaced below
    project = render(work / name, answers)
    lock = (stored / "uv.lock").read_text(encoding="utf-8")
    if lock:
        (project / "uv.lock").write_text(lock, encoding="utf-8")  # the pins to keep
    else:
        (project / "uv.lock").unlink()
    args = [
        "lock",
        *(["--check", "--offline"] if check else ["--quiet"]),
        *(["--upgrade"] if upgrade else []),
    ]
    locked = uv(*args, cwd=project)
    if locked.returncode != 0:
        if check:
            return [f"{name}: uv.lock is stale: {locked.stderr.strip().splitlines()[-1:]}"]
        raise SystemExit(f"uv lock failed for {name}:\n{locked.stderr}")
    stale = []
    for file, options in EXPORTS.items():
        exported = uv("export", *options.split(), cwd=project)
        if exported.returncode != 0:
            raise SystemExit(f"uv export failed for {name}:\n{exported.stderr}")
        text = (project / "requirements" / file).read_text(encoding="utf-8")
        if check and text != (stored / file).read_text(encoding="utf-8"):
            stale.append(f"{name}: locks/{name}/{file} differs from uv export")
        elif not check:
            (stored / file).write_text(text, encoding="utf-8")
    if not check:
        (stored / "uv.lock").write_text(
            own_entry_last((project / "uv.lock").read_text(encoding="utf-8")), encoding="utf-8"
        )
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="change nothing; exit 1 if a lock is stale")
    mode.add_argument("--upgrade", action="store_true", help="upgrade every unpinned package")
    options = parser.parse_args(argv)
    stale: list[str] = []
    with tempfile.TemporaryDirectory(prefix="flaskgen-lock-") as work:
        for name, answers in dependency_sets().items():
            stale += lock_set(name, answers, upgrade=options.upgrade, check=options.check, work=Path(work))
    for line in stale:
        print(line, file=sys.stderr)
    if not options.check:
        print(f"wrote {LOCKS.relative_to(REPO_ROOT)}/: {', '.join(dependency_sets())}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
