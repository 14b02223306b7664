"""*Promote from this workstation* in the real main window.

On a PostgreSQL team store where an agent is registered and promoting, the action starts
unticked, the status bar says why, and the app's engine claims nothing; ticking it makes
the engine claim and promote what waited. Browsing, a promotion started by hand still
runs. Alone, it starts ticked; a saved choice wins over the automatic one.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pytestqt.qtbot import QtBot

from hoister.engine.watcher import Candidate
from hoister.policies import Policy, Rule, check_policy
from hoister.store import Database, PolicyStore
from hoister.store.engines import EngineRegistry
from hoister.store.history import HistoryStore
from hoister.store.queue import QueueEntry, QueueStore
from hoister.ui.background.engine_controller import PROMOTE_HERE, EngineController
from hoister.ui.background.promote_here import TEXT
from hoister.ui.context import AppContext
from hoister.ui.main_window import MainWindow
from hoister.ui.promotions.promote_dialog import PromoteDialog
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory

POLICY = Policy(
    source_profile="local",
    source_repository="dev/website",
    target_repository="qa/website",
    tag_template="%n-qa",
    rules=(Rule("tag", "ew", ["stable"]),),
    name="Stable builds to QA",
)
TEAM_AGENT = "build-01:4242:0badcafe:hoister-agent@build-01"


@pytest.fixture
def team_context(
    make_context: ContextFactory, registry: RegistryServer, postgres_url: str
) -> Iterator[AppContext]:
    """An app on a PostgreSQL team store (as the Team database setting would give)."""
    ctx = make_context(local=registry)
    ctx.database = Database.open(postgres_url)
    with PolicyStore(ctx.database) as store:
        store.add(POLICY, check=check_policy)
    yield ctx
    ctx.database.close()


def _window(qtbot: QtBot, ctx: AppContext) -> tuple[MainWindow, EngineController]:
    controller = EngineController(ctx, interval=3600)
    window = MainWindow(ctx, controller)
    qtbot.addWidget(window)
    window.show()
    return window, controller


def _entries(database: Database) -> list[QueueEntry]:
    with QueueStore(database) as queue:
        return queue.entries()


def test_team_agents_at_work_make_the_workstation_browse(
    qtbot: QtBot, team_context: AppContext, registry: RegistryServer
) -> None:
    ctx = team_context
    with EngineRegistry(ctx.database) as engines:
        engines.register(TEAM_AGENT, "agent")
    images = {tag: build_image(seed=60 + n) for n, tag in enumerate(("1.0-stable", "1.1-stable"))}
    for tag, image in images.items():
        push_image(registry.url, "dev/website", tag, image)
    window, controller = _window(qtbot, ctx)
    [action] = [a for a in window.file_menu.actions() if a.text() == TEXT]
    assert action.isCheckable() and not action.isChecked()
    try:
        with qtbot.waitSignal(controller.promoting_changed, timeout=15000) as decided:
            controller.start()
        assert decided.args[0] is False
        assert not action.isChecked()
        assert window.status_label.text() == (
            "1 team agent is promoting; this workstation only browses. "
            "Promote from this workstation to join them."
        )
        assert "this workstation browses" in window.engine_status.label.text()
        assert ctx.settings.get(PROMOTE_HERE) is None  # automatic: nothing chosen

        # Tags handed over are still evaluated and queued, for the team's agents. The
        # second is handed over once the first is queued, so when it is queued too the
        # engine's step after the first has ended: had it claimed, it would show.
        for n, (tag, image) in enumerate(images.items(), start=1):
            when = datetime.now(UTC)
            window.submit_candidates(
                [Candidate("local", "dev/website", tag, image.digest, when, "poll")]
            )
            qtbot.waitUntil(lambda n=n: len(_entries(ctx.database)) == n, timeout=15000)
        assert [(e.state, e.owner) for e in _entries(ctx.database)] == [("pending", None)] * 2
        with EngineRegistry(ctx.database) as engines:
            [me] = [row for row in engines.at_work() if row.kind == "app"]
        assert me.promoting is False  # seen by the others, as not promoting

        promoted: list[object] = []
        controller.promotion_finished.connect(promoted.append)
        action.trigger()  # the user ticks it
        assert action.isChecked() and ctx.settings.get(PROMOTE_HERE) is True
        qtbot.waitUntil(lambda: len(promoted) == 2, timeout=30000)
        assert {e.state for e in _entries(ctx.database)} == {"done"}
        assert controller.engine is not None
        assert {row.agent for row in promoted} == {controller.engine.name}  # type: ignore[attr-defined]
        assert "browses" not in window.engine_status.label.text()
    finally:
        controller.stop()


def test_a_browsing_workstation_still_promotes_by_hand(
    qtbot: QtBot, team_context: AppContext, registry: RegistryServer
) -> None:
    ctx = team_context
    with EngineRegistry(ctx.database) as engines:
        engines.register(TEAM_AGENT, "agent")
    image = build_image(seed=66)
    push_image(registry.url, "dev/website", "1.4", image)
    window, controller = _window(qtbot, ctx)
    try:
        with qtbot.waitSignal(controller.promoting_changed, timeout=15000) as decided:
            controller.start()
        assert decided.args[0] is False
        dialog = PromoteDialog(ctx, "local", "dev/website", "1.4", image.digest, window)
        dialog.show()
        dialog.repository_combo.setEditText("qa/website")
        dialog.template_edit.setText("%n-hotfix")
        with qtbot.waitSignal(dialog.promoted, timeout=30000) as promoted:
            dialog.ok_button.click()
        assert promoted.args == [f"{registry.host}/qa/website:1.4-hotfix"]
        with HistoryStore(ctx.database) as history:
            [row] = history.recent(1)
        assert (row.outcome, row.agent) == ("promoted", f"app@{socket.gethostname()}:{os.getpid()}")
        assert controller.engine is not None and not controller.engine.promoting
    finally:
        controller.stop()


def test_alone_the_workstation_promotes(qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context()
    window, controller = _window(qtbot, ctx)
    [action] = [a for a in window.file_menu.actions() if a.text() == TEXT]
    try:
        with qtbot.waitSignal(controller.promoting_changed, timeout=15000) as decided:
            controller.start()
        assert decided.args == [True, ""]
        assert action.isChecked()
        assert controller.engine is not None and controller.engine.promoting
    finally:
        controller.stop()


def test_a_saved_choice_wins(qtbot: QtBot, team_context: AppContext) -> None:
    ctx = team_context
    ctx.settings.set(PROMOTE_HERE, False)  # nobody else at work, yet the user said no
    window, controller = _window(qtbot, ctx)
    [action] = [a for a in window.file_menu.actions() if a.text() == TEXT]
    try:
        with qtbot.waitSignal(controller.promoting_changed, timeout=15000) as decided:
            controller.start()
        assert decided.args == [False, ""]
        assert not action.isChecked()
        assert controller.engine is not None and not controller.engine.promoting
        action.trigger()
        assert ctx.settings.get(PROMOTE_HERE) is True and controller.engine.promoting
    finally:
        controller.stop()
