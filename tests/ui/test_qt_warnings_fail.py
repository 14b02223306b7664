"""Qt warnings fail tests for real: a deliberate warning run through the project's own
pytest configuration must fail the inner test, also with the app's message handler on
and also while the test is torn down."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

INNER = """
import pytest
from PySide6.QtCore import qWarning
from PySide6.QtGui import QPainter

from hoister.ui.app import QtMessages


def test_a_plain_warning(qtbot):
    qWarning("a deliberate warning")


def test_a_real_qt_warning(qtbot):
    QPainter().end()  # Qt warns "Painter not active", nothing raises


def test_a_warning_with_the_apps_handler_installed(qtbot, caplog):
    messages = QtMessages()
    messages.install()
    try:
        qWarning("seen by the app's log and by pytest-qt")
    finally:
        messages.uninstall()
    assert "seen by the app's log" in caplog.text  # the app's log file still gets it


def test_no_warning(qtbot):
    pass


@pytest.fixture
def warns_when_torn_down():
    yield
    qWarning("a warning while tearing down")


def test_a_warning_in_teardown(qtbot, warns_when_torn_down):
    pass
"""


def test_qt_warnings_fail_the_test_that_caused_them(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER)
    # the GUI tests' own hooks (warnings in teardown fail too), as tests/ui has them
    pytester.makeconftest("from tests.ui.conftest import pytest_runtest_teardown  # noqa: F401")
    # The project's own settings (qt_log_level_fail, qt_api), not a copy of them.
    result = pytester.runpytest_subprocess(
        "-c",
        str(ROOT / "pyproject.toml"),
        "--rootdir",
        str(ROOT),
        "-p",
        "no:cacheprovider",
        str(pytester.path / "test_inner.py"),
    )
    result.assert_outcomes(passed=2, failed=3, errors=1)
    output = result.stdout.str()
    assert "QtWarningMsg: a deliberate warning" in output
    assert "QPainter::end: Painter not active" in output
    assert "QtWarningMsg: seen by the app's log and by pytest-qt" in output
    assert "Qt warnings while tearing down:\na warning while tearing down" in output
