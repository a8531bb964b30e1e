"""Template updates as pull requests, run by CI (see "Updating from the template" in README.md).

    python ci/template_update.py open --base main   # the scheduled job
    python ci/template_update.py check              # fails while an update's conflicts remain

`open` starts the branch `template-update` from the base branch, runs `flaskgen update`, commits
the result (conflict markers included), pushes the branch and opens one pull request (GitLab:
merge request) or refreshes the open one, listing the changed files and the conflicts. It never
overwrites a branch that holds commits of yours: resolve the conflicts there and merge.
A project already at the latest version gets no pull request (a stale branch is deleted).

The token is TEMPLATE_UPDATE_TOKEN. On GitHub the API is GITHUB_API_URL, the repository
GITHUB_REPOSITORY; on GitLab CI_API_V4_URL and CI_PROJECT_ID. Only the standard library is used,
so `check` runs on any Python 3.11+.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from pathlib import Path

BRANCH = "template-update"
TRAILER = "Template-Update:"  # marks the commits this job makes, to tell yours from them
ANSWERS = ".copier-answers.yml"
MARKERS = ("<<<<<<< ", ">>>>>>> ")
SKIPPED_DIRS = {".git", ".venv", "venv", ".cache", "node_modules", "__pycache__", ".mypy_cache"}
BASE_REF, BRANCH_REF = "refs/template-update/base", "refs/template-update/branch"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    opened = commands.add_parser("open", help="update on a branch, push it, open or refresh the PR")
    opened.add_argument("--base", required=True, help="the branch to update and to merge into")
    opened.add_argument("--branch", default=BRANCH, help=f"the update's branch (default: {BRANCH})")
    opened.add_argument("--remote", default="origin", help="the git remote (default: origin)")
    commands.add_parser("check", help="fail while conflict markers or .rej files remain")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check(Path.cwd())
    return open_pull_request(args.base, args.branch, args.remote)


def check(root: Path) -> int:
    """Exit 1 while a file holds conflict markers or a .rej file is left; say where."""
    found = _findings(root)
    for path, problem in found:
        print(f"{path}: {problem}")
    if found:
        print("Resolve the template update's conflicts: edit the files, delete .rej files, commit.")
        return 1
    print("No conflict markers or .rej files.")
    return 0


def _findings(root: Path) -> list[tuple[str, str]]:
    """(path, problem) for each conflict marker line and each .rej file under root."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(folder, name)
            relative = str(path.relative_to(root))
            if name.endswith(".rej"):
                found.append((relative, "a change the update could not apply (a .rej file)"))
                continue
            found += [(relative, f"line {line}: a conflict marker") for line in _marker_lines(path)]
    return found


def _marker_lines(path: Path) -> list[int]:
    try:
        data = path.read_bytes()
    except OSError:
        return []
    if b"\0" in data[:8192]:
        return []  # binary
    lines = data.decode("utf-8", "replace").splitlines()
    return [n for n, line in enumerate(lines, 1) if line.startswith(MARKERS) or line == "<<<<<<<"]


def open_pull_request(base: str, branch: str, remote: str) -> int:
    forge = _forge()
    existing = _fetch(remote, base, branch)
    if existing is not None:
        yours = _commits_of_others(existing)
        if yours:
            print(f"{branch} has commits that this job did not make ({yours[0]}): left as it is.")
            return 0
    _git("checkout", "-q", "-B", branch, BASE_REF)
    before = _version()
    updated = subprocess.run(["flaskgen", "update", "--defaults"], check=False)  # noqa: S607
    if updated.returncode not in (0, 1):  # 1: conflicts, committed for you to resolve
        return updated.returncode
    changed = _git("status", "--porcelain", "--untracked-files=all").stdout.splitlines()
    if not changed:
        print(f"Already at the latest template version ({before}).")
        if existing is not None:
            lease = f"--force-with-lease={branch}:{existing}"
            _git_remote("push", "-q", remote, lease, f":refs/heads/{branch}")
            print(f"Deleted the stale branch {branch}.")
        return 0
    after = _version()
    conflicts = _conflicts()
    _git("add", "-A")
    message = f"Update the template from {before} to {after}\n\n{TRAILER} {after}\n"
    _git("commit", "-q", "--no-verify", "-F", "-", input=message)
    if existing is not None and _same_update(existing):
        print(f"{branch} already holds this update.")
    else:
        lease = f"--force-with-lease={branch}:{existing or ''}"
        _git_remote("push", "-q", remote, lease, f"HEAD:refs/heads/{branch}")
    title = f"Update the template from {before} to {after}"
    listed = _git("diff", "--name-status", "--no-renames", BASE_REF, "HEAD").stdout.splitlines()
    body = _body(before, after, [line.replace("\t", " `", 1) + "`" for line in listed], conflicts)
    url = forge.open_or_refresh(branch, base, title, body)
    print(f"{title}: {url}")
    for name in conflicts:
        print(f"conflict: {name}")
    return 0


