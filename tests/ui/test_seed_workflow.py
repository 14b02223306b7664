"""The product's promise, through the window, as it happens: build the seed policy with
the editor's widgets, push stable builds from outside, and watch the engine's own polls
bring them to every open view — the sidebar, History, Promotions, and the open
qa/website Tags view with where each tag came from. Nothing here presses Refresh,
Reconnect or any reload, or calls one: the views must follow the engine by themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.qtbot import QtBot

from hoister.ui.background.engine_controller import EngineController
from hoister.ui.connections.sidebar import Sidebar
from hoister.ui.history.history_view import HistoryView
from hoister.ui.main_window import MainWindow
from hoister.ui.promotions.policies_model import LAST_RESULT
from hoister.ui.promotions.promotions_tab import PromotionsTab
from tests.support.images import build_image, push_image, skopeo_copy_layout, write_oci_layout
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory, Heartbeat
from tests.ui.promotions.test_policy_editor import fill_seed

#: The engine's poll interval here: short, so its own poll finds the pushes quickly.
POLL_SECONDS = 1.0


def click_repository(qtbot: QtBot, sidebar: Sidebar, repository: str) -> None:
    """Click a repository's row in the tree, as a person would (it must be visible)."""
    source = sidebar.model.find_repository("local", repository)
    index = sidebar.proxy.mapFromSource(source)
    rect = sidebar.tree.visualRect(index)
    assert rect.isValid(), f"{repository} is not visible in the sidebar"
    qtbot.mouseClick(sidebar.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def namespace_shown(sidebar: Sidebar, namespace: str) -> bool:
    root = sidebar.proxy.index(0, 0, QModelIndex())
    names = [sidebar.proxy.index(r, 0, root).data() for r in range(sidebar.proxy.rowCount(root))]
    return namespace in names


def shown_texts(view, row: int) -> str:  # type: ignore[no-untyped-def]
    """Every cell of a table row as displayed, whichever column holds what."""
    model = view.proxy
    return " | ".join(str(model.index(row, c).data() or "") for c in range(model.columnCount()))


def promotions(view: HistoryView) -> int:
    return sum(row.outcome == "promoted" for row in view.model.rows())


def test_seed_workflow_through_the_window_live(
    qtbot: QtBot,
    make_context: ContextFactory,
    registry: RegistryServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The tabs' own timers would hide a missing live update: only the engine's signals
    # may bring rows in this test.
    monkeypatch.setattr(HistoryView, "REFRESH_MS", 3_600_000)
    monkeypatch.setattr(PromotionsTab, "REFRESH_MS", 3_600_000)
    push_image(registry.url, "dev/website", "1.0", build_image(seed=80))
    ctx = make_context(local=registry)
    engine = EngineController(ctx, interval=POLL_SECONDS)  # no notifications: polls find pushes
    window = MainWindow(ctx, engine)
    qtbot.addWidget(window)
    window.show()
    heartbeat = Heartbeat()
    heartbeat.start()
    try:
        with qtbot.waitSignal(engine.cycle_done, timeout=15000):
            engine.start()
        # The tree opens by itself far enough to show dev/website: one click away.
        sidebar = window.sidebar
        qtbot.waitUntil(lambda: sidebar.model.repository_count("local") == 1, timeout=15000)
        qtbot.waitUntil(
            lambda: sidebar.tree.visualRect(
                sidebar.proxy.mapFromSource(sidebar.model.find_repository("local", "dev/website"))
            ).isValid(),
            timeout=5000,
        )
        click_repository(qtbot, sidebar, "dev/website")
        dev = window.page
        assert dev is not None and dev.repository == "dev/website"
        dev.tabs.setCurrentWidget(dev.promotions)
        qtbot.waitUntil(lambda: dev.promotions.new_button.isEnabled(), timeout=10000)

        # the editor, filled in through its widgets only
        editor = dev.promotions.open_editor()
        qtbot.waitUntil(lambda: editor.others is not None, timeout=10000)
        fill_seed(qtbot, editor)
        with qtbot.waitSignal(
            engine.cycle_done, timeout=15000, check_params_cb=lambda r: r.repositories == 1
        ):
            editor.save_button.click()  # the engine polls at once: dev/website's baseline
        qtbot.waitUntil(lambda: dev.promotions.model.rowCount() == 1, timeout=10000)

        # A developer pushes a stable build; the engine's poll promotes it. The new qa
        # namespace appears in the sidebar, dev/website's History and Promotions follow.
        with qtbot.waitSignal(engine.promotion_finished, timeout=30000) as first:
            push_image(registry.url, "dev/website", "1.8-stable", build_image(seed=81))
        assert first.args[0].outcome == "promoted"
        qtbot.waitUntil(lambda: namespace_shown(sidebar, "qa"), timeout=5000)
        assert sidebar.model.repository_count("local") == 2
        qtbot.waitUntil(lambda: promotions(dev.history) == 1, timeout=10000)
        qtbot.waitUntil(
            lambda: (dev.promotions.proxy.index(0, LAST_RESULT).data() or "").startswith(
                "promoted"
            ),
            timeout=10000,
        )

        # QA opens qa/website from the tree, and leaves it open.
        qtbot.waitUntil(
            lambda: sidebar.tree.visualRect(
                sidebar.proxy.mapFromSource(sidebar.model.find_repository("local", "qa/website"))
            ).isValid(),
            timeout=5000,
        )
        click_repository(qtbot, sidebar, "qa/website")
        qa = window.page
        assert qa is not None and qa.repository == "qa/website"
        tags = qa.tags
        qtbot.waitUntil(lambda: tags.model.rowCount() == 1, timeout=15000)
        listings: list[int] = []
        tags.loader.loaded.connect(lambda: listings.append(1))

        # 1.9-stable pushed with skopeo, an independent client; within the engine's own
        # poll the open view shows the promoted tag, highlighted, with where it came from.
        image = build_image(seed=82)
        layout = write_oci_layout(tmp_path / "layout", image, "1.9-stable")
        with qtbot.waitSignal(engine.promotion_finished, timeout=30000) as second:
            skopeo_copy_layout(layout, "1.9-stable", registry.host, "dev/website", "1.9-stable")
        row = second.args[0]
        assert (row.outcome, row.source_tag, row.target_repository) == (
            "promoted",
            "1.9-stable",
            "qa/website",
        )
        assert re.fullmatch(r"\d{8}-\d{6}", row.target_tag)
        qtbot.waitUntil(lambda: tags.model.row_of(row.target_tag) is not None, timeout=5000)
        promoted = tags.model.row(tags.model.row_of(row.target_tag))  # type: ignore[arg-type]
        assert promoted.provenance == "from dev/website:1.9-stable"
        assert row.target_tag in tags.model.fade.highlighted()  # highlighted, for a few seconds

        def shown() -> str:
            number = tags.model.row_of(row.target_tag)
            index = tags.proxy.mapFromSource(tags.model.index(number, 0))  # type: ignore[arg-type]
            return shown_texts(tags, index.row())

        qtbot.waitUntil(lambda: "from dev/website:1.9-stable" in shown(), timeout=10000)
        assert tags.model.rowCount() == 2 and listings == []  # added, not listed again
        qtbot.waitUntil(lambda: not tags.model.fade.highlighted(), timeout=10000)
        # its History tab has both promotions into it, without a reload
        qtbot.waitUntil(lambda: promotions(qa.history) == 2, timeout=10000)
        qtbot.waitUntil(lambda: promotions(window.activity_view) == 2, timeout=10000)
        assert window.windowTitle() == "qa/website — Hoister"
    finally:
        heartbeat.stop()
        engine.stop()
    assert heartbeat.longest < 1.0, f"the GUI thread was blocked for {heartbeat.longest:.2f}s"
