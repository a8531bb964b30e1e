"""pyperf does the timing: each family module is a pyperf script, run here in alternating rounds.

A round is one pyperf invocation with one worker process per benchmark: it runs every
benchmark once to warm up, then `values` times, and appends the values to the family's JSON
file (`--append`). Odd rounds run the benchmarks in reverse order, so that a busy moment of the
machine is spread over flaskgen and Copier instead of falling on one of them.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.workspace import REPO_ROOT, Workspace


@dataclass(frozen=True)
class Plan:
    name: str
    rounds: int  # pyperf worker processes per benchmark, one per round
    values: int  # timed runs per process, after one warm-up run
    loops: int  # calls per value of the in-process benchmarks (Flask's test client)
    load_seconds: float  # one round of HTTP load on a server
    load_rounds: int


FULL = Plan("full", rounds=3, values=3, loops=500, load_seconds=3, load_rounds=5)
QUICK = Plan("quick", rounds=2, values=2, loops=200, load_seconds=2, load_rounds=1)


def run_rounds(
    ws: Workspace,
    module: str,
    part: str,
    plan: Plan,
    *,
    values: int | None = None,
    warmups: int = 1,
    loops: int = 1,
    python: str = sys.executable,
    cwd: Path = REPO_ROOT,
    pythonpath: Sequence[Path] = (REPO_ROOT,),
    inherit: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> Path:
    """Run `python -m bench.MODULE --part PART` under pyperf `plan.rounds` times; its JSON file."""
    output = ws.results / f"{part}.json"
    for index in range(plan.rounds):
        args = [python, "-m", f"bench.{module}", "--part", part, "--state", ws.state_file]
        args += ["--quiet", "--processes", "1", "--warmups", str(warmups), "--loops", str(loops)]
        args += ["--values", str(values or plan.values), "--append", output]
        if inherit:
            args.append(f"--inherit-environ={','.join(inherit)}")
        if index % 2:
            args.append("--reverse")
        # pyperf gives its workers PATH, HOME, PYTHONPATH, the locale and `inherit` only.
        base = env or dict(os.environ)
        ws.run(args, cwd=cwd, env=dict(base, PYTHONPATH=os.pathsep.join(map(str, pythonpath))), timeout=1800)
    return output


def runner(module: str):  # -> tuple[pyperf.Runner, argparse.Namespace, Workspace]
    """The pyperf Runner of a family module, the options the rounds pass to its workers, the workspace."""
    import pyperf

    def forward(command: list[str], args) -> None:
        command += ["--part", args.part, "--state", args.state]
        if args.reverse:
            command.append("--reverse")

    perf = pyperf.Runner(program_args=("-m", f"bench.{module}"), add_cmdline_args=forward)
    perf.argparser.add_argument("--part", required=True)
    perf.argparser.add_argument("--state", required=True, help="the workspace's state.json")
    perf.argparser.add_argument("--reverse", action="store_true", help="run the benchmarks in reverse")
    args = perf.parse_args()
    return perf, args, Workspace.load(args.state)


def time_func(once: Callable[[], float]) -> Callable[[int], float]:
    """A pyperf time function from one timed run: `once` does its own untimed setup and checks."""

    def measure(loops: int) -> float:
        return math.fsum(once() for _ in range(loops))

    return measure


def bench_all(perf, benchmarks: dict[str, Callable[[], float]], reverse: bool) -> None:
    """Give each benchmark to pyperf, in the order of the round."""
    names = list(reversed(benchmarks)) if reverse else list(benchmarks)
    for name in names:
        perf.bench_time_func(name, time_func(benchmarks[name]))
