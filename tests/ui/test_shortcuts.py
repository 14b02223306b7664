"""F5 and Ctrl+F in the real window: one owner (the View menu), handed to what has focus.

Bound twice (on the Tags view and window-wide), Qt called them ambiguous and ran
neither; pressed on a stand-alone view the clash could not show. A Qt warning fails
these tests, so "Ambiguous shortcut overload" would too.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hoister.ui.main_window import MainWindow
from tests.support.images import build_image, populate_repos, push_tags
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory


def open_window(qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer) -> MainWindow:
    window = MainWindow(make_context(local=registry))
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    # the tree opens and lists the registry by itself
    qtbot.waitUntil(lambda: window.sidebar.model.repository_count("local") >= 1, timeout=15000)
    return window


def focus(qtbot: QtBot, widget) -> None:  # type: ignore[no-untyped-def]
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus)


def test_f5_and_ctrl_f_with_focus_in_the_tags_table_and_the_activity_dock_open(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    push_tags(registry.url, "dev/app", build_image(seed=1), ["1.0", "2.0"])
    window = open_window(qtbot, make_context, registry)
    window.sidebar.select_repository("local", "dev/app")
    assert window.page is not None
    tags = window.page.tags
    qtbot.waitUntil(lambda: tags.model.rowCount() == 2, timeout=15000)

    focus(qtbot, tags.table)
    qtbot.keyClick(tags.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(tags.filter_edit.hasFocus)

    push_tags(registry.url, "dev/app", build_image(seed=2), ["3.0"])
    focus(qtbot, tags.table)
    with qtbot.waitSignal(tags.loaded, timeout=15000):
        qtbot.keyClick(tags.table, Qt.Key.Key_F5)
    assert sorted(tags.model.tags()) == ["1.0", "2.0", "3.0"]

    # View → Activity opens the dock; the keys still reach the tags table's view.
    window.activity.toggleViewAction().trigger()
    qtbot.waitUntil(window.activity.isVisible)
    push_tags(registry.url, "dev/app", build_image(seed=3), ["4.0"])
    focus(qtbot, tags.table)
    with qtbot.waitSignal(tags.loaded, timeout=15000):
        qtbot.keyClick(tags.table, Qt.Key.Key_F5)
    assert "4.0" in tags.model.tags()
    focus(qtbot, tags.table)
    qtbot.keyClick(tags.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(tags.filter_edit.hasFocus)
    # the rows' details are read before the registry goes away with the test
    qtbot.waitUntil(lambda: tags.model.details_count() == 4 and not tags.reading, timeout=15000)


def test_f5_in_the_sidebar_refreshes_it_without_collapsing_anything(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    populate_repos(registry.url, ["dev/website", "dev/api", "qa/website"], build_image(seed=4))
    window = open_window(qtbot, make_context, registry)
    sidebar = window.sidebar
    qtbot.waitUntil(lambda: sidebar.model.repository_count("local") == 3, timeout=15000)

    def namespace(name: str):  # type: ignore[no-untyped-def]
        source = sidebar.model.find_repository("local", f"{name}/website").parent()
        return sidebar.proxy.mapFromSource(source)

    qtbot.waitUntil(lambda: sidebar.tree.isExpanded(namespace("dev")), timeout=5000)
    assert sidebar.tree.isExpanded(namespace("qa"))  # a small registry: open from the start
    sidebar.tree.collapse(namespace("qa"))  # the user's arrangement
    sidebar.select_repository("local", "dev/api")
    page = window.page
    assert page is not None and page.repository == "dev/api"

    populate_repos(registry.url, ["dev/new", "tools"], build_image(seed=5))
    focus(qtbot, sidebar.tree)
    qtbot.keyClick(sidebar.tree, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: sidebar.model.repository_count("local") == 5, timeout=15000)
    assert sidebar.tree.isExpanded(namespace("dev"))
    assert not sidebar.tree.isExpanded(namespace("qa"))
    assert sidebar.tree.currentIndex().data() == "api"
    assert window.page is page  # the open repository was not reopened
    tags = page.tags  # its rows are read before the registry goes away with the test
    qtbot.waitUntil(lambda: tags.model.details_count() == 1 and not tags.reading, timeout=15000)

    # the next window opens the tree as the user left it
    window.close()
    again = MainWindow(window.ctx)
    qtbot.addWidget(again)
    again.show()
    tree = again.sidebar
    qtbot.waitUntil(lambda: tree.model.repository_count("local") == 5, timeout=15000)
    qa = tree.proxy.mapFromSource(tree.model.find_repository("local", "qa/website").parent())
    dev = tree.proxy.mapFromSource(tree.model.find_repository("local", "dev/api").parent())
    qtbot.waitUntil(lambda: tree.tree.isExpanded(dev), timeout=5000)
    assert not tree.tree.isExpanded(qa)
