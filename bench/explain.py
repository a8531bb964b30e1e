"""Why a figure missed its target, and what would fix it: the text RESULTS.md gives for each miss."""

from __future__ import annotations

from bench.report import Section


def explain(key: str, section: Section) -> str:
    """Why a figure missed its target and what would fix it.

    The figures come from this run; the causes were found with cProfile and -X importtime
    when the benchmark was written, and are worth re-checking when a figure moves.
    """
    f = section.figures
    if key == "new":
        return (
            f"flaskgen new took {f['flaskgen']:.3f} s against {f['copier']:.3f} s for copier copy. "
            "Before Copier runs, flaskgen imports Typer (its CLI layer: compare `import "
            "flaskgen.cli` with the bare interpreter in the start-up table), parses copier.yml "
            "with PyYAML's pure-Python loader to check the answers (Copier parses it again), "
            "runs `git rev-parse` once, and moves the staging folder into place. Recent Typer also "
            "builds a pydantic TypeAdapter per option on first use. Fixes, largest first: parse "
            "copier.yml with `yaml.CSafeLoader` when libyaml is there (several times faster), or "
            "check the answers against the questionnaire Copier loads instead of parsing twice; "
            "give `new` fewer typed options."
        )
    if key == "help":
        return (
            f"`flaskgen --help` took {f['help']:.3f} s: the interpreter alone {f['python']:.3f} s, "
            f"importing the CLI module {f['import_cli']:.3f} s. Keep Copier, YAML and Rich out of "
            "the CLI module's imports (commands import them when they run) and look at "
            "`python -X importtime -m flaskgen --help` for what crept in."
        )
    if key == "update":
        return (
            f"flaskgen update took {f['flaskgen']:.3f} s against {f['copier']:.3f} s for copier "
            "update. Copier's own update renders the template twice in temporary git "
            "repositories; what flaskgen adds runs before it: git subprocesses (status, tags, "
            "rev-parse) of a few milliseconds each and, if it reads copier.yml itself, about "
            "15 ms to parse it with PyYAML. "
            "Profile with `python -m cProfile -s cumtime -m flaskgen update ...` and drop "
            "duplicated git calls and parses."
        )
    if key == "tests":
        return (
            f"The project's tests took {f['tests']:.3f} s. Most of a run of this suite is start-up "
            "(importing pytest, Flask, SQLAlchemy and Alembic); see `pytest --durations=10` for "
            "tests that grew slow, and keep migration round trips on one in-memory database."
        )
    if key == "healthz":
        session = max(f["keyed_us"] - f["healthz_bare_us"], 0)
        return (
            f"The generated app served {f['healthz_ratio']:.2f} of the bare app's requests per "
            f"second on /healthz and {f['healthz_cpu_ratio']:.2f} of its requests per server "
            "CPU-second. In-process (the fastest values) it takes "
            f"{f['healthz_generated_us']:.0f} µs a request against "
            f"{f['healthz_bare_us']:.0f} µs. The difference is Flask's cookie session, which "
            f"SECRET_KEY switches on ({session:.0f} µs here: the bare app with a key takes "
            f"{f['keyed_us']:.0f} µs; every request builds an itsdangerous serializer and looks "
            "for the session cookie), and Flask-SQLAlchemy's session teardown (the rest). Under "
            "Gunicorn that is a smaller share of a request; on a busy machine the requests per "
            "second also move with other processes' load, which the per-CPU-second ratio "
            "discounts. What would close the gap: a JSON API that never uses `flask.session` "
            "could set `app.session_interface` to one that opens no session; nothing else the "
            "generated app does per request costs measurably in-process."
        )
    if key == "users":
        return (
            f"The generated app served {f['users_ratio']:.2f} of the bare app's requests per second "
            f"on GET /api/users and {f['users_cpu_ratio']:.2f} of its requests per server "
            "CPU-second. In-process (the fastest values) it takes "
            f"{f['users_generated_us']:.0f} µs a request against "
            f"{f['users_bare_us']:.0f} µs: the bare app returns the JSON from memory, the "
            "generated one reads the database through SQLAlchemy's ORM on every request, which "
            "is what the endpoint is for. cProfile splits that time into the session around any "
            "query (a pooled SQLite connection, a transaction, closing it at teardown: about "
            "100 µs), building the SELECT and its cache key on every call (about 130 µs), and "
            "loading and serialising the users. No app that queries its database per request "
            "reaches 0.85 of one that does not. What would bring it closer: build the statement "
            "once with `bindparam()` for limit and offset (about 20% less per request when "
            "measured), select the four columns rather than whole User objects (about 10%), or "
            "cache the list until the next POST."
        )
    if key == "image size":
        return (
            f"The image adds {f['size']:.1f} MiB to its base. The Dockerfile already leaves out "
            "pip, uv and caches, keeps the dependencies as bytecode alone (no sources, no column "
            "tables), strips the debug information of compiled extensions and, with PostgreSQL, "
            "builds psycopg's C extension over Debian's libpq5; the packages above are what is "
            "left. The levers still open: fewer dependencies (each package's size is in the "
            "table), and bytecode only for the modules the app imports."
        )
    if key == "start":
        return (
            f"The first `/healthz` answered {f['healthz']:.2f} s after `docker run` was called. "
            "The figure includes the engine's own work (creating the container, its read-only "
            "root and tmpfs, then starting it) before Gunicorn imports the app and forks its "
            "workers; on a machine whose other processes keep both CPUs busy each of these "
            "waits its turn. The image already ships the app and its dependencies compiled to "
            "bytecode; what is left is import time (`python -X importtime -c 'import APP'` in "
            "the image shows the largest imports) and Gunicorn's preload, if turned on."
        )
    if key == "release":
        return (
            "A release pulls, migrates in a one-off container, then waits for the new container's "
            "health check, run every half second; see the deploy script's output for the step "
            "that grew."
        )
    if key == "failed requests":
        return (
            f"{f['failed']:.0f} requests failed during the releases. Check that the host has "
            "net.ipv4.tcp_migrate_req=1 (the deploy script warns) and the errors in the notes."
        )
    if key == "drift":
        return (
            f"40 cold renders took {f['cold']:.3f} s of wall time and {f['cold_cpu']:.3f} s of CPU "
            "(the command and its render processes). With two free cores the wall time should come "
            "near half the CPU time plus start-up (an estimate: no quiet machine was at hand to "
            "measure it); when other processes hold the CPUs it stretches with their load, which "
            "the CPU figure does not. Per render, "
            "most of the time is Copier's own work: rendering each path and file through Jinja, "
            "writing the files (to /dev/shm) and asking the questions; flaskgen already shares "
            "the parsed template, Jinja's compiled code and the context between renders of one "
            "version. What would cut more: fewer renders (projects of a team that share answers "
            "share a render), or rendering to memory instead of files, which needs Copier's "
            "support."
        )
    if key == "sync":
        return (
            f"`uv sync` took {f['sync']:.3f} s (warm cache) against {f['pip_install']:.3f} s for "
            "`uv venv` + `uv pip install -r` in the same run. It creates the venv, resolves "
            "nothing (the lock is read as is) and links the cached wheels: on a busy machine most "
            "of its time is waiting for a CPU. `UV_LINK_MODE=hardlink` (uv's default where cache and "
            "project share a file system) is the fast path; a cache on another file system makes "
            "uv copy every file."
        )
    if key in ("healthz_metrics", "users_metrics"):
        path = "/healthz" if key == "healthz_metrics" else "GET /api/users"
        return (
            f"With METRICS_PORT set the generated app served {f[key + '_ratio']:.2f} of its requests per "
            f"second without on {path}. Each request takes a histogram observation (a lock and "
            "writes to a memory-mapped file per bucket touched, in prometheus_client's multiprocess "
            "mode) and each database checkout and checkin sets two gauges. Fixes: fewer buckets "
            "(metrics.BUCKETS), or dropping the pool gauges' per-checkout updates for a periodic one."
        )
    return ""
