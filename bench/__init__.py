"""Benchmarks that time Hoister against a peer in the same run and print ratios.

Run from the repository root with ``python -m bench`` (``make bench``). They start real
``docker-registry`` processes and reuse the test suite's helpers (``tests.support``,
importable because the repository root is where ``bench`` itself was found).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _ensure_hoister_importable() -> None:
    """Fall back to the source tree when Hoister is not installed.

    ``make bench`` installs Hoister in editable mode and that install wins; a fresh
    checkout without one still runs ``python -m bench`` without anyone having to export
    ``PYTHONPATH=app``.
    """
    if importlib.util.find_spec("hoister") is None:
        sys.path.insert(0, str(REPO_ROOT / "app"))


_ensure_hoister_importable()
