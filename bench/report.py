"""RESULTS.md from pyperf's JSON files: the tables, the machine, the noise and the missed targets.

pyperf computes every statistic shown: median, minimum (best), mean and standard deviation.
The family modules turn its benchmarks into rows; this module only formats them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyperf


@dataclass
class Row:
    label: str
    median: str
    best: str = ""
    spread: str = ""  # mean ± standard deviation
    target: str = ""
    met: bool | None = None  # None: no target, or nothing measured
    key: str = ""  # names the explanation RESULTS.md gives when the target is missed
    best_met: bool | None = None  # whether the best run meets the target


@dataclass
class Section:
    key: str
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Figures the explanations of missed targets quote.
    figures: dict[str, float] = field(default_factory=dict)


class Results:
    """pyperf's benchmarks by name, from the JSON files the rounds wrote."""

    def __init__(self, benchmarks: Iterable[pyperf.Benchmark]) -> None:
        self.benchmarks = {bench.get_name(): bench for bench in benchmarks}

    @classmethod
    def load(cls, paths: Iterable[Path]) -> Results:
        benchmarks: list[pyperf.Benchmark] = []
        for path in paths:
            if path.is_file():
                benchmarks += pyperf.BenchmarkSuite.load(str(path)).get_benchmarks()
        return cls(benchmarks)

    def __contains__(self, name: str) -> bool:
        return name in self.benchmarks

    def median(self, name: str) -> float:
        return self.benchmarks[name].median()

    def best(self, name: str) -> float:
        return min(self.benchmarks[name].get_values())

    def spread(self, name: str) -> str:
        bench = self.benchmarks[name]
        if bench.get_nvalue() < 2:
            return ""
        return f"{seconds(bench.mean())} ± {seconds(bench.stdev())}"

    def relative_spread(self, name: str) -> str:
        bench = self.benchmarks[name]
        if bench.get_nvalue() < 2:
            return ""
        return f"± {bench.stdev() / bench.mean():.1%}"

    def counts(self, name: str) -> str:
        """How the values were taken: processes, values per process, warm-ups."""
        bench = self.benchmarks[name]
        runs = bench.get_runs()
        warmups = sum(len(run.warmups) for run in runs)
        return f"{bench.get_nvalue()} values from {len(runs)} processes, after {warmups} warm-up runs"

    def metadata(self, name: str) -> dict[str, object]:
        return self.benchmarks[name].get_metadata()

    def first_metadata(self) -> dict[str, object]:
        for bench in self.benchmarks.values():
            return bench.get_metadata()
        return {}


def seconds(value: float) -> str:
    if value < 0.1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def times(a: float, b: float) -> str:
    return f"{a / b:.2f}x"


def versus(results: Results, flaskgen: str, copier: str) -> dict[str, float]:
    """The figures the explanation of a flaskgen-against-Copier miss quotes."""
    ratio = results.median(flaskgen) / results.median(copier)
    return {"flaskgen": results.median(flaskgen), "copier": results.median(copier), "ratio": ratio}


def timed_row(
    results: Results, name: str, label: str, target: str = "", limit: float = 0, key: str = ""
) -> Row:
    """A row of a time: median, best and spread; the target is met when the median ≤ `limit`."""
    median = results.median(name)
    best = results.best(name)
    met, best_met = (median <= limit, best <= limit) if target else (None, None)
    return Row(label, seconds(median), seconds(best), results.spread(name), target, met, key, best_met)


def ratio_row(results: Results, a: str, b: str, label: str, target: str = "", key: str = "") -> Row:
    """a / b on the medians and on the best runs; a target `≤ 1.10x` is met at the precision shown."""
    ratio, best = results.median(a) / results.median(b), results.best(a) / results.best(b)
    limit = float(target.strip("≤ x")) if target else 0
    met, best_met = (round(ratio, 2) <= limit, round(best, 2) <= limit) if target else (None, None)
    return Row(label, f"{ratio:.2f}x", f"{best:.2f}x", "", target, met, key, best_met)


