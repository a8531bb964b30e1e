"""A stand-in for `kubectl` in deploy tests: records every call; `apply -f -` of a Job really runs
its container command here, with the ConfigMap's data and FAKE_SECRET_ENV (JSON) as environment,
so the migration Job migrates a real database; `get job` reports how it went."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

args = sys.argv[1:]
state = Path(os.environ["FAKE_LOG"]).with_suffix(".job")
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["kubectl", *args]) + "\n")

if args[:3] == ["apply", "-f", "-"]:
    manifest = yaml.safe_load(sys.stdin.read())
    with open(os.environ["FAKE_LOG"], "a") as log:
        log.write(json.dumps(["applied", manifest["kind"], manifest["metadata"]["name"]]) + "\n")
    if manifest["kind"] == "Job":
        container = manifest["spec"]["template"]["spec"]["containers"][0]
        config = yaml.safe_load(Path(os.environ["FAKE_MANIFESTS"], "configmap.yaml").read_text())
        env = {**os.environ, **config["data"], **json.loads(os.environ["FAKE_SECRET_ENV"])}
        code = subprocess.run(container["command"], env=env, cwd=os.environ["FAKE_WORKDIR"]).returncode
        state.write_text("succeeded" if code == 0 else "failed")
elif args[:2] == ["get", "job"]:
    outcome = state.read_text() if state.exists() else ""
    query = args[-1]
    if "succeeded" in query:
        print("1" if outcome == "succeeded" else "", end="")
    elif "Failed" in query:
        print("True" if outcome == "failed" else "", end="")
