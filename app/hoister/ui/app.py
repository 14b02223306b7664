"""Starting the desktop app: QApplication, logging of Qt messages, the main window."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable

from PySide6.QtCore import (
    QMessageLogContext,
    QObject,
    QTimer,
    QtMsgType,
    Slot,
    qInstallMessageHandler,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from hoister import __version__
from hoister.errors import HoisterError
from hoister.paths import Paths
from hoister.resources import resource_path
from hoister.ui.background.engine_controller import EngineController
from hoister.ui.context import AppContext
from hoister.ui.main_window import MainWindow
from hoister.ui.shared.errors import CrashReporter
from hoister.ui.shared.theme import apply_theme
from hoister.ui.team.start_failure import QUIT, ask_user, open_context

log = logging.getLogger("hoister.qt")

#: How long ``gui --smoke-test`` lets the event loop run (ms): the first paint, the
#: engine's first cycle and any queued start-up work happen in it.
SMOKE_TEST_MS = 1000
#: After the window closed: how long the exit waits for the engine to finish the request
#: it is in. The window is gone already; a copy still running then resumes next start.
EXIT_WAIT = 5.0

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


class QtMessages:
    """Routes Qt's own messages into Python logging, so they land in the log file.

    Qt keeps one message handler per process. Whatever was installed before (pytest-qt's
    capture in the tests, which fails a test on a warning; Qt's default, which prints to
    stderr) still gets every message: replacing it silently would hide warnings from the
    very tests meant to catch them.
    """

    def __init__(self) -> None:
        self.previous: Callable[..., None] | None = None
        self.installed = False

    def install(self) -> None:
        if not self.installed:
            self.previous = qInstallMessageHandler(self._handle)
            self.installed = True

    def uninstall(self) -> None:
        if self.installed:
            qInstallMessageHandler(self.previous)
            self.previous, self.installed = None, False

    def _handle(self, kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        log.log(_QT_LEVELS.get(kind, logging.WARNING), "%s", message)
        if self.previous is not None:
            self.previous(kind, context, message)


#: Seconds a Python thread may hold the interpreter before another waiting one gets it.
#: The default 5 ms lets a few pool threads, each parsing registry answers, keep the GUI
#: thread waiting for its turn again and again while it paints: 1 ms bounds that wait.
GUI_SWITCH_INTERVAL = 0.001


def create_application(argv: list[str] | None = None) -> QApplication:
    sys.setswitchinterval(GUI_SWITCH_INTERVAL)
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


class _ErrorRecords(logging.Handler):
    """Keeps every ERROR-or-worse record: one of them fails the smoke test."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


class SmokeTest(QObject):
    """``hoister gui --smoke-test``: open the window, close it by itself, say how it went.

    ``make package-check`` runs it on the PyInstaller bundle, where a missing hidden
    import, Qt plugin or resource file only shows at run time. Anything logged at ERROR
    (an uncaught exception goes through the crash reporter, which logs it) fails it, and
    so does an app icon that cannot be drawn (resources or the SVG plugin left out).
    """

    def __init__(self, app: QApplication) -> None:
        super().__init__()
        self.app = app
        self.window: MainWindow | None = None
        self.context: AppContext | None = None
        self.errors = _ErrorRecords()
        logging.getLogger().addHandler(self.errors)  # from the start: building counts too
        self.problems: list[str] = ["the event loop ended before the window was checked"]

    def start(self, window: MainWindow, context: AppContext) -> None:
        self.window = window
        self.context = context
        QTimer.singleShot(SMOKE_TEST_MS, self.finish)

    @Slot()
    def finish(self) -> None:
        assert self.window is not None and self.context is not None
        self.problems = []
        if not self.window.isVisible():
            self.problems.append("the main window is not visible")
        if self.app.windowIcon().pixmap(32).isNull():
            self.problems.append("the app icon cannot be drawn (resources/icons, SVG plugin)")
        if not self.problems and not self.errors.messages:
            keyring = self.context.secrets.backend_name
            print(f"hoister gui: main window shown (keyring: {keyring})", flush=True)
        self.window.quit()  # the normal way out: settings saved, engine and sandbox stopped
        self.app.exit(0)  # also ends a modal dialog's loop (the crash dialog, say)

    def result(self, status: int) -> int:
        """0 if the window was shown and nothing was logged as an error until the end."""
        logging.getLogger().removeHandler(self.errors)
        problems = self.problems + [f"logged: {message}" for message in self.errors.messages]
        if status != 0:
            problems.append(f"the event loop ended with status {status}")
        for problem in problems:
            print(f"hoister gui: smoke test failed: {problem}", file=sys.stderr)
        return 1 if problems else 0


def _smoke_test_gives_up(error: HoisterError, _team: bool) -> str:
    print(f"hoister gui: smoke test failed: {error}", file=sys.stderr)
    return QUIT


def run_gui(paths: Paths, *, smoke_test: bool = False, database_flag: str | None = None) -> int:
    """Open the main window and run the event loop until it closes.

    ``smoke_test``: close the window by itself shortly after the loop has started and
    return 0 only if everything worked (see :class:`SmokeTest`). ``database_flag``:
    ``--database URL`` from the command line, which outranks every other choice.
    """
    messages = QtMessages()
    messages.install()
    app = create_application()
    smoke = SmokeTest(app) if smoke_test else None
    # Asks, in words, while the store cannot be opened; a smoke test has no one to ask.
    context = open_context(
        paths,
        create=functools.partial(AppContext.create, database_flag=database_flag),
        ask=_smoke_test_gives_up if smoke_test else ask_user,
    )
    if context is None:
        messages.uninstall()
        return 1
    apply_theme(app, context.settings.get("theme"))
    crashes = CrashReporter(paths)
    crashes.install()
    engine = EngineController(context)
    window = MainWindow(context, engine)
    window.show()
    engine.start()
    if smoke is not None:
        smoke.start(window, context)
    try:
        status = int(app.exec())
    finally:
        engine.stop(EXIT_WAIT)
        crashes.uninstall()
        context.close()
        messages.uninstall()
    return smoke.result(status) if smoke is not None else status
