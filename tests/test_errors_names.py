"""`flaskgen new` with a bad project_slug or project_name: one exact line that names the
problem and the fix, exit code 2, and a file system left as it was (paths, contents, modes
and mtimes); a derived slug is always valid, and any name gives an importable package or a
clean refusal (hypothesis).

These use the real bundled template, whose copier.yml validators word most refusals, and
run flaskgen through conftest.py's `flaskgen` fixture, which points the system temp dir at a
folder of their own, to see that Copier's clones are removed.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from refusals import assert_refused, tree, untouched
from support import TEMPLATE_CONFIG, ProjectVenv

KEYWORDS = set(TEMPLATE_CONFIG["python_keywords"]["default"])
STDLIB = set(TEMPLATE_CONFIG["stdlib_modules"]["default"])
DEPENDENCIES = set(TEMPLATE_CONFIG["dependency_modules"]["default"])
SLUG = re.compile(r"[a-z][a-z0-9_]*")


# --- project_slug: the validator of the real copier.yml, worded as one line --------------

NOT_AN_IDENTIFIER = (
    "project_slug {0!r} is not a lowercase Python identifier: use letters, digits and _, "
    "starting with a letter"
)
KEYWORD = "project_slug {0!r} is a Python keyword: pick another name, e.g. {0}_app"
STDLIB_MODULE = (
    "project_slug {0!r} shadows the standard-library module {0!r}: pick another name, e.g. {0}_app"
)
USED_MODULE = (
    "project_slug {0!r} shadows {0!r}, a module or folder the project uses: pick another name, e.g. {0}_app"
)
TOO_LONG = (
    "project_slug '{1}...' is {2} characters long: keep it to 63 or fewer (it names the database, "
    "its user and the deployed app), e.g. {3}"
)


@pytest.mark.parametrize(
    ("slug", "reason"),
    [
        ("1app", NOT_AN_IDENTIFIER),  # starts with a digit
        ("my-app", NOT_AN_IDENTIFIER),  # a character an import name cannot have
        ("MyApp", NOT_AN_IDENTIFIER),  # not lowercase
        ("café", NOT_AN_IDENTIFIER),
        ("_private", NOT_AN_IDENTIFIER),
        ("", NOT_AN_IDENTIFIER),
        ("class", KEYWORD),
        ("async", KEYWORD),
        ("email", STDLIB_MODULE),
        ("json", STDLIB_MODULE),
        ("test", STDLIB_MODULE),
        ("flask", USED_MODULE),
        ("sqlalchemy", USED_MODULE),
        ("pygments", USED_MODULE),  # pytest's: it imports it before the project's conftest
        ("tests", USED_MODULE),  # the project's own folders
        ("deploy", USED_MODULE),
        ("b" * 300, TOO_LONG),  # once "file name too long: /tmp/copier._vcs.clone.../bbb...jinja"
        ("c" * 64, TOO_LONG),
    ],
)
def test_bad_project_slug(flaskgen, tmp_path: Path, slug: str, reason: str) -> None:
    with untouched(tmp_path):
        result = flaskgen("new", tmp_path / "app", "--defaults", "--data", f"project_slug={slug}")
    assert_refused(
        result,
        f"invalid project_slug: {reason.format(slug, slug[:20], len(slug), slug[:63])}. "
        "Change it with --data project_slug=VALUE.",
    )


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("My Shop!", "my_shop"),
        ("日本語", "app"),  # no ASCII letter or digit left
        ("---", "app"),
        ("2FA service", "app_2fa_service"),  # an import name cannot start with a digit
        ("Email", "email_app"),  # would shadow the standard library
        ("Class", "class_app"),  # a keyword
        ("Flask", "flask_app"),  # a dependency
        # Once "exits 1 naming an internal temp path" (the package's folder name too long):
        # cut to 59 characters, at a word boundary's underscore if one falls there.
        ("a" * 300, "a" * 59),
        ("Billing " * 10, "_".join(["billing"] * 8)[:59].rstrip("_")),
    ],
)
def test_derived_project_slug_is_always_valid(flaskgen, tmp_path: Path, name: str, slug: str) -> None:
    dest = tmp_path / "out"
    result = flaskgen("new", dest, "--defaults", "--quiet", "--data", f"project_name={name}")
    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((dest / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert (answers["project_name"], answers["project_slug"]) == (name, slug)
    assert (dest / slug / "__init__.py").is_file()


EMPTY_NAME = "project_name must not be empty"
MULTILINE_NAME = "project_name must be one line of text: remove its control characters (newlines, tabs)"


@pytest.mark.parametrize(
    ("name", "reason"),
    [("", EMPTY_NAME), (" \t", EMPTY_NAME), ("My\nApp", MULTILINE_NAME), ("My\tApp", MULTILINE_NAME)],
)
def test_bad_project_name(flaskgen, tmp_path: Path, name: str, reason: str) -> None:
    with untouched(tmp_path):
        result = flaskgen("new", tmp_path / "app", "--defaults", "--data", f"project_name={name}")
    assert_refused(result, f"invalid project_name: {reason}. Change it with --data project_name=VALUE.")


# --- property: any name gives an importable package, or a clean refusal ----------------


@pytest.fixture(scope="module")
def project_venv(default_project: Path, venv_for: Callable[[Path], ProjectVenv]) -> ProjectVenv:
    """The venv of the default answers' requirements, which every project rendered here has.

    Byte-compiled, so that each import below takes a fraction of a second even where
    PYTHONDONTWRITEBYTECODE is set.
    """
    venv = venv_for(default_project)
    site_packages = venv.run(
        ["python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=default_project
    )
    venv.run(["python", "-m", "compileall", "-q", "-j0", site_packages.stdout.strip()], cwd=default_project)
    return venv


@pytest.mark.slow
def test_slug_refuses_every_module_the_project_installs(
    default_project: Path, project_venv: ProjectVenv
) -> None:
    """A project named like one of its own dependencies would import that instead of itself."""
    listing = project_venv.run(
        [
            "python",
            "-c",
            "import pkgutil, sysconfig; "
            "[print(m.name) for m in pkgutil.iter_modules([sysconfig.get_path('purelib')])]",
        ],
        cwd=default_project,
    )
    folders = [p.name for p in default_project.iterdir() if p.is_dir() and p.name != "acme_service"]
    taken = {name for name in [*listing.stdout.split(), *folders] if SLUG.fullmatch(name)}
    assert taken - KEYWORDS - STDLIB - DEPENDENCIES == set()


@pytest.fixture(scope="module")
def imports_cleanly(project_venv: ProjectVenv) -> Callable[[Path, str], None]:
    """Check that `import <slug>` from the project gets the project's package and its app.

    Rendered projects differ only in project_name, which appears in no Python file, so one
    check per slug is enough.
    """
    checked: set[str] = set()
    code = (
        "import importlib, sys; package = importlib.import_module(sys.argv[1]); "
        "print(package.__file__); print(package.create_app('testing').name)"
    )

    def check(project: Path, slug: str) -> None:
        assert (project / slug / "__init__.py").is_file()
        if slug in checked:
            return
        out = project_venv.run(["python", "-c", code, slug], cwd=project)
        assert out.stdout.splitlines() == [str(project / slug / "__init__.py"), slug]
        checked.add(slug)

    return check


def render_or_refuse(flaskgen, tmp_path: Path, answer: str) -> tuple[Path, object]:
    """Render into a fresh folder of its own (hypothesis reuses tmp_path across examples)."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    before = tree(folder)
    result = flaskgen("new", folder / "project", "--defaults", "--quiet", "--data", answer)
    if result.exit_code != 0:
        assert tree(folder) == before, "a refusal wrote something"
    return folder / "project", result


