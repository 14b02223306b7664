"""The history model, and the one dialog an unexpected error in any thread produces."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from hoister.paths import default_paths
from hoister.store.history import HistoryRow
from hoister.ui.history.history_model import HistoryModel
from hoister.ui.shared.errors import CrashReporter


def _row(number: int, outcome: str = "promoted") -> HistoryRow:
    moment = datetime(2026, 11, 30, 9, number, tzinfo=UTC)
    return HistoryRow(
        policy_id=1,
        policy_name="Stable builds to QA",
        source_profile="local",
        source_repository="dev/website",
        source_tag=f"1.{number}-stable",
        source_digest="sha256:" + "a" * 64,
        target_profile="local",
        target_repository="qa/website",
        target_tag=f"1.{number}-stable-qa",
        outcome=outcome,
        reason="",
        started_at=moment,
        finished_at=moment,
        duration_ms=1200,
        bytes_moved=2048,
        id=number,
    )


def test_history_model(qtmodeltester: ModelTester) -> None:
    model = HistoryModel()
    qtmodeltester.check(model)
    model.set_rows([_row(2), _row(1, "failed")])
    qtmodeltester.check(model)
    model.prepend([_row(3), _row(2)])  # the repeated row is ignored
    qtmodeltester.check(model)
    assert model.rowCount() == 3
    assert model.newest_id() == 3
    assert model.index(0, model.TARGET).data() == "qa/website:1.3-stable-qa"
    assert model.index(0, model.MOVED).data() == "2.0 KiB"
    assert model.index(2, model.MOVED).data() == ""  # a failure moved nothing worth showing


def test_an_error_in_a_worker_thread_shows_one_dialog(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[str] = []
    monkeypatch.setattr(
        "hoister.ui.shared.errors.QMessageBox.critical",
        lambda _parent, _title, text: shown.append(text),
    )
    reporter = CrashReporter(default_paths())
    reporter.install()
    try:
        with qtbot.waitSignal(reporter.crashed, timeout=5000):
            thread = threading.Thread(target=lambda: 1 / 0, name="doomed")
            thread.start()
            thread.join()
        with qtbot.waitSignal(reporter.crashed, timeout=5000):
            reporter._hook(RuntimeError, RuntimeError("again"), None)
    finally:
        reporter.uninstall()
    qtbot.waitUntil(lambda: len(shown) == 1)
    assert "ZeroDivisionError" in shown[0]
    assert str(default_paths().log_file) in shown[0]
