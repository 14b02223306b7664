"""Reaching the Promotions screen as a person does: through the real main window."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from hoister.ui.background.engine_controller import EngineController
from hoister.ui.browsing.repository_page import RepositoryPage
from hoister.ui.context import AppContext
from hoister.ui.main_window import MainWindow
from hoister.ui.promotions.promotions_tab import PromotionsTab


def open_window(
    qtbot: QtBot, ctx: AppContext, engine: EngineController | None = None
) -> MainWindow:
    window = MainWindow(ctx, engine)
    qtbot.addWidget(window)
    window.resize(1024, 700)
    window.show()
    return window


def open_repository(
    qtbot: QtBot, window: MainWindow, repository: str, profile: str = "local"
) -> RepositoryPage:
    """Connect the profile in the sidebar and pick ``repository`` there."""
    window.sidebar.load(profile)
    qtbot.waitUntil(lambda: window.sidebar.model.repository_count(profile) > 0, timeout=15_000)
    window.sidebar.select_repository(profile, repository)
    page = window.page
    assert page is not None and page.repository == repository
    return page


def open_promotions(qtbot: QtBot, page: RepositoryPage, policies: int) -> PromotionsTab:
    """Switch to the Promotions tab and wait until it lists ``policies`` policies."""
    page.tabs.setCurrentWidget(page.promotions)
    tab = page.promotions
    qtbot.waitUntil(lambda: tab.proxy.rowCount() == policies, timeout=10_000)
    return tab
