"""Hatch build hook: `pip install -e .` imports the folder generator/ as `flaskgen`.

Hatchling's editable wheels can strip a path prefix (src/flaskgen -> flaskgen) but not
rename a folder, so for editable builds this hook installs a stub package `flaskgen` whose
`__path__` is generator/ in the checkout: edits take effect without reinstalling. The
template stays in the checkout too (flaskgen.template finds it next to generator/).
Standard wheels are built by the `packages`/`sources`/`force-include` settings alone.
Not shipped in the wheel (see pyproject.toml).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

STUB = '''"""flaskgen, installed in editable mode from {source}."""

__path__ = [{source!r}]
__file__ = {init!r}
with open(__file__, encoding="utf-8") as _init:
    exec(compile(_init.read(), __file__, "exec"))
del _init
'''


class EditableFlaskgenHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version != "editable":
            return
        source = Path(self.root, "generator").resolve()
        self._stub_dir = tempfile.mkdtemp(prefix="flaskgen-editable-")
        stub = Path(self._stub_dir, "__init__.py")
        stub.write_text(
            STUB.format(source=str(source), init=str(source / "__init__.py")),
            encoding="utf-8",
        )
        # Replaces the wheel's force-include: no copy of the template in site-packages.
        build_data["force_include_editable"] = {str(stub): "flaskgen/__init__.py"}

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if version == "editable":
            shutil.rmtree(self._stub_dir, ignore_errors=True)
