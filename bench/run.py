"""flaskgen's benchmarks: its cost over raw Copier, start-up, update, check, and the generated app.

    python bench/run.py            # about 8 minutes on a quiet machine; writes bench/RESULTS.md
    python bench/run.py --quick    # fewer pyperf processes and values, about 4 minutes
    python bench/run.py --only drift --merge   # refresh one family's sections of RESULTS.md

flaskgen is installed from this checkout (or --source) into a new venv under /tmp, not
editable and with bytecode compiled, as a user's `pip install` leaves it. pyperf times every
command and call (bench/timing.py says how); this runner prepares the work directory, runs
each family of measurements and writes RESULTS.md from pyperf's JSON files. Targets are goals
to compare against, not assertions.

Needs pyperf and uv (`pip install -e '.[bench]'`), git, PyPI or a warm uv cache for the
installs, and wrk for the HTTP load (`apt-get install -y wrk`; without it, Python threads).
The container figures (bench/container.py) also need the test extra, a Docker engine,
docker-registry and PostgreSQL on 127.0.0.1 (`--only container` runs them alone).
Servers listen on 127.0.0.1 only and are stopped before the script ends; every loop is bounded
in count and in time.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # `python bench/run.py`: import the bench package from this checkout
    sys.path[0] = str(REPO_ROOT)

try:
    import pyperf
except ImportError:
    raise SystemExit("bench/run.py needs pyperf: pip install -e '.[bench]'") from None

from bench import drift, generator, project, report, server, timing, update, workspace  # noqa: E402
from bench.explain import explain  # noqa: E402
from bench.load import LoadGenerator  # noqa: E402
from bench.report import Section  # noqa: E402
from bench.workspace import BenchError, Workspace  # noqa: E402

RESULTS = REPO_ROOT / "bench" / "RESULTS.md"
SECTIONS = ("new", "startup", "update", "check", "drift", "project", "server", "container")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer pyperf processes, values and load rounds")
    parser.add_argument(
        "--source",
        default=str(REPO_ROOT),
        help="what to install as flaskgen: a checkout, a wheel or a git URL (default: this checkout)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="run only this part (repeatable); RESULTS.md is then not written unless --output is given",
    )
    parser.add_argument(
        "--load",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator for the server figures (auto: wrk if installed, else Python threads)",
    )
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections of the load")
    parser.add_argument("--output", type=Path, help=f"where to write the results (default {RESULTS})")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="with --only: replace only those sections in the results file, keeping the others",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory under /tmp")
    return parser.parse_args(argv)


def cpu_busy() -> float:
    """CPU seconds the whole machine has been busy, from /proc/stat."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / CLK_TCK


