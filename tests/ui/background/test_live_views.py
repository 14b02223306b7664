"""The engine's polls reach the open view of a repository it watches, in the real window:
a tag pushed there appears without anyone reading the list again."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from hoister.policies import Policy, Rule, check_policy
from hoister.store import PolicyStore
from hoister.ui.background.engine_controller import EngineController
from hoister.ui.history.history_view import HistoryView
from hoister.ui.main_window import MainWindow
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory


def test_a_poll_brings_new_tags_to_the_open_view_of_a_watched_repository(
    qtbot: QtBot,
    make_context: ContextFactory,
    registry: RegistryServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(HistoryView, "REFRESH_MS", 3_600_000)  # only the engine's signals
    push_image(registry.url, "dev/website", "1.0", build_image(seed=96))
    ctx = make_context(local=registry)
    with PolicyStore(ctx.database) as store:
        store.add(
            Policy(
                source_profile="local",
                source_repository="dev/website",
                target_repository="qa/website",
                tag_template="%n",
                rules=(Rule("tag", "ew", ("stable",)),),
            ),
            check=check_policy,
        )
    engine = EngineController(ctx, interval=1.0)
    window = MainWindow(ctx, engine)
    qtbot.addWidget(window)
    window.show()
    try:
        with qtbot.waitSignal(engine.cycle_done, timeout=15000):
            engine.start()  # the baseline
        qtbot.waitUntil(lambda: window.sidebar.model.repository_count("local") == 1, timeout=15000)
        window.sidebar.select_repository("local", "dev/website")
        assert window.page is not None
        tags = window.page.tags
        qtbot.waitUntil(lambda: tags.model.rowCount() == 1 and not tags.loader.listing)
        tags.table.selectRow(0)
        listings: list[int] = []
        tags.loader.loaded.connect(lambda: listings.append(1))

        with qtbot.waitSignal(engine.repository_changed, timeout=15000) as changed:
            push_image(registry.url, "dev/website", "1.1", build_image(seed=97))
        assert changed.args[0].added == ("1.1",)
        assert sorted(tags.model.tags()) == ["1.0", "1.1"]
        assert listings == []  # applied, not listed again
        assert tags.selected_tag() == "1.0"  # the selection stayed

        # a stable push is promoted: the Activity dock shows it without a reload
        with qtbot.waitSignal(engine.promotion_finished, timeout=15000):
            push_image(registry.url, "dev/website", "1.1-stable", build_image(seed=98))
        qtbot.waitUntil(
            lambda: any(r.outcome == "promoted" for r in window.activity_view.model.rows()),
            timeout=10000,
        )
        assert "1.1-stable" in tags.model.tags()

        # 1.1-stable pushed again with another image: its row shows the new digest and
        # stays selected (polls read digests of the tags policies could promote)
        tags.select_tag("1.1-stable")
        moved = build_image(seed=99)
        with qtbot.waitSignal(
            engine.repository_changed, timeout=15000, check_params_cb=lambda c: bool(c.moved)
        ) as changed:
            push_image(registry.url, "dev/website", "1.1-stable", moved)
        assert changed.args[0].moved == ("1.1-stable",)
        qtbot.waitUntil(
            lambda: tags.model.row(tags.model.row_of("1.1-stable") or 0).digest == moved.digest,
            timeout=10000,
        )
        assert tags.selected_tag() == "1.1-stable" and listings == []
    finally:
        engine.stop()
