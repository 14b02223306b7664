"""The sidebar at scale: catalog pages indexed by namespace, the filter on whole paths."""

from __future__ import annotations

import random

from PySide6.QtCore import QModelIndex
from PySide6.QtGui import QStandardItemModel
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from hoister.profiles import Profile
from hoister.ui.connections.connections_model import (
    ConnectionsModel,
    Kind,
    KindRole,
    ObjectRole,
)
from hoister.ui.main_window import MainWindow
from tests.support.images import build_image, populate_repos
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory


def tree_of(model: QStandardItemModel, parent: QModelIndex | None = None) -> list[object]:
    """``[text, [children...]]`` for every row under ``parent``, in model order."""
    parent = parent or QModelIndex()
    rows = []
    for row in range(model.rowCount(parent)):
        index = model.index(row, 0, parent)
        children = tree_of(model, index)
        rows.append([index.data(), children] if children else index.data())
    return rows


def repositories_under(model: ConnectionsModel, name: str) -> dict[str, set[str]]:
    """namespace -> repository names ("" for those at the top), read from the items."""
    connection = model.connection_item(name)
    assert connection is not None
    found: dict[str, set[str]] = {}
    for row in range(connection.rowCount()):
        child = connection.child(row)
        if child.data(KindRole) == Kind.NAMESPACE:
            names = [child.child(r).data(ObjectRole) for r in range(child.rowCount())]
            assert len(names) == len(set(names)), f"{child.text()} holds a name twice"
            found[child.text()] = set(names)
        elif child.data(KindRole) == Kind.REPOSITORY:
            found.setdefault("", set()).add(child.data(ObjectRole))
    return found


def test_many_pages_build_the_same_tree_as_one(qtmodeltester: ModelTester) -> None:
    rng = random.Random(5)
    names = [f"team{n % 13:02d}/svc-{n:04d}" for n in range(1200)] + ["a/b/c", "busybox"]
    pages = names[:]
    rng.shuffle(pages)
    pages += rng.sample(names, 100)  # later pages repeat earlier names
    model = ConnectionsModel()
    qtmodeltester.check(model)
    model.set_profiles([Profile(name="prod", url="https://r.example.com")])
    for start in range(0, len(pages), 50):
        model.add_repositories("prod", pages[start : start + 50])
        model.show_message("prod", f"Loading… {model.repository_count('prod'):,} so far")
    model.clear_message("prod")
    expected: dict[str, set[str]] = {}
    for name in names:
        expected.setdefault(name.rpartition("/")[0], set()).add(name)
    assert repositories_under(model, "prod") == expected
    assert model.repository_count("prod") == len(names)
    # Rows removed behind the index's back: the next page is indexed afresh.
    connection = model.connection_item("prod")
    assert connection is not None
    team00 = next(r for r in range(connection.rowCount()) if connection.child(r).text() == "team00")
    connection.removeRow(team00)
    model.add_repositories("prod", names)
    assert repositories_under(model, "prod") == expected
    assert model.find_repository("prod", "team00/svc-0013").data(ObjectRole) == "team00/svc-0013"
    qtmodeltester.check(model)


def test_matching_is_on_the_whole_path_in_any_case() -> None:
    model = ConnectionsModel()
    model.set_profiles([Profile(name="prod", url="https://r.example.com")])
    model.add_repositories("prod", ["dev/website", "qa/website", "qa/api", "QA-tools/web"])
    assert model.matching("qa/web", 10) == ([("prod", "qa/website")], 1)
    assert model.matching("QA", 2) == ([("prod", "qa/website"), ("prod", "qa/api")], 3)
    assert model.matching("nothing", 10) == ([], 0)


def _window(qtbot: QtBot, ctx) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    return window


def test_filter_matches_whole_paths_in_the_main_window(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    names = ["dev/website", "dev/api", "qa/website", "qa/api", "prod/website", "tools"]
    populate_repos(registry.url, names, build_image(seed=41, layers=1))
    window = _window(qtbot, make_context(local=registry))
    sidebar = window.sidebar
    with qtbot.waitSignal(
        sidebar.activity, timeout=15000, check_params_cb=lambda line: "6 repositories" in line
    ):
        sidebar.load("local")
    sidebar.focus_filter()
    qtbot.keyClicks(sidebar.filter_edit, "qa/web")
    qtbot.waitUntil(lambda: sidebar.applied_filter() == "qa/web", timeout=5000)
    assert sidebar.trees.currentWidget() is sidebar.results_tree
    assert tree_of(sidebar.results) == [["local", [["qa", ["website"]]]]]
    qa = sidebar.results.item_of("local", "qa/website")
    assert qa is not None
    assert sidebar.results_tree.isExpanded(qa.parent().index())  # the namespace is open
    assert sidebar.results_tree.isExpanded(qa.parent().parent().index())

    qtbot.keyClicks(sidebar.filter_edit, "x")
    qtbot.waitUntil(lambda: sidebar.applied_filter() == "qa/webx", timeout=5000)
    assert tree_of(sidebar.results) == ["No repository matches “qa/webx”"]

    sidebar.filter_edit.clear()
    qtbot.keyClicks(sidebar.filter_edit, "WEBSITE")
    qtbot.waitUntil(lambda: sidebar.applied_filter() == "WEBSITE", timeout=5000)
    assert tree_of(sidebar.results) == [
        ["local", [["dev", ["website"]], ["prod", ["website"]], ["qa", ["website"]]]]
    ]
    with qtbot.waitSignal(sidebar.repository_selected) as selected:
        sidebar.select_repository("local", "prod/website")
    assert selected.args == ["local", "prod/website"]
    assert window.page is not None and window.page.repository == "prod/website"

    sidebar.filter_edit.clear()
    qtbot.waitUntil(lambda: sidebar.trees.currentWidget() is sidebar.tree, timeout=5000)
    assert sidebar.model.repository_count("local") == 6  # the whole tree, untouched


def test_filter_follows_repositories_that_arrive_while_it_shows(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    populate_repos(registry.url, ["dev/website"], build_image(seed=42, layers=1))
    window = _window(qtbot, make_context(local=registry))
    sidebar = window.sidebar
    with qtbot.waitSignal(
        sidebar.activity, timeout=15000, check_params_cb=lambda line: "1 repository" in line
    ):
        sidebar.load("local")
    qtbot.keyClicks(sidebar.filter_edit, "qa/")
    qtbot.waitUntil(lambda: sidebar.applied_filter() == "qa/", timeout=5000)
    assert tree_of(sidebar.results) == ["No repository matches “qa/”"]
    sidebar.model.add_repositories("local", ["qa/website"])  # a promotion made it, say
    qtbot.waitUntil(
        lambda: tree_of(sidebar.results) == [["local", [["qa", ["website"]]]]], timeout=5000
    )
