"""The product's promise, through the window: build the seed policy with the editor's
widgets, push a stable build, watch it promoted in History and appear in qa/website with
where it came from — while the GUI stays responsive."""

from __future__ import annotations

import re

from pytestqt.qtbot import QtBot

from hoister.ui.background.engine_controller import EngineController
from hoister.ui.browsing.tags_model import PROVENANCE, TAG
from hoister.ui.main_window import MainWindow
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory, Heartbeat
from tests.ui.promotions.test_policy_editor import fill_seed


def test_seed_workflow_through_the_window(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    push_image(registry.url, "dev/website", "1.0", build_image(seed=80))
    ctx = make_context(local=registry)
    engine = EngineController(ctx, interval=2.0)  # no notifications here: polling finds the push
    window = MainWindow(ctx, engine)
    qtbot.addWidget(window)
    window.show()
    heartbeat = Heartbeat()
    heartbeat.start()
    try:
        with qtbot.waitSignal(engine.cycle_done, timeout=15000):
            engine.start()
        window.sidebar.load("local")
        qtbot.waitUntil(lambda: window.sidebar.model.repository_count("local") == 1, timeout=15000)
        window.sidebar.select_repository("local", "dev/website")
        page = window.page
        assert page is not None
        page.tabs.setCurrentWidget(page.promotions)
        qtbot.waitUntil(lambda: page.promotions.new_button.isEnabled(), timeout=10000)

        # the editor, filled in through its widgets only
        editor = page.promotions.open_editor()
        qtbot.waitUntil(lambda: editor.others is not None, timeout=10000)
        fill_seed(qtbot, editor)
        with qtbot.waitSignal(
            engine.cycle_done, timeout=15000, check_params_cb=lambda r: r.repositories == 1
        ):
            editor.save_button.click()  # the engine polls at once: dev/website's baseline
        qtbot.waitUntil(lambda: page.promotions.model.rowCount() == 1, timeout=10000)

        # a developer pushes a stable build; polling (or a notification) finds it
        image = build_image(seed=81)
        with qtbot.waitSignal(engine.promotion_finished, timeout=30000) as finished:
            push_image(registry.url, "dev/website", "1.1-stable", image)
        row = finished.args[0]
        assert row.outcome == "promoted"
        assert re.fullmatch(r"\d{8}-\d{6}", row.target_tag)

        # the History tab of dev/website shows it
        page.tabs.setCurrentWidget(page.history)
        page.history.refresh()
        qtbot.waitUntil(lambda: page.history.model.rowCount() >= 2, timeout=10000)

        # QA opens qa/website: the promoted tag, with its provenance from the registry
        window.sidebar.reconnect("local")
        qtbot.waitUntil(lambda: window.sidebar.model.repository_count("local") == 2, timeout=15000)
        window.sidebar.select_repository("local", "qa/website")
        tags = window.page.tags  # type: ignore[union-attr]
        qtbot.waitUntil(lambda: tags.model.rowCount() == 1, timeout=15000)
        tags.promoted_only.setChecked(True)
        qtbot.waitUntil(
            lambda: (
                tags.proxy.rowCount() == 1
                and tags.proxy.index(0, PROVENANCE).data() is not None
                and "from dev/website:1.1-stable" in tags.proxy.index(0, PROVENANCE).data()
            ),
            timeout=15000,
        )
        assert tags.proxy.index(0, TAG).data() == row.target_tag
        with qtbot.waitSignal(tags.details.referrers_loaded, timeout=15000):
            tags.table.selectRow(0)
        qtbot.waitUntil(
            lambda: "Where this image came from" in tags.details.browser.toPlainText(),
            timeout=15000,
        )
        text = tags.details.browser.toPlainText()
        assert "from dev/website:1.1-stable" in text and "Stable builds to QA" in text
    finally:
        heartbeat.stop()
        engine.stop()
    assert heartbeat.longest < 1.0, f"the GUI thread was blocked for {heartbeat.longest:.2f}s"
