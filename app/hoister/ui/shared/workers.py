"""Background work for the GUI: every network call runs here, never on the GUI thread.

A :class:`Task` runs a plain function on a pool thread and reports exactly one outcome,
``finished(result)`` or ``failed(error)``, whatever happens. A :class:`Requester`
belongs to one view: it numbers the requests it sends and drops answers to all but the
newest, so a slow answer for the repository a user clicked away from can never
overwrite the one now on screen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from hoister.errors import HoisterError

log = logging.getLogger(__name__)


class TaskSignals(QObject):
    finished = Signal(int, object)  # request number, result
    failed = Signal(int, object)  # request number, HoisterError


class Task(QRunnable):
    def __init__(self, number: int, function: Callable[..., Any], *args: Any) -> None:
        super().__init__()
        self.number = number
        self.function = function
        self.args = args
        self.signals = TaskSignals()

    def run(self) -> None:
        try:
            result = self.function(*self.args)
        except HoisterError as exc:
            self.signals.failed.emit(self.number, exc)
        except Exception as exc:  # a bug: log it with its traceback, show a sentence
            log.exception("background task %s failed", getattr(self.function, "__name__", "?"))
            message = f"unexpected error ({type(exc).__name__}: {exc}); details are in the log"
            self.signals.failed.emit(self.number, HoisterError(message))
        else:
            self.signals.finished.emit(self.number, result)


class Requester(QObject):
    """Sends a view's requests to the pool; only the newest request's answer is delivered."""

    ready = Signal(object)
    error = Signal(object)
    busy_changed = Signal(bool)

    def __init__(self, pool: QThreadPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool
        self._latest = 0
        self._running: set[int] = set()

    @property
    def busy(self) -> bool:
        return self._latest in self._running

    def submit(self, function: Callable[..., Any], *args: Any) -> int:
        self._latest += 1
        task = Task(self._latest, function, *args)
        task.signals.finished.connect(self._finished)
        task.signals.failed.connect(self._failed)
        self._running.add(self._latest)
        self.busy_changed.emit(True)
        self._pool.start(task)
        return self._latest

    def cancel(self) -> None:
        """Forget outstanding requests: their answers will be dropped."""
        self._latest += 1
        self.busy_changed.emit(False)

    @Slot(int, object)
    def _finished(self, number: int, result: object) -> None:
        self._running.discard(number)
        if number == self._latest:
            self.busy_changed.emit(False)
            self.ready.emit(result)

    @Slot(int, object)
    def _failed(self, number: int, error: object) -> None:
        self._running.discard(number)
        if number == self._latest:
            self.busy_changed.emit(False)
            self.error.emit(error)


class Fanout(QObject):
    """Many independent requests (one per row) whose answers are all wanted."""

    ready = Signal(object, object)  # key, result
    error = Signal(object, object)  # key, error

    def __init__(self, pool: QThreadPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool
        self._keys: dict[int, object] = {}
        self._next = 0

    @property
    def pending(self) -> int:
        return len(self._keys)

    def submit(self, key: object, function: Callable[..., Any], *args: Any) -> None:
        self._next += 1
        self._keys[self._next] = key
        task = Task(self._next, function, *args)
        task.signals.finished.connect(self._finished)
        task.signals.failed.connect(self._failed)
        self._pool.start(task)

    def reset(self) -> None:
        """Drop every answer still on its way (the view now shows something else)."""
        self._keys.clear()

    @Slot(int, object)
    def _finished(self, number: int, result: object) -> None:
        if number in self._keys:
            self.ready.emit(self._keys.pop(number), result)

    @Slot(int, object)
    def _failed(self, number: int, error: object) -> None:
        if number in self._keys:
            self.error.emit(self._keys.pop(number), error)
