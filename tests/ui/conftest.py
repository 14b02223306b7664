"""Fixtures of the GUI tests: an app context on a temporary home, with its pool drained."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import (
    QMessageLogContext,
    QObject,
    QTimer,
    QtMsgType,
    Slot,
    qInstallMessageHandler,
)

from hoister.paths import default_paths
from hoister.profiles import Profile
from hoister.ui.context import AppContext, ClientFactory
from tests.support.registry import RegistryServer

ContextFactory = Callable[..., AppContext]

_FAILING = (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)


def _ignored_patterns(item: pytest.Item) -> list[str]:
    """``qt_log_ignore`` as pytest-qt reads it: the ini list, extended by the mark."""
    patterns = list(item.config.getini("qt_log_ignore"))
    mark = item.get_closest_marker("qt_log_ignore")
    if mark is None:
        return patterns
    return [*patterns, *mark.args] if mark.kwargs.get("extend", True) else list(mark.args)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    """Qt warnings while a test is torn down fail it too.

    pytest-qt fails a test on warnings logged up to the end of its call, then stops
    listening; closing the test's widgets, stopping its engine and draining its pool
    happen after that, where a warning would otherwise only reach stderr.
    """
    if item.get_closest_marker("no_qt_log") is not None:
        return (yield)
    patterns = [re.compile(p) for p in _ignored_patterns(item)]
    seen: list[str] = []

    def handle(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if kind in _FAILING and not any(p.search(message) for p in patterns):
            seen.append(message)
        if previous is not None:
            previous(kind, context, message)

    previous = qInstallMessageHandler(handle)
    try:
        result = yield
    finally:
        qInstallMessageHandler(previous)
    if seen:
        pytest.fail("Qt warnings while tearing down:\n" + "\n".join(seen), pytrace=False)
    return result


@pytest.fixture
def make_context(hoister_home: Path) -> Iterator[ContextFactory]:
    """Build an AppContext on the test's HOISTER_HOME; closed (pool drained) at teardown."""
    made: list[AppContext] = []

    def make(client_factory: ClientFactory | None = None, **profiles: RegistryServer) -> AppContext:
        options: dict[str, Any] = {}
        if client_factory is not None:
            options["client_factory"] = client_factory
        context = AppContext.create(default_paths(), **options)
        for name, server in profiles.items():
            context.profiles.add(Profile(name=name, url=server.url))
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def app_context(make_context: ContextFactory) -> AppContext:
    return make_context()


class DelayingTransport(httpx.HTTPTransport):
    """Every response arrives ``delay`` seconds late: a slow registry far away.

    The delay runs on whichever thread sent the request, so it freezes the GUI exactly
    when a request is (wrongly) sent from the GUI thread.
    """

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        time.sleep(self.delay)
        return super().handle_request(request)


class Heartbeat(QObject):
    """Measures the longest time the GUI thread went without running its event loop."""

    def __init__(self, interval_ms: int = 20) -> None:
        super().__init__()
        self.longest = 0.0
        self._last = time.monotonic()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._beat)

    def start(self) -> None:
        self._last = time.monotonic()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._beat()

    @Slot()
    def _beat(self) -> None:
        now = time.monotonic()
        self.longest = max(self.longest, now - self._last)
        self._last = now
