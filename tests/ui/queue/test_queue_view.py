"""View → Queue in the real main window: what waits for facts, what failed and why, and
Retry (button and context menu) for a failure whose cause was fixed.

A real registry and the app's own background engine; the view reads on the pool, and
follows the engine without being asked.
"""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from hoister.cli import main
from hoister.engine import waiting
from hoister.policies import Policy, Rule, check_policy
from hoister.registry import RegistryClient
from hoister.store import PolicyStore
from hoister.ui.background.engine_controller import EngineController
from hoister.ui.main_window import MainWindow
from hoister.ui.queue import queue_view
from hoister.ui.queue.queue_model import QueueModel, RowRole
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory


def _find(view: queue_view.QueueView, status: str) -> int | None:
    for r in range(view.proxy.rowCount()):
        if view.proxy.index(r, 0).data(RowRole).status == status:
            return r
    return None


def _cell(view: queue_view.QueueView, row: int, column: int) -> str:
    return str(view.proxy.index(row, column).data())


def test_queue_view_shows_waiting_and_failed_work_and_retries_it(
    qtbot: QtBot,
    make_context: ContextFactory,
    registry: RegistryServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    readers: list[str] = []
    real_load = waiting.load

    def spying_load(*args, **kwargs):  # type: ignore[no-untyped-def]
        readers.append(threading.current_thread().name)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(queue_view, "load", spying_load)
    ctx = make_context(local=registry)
    with PolicyStore(ctx.database) as store:
        for policy in (
            Policy(
                source_profile="local", source_repository="dev/website",
                target_repository="qa/website", tag_template="%n",
                rules=(Rule("tag", "ew", ["stable"]),), name="Stable as is",
            ),
            Policy(
                source_profile="local", source_repository="dev/api",
                target_repository="qa/api", tag_template="%n",
                rules=(Rule("vulnerability_critical", "eq", ["0"]),), name="Scanned only",
            ),
        ):  # fmt: skip
            store.add(policy, check=check_policy)
    squatter = build_image(seed=270)
    push_image(registry.url, "qa/website", "3.0-stable", squatter)
    engine = EngineController(ctx, interval=3600)
    window = MainWindow(ctx, engine)
    qtbot.addWidget(window)
    window.show()
    view = window.queue_view
    try:
        with qtbot.waitSignal(engine.cycle_done, timeout=15000):
            engine.start()  # baselines
        push_image(registry.url, "dev/api", "1.0", build_image(seed=271))
        push_image(registry.url, "dev/website", "3.0-stable", build_image(seed=272))
        with qtbot.waitSignal(engine.promotion_failed, timeout=15000):
            engine.poll_now()

        assert not window.queue.isVisible()
        toggle = window.queue.toggleViewAction()
        assert toggle.text() == "&Queue"
        assert toggle in window.menuBar().actions()[1].menu().actions()  # in the View menu
        toggle.trigger()
        qtbot.waitUntil(window.queue.isVisible)
        qtbot.waitUntil(
            lambda: _find(view, "waiting") is not None and _find(view, "failed") is not None,
            timeout=10000,
        )
        waiting_row = _find(view, "waiting")
        assert waiting_row is not None
        assert _cell(view, waiting_row, QueueModel.STATE) == "waiting for facts"
        assert _cell(view, waiting_row, QueueModel.POLICY) == "Scanned only"
        assert _cell(view, waiting_row, QueueModel.SOURCE) == "dev/api:1.0"
        assert _cell(view, waiting_row, QueueModel.WHEN).startswith("since ")
        assert _cell(view, waiting_row, QueueModel.REASON)
        failed_row = _find(view, "failed")
        assert failed_row is not None
        assert "collides with qa/website:3.0-stable" in _cell(view, failed_row, QueueModel.REASON)
        assert readers and "MainThread" not in readers  # read on the pool, never the GUI

        view.table.selectRow(waiting_row)
        assert not view.retry_button.isEnabled() and not view.retry_action.isEnabled()
        view.table.selectRow(failed_row)
        assert view.retry_button.isEnabled() and view.retry_action.isEnabled()
        assert view.retry_action in view.table.actions()  # also the context menu's action

        client = RegistryClient(registry.url)
        try:
            client.delete_manifest("qa/website", squatter.digest)  # the cause, fixed
        finally:
            client.close()
        with (
            qtbot.waitSignal(engine.promotion_finished, timeout=20000) as finished,
            qtbot.waitSignal(view.message, timeout=10000) as said,
        ):
            qtbot.mouseClick(
                view.retry_button, Qt.MouseButton.LeftButton
            )  # the engine is woken at once
        assert said.args[0].endswith("queued again")
        assert finished.args[0].target_tag == "3.0-stable"
        # The view follows the engine: the failure is gone, the waiting image stays.
        qtbot.waitUntil(lambda: _find(view, "failed") is None and _find(view, "pending") is None)
        assert _find(view, "waiting") is not None
        assert not view.retry_button.isEnabled()
    finally:
        engine.stop()


def test_retry_from_the_context_menu_says_when_someone_was_faster(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    """Without a background engine: the failure comes from `hoister run --once`, and is
    retried elsewhere (another machine, the command line) before the click."""
    ctx = make_context(local=registry)
    with PolicyStore(ctx.database) as store:
        store.add(
            Policy(
                source_profile="local", source_repository="dev/web",
                target_repository="qa/web", tag_template="%n",
                rules=(Rule("tag", "ew", ["stable"]),), name="As is",
            ),
            check=check_policy,
        )  # fmt: skip
    assert main(["run", "--once"]) == 0
    push_image(registry.url, "qa/web", "1-stable", build_image(seed=280))
    push_image(registry.url, "dev/web", "1-stable", build_image(seed=281))
    assert main(["run", "--once"]) == 1  # the collision
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    view = window.queue_view
    window.queue.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: _find(view, "failed") is not None, timeout=10000)
    row = _find(view, "failed")
    assert row is not None
    entry_id = view.proxy.index(row, 0).data(RowRole).entry_id

    rect = view.table.visualRect(view.proxy.index(row, QueueModel.SOURCE))
    view.table.clearSelection()
    menu = view.context_menu(rect.center())  # what a right click there pops up
    assert isinstance(menu, QMenu)
    [action] = menu.actions()
    assert action.text() == "Retry" and action.isEnabled()
    assert view.selected_rows()[0].entry_id == entry_id  # the row under the cursor

    assert waiting.retry(ctx.database, [entry_id]).requeued  # someone else, first
    with qtbot.waitSignal(view.message, timeout=10000) as said:
        action.trigger()
    assert said.args[0].startswith("Nothing to retry")
    assert f"entry {entry_id} is pending" in said.args[0]
    qtbot.waitUntil(lambda: _find(view, "pending") is not None, timeout=10000)
    assert _find(view, "failed") is None
