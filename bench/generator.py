"""The generator: `flaskgen new` against `copier copy` of the same template, and start-up.

Run by the runner (`measure_new`, `measure_startup`); `python -m bench.generator` is the pyperf
script whose worker processes time the commands.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from bench import timing
from bench.report import Results, Section, ratio_row, timed_row, versus
from bench.workspace import SLUG, BenchError, Workspace

NEW = "flaskgen new"
COPY = "copier copy"
STARTUP = {
    "python -c pass": ("python", "-c", "pass"),
    "flaskgen --help": ("flaskgen", "--help"),
    "import flaskgen.cli": ("python", "-c", "import flaskgen.cli"),
    "import copier": ("python", "-c", "import copier"),
    "copier --help": ("copier", "--help"),
}


def copier_copy_command(ws: Workspace) -> list[str]:
    """Plain Copier rendering what `flaskgen new` renders: the same bundle, the same version."""
    return [ws.copier, "copy", "--defaults", "--quiet", "--vcs-ref", ws.bundle_ref, ws.bundle]


def measure_new(ws: Workspace, plan: timing.Plan) -> Section:
    files = same_output(ws)
    results = Results.load([timing.run_rounds(ws, "generator", "new", plan)])
    section = Section("new", "flaskgen new against copier copy (bundled template, default answers, quiet)")
    section.figures.update(versus(results, NEW, COPY))
    section.rows += [
        timed_row(results, NEW, "`flaskgen new DEST --defaults --quiet`"),
        timed_row(results, COPY, "`copier copy --defaults --quiet --vcs-ref REF BUNDLE DEST`"),
        ratio_row(results, NEW, COPY, "flaskgen new / copier copy", "≤ 1.10x", "new"),
    ]
    section.notes += [
        f"pyperf, for each command: {results.counts(NEW)}; the two alternate by round.",
        "Both render the template history flaskgen installs (`~/.local/share/flaskgen/template.bundle`, "
        "a git bundle: Copier clones it) at the same version into a new folder of the same name and "
        "write the same files (checked before timing). flaskgen also refreshes the installed bundle, "
        "reads copier.yml to check the answers, renders into a staging folder and moves it into place.",
    ]
    bytecode = [name for name in files if name.endswith(".pyc")]
    if bytecode:
        section.notes.append(
            f"The project has {len(files)} files, {len(bytecode)} of them `.pyc` files that the install "
            "compiled inside the bundled template's `__pycache__` folders and both tools copied: "
            "copier.yml sets no `_exclude`, and with `_subdirectory` Copier's default one does not "
            "apply. Excluding `__pycache__` and `*.pyc` would keep them out of every project."
        )
    return section


def measure_startup(ws: Workspace, plan: timing.Plan) -> Section:
    results = Results.load([timing.run_rounds(ws, "generator", "startup", plan, values=plan.values * 2)])
    section = Section("startup", "Start-up")
    section.figures.update(
        help=results.median("flaskgen --help"),
        python=results.median("python -c pass"),
        import_cli=results.median("import flaskgen.cli"),
        import_copier=results.median("import copier"),
    )
    section.rows += [
        timed_row(results, "python -c pass", "`python -c pass` (the interpreter alone)"),
        timed_row(results, "flaskgen --help", "`flaskgen --help`", "≤ 0.20 s", 0.2, "help"),
        timed_row(results, "import flaskgen.cli", "`python -c 'import flaskgen.cli'` (Typer, no Copier)"),
        timed_row(results, "import copier", "`python -c 'import copier'`"),
        timed_row(results, "copier --help", "`copier --help` (for comparison)"),
    ]
    section.notes.append(f"pyperf, for each command: {results.counts('flaskgen --help')}.")
    return section


def same_output(ws: Workspace) -> list[str]:
    """Refuse to compare flaskgen with Copier unless both write the same project; its files."""
    ours = ws.fresh_dir("same-flaskgen") / SLUG
    theirs = ws.fresh_dir("same-copier") / SLUG
    ws.run([ws.flaskgen, "new", ours, "--defaults", "--quiet"])
    ws.run([*copier_copy_command(ws), theirs])
    a, b = files_of(ours), files_of(theirs)
    differ = sorted(name for name in a.keys() | b.keys() if a.get(name) != b.get(name))
    if differ:
        raise BenchError(f"flaskgen new and copier copy wrote different projects: {', '.join(differ[:10])}")
    shutil.rmtree(ours.parent)
    shutil.rmtree(theirs.parent)
    return sorted(a)


def files_of(root: Path) -> dict[str, bytes]:
    files = {}
    for path in root.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            if path.name == ".copier-answers.yml":  # the template's path may be written differently
                content = re.sub(rb"(?m)^_src_path:.*$", b"", content)
            files[str(path.relative_to(root))] = content
    return files


def into_new_folder(ws: Workspace, command: list[str], name: str):
    def once() -> float:
        where = ws.fresh_dir(name)
        elapsed = ws.timed([*command, where / SLUG])
        shutil.rmtree(where)  # not timed
        return elapsed

    return once


def main() -> None:
    perf, args, ws = timing.runner("generator")
    if args.part == "new":
        benchmarks = {
            NEW: into_new_folder(ws, [ws.flaskgen, "new", "--defaults", "--quiet"], "new"),
            COPY: into_new_folder(ws, copier_copy_command(ws), "copy"),
        }
    else:
        programs = {"python": ws.python, "flaskgen": ws.flaskgen, "copier": ws.copier}
        benchmarks = {
            name: (lambda command=(programs[argv[0]], *argv[1:]): ws.timed(command))
            for name, argv in STARTUP.items()
        }
    timing.bench_all(perf, benchmarks, args.reverse)


if __name__ == "__main__":
    main()
