"""The engine running behind the window: live history, status, pause and resume."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hoister.engine.watcher import Candidate
from hoister.policies import Policy, Rule, check_policy
from hoister.store import PolicyStore
from hoister.ui.background.engine_controller import EngineController
from hoister.ui.background.engine_status import EngineStatus
from hoister.ui.context import AppContext
from hoister.ui.history.history_view import HistoryView
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory

SEED = Policy(
    source_profile="local",
    source_repository="dev/website",
    target_repository="qa/website",
    tag_template="%n-qa",
    rules=(Rule("tag", "ew", ["stable"]),),
    name="Stable builds to QA",
)


@pytest.fixture
def running(
    make_context: ContextFactory, registry: RegistryServer
) -> Iterator[tuple[AppContext, EngineController]]:
    ctx = make_context(local=registry)
    with PolicyStore(ctx.database) as store:
        store.add(SEED, check=check_policy)
    controller = EngineController(ctx, interval=3600)
    yield ctx, controller
    controller.stop()


def test_promotions_appear_live_in_the_history(
    qtbot: QtBot, running, registry: RegistryServer
) -> None:  # type: ignore[no-untyped-def]
    ctx, controller = running
    history = HistoryView(ctx)
    status = EngineStatus(controller)
    qtbot.addWidget(history)
    qtbot.addWidget(status)
    with qtbot.waitSignal(controller.cycle_done, timeout=15000):
        controller.start()  # the first cycle records the (empty) baseline
    assert "Promotions running" in status.label.text()
    image = build_image(seed=70)
    push_image(registry.url, "dev/website", "1.1-stable", image)
    with qtbot.waitSignal(controller.promotion_finished, timeout=15000) as finished:
        controller.submit(
            [
                Candidate(
                    "local", "dev/website", "1.1-stable", image.digest, datetime.now(UTC), "poll"
                )
            ]
        )
    row = finished.args[0]
    assert (row.outcome, row.target_repository, row.target_tag) == (
        "promoted",
        "qa/website",
        "1.1-stable-qa",
    )
    history.refresh()
    qtbot.waitUntil(lambda: history.model.rowCount() == 2, timeout=10000)  # matched + promoted
    texts = [history.proxy.index(r, history.model.TARGET).data() for r in range(2)]
    assert "qa/website:1.1-stable-qa" in texts


def test_pause_and_resume(qtbot: QtBot, running, registry: RegistryServer) -> None:  # type: ignore[no-untyped-def]
    _, controller = running
    status = EngineStatus(controller)
    qtbot.addWidget(status)
    with qtbot.waitSignal(controller.cycle_done, timeout=15000):
        controller.start()
    qtbot.mouseClick(status.pause_button, Qt.MouseButton.LeftButton)
    assert controller.state == "paused"
    assert "Promotions paused" in status.label.text()
    assert status.pause_button.text() == "Resume"
    image = build_image(seed=71)
    push_image(registry.url, "dev/website", "2.0-stable", image)
    candidate = Candidate(
        "local", "dev/website", "2.0-stable", image.digest, datetime.now(UTC), "poll"
    )
    with qtbot.assertNotEmitted(controller.promotion_finished, wait=1000):
        controller.submit([candidate])  # held while paused
    with qtbot.waitSignal(controller.promotion_finished, timeout=15000):
        status.pause_button.click()  # resume
    assert controller.state == "running"


def test_the_engine_restarts_after_an_unexpected_error_and_the_status_bar_says_so(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from hoister.engine.engine import Engine
    from hoister.ui.main_window import MainWindow

    ctx = make_context(local=registry)
    with PolicyStore(ctx.database) as store:
        store.add(SEED, check=check_policy)
    real = Engine._run_forever
    calls: list[int] = []

    def dies_once(self, interval):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real(self, interval)

    monkeypatch.setattr(Engine, "_run_forever", dies_once)
    controller = EngineController(ctx, interval=3600)
    window = MainWindow(ctx, controller)
    qtbot.addWidget(window)
    window.show()
    try:
        with qtbot.waitSignal(controller.problem, timeout=15000) as problem:
            controller.start()
        assert "stopped unexpectedly (database went away) and was restarted" in problem.args[0]
        status = window.engine_status
        assert "⚠" in status.label.text()
        assert "was restarted" in status.label.toolTip()
        # Running again: a push is promoted by the restarted engine.
        with qtbot.waitSignal(controller.cycle_done, timeout=20000):
            pass
        image = build_image(seed=71)
        push_image(registry.url, "dev/website", "1.2-stable", image)
        with qtbot.waitSignal(controller.promotion_finished, timeout=15000) as finished:
            controller.submit(
                [
                    Candidate(
                        "local",
                        "dev/website",
                        "1.2-stable",
                        image.digest,
                        datetime.now(UTC),
                        "poll",
                    )
                ]
            )
        assert finished.args[0].outcome == "promoted"
    finally:
        controller.stop()
