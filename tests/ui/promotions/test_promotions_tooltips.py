"""The Promotions table at 1024x700 in the real window: every cell's text in its tooltip."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hoister.store import PolicyStore
from hoister.store.history import HistoryStore
from hoister.ui.main_window import MainWindow
from hoister.ui.promotions.policies_model import (
    CRITERIA,
    ENABLED,
    HEADERS,
    LAST_PROMOTED,
    LAST_RESULT,
    NAME,
    OTHER,
    TEMPLATE,
)
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory
from tests.ui.promotions.test_promotions_tab import history_row, seed_policy, store_policies

REASON = "401 Unauthorized from registry.example while reading the token: the token expired"


def test_every_promotions_cell_has_its_whole_text_as_tooltip(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    push_image(registry.url, "dev/website", "1.0", build_image(seed=95))
    ctx = make_context(local=registry)
    [policy] = store_policies(
        ctx,
        seed_policy(
            name="Stable builds of the public website to the QA environment",
            tag_template="%n-qa-%Y%m%d-%H%M%S",
            target_repository="qa/website-with-a-rather-long-name",
        ),
    )
    history = HistoryStore(ctx.database)
    try:
        history.add(history_row(policy, "failed", REASON, None))
    finally:
        history.close()
    with PolicyStore(ctx.database) as store:
        store.mark_promoted(policy.id or 0, datetime(2026, 11, 30, 9, 5, 3, tzinfo=UTC))

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    window.resize(1024, 700)
    window.sidebar.load("local")
    qtbot.waitUntil(lambda: window.sidebar.model.repository_count("local") == 1, timeout=15000)
    window.sidebar.select_repository("local", "dev/website")
    assert window.page is not None
    tab = window.page.promotions
    window.page.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.proxy.rowCount() == 1, timeout=10000)

    def tip(column: int) -> str:
        return str(tab.proxy.index(0, column).data(Qt.ItemDataRole.ToolTipRole))

    for column in range(len(HEADERS)):
        text = tab.proxy.index(0, column).data()
        if column == ENABLED:
            assert text is None  # a checkbox, with its header's tooltip
            continue
        assert text, HEADERS[column]
        assert text.rstrip("…") in tip(column), HEADERS[column]
    assert tip(NAME).startswith("Stable builds of the public website to the QA environment")
    assert tip(OTHER) == "qa/website-with-a-rather-long-name on local"
    assert tip(TEMPLATE) == "%n-qa-%Y%m%d-%H%M%S"
    assert tip(CRITERIA) == "Tag name ends with 'stable'"
    assert tip(LAST_PROMOTED).startswith("2026-11-30 ") and len(tip(LAST_PROMOTED)) == 19
    assert REASON in tip(LAST_RESULT)
    # at 1024x700 the table fits its width: what a policy did last is on screen
    header = tab.table.horizontalHeader()
    qtbot.waitUntil(lambda: not header.isSectionHidden(LAST_RESULT))
    assert not tab.table.horizontalScrollBar().isVisible()
    assert (
        header.sectionViewportPosition(LAST_RESULT) + header.sectionSize(LAST_RESULT)
        <= tab.table.viewport().width()
    )
    assert header.isSectionHidden(CRITERIA)  # the first to give way on a narrow window
    window.resize(1600, 1000)
    qtbot.waitUntil(lambda: not any(header.isSectionHidden(c) for c in range(len(HEADERS))))
    assert not tab.table.horizontalScrollBar().isVisible()
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: header.isSectionHidden(CRITERIA))
    window.grab().save("/tmp/hoister-promotions-1024x700.png")