# Each example renders a project and imports it (about 3 s of a core under CI's load): the
# explicit examples pin the known edge cases, the drawn ones vary from run to run.
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    # tmp_path is shared by the examples: each renders into a new folder inside it.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
NAMES = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=30)


@pytest.mark.slow
@settings(PROPERTY, max_examples=20)  # nearly every name renders and imports
@given(name=NAMES)
@example(name="日本語 アプリ")
@example(name="123")
@example(name="Email")
@example(name=" \t ")
@example(name="<< project_slug >> {{ x }}")
@example(name="NEL\x85")  # YAML would read it back as a space
def test_any_project_name_gives_an_importable_package_or_a_clean_refusal(
    flaskgen, tmp_path: Path, imports_cleanly, name: str
) -> None:
    project, result = render_or_refuse(flaskgen, tmp_path, f"project_name={name}")
    if not name.strip():
        assert_refused(
            result, f"invalid project_name: {EMPTY_NAME}. Change it with --data project_name=VALUE."
        )
        return
    if any(unicodedata.category(char) == "Cc" or char in "\u2028\u2029" for char in name):
        assert_refused(
            result, f"invalid project_name: {MULTILINE_NAME}. Change it with --data project_name=VALUE."
        )
        return
    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["project_name"] == name
    imports_cleanly(project, answers["project_slug"])
    shutil.rmtree(project.parent)


SLUGS = st.one_of(
    st.text(max_size=20),
    st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True),
    st.sampled_from(sorted(KEYWORDS | STDLIB | DEPENDENCIES)),
)


@pytest.mark.slow
@PROPERTY
@given(slug=SLUGS)
@example(slug="a")
@example(slug="app_")
@example(slug="flask_app")
def test_any_project_slug_gives_an_importable_package_or_a_clean_refusal(
    flaskgen, tmp_path: Path, imports_cleanly, slug: str
) -> None:
    project, result = render_or_refuse(flaskgen, tmp_path, f"project_slug={slug}")
    if SLUG.fullmatch(slug) and slug not in KEYWORDS | STDLIB | DEPENDENCIES:
        assert result.exit_code == 0, result.output
        imports_cleanly(project, slug)
        shutil.rmtree(project.parent)
        return
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    line = result.stderr.removesuffix("\n")
    assert "\n" not in line
    assert line.startswith("flaskgen: error: invalid project_slug: project_slug '")
    fix = "Change it with --data project_slug=VALUE."
    if SLUG.fullmatch(slug):
        assert line.endswith(f": pick another name, e.g. {slug}_app. {fix}"), line
    else:
        assert line.endswith(f"use letters, digits and _, starting with a letter. {fix}"), line
