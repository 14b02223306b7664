"""What another workstation writes to the team database shows in this window by itself."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from pytestqt.qtbot import QtBot

from hoister.policies import Policy, Rule, check_policy
from hoister.store import Database, PolicyStore
from hoister.store.history import HistoryRow, HistoryStore
from hoister.ui.history import history_view
from hoister.ui.history.history_view import HistoryView
from hoister.ui.promotions.promotions_tab import PromotionsTab
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory
from tests.ui.promotions.window import open_promotions, open_repository, open_window
from tests.ui.team.support import ContextOn, context_on  # noqa: F401

WAIT_MS = 15_000
NEVER_MS = 3_600_000  # the views' own timers: out of the way, only the listener refreshes


def _row(repository: str) -> HistoryRow:
    now = datetime(2026, 12, 1, 10, 4, tzinfo=UTC)
    return HistoryRow(
        policy_id=None,
        policy_name="stable to QA",
        source_profile="local",
        source_repository=repository,
        source_tag="1.0-stable",
        source_digest="sha256:" + "b" * 64,
        target_profile="local",
        target_repository="qa/website",
        target_tag="1.0-stable",
        outcome="promoted",
        reason="",
        started_at=now,
        finished_at=now,
        actor="agent@server",
    )


@pytest.fixture
def only_the_listener_refreshes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(HistoryView, "REFRESH_MS", NEVER_MS)
    monkeypatch.setattr(PromotionsTab, "REFRESH_MS", NEVER_MS)


@pytest.mark.usefixtures("only_the_listener_refreshes")
def test_another_workstations_policy_and_history_appear_without_a_refresh(
    qtbot: QtBot,
    context_on: ContextOn,  # noqa: F811 - fixture
    postgres_url: str,
    registry: RegistryServer,
) -> None:
    push_image(registry.url, "dev/website", "1.0", build_image(seed=130))
    ctx = context_on(postgres_url, local=registry)
    window = open_window(qtbot, ctx)
    page = open_repository(qtbot, window, "dev/website")
    tab = open_promotions(qtbot, page, 0)
    window.activity.show()
    qtbot.waitUntil(lambda: tab._has_data and not page.history._requester.busy, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window.activity_view._requester.busy, timeout=WAIT_MS)
    qtbot.waitUntil(window.changes.listener.listening.is_set, timeout=WAIT_MS)

    with Database.open(postgres_url) as theirs:  # the other workstation
        with PolicyStore(theirs, author="alice@ws2") as store:
            store.add(
                Policy(
                    source_profile="local",
                    source_repository="dev/website",
                    target_repository="qa/website",
                    tag_template="%n",
                    rules=(Rule("tag", "ew", ("stable",)),),
                    name="stable to QA",
                ),
                check=check_policy,
            )
        qtbot.waitUntil(lambda: tab.proxy.rowCount() == 1, timeout=WAIT_MS)
        assert tab.selected_policy() is None or tab.selected_policy().name == "stable to QA"

        page.tabs.setCurrentWidget(page.history)
        with HistoryStore(theirs) as history:
            history.add(_row("dev/website"))
        qtbot.waitUntil(lambda: page.history.model.rowCount() == 1, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: window.activity_view.model.rowCount() == 1, timeout=WAIT_MS)
    (shown,) = page.history.model.rows()
    assert (shown.source_tag, shown.actor) == ("1.0-stable", "agent@server")


@pytest.mark.usefixtures("only_the_listener_refreshes")
def test_a_burst_of_changes_is_read_once(
    qtbot: QtBot, make_context: ContextFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent finishing fifty promotions says "history" fifty times: one read."""
    reads: list[int | None] = []
    real_read = history_view.read_history

    def counting_read(database: Database, repository: str | None, since_id: int) -> list:  # type: ignore[type-arg]
        reads.append(since_id)
        return real_read(database, repository, since_id)

    window = open_window(qtbot, make_context())
    activity = window.activity_view
    qtbot.waitUntil(lambda: not activity._requester.busy, timeout=WAIT_MS)
    monkeypatch.setattr(history_view, "read_history", counting_read)
    rounds: list[object] = []
    window.changes.applied.connect(rounds.append)

    def burst() -> None:  # as the listener's thread does
        for _ in range(50):
            window.changes.heard.emit("history")
        window.changes.heard.emit("policies")

    thread = threading.Thread(target=burst)
    thread.start()
    thread.join()
    with qtbot.waitSignal(window.changes.applied, timeout=WAIT_MS):
        pass
    qtbot.waitUntil(lambda: not activity._requester.busy, timeout=WAIT_MS)
    assert rounds == [frozenset({"history", "policies"})]
    assert len(reads) == 1
