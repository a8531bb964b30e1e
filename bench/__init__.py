"""flaskgen's benchmarks, run by `python bench/run.py`; pyperf times, wrk loads, RESULTS.md reports.

One module per family of measurements, each with a `measure…(ws, plan) -> Section` that the
runner calls and, when it times commands or calls, a pyperf script (`python -m bench.MODULE`):

- generator: `flaskgen new` against `copier copy`, and start-up;
- update: `flaskgen update` against `copier update`, and `flaskgen check`;
- drift: `flaskgen check` over a tree of 40 projects, with an empty and a warm render cache;
- project: the generated project's test suite, and an empty folder to green tests with uv;
- server: the generated app under Gunicorn against a bare Flask app (load.py, inprocess.py).

The rest is shared: workspace (the venv and projects under /tmp), timing (pyperf rounds),
report and explain (RESULTS.md). A new family, such as the container image, is a module of
the same shape plus one `attempt(...)` line in run.py.
"""
