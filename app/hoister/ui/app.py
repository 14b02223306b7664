"""Starting the desktop app: QApplication, logging of Qt messages, the main window."""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from hoister import __version__
from hoister.paths import Paths
from hoister.resources import resource_path
from hoister.ui.context import AppContext
from hoister.ui.engine_controller import EngineController
from hoister.ui.errors import CrashReporter
from hoister.ui.main_window import MainWindow
from hoister.ui.theme import apply_theme

log = logging.getLogger("hoister.qt")

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def _qt_message(kind: QtMsgType, _context: object, message: str) -> None:
    """Route Qt's own messages into Python logging, so they land in the log file."""
    log.log(_QT_LEVELS.get(kind, logging.WARNING), "%s", message)


def create_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Hoister")
    app.setApplicationDisplayName("Hoister")
    app.setOrganizationName("Hoister")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("io.github.hoister.Hoister")
    icon = resource_path("icons/hoister.svg")
    if icon is not None:
        app.setWindowIcon(QIcon(str(icon)))
    return app


def run_gui(paths: Paths) -> int:
    """Open the main window and run the event loop until it closes."""
    qInstallMessageHandler(_qt_message)
    app = create_application()
    context = AppContext.create(paths)
    apply_theme(app, context.settings.get("theme"))
    crashes = CrashReporter(paths)
    crashes.install()
    engine = EngineController(context)
    window = MainWindow(context, engine)
    window.show()
    engine.start()
    try:
        return int(app.exec())
    finally:
        engine.stop()
        crashes.uninstall()
        context.close()
