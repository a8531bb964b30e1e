"""Hatch build hook: ship the template's tagged history, and make editable installs work.

Wheels and sdists: flaskgen's template versions are the repository's release tags, and
`flaskgen update` needs the old version a project was generated from. So the build bundles
the checkout's HEAD and tags (`git bundle`, see flaskgen/bundle.py) into the wheel as
flaskgen/_template/template.bundle, beside the copier.yml of the version `flaskgen new`
renders. An sdist carries the bundle at its root, and a wheel built from an sdist (no .git)
uses that one.

Editable installs: hatchling's editable wheels can strip a path prefix (src/flaskgen ->
flaskgen) but not rename a folder, so this hook installs a stub package `flaskgen` whose
`__path__` is generator/ in the checkout: edits take effect without reinstalling. The
template stays in the checkout, which flaskgen bundles on demand.
Not shipped in the wheel (see pyproject.toml).
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

STUB = '''"""flaskgen, installed in editable mode from {source}."""

__path__ = [{source!r}]
__file__ = {init!r}
with open(__file__, encoding="utf-8") as _init:
    exec(compile(_init.read(), __file__, "exec"))
del _init
'''
SDIST_BUNDLE = "template.bundle"


class FlaskgenBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        self._tmp = tempfile.mkdtemp(prefix="flaskgen-build-")
        if version == "editable":
            self._editable(build_data)
            return
        root = Path(self.root)
        bundle_module = _flaskgen_bundle_module(root)
        bundle = Path(self._tmp, "template.bundle")
        release = Path(self._tmp, bundle_module.TEMPLATE_RELEASE)
        if (root / ".git").exists():
            refs = bundle_module.write_bundle(root, bundle)
            release.write_text(refs.template_release or "", encoding="utf-8")
        elif (root / SDIST_BUNDLE).is_file():
            shutil.copyfile(root / SDIST_BUNDLE, bundle)
            if (root / bundle_module.TEMPLATE_RELEASE).is_file():
                shutil.copyfile(root / bundle_module.TEMPLATE_RELEASE, release)
        else:
            raise RuntimeError(
                "flaskgen ships its template's git history, and this source tree has neither "
                f".git nor {SDIST_BUNDLE}: build from a git clone or from flaskgen's sdist"
            )
        if self.target_name == "sdist":
            if not (root / SDIST_BUNDLE).is_file():
                build_data["force_include"][str(bundle)] = SDIST_BUNDLE
                if release.is_file():
                    build_data["force_include"][str(release)] = bundle_module.TEMPLATE_RELEASE
            return
        refs = bundle_module.read_refs(bundle)
        if release.is_file() and release.read_text(encoding="utf-8").strip() in refs.tags:
            refs = replace(refs, template_release=release.read_text(encoding="utf-8").strip())
        config = Path(self._tmp, "copier.yml")
        config.write_text(bundle_module.read_config(bundle, refs.current_ref()), encoding="utf-8")
        build_data["force_include"][str(bundle)] = "flaskgen/_template/template.bundle"
        build_data["force_include"][str(config)] = "flaskgen/_template/copier.yml"
        if release.is_file():
            build_data["force_include"][str(release)] = f"flaskgen/_template/{bundle_module.TEMPLATE_RELEASE}"

    def _editable(self, build_data: dict[str, Any]) -> None:
        source = Path(self.root, "generator").resolve()
        stub = Path(self._tmp, "__init__.py")
        stub.write_text(
            STUB.format(source=str(source), init=str(source / "__init__.py")),
            encoding="utf-8",
        )
        build_data["force_include_editable"] = {str(stub): "flaskgen/__init__.py"}

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)


def _flaskgen_bundle_module(root: Path) -> ModuleType:
    """flaskgen/bundle.py from this source tree (flaskgen is not installed while it builds)."""
    name = "_flaskgen_build"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, root / "generator" / "__init__.py", submodule_search_locations=[str(root / "generator")]
        )
        assert spec is not None and spec.loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{name}.bundle")
