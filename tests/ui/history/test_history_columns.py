"""The History tab in a 1024x700 window: what happened and why fit without scrolling,
and every cell's whole text is in its tooltip."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hoister.store.history import HistoryStore
from hoister.ui.history.history_model import HistoryModel
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory
from tests.ui.promotions.test_promotions_tab import history_row, seed_policy, store_policies
from tests.ui.promotions.window import open_repository, open_window

REASON = "401 Unauthorized from registry.example while pushing the manifest: token expired"


def test_history_fits_a_small_window_and_keeps_whole_texts_in_tooltips(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    push_image(registry.url, "dev/website", "1.0", build_image(seed=88))
    ctx = make_context(local=registry)
    [policy] = store_policies(ctx, seed_policy(name="Stable builds of the website to QA"))
    history = HistoryStore(ctx.database)
    try:
        row = history_row(policy, "failed", REASON, "1.1-stable-with-a-long-suffix")
        history.add(dataclasses.replace(row, agent="agent@build-01:4242", actor="hoister-agent"))
    finally:
        history.close()
    window = open_window(qtbot, ctx)  # 1024x700
    page = open_repository(qtbot, window, "dev/website")
    page.tabs.setCurrentWidget(page.history)
    view = page.history
    qtbot.waitUntil(lambda: view.proxy.rowCount() == 1, timeout=10_000)
    header = view.table.horizontalHeader()
    qtbot.waitUntil(lambda: header.isSectionHidden(HistoryModel.DIGEST))
    assert header.isSectionHidden(HistoryModel.BY)  # who did it gives way first
    for column in (HistoryModel.TIME, HistoryModel.RESULT, HistoryModel.REASON):
        assert not header.isSectionHidden(column), HistoryModel.HEADERS[column]
    assert not view.table.horizontalScrollBar().isVisible()
    right = header.sectionViewportPosition(HistoryModel.REASON)
    assert right + header.sectionSize(HistoryModel.REASON) <= view.table.viewport().width()

    def tip(column: int) -> str:
        return str(view.proxy.index(0, column).data(Qt.ItemDataRole.ToolTipRole))

    assert tip(HistoryModel.REASON) == REASON
    assert tip(HistoryModel.TARGET) == "qa/website:1.1-stable-with-a-long-suffix"
    assert tip(HistoryModel.DIGEST) == "sha256:" + "ab" * 32

    assert tip(HistoryModel.BY) == "agent@build-01:4242"  # the engine that wrote the row

    window.resize(1600, 1000)  # room for every column again
    qtbot.waitUntil(lambda: not header.isSectionHidden(HistoryModel.DIGEST))
    assert not header.isSectionHidden(HistoryModel.BY)
    assert not view.table.horizontalScrollBar().isVisible()
