"""A stand-in for `docker` in deploy tests: records every call, and really runs the command of
`docker run --rm ... IMAGE COMMAND...` here (with the --env-file), so a release step migrates a
real database. FAKE_HEALTH sets the health that `docker inspect` and the health check
(`docker exec`) report; FAKE_OLD the running container."""

import json
import os
import subprocess
import sys
from pathlib import Path

args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["docker", *args]) + "\n")

verb = args[0]
if verb == "run":
    rest = args[1:]
    env = dict(os.environ)
    detach = False
    i = 0
    while rest[i].startswith("-"):
        option = rest[i]
        if option in ("--rm", "--detach", "--init"):
            detach = detach or option == "--detach"
            i += 1
            continue
        value = rest[i + 1]
        if option == "--env-file":
            for line in Path(value).read_text().splitlines():
                if line.strip() and not line.startswith("#"):
                    key, _, val = line.strip().partition("=")
                    env[key] = val
        i += 2
    image, command = rest[i], rest[i + 1 :]
    if detach:
        print("new-container-id")
        sys.exit(0)
    sys.exit(subprocess.run(command or ["true"], env=env, cwd=os.environ["FAKE_WORKDIR"]).returncode)
if verb == "ps":
    print(os.environ.get("FAKE_OLD", ""))
elif verb == "inspect" and "Healthcheck.Test" in args[2]:
    print("CMD\ntrue")
elif verb == "inspect":
    print(f"running {os.environ.get('FAKE_HEALTH', 'healthy')}")
elif verb == "exec":
    sys.exit(0 if os.environ.get("FAKE_HEALTH", "healthy") == "healthy" else 1)