def own_cpu() -> float:
    """CPU seconds of this process and its children: pyperf's processes, the commands, the servers."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def machine(ws: Workspace, load: LoadGenerator, noise: str) -> dict[str, str]:
    """The machine as pyperf recorded it in the results, and the versions measured."""
    meta = report.Results.load(sorted(ws.results.glob("*.json"))).first_metadata()
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8")
    memory = re.search(r"(?m)^MemTotal:\s*(\d+) kB", meminfo)
    return {
        "CPU": str(meta.get("cpu_model_name", "unknown")),
        "cores": f"{meta.get('cpu_count', os.cpu_count())} ({len(os.sched_getaffinity(0))} usable here)",
        "memory": f"{int(memory[1]) / 1024**2:.1f} GiB" if memory else "unknown",
        "OS": str(meta.get("platform", "unknown")),
        "Python": str(meta.get("python_version", sys.version.split()[0])),
        **ws.versions,
        "pyperf": pyperf.__version__,
        "load generator": load.description,
        "noise": noise,
    }


def method(plan: timing.Plan) -> str:
    return (
        f"pyperf ({plan.name} plan) ran each command in {plan.rounds} rounds of one worker process "
        f"each: a warm-up run, then {plan.values} timed runs ({plan.values * 2} for start-up, 1 for "
        "new-to-green), the benchmarks of a section alternating their order from round to round; "
        "each section says how many values it got. **median** is the figure, **best** the fastest "
        "run (pyperf's minimum) and **mean ± stdev** the spread: where median and best are far "
        "apart, or the deviation is large, the machine was busy. flaskgen was installed with "
        "`uv pip install --compile-bytecode` into a new venv and every command ran without "
        "`PYTHONDONTWRITEBYTECODE`, as on a user's machine. Targets are judged on the median, at "
        "the precision shown."
    )


def measure_container(ws: Workspace, plan: timing.Plan) -> Section:
    try:
        from bench import container  # imports tests/containers.py, hence pytest
    except ImportError as exc:
        raise BenchError(f"the container figures need the test extra (.[test]): {exc}") from None
    return container.measure(ws, plan)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = timing.QUICK if args.quick else timing.FULL
    only = set(args.only or SECTIONS)
    output = args.output or (RESULTS if not args.only or args.merge else None)
    load = LoadGenerator(args.load, args.connections)
    started = datetime.datetime.now(datetime.UTC)
    start = time.monotonic()
    busy_before, own_before, load_before = cpu_busy(), own_cpu(), os.getloadavg()

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    work = Path(tempfile.mkdtemp(prefix="flaskgen-bench-"))
    sections: list[Section] = []
    failures: dict[str, str] = {}

    def attempt(key: str, measure: Callable[[], Section]) -> None:
        if key not in only:
            return
        print(f"[{time.monotonic() - start:5.0f} s] {key} ...", flush=True)
        try:
            section = measure()
        except BenchError as exc:
            failures[key] = str(exc)
            print(f"  failed: {exc}", file=sys.stderr, flush=True)
            return
        sections.append(section)
        print("\n".join(report.table(section.rows)), flush=True)

    def prepare(key: str, *steps: Callable[[Workspace], None]) -> bool:
        try:
            for step in steps:
                step(ws)
        except BenchError as exc:
            failures[f"{key}: setup"] = str(exc)
            return False
        ws.save()
        return True

    try:
        print(f"Installing flaskgen from {args.source} into {work / 'venv'} ...", flush=True)
        ws = workspace.install(work, args.source)
        ws.save()
        attempt("new", lambda: generator.measure_new(ws, plan))
        attempt("startup", lambda: generator.measure_startup(ws, plan))
        if only & {"update", "check"} and prepare(
            "update and check", workspace.make_template_repo, workspace.make_project_v1
        ):
            attempt("update", lambda: update.measure_update(ws, plan))
            attempt("check", lambda: update.measure_check(ws, plan))
        if "drift" in only and prepare("drift", drift.make_fleet):
            attempt("drift", lambda: drift.measure_drift(ws, plan))
        if only & {"project", "server"} and prepare(
            "project and server", lambda ws: workspace.make_app(ws, pyperf.__version__)
        ):
            attempt("project", lambda: project.measure(ws, plan))
            attempt("server", lambda: server.measure_server(ws, plan, load))
        # The image on a real Docker engine (needs the test extra, the engine and PostgreSQL).
        attempt("container", lambda: measure_container(ws, plan))
        elapsed = time.monotonic() - start
        others = max(0.0, (cpu_busy() - busy_before) - (own_cpu() - own_before))
        share = others / (elapsed * (os.cpu_count() or 1))
        noise = (
            f"other processes used {share:.0%} of the CPUs during the run; 1-minute load average "
            f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after"
        )
        if share > 0.1:
            noise += " (a shared machine: figures near a target may land on either side on a quieter run)"
        info = machine(ws, load, noise)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BenchError as exc:
        print(f"bench/run.py: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\nDone in {elapsed:.0f} s; {noise}.")
    if output is not None:
        command = "python bench/run.py" + (" --quick" if args.quick else "")
        if args.merge and args.only:
            command += "".join(f" --only {key}" for key in args.only) + " --merge"
        text = report.render(
            sections,
            failures,
            info,
            command=command,
            started=started,
            elapsed=elapsed,
            method=method(plan),
            explain=explain,
        )
        if args.merge and args.only and output.is_file():
            titles = [section.title for section in sections]
            refreshed = (
                f"Refreshed by `{command}` on {started:%Y-%m-%d %H:%M} UTC ({elapsed / 60:.1f} "
                f"minutes, {plan.name} plan, flaskgen {info['flaskgen']}, the machine as above): "
                + "; ".join(f"*{title}*" for title in titles)
                + f". Noise during that run: {noise}."
            )
            text = report.merge(output.read_text(encoding="utf-8"), text, titles, refreshed)
        output.write_text(text, encoding="utf-8")
        print(f"Wrote {output}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
