"""The one way the app shows errors, and the hooks that catch what nobody caught.

Expected failures (a registry's refusal, an unreachable host) are :class:`HoisterError`
and are shown in place by the view that asked. Anything else is a bug: it is logged with
its traceback and shown once, as a dialog pointing at the log, from whichever thread it
happened on — never as a raw traceback, and never as a pile of dialogs.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from hoister.errors import HoisterError
from hoister.logsetup import redact
from hoister.paths import Paths

log = logging.getLogger(__name__)


def show_error(parent: QWidget | None, title: str, error: object) -> None:
    """A modal message for an error the user must acknowledge (saving, deleting...)."""
    text = str(error) if isinstance(error, HoisterError) else f"{error}"
    box = QMessageBox(QMessageBox.Icon.Warning, title, redact(text), parent=parent)
    box.exec()


class CrashReporter(QObject):
    """Turns uncaught exceptions of any thread into one dialog on the GUI thread."""

    crashed = Signal(str)

    def __init__(self, paths: Paths, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.paths = paths
        self._shown = False
        self.crashed.connect(self._show)
        self._previous_hook = sys.excepthook
        self._previous_thread_hook = threading.excepthook

    def install(self) -> None:
        sys.excepthook = self._hook
        threading.excepthook = self._thread_hook

    def uninstall(self) -> None:
        sys.excepthook = self._previous_hook
        threading.excepthook = self._previous_thread_hook

    def _hook(
        self, kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            self._previous_hook(kind, value, tb)
            return
        log.critical(
            "uncaught exception:\n%s", "".join(traceback.format_exception(kind, value, tb))
        )
        self.crashed.emit(f"{kind.__name__}: {value}")

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        self._hook(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)

    @Slot(str)
    def _show(self, summary: str) -> None:
        if self._shown:
            return  # one dialog; later ones are in the log
        self._shown = True
        QMessageBox.critical(
            None,
            "Hoister ran into a problem",
            "Something went wrong that Hoister did not expect:\n\n"
            f"{redact(summary)}\n\n"
            "The app keeps running, but you may want to restart it. The details are in the "
            f"log file:\n{self.paths.log_file}",
        )
