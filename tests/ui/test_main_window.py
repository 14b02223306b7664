"""The main window as a person uses it: first run, browsing, and a slow registry."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hoister.credentials import Credential
from hoister.profiles import Profile
from hoister.registry import RegistryClient
from hoister.ui.main_window import MainWindow
from tests.support.images import build_image, build_index, push_image, push_tags
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory, DelayingTransport, Heartbeat


def _window(qtbot: QtBot, ctx) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    return window


def test_first_run_shows_the_welcome_page(qtbot: QtBot, make_context: ContextFactory) -> None:
    window = _window(qtbot, make_context())
    assert window.stack.currentWidget() is window.welcome
    assert window.sidebar.model.rowCount() == 0


def test_browse_to_a_repository_and_its_tags(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    amd, arm = build_image(seed=60), build_image(seed=61, platform=("linux", "arm64"))
    push_image(registry.url, "dev/website", "1.4-stable", build_index([amd, arm]))
    push_image(registry.url, "dev/website", "1.3", amd)
    push_image(registry.url, "qa/website", "20261130-090000", amd)
    ctx = make_context(local=registry)
    window = _window(qtbot, ctx)
    assert window.stack.currentWidget() is window.hint
    window.sidebar.load("local")
    qtbot.waitUntil(lambda: window.sidebar.model.repository_count("local") == 2, timeout=15000)
    window.sidebar.select_repository("local", "dev/website")
    assert window.page is not None and window.page.repository == "dev/website"
    assert window.windowTitle() == "dev/website — Hoister"
    tags = window.page.tags
    qtbot.waitUntil(lambda: tags.model.rowCount() == 2, timeout=15000)
    assert [window.page.tabs.tabText(i) for i in range(3)] == ["Tags", "Promotions", "History"]
    window.sidebar.select_repository("local", "qa/website")
    assert window.page.repository == "qa/website"


def test_settings_keep_the_window_geometry(qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context()
    window = _window(qtbot, ctx)
    window.resize(700, 500)  # within the offscreen screen (800x600): no clamping
    window.splitter.setSizes([200, 500])
    window.close()
    again = _window(qtbot, ctx)
    assert again.size().width() == 700
    assert again.splitter.sizes()[0] == 200


def test_the_gui_thread_never_waits_on_the_network(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    """Every response takes 2 s; the GUI must keep painting (no gap of 1 s or more)."""
    push_tags(registry.url, "dev/website", build_image(seed=62), ["1.0", "1.1-stable", "latest"])
    push_image(registry.url, "dev/api", "1.0", build_image(seed=63))
    slow = DelayingTransport(2.0)

    def factory(profile: Profile, credential: Credential | None) -> RegistryClient:
        return RegistryClient(profile.url, credential, transport=slow)

    ctx = make_context(client_factory=factory, local=registry)
    heartbeat = Heartbeat()
    heartbeat.start()
    window = _window(qtbot, ctx)
    window.sidebar.load("local")
    qtbot.waitUntil(lambda: window.sidebar.model.repository_count("local") == 2, timeout=30000)
    window.sidebar.select_repository("local", "dev/website")
    assert window.page is not None
    tags = window.page.tags
    qtbot.waitUntil(lambda: tags.model.rowCount() == 3, timeout=30000)
    with qtbot.waitSignal(tags.details.loaded, timeout=30000):
        tags.table.selectRow(0)
    qtbot.keyClick(window, Qt.Key.Key_F5)
    heartbeat.stop()
    assert slow.requests >= 4
    assert heartbeat.longest < 1.0, f"the GUI thread was blocked for {heartbeat.longest:.2f}s"