def missing(label: str, why: str, target: str = "") -> Row:
    return Row(label, why, target=target)


def render(
    sections: list[Section],
    failures: dict[str, str],
    machine: dict[str, str],
    *,
    command: str,
    started: datetime.datetime,
    elapsed: float,
    method: str,
    explain,  # (key, section) -> str
) -> str:
    lines = [
        "# flaskgen benchmarks",
        "",
        f"Written by `{command}` on {started:%Y-%m-%d %H:%M} UTC; the run took {elapsed / 60:.1f} "
        "minutes. Run it again to refresh this file: figures compare only on one machine, and "
        "targets are goals, not tests.",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {name} | {value} |" for name, value in machine.items()),
        "",
        method,
        "",
    ]
    missed = []
    for section in sections:
        lines += [f"## {section.title}", "", *table(section.rows), ""]
        lines += [f"- {note}" for note in section.notes]
        lines.append("")
        missed += [(row, section) for row in section.rows if row.met is False]
    for key, message in failures.items():
        lines += [f"## {key}: failed", "", "```", message.strip(), "```", ""]
    lines += ["## Targets missed", ""]
    if missed:
        for row, section in missed:
            # On a busy machine a median can miss while the code still can meet the target.
            best = (
                f" The best run ({row.best}) meets it, so on a busier run than usual the miss may be "
                "the machine's as much as the code's."
                if row.best_met
                else ""
            )
            why = explain(row.key, section)
            lines.append(f"- **{row.label}** ({row.median}, target {row.target}):{best} {why}")
    else:
        lines.append("None on this run: every measured figure met its target.")
    lines.append("")
    return "\n".join(lines)


def table(rows: list[Row]) -> list[str]:
    out = [
        "| measurement | median | best | mean ± stdev | target | met |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        out.append(f"| {row.label} | {row.median} | {row.best} | {row.spread} | {row.target} | {met} |")
    return out


def merge(existing: str, fresh: str, titles: list[str], refreshed: str) -> str:
    """`existing` RESULTS.md with the sections titled `titles` taken from `fresh` (a render of
    a run of only those sections); its other sections, and their missed targets, are kept.
    `refreshed` is a paragraph saying which run refreshed what, added below the first one."""
    old, new = _blocks(existing), dict(_blocks(fresh)[1:])
    headings = [f"## {title}" for title in titles]
    replaced = {label for heading, text in old if heading in headings for label in _labels(text)}
    kept_misses = [
        line for line in dict(old).get("## Targets missed", "").splitlines()
        if line.startswith("- **") and line[4:].split("**")[0] not in replaced
    ]  # fmt: skip
    fresh_misses = [line for line in new.get("## Targets missed", "").splitlines() if line.startswith("- **")]
    out: list[tuple[str, str]] = []
    for heading, text in old:
        if heading == "## Targets missed":
            out += [(h, new[h]) for h in headings if h in new and h not in dict(old)]
            misses = kept_misses + fresh_misses or ["None: every measured figure met its target."]
            text = "\n" + "\n".join(misses) + "\n\n"
        elif heading in headings and heading in new:
            text = new[heading]
        elif heading == "":
            first, _, rest = text.partition("\n\n")
            text = f"{first}\n\n{refreshed}\n\n{rest}"
        out.append((heading, text))
    return "".join(f"{heading}\n{text}" if heading else text for heading, text in out)


def _blocks(text: str) -> list[tuple[str, str]]:
    """(heading, text below it) for each `## ` heading; the first has heading "" (the preamble)."""
    blocks: list[tuple[str, str]] = [("", "")]
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            blocks.append((line.rstrip("\n"), ""))
        else:
            heading, body = blocks[-1]
            blocks[-1] = (heading, body + line)
    return blocks


def _labels(text: str) -> list[str]:
    """The measurement labels of a section's table."""
    labels = [line[2:].split(" | ")[0] for line in text.splitlines() if line.startswith("| ")]
    return [label for label in labels if label != "measurement"]
