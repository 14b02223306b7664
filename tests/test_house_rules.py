"""The one rule of the house: only hoister.ui imports Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app" / "hoister"
QT_MODULES = ("PySide6", "shiboken6", "PyQt5", "PyQt6", "PySide2")


def _qt_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found += [n for n in names if n.split(".")[0] in QT_MODULES]
    return found


def test_no_qt_import_outside_ui() -> None:
    offenders = {
        str(path.relative_to(APP)): imports
        for path in APP.rglob("*.py")
        if "ui" not in path.relative_to(APP).parts[:1]
        for imports in [_qt_imports(path)]
        if imports
    }
    assert offenders == {}


def test_core_packages_load_without_qt() -> None:
    """Importing the core and the CLI must not drag Qt in (the agent runs without it)."""
    code = (
        "import sys, hoister.cli, hoister.registry, hoister.credentials, hoister.profiles;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=APP.parent, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