def _same_update(existing: str) -> bool:
    """Whether the branch already holds this update: the same files, on the same base commit."""
    same_files = _git("diff", "--quiet", existing, "HEAD", check=False).returncode == 0
    parent = _git("rev-parse", f"{existing}^").stdout
    return same_files and parent == _git("rev-parse", BASE_REF).stdout


def _body(before: str, after: str, changed: list[str], conflicts: list[str]) -> str:
    lines = [
        f"`flaskgen update` brought this project from template version {before} to {after}.",
        "",
        "Changed files (A added, M modified, D deleted):",
        *(f"- {name}" for name in changed),
        "",
    ]
    if conflicts:
        lines += [
            "Conflicts to resolve (CI fails until they are): your edits and the template's meet:",
            *(f"- `{name}`" for name in conflicts),
            "",
            "Check out this branch, edit the files (markers `<<<<<<<`) or apply the `.rej` files, "
            "commit and push: this job leaves a branch with your commits alone.",
        ]
    else:
        lines.append("No conflicts. Review the diff, let CI run, merge.")
    lines += ["", "Opened by the template-update job (`ci/template_update.py`)."]
    return "\n".join(lines)


def _conflicts() -> list[str]:
    unmerged = _git("diff", "--name-only", "--diff-filter=U").stdout.split()
    return sorted(set(unmerged) | {path for path, _ in _findings(Path.cwd())})


def _version() -> str:
    text = Path(ANSWERS).read_text(encoding="utf-8")
    found = re.search(r"^_commit: *['\"]?([^'\"\n]+)", text, re.MULTILINE)
    return found.group(1).strip() if found else "unknown"


def _fetch(remote: str, base: str, branch: str) -> str | None:
    """Fetch the base branch, and the update branch if it exists (its commit id, else None)."""
    _git_remote("fetch", "-q", remote, f"+refs/heads/{base}:{BASE_REF}")
    listed = _git_remote("ls-remote", "--heads", remote, f"refs/heads/{branch}").stdout.split()
    if not listed:
        _git("update-ref", "-d", BRANCH_REF, check=False)
        return None
    _git_remote("fetch", "-q", remote, f"+refs/heads/{branch}:{BRANCH_REF}")
    return _git("rev-parse", BRANCH_REF).stdout.strip()


def _commits_of_others(tip: str) -> list[str]:
    """Commits on the update branch, not on the base branch, that this job did not make."""
    log = _git("log", "--format=%h %s%x00%B%x01", f"{BASE_REF}..{tip}").stdout
    others = []
    for entry in filter(None, (e.strip() for e in log.split("\x01"))):
        title, _, body = entry.partition("\0")
        if TRAILER not in body:
            others.append(title)
    return others


