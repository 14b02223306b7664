"""Refresh from the sidebar's context menu, in the real window: the listing is read again
and merged, so the user's selection stays."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from hoister.ui.main_window import MainWindow
from tests.support.images import build_image, populate_repos
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory


def test_the_context_menu_refreshes_a_connection(
    qtbot: QtBot,
    make_context: ContextFactory,
    registry: RegistryServer,
) -> None:
    populate_repos(registry.url, ["dev/website"], build_image(seed=6))
    window = MainWindow(make_context(local=registry))
    qtbot.addWidget(window)
    window.show()
    sidebar = window.sidebar
    qtbot.waitUntil(lambda: sidebar.model.repository_count("local") == 1, timeout=15000)
    sidebar.select_repository("local", "dev/website")
    populate_repos(registry.url, ["dev/api"], build_image(seed=7))

    # the menu a right-click on the selected row pops up
    menu = sidebar.context_menu(sidebar.tree.currentIndex())
    offered = [action.text() for action in menu.actions() if action.text()]
    assert offered[:2] == ["Refresh", "Reconnect"]
    next(a for a in menu.actions() if a.text() == "Refresh").trigger()
    qtbot.waitUntil(lambda: sidebar.model.repository_count("local") == 2, timeout=15000)
    assert sidebar.tree.currentIndex().data() == "website"
    assert window.page is not None and window.page.repository == "dev/website"
