"""Write template/openapi.json.jinja: the OpenAPI document a generated project's app serves.

A new project must hold the document its app serves (its tests and CI compare them), so the
template ships it. This renders the template, installs it from its lock, runs the project's own
`flask spec` and stores the result with the title (the project's name) as a Jinja expression.
Run it after changing a route, schema or error response in template/:

    python scripts/write_openapi_json.py          # rewrite template/openapi.json.jinja
    python scripts/write_openapi_json.py --check  # exit 1 if it is stale

The document depends on project_name and auth: the token answer adds the /api/auth routes, the
BearerAuth security scheme and its use on writes. Each value is rendered, and the lines only
auth=token's document has are written inside `<% if auth == "token" %>` blocks.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lock_template import REPO_ROOT, render

TARGET = REPO_ROOT / "template" / "openapi.json.jinja"
TITLE = "flaskgen lock"  # the project_name lock_template.render gives
# Jinja's tojson escapes <, >, & and ' for HTML; Flask's JSON (what `flask spec` writes) does not.
TITLE_EXPRESSION = (
    """<< project_name | tojson | replace("\\\\u003c", "<") | replace("\\\\u003e", ">")"""
    """ | replace("\\\\u0026", "&") | replace("\\\\u0027", "'") >>"""
)


def uv_binary() -> str:
    beside = Path(sys.executable).parent / "uv"  # not a pyenv shim, which obeys .python-version
    return str(beside) if beside.exists() else shutil.which("uv") or "uv"


def served_document(work: Path, auth: str) -> str:
    """`flask spec` of a freshly rendered and installed project."""
    project = render(work / f"project-{auth}", {"database": "sqlite", "use_rabbitmq": False, "auth": auth})
    venv = work / f"venv-{auth}"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_PROJECT_ENVIRONMENT": str(venv)}
    env.pop("VIRTUAL_ENV", None)
    subprocess.run(
        [uv_binary(), "sync", "--locked", "--quiet", "--python", sys.executable],
        cwd=project,
        env=env,
        check=True,
    )
    output = work / f"openapi-{auth}.json"
    subprocess.run(
        [str(venv / "bin" / "flask"), "spec", "--quiet", "--output", str(output)],
        cwd=project,
        env={**env, "APP_ENV": "testing"},
        check=True,
    )
    return output.read_text(encoding="utf-8")


def as_template(document: str) -> str:
    line = f'"title": {json.dumps(TITLE)}'
    if document.count(line) != 1:
        raise SystemExit(f"expected one {line} in the document")
    return document.replace(line, f'"title": {TITLE_EXPRESSION}')


def with_token_blocks(plain: str, token: str) -> str:
    """One template of both documents: lines only the token one has go in `<% if %>` blocks."""
    ours, theirs = plain.splitlines(keepends=True), token.splitlines(keepends=True)
    lines: list[str] = []
    matcher = difflib.SequenceMatcher(a=ours, b=theirs, autojunk=False)
    for operation, start, end, token_start, token_end in matcher.get_opcodes():
        if operation == "equal":
            lines += ours[start:end]
        elif operation == "insert":
            lines += ['<% if auth == "token" %>\n', *theirs[token_start:token_end], "<% endif %>\n"]
        else:  # the token document removes or changes a line: both versions, chosen by the answer
            lines += ['<% if auth == "token" %>\n', *theirs[token_start:token_end], "<% else %>\n"]
            lines += [*ours[start:end], "<% endif %>\n"]
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="flaskgen-openapi-") as work:
        documents = {auth: as_template(served_document(Path(work), auth)) for auth in ("none", "token")}
        template = with_token_blocks(documents["none"], documents["token"])
    relative = TARGET.relative_to(REPO_ROOT)
    if options.check:
        if TARGET.read_text(encoding="utf-8") != template:
            print(f"{relative} is stale: run python scripts/write_openapi_json.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(template, encoding="utf-8")
    print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