class _Forge(ABC):
    """Opens or refreshes the pull request through the forge's REST API."""

    def __init__(self, api: str, token: str) -> None:
        if not api.startswith(("https://", "http://")):
            raise SystemExit(f"template update: the API URL {api!r} is not http(s)")
        self.api, self.token = api.rstrip("/"), token

    def request(self, method: str, path: str, body: dict[str, object] | None = None) -> object:
        request = urllib.request.Request(  # noqa: S310 (http or https: checked in __init__)
            self.api + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json", **self.headers()},
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (as above)
            return json.load(response)

    @abstractmethod
    def headers(self) -> dict[str, str]:
        """The authentication headers of this forge's API."""

    @abstractmethod
    def open_or_refresh(self, branch: str, base: str, title: str, body: str) -> str:
        """Open the pull (merge) request of `branch` into `base`, or refresh the open one."""


class _GitHub(_Forge):
    def __init__(self, token: str) -> None:
        super().__init__(os.environ.get("GITHUB_API_URL", "https://api.github.com"), token)
        self.repo = os.environ["GITHUB_REPOSITORY"]

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def open_or_refresh(self, branch: str, base: str, title: str, body: str) -> str:
        owner = self.repo.split("/")[0]
        query = urllib.parse.urlencode({"state": "open", "head": f"{owner}:{branch}", "base": base})
        found = self.request("GET", f"/repos/{self.repo}/pulls?{query}")
        if isinstance(found, list) and found:
            number = found[0]["number"]
            fields = {"title": title, "body": body}
            pull = self.request("PATCH", f"/repos/{self.repo}/pulls/{number}", fields)
        else:
            fields = {"title": title, "head": branch, "base": base, "body": body}
            pull = self.request("POST", f"/repos/{self.repo}/pulls", fields)
        return str(pull["html_url"]) if isinstance(pull, dict) else ""


class _GitLab(_Forge):
    def __init__(self, token: str) -> None:
        super().__init__(os.environ["CI_API_V4_URL"], token)
        self.project = urllib.parse.quote(os.environ["CI_PROJECT_ID"], safe="")

    def headers(self) -> dict[str, str]:
        return {"PRIVATE-TOKEN": self.token}

    def open_or_refresh(self, branch: str, base: str, title: str, body: str) -> str:
        wanted = {"state": "opened", "source_branch": branch, "target_branch": base}
        query = urllib.parse.urlencode(wanted)
        found = self.request("GET", f"/projects/{self.project}/merge_requests?{query}")
        fields: dict[str, object] = {"title": title, "description": body}
        if isinstance(found, list) and found:
            iid = found[0]["iid"]
            merge = self.request("PUT", f"/projects/{self.project}/merge_requests/{iid}", fields)
        else:
            fields |= {"source_branch": branch, "target_branch": base, "remove_source_branch": True}
            merge = self.request("POST", f"/projects/{self.project}/merge_requests", fields)
        return str(merge["web_url"]) if isinstance(merge, dict) else ""


def _forge() -> _Forge:
    token = os.environ.get("TEMPLATE_UPDATE_TOKEN", "")
    if not token:
        raise SystemExit("template update: set TEMPLATE_UPDATE_TOKEN (see README.md)")
    if os.environ.get("GITHUB_ACTIONS") == "true":
        return _GitHub(token)
    if os.environ.get("GITLAB_CI") == "true":
        return _GitLab(token)
    raise SystemExit("template update: run it in GitHub Actions or GitLab CI")


def _git_remote(*args: str) -> subprocess.CompletedProcess[str]:
    """A git command that talks to the remote, authenticated with TEMPLATE_UPDATE_TOKEN over
    HTTPS (in the environment, never written to .git/config)."""
    token = os.environ.get("TEMPLATE_UPDATE_TOKEN")
    env = None
    if token:
        user = "oauth2" if os.environ.get("GITLAB_CI") == "true" else "x-access-token"
        basic = base64.b64encode(f"{user}:{token}".encode()).decode()
        env = {
            **os.environ,
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }
    return _git(*args, env=env)


def _git(
    *args: str, check: bool = True, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603 (fixed commands, no shell)
        ["git", *args],  # noqa: S607 (git from PATH, as CI provides it)
        capture_output=True,
        text=True,
        check=False,
        input=input,
        env=env,
    )
    if check and result.returncode != 0:
        raise SystemExit(f"git {args[0]} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result


if __name__ == "__main__":
    sys.exit(main())
