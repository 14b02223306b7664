"""A guard on the Qt binding itself: PySide6 6.12.0 aborted the app in QStandardItem.setData."""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem

CALLS = 50_000  # the sidebar sets data on tens of thousands of items


def test_set_data_keeps_reference_counts_intact() -> None:
    """The broken binding took one reference of None per call (CALLS in all), until
    None's count reached zero and the interpreter aborted.

    Garbage left by earlier tests, collected during the loop, would give None's references
    back and hide (or fake) a leak: collect it first, then hold the collector. Threads of
    earlier tests still winding down (a closed window's engine, pool workers) may drop a
    few references of their own meanwhile, so the bound is one per hundred calls: far
    below the binding's one per call, far above that noise.
    """
    gc.collect()
    gc.disable()
    try:
        before = sys.getrefcount(None)
        for _ in range(CALLS):
            QStandardItem("x").setData(1, Qt.ItemDataRole.UserRole + 1)
        after = sys.getrefcount(None)
    finally:
        gc.enable()
    assert before - after < CALLS // 100
