"""A collision shows as a failure in the window's History tab, with its reason, and is
retried from there once its cause is fixed."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from hoister.policies import Policy, Rule, check_policy
from hoister.registry import RegistryClient
from hoister.store import PolicyStore
from hoister.ui.background.engine_controller import EngineController
from hoister.ui.history.history_model import RowRole
from hoister.ui.main_window import MainWindow
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory


def test_a_failed_promotion_is_retried_from_the_history_tab(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    ctx = make_context(local=registry)
    with PolicyStore(ctx.database) as store:
        store.add(
            Policy(
                source_profile="local",
                source_repository="dev/website",
                target_repository="qa/website",
                tag_template="%n",
                rules=(Rule("tag", "ew", ["stable"]),),
                name="Stable as is",
            ),
            check=check_policy,
        )
    squatter = build_image(seed=170)
    push_image(registry.url, "qa/website", "3.0-stable", squatter)
    engine = EngineController(ctx, interval=3600)
    window = MainWindow(ctx, engine)
    qtbot.addWidget(window)
    window.show()
    try:
        with qtbot.waitSignal(engine.cycle_done, timeout=15000):
            engine.start()  # baseline of dev/website
        image = build_image(seed=171)
        push_image(registry.url, "dev/website", "3.0-stable", image)
        with qtbot.waitSignal(engine.promotion_failed, timeout=15000) as failed:
            engine.poll_now()
        assert "collides with qa/website:3.0-stable" in failed.args[0].reason

        window.open_repository("local", "dev/website")
        page = window.page
        assert page is not None
        page.tabs.setCurrentWidget(page.history)
        history = page.history
        history.refresh()

        def failed_row() -> int | None:
            for r in range(history.proxy.rowCount()):
                row = history.proxy.index(r, 0).data(RowRole)
                if row.outcome == "failed":
                    return r
            return None

        qtbot.waitUntil(lambda: failed_row() is not None, timeout=10000)
        history.table.selectRow(0)
        for r in range(history.proxy.rowCount()):
            if history.proxy.index(r, 0).data(RowRole).outcome == "matched":
                history.table.selectRow(r)
                assert not history.retry_action.isEnabled()  # only failures can be retried
        history.table.selectRow(failed_row())
        assert history.retry_action.isEnabled()

        client = RegistryClient(registry.url)
        try:
            client.delete_manifest("qa/website", squatter.digest)  # the cause, fixed
        finally:
            client.close()
        with (
            qtbot.waitSignal(engine.promotion_finished, timeout=20000) as finished,
            qtbot.waitSignal(history.message, timeout=10000) as said,
        ):
            history.retry_action.trigger()  # the window wakes the engine at once
        assert said.args[0].endswith("queued again")
        assert finished.args[0].outcome == "promoted"
        assert finished.args[0].target_tag == "3.0-stable"
    finally:
        engine.stop()
