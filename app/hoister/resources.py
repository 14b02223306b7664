"""Finding Hoister's plain-file resources (icons, style sheets).

One locator, because the files live in three different places depending on how Hoister
runs: beside the source tree in a checkout, inside a PyInstaller bundle (``sys._MEIPASS``),
or copied into the package by an installer.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _roots() -> list[Path]:
    roots = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        roots.append(Path(bundle) / "resources")
    roots.append(_PACKAGE / "resources")  # installed copy
    roots.append(_PACKAGE.parents[1] / "resources")  # checkout: app/hoister -> repo root
    return roots


def resource_path(relative: str) -> Path | None:
    """The first existing ``resources/<relative>``, or None (callers degrade gracefully)."""
    for root in _roots():
        candidate = root / relative
        if candidate.exists():
            return candidate
    return None
