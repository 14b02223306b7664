"""A guard on the Qt binding itself: PySide6 6.12.0 aborted the app in QStandardItem.setData."""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem


def test_set_data_keeps_reference_counts_intact() -> None:
    # Garbage left by earlier tests, collected during the loop, would give None's
    # references back and hide (or fake) a leak: collect it first, then hold the collector.
    gc.collect()
    gc.disable()
    try:
        before = sys.getrefcount(None)
        for _ in range(50_000):  # the sidebar sets data on tens of thousands of items
            QStandardItem("x").setData(1, Qt.ItemDataRole.UserRole + 1)
        after = sys.getrefcount(None)
    finally:
        gc.enable()
    assert after >= before
