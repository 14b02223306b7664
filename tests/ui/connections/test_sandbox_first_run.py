"""The newcomer's first run in the real window: start the sandbox from the welcome page
(sample images, no policy yet), add the seed policy, then Sandbox → Push a new stable
build to dev/website, and the engine promotes it into qa/website on its own."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hoister import sandbox
from hoister.policies import policy_check
from hoister.sample import REPOSITORY, TARGET_REPOSITORY, sample_policy
from hoister.store import PolicyStore
from hoister.ui.background.engine_controller import EngineController
from hoister.ui.connections.sandbox_control import NOT_RUNNING_TIP, PUSH_TEXT, PUSH_TIP
from hoister.ui.main_window import MainWindow
from tests.support.images import skopeo_inspect
from tests.ui.conftest import ContextFactory
from tests.ui.connections.test_add_registry import menu_action

pytestmark = pytest.mark.skipif(
    sandbox.find_binary() is None, reason="the registry program is not installed"
)


def test_push_a_new_stable_build_from_the_app_and_see_it_promoted(
    qtbot: QtBot, make_context: ContextFactory
) -> None:
    ctx = make_context()
    # An hour between polls: only the push action's own "look now" can explain a
    # promotion within the test's wait.
    engine = EngineController(ctx, interval=3600)
    window = MainWindow(ctx, engine)
    qtbot.addWidget(window)
    window.show()
    push = menu_action(window, "Sandbox", PUSH_TEXT)
    assert push is window.sandbox.push_action
    assert not push.isEnabled() and push.toolTip() == NOT_RUNNING_TIP
    try:
        with qtbot.waitSignal(engine.cycle_done, timeout=15000):
            engine.start()
        with qtbot.waitSignal(window.sandbox.ready, timeout=30000):
            qtbot.mouseClick(window.welcome.sandbox_button, Qt.MouseButton.LeftButton)
        assert window.stack.currentWidget() is window.hint
        assert f"Sandbox → {PUSH_TEXT}" in window.hint.text()  # the steps stay in view
        assert push.isEnabled() and push.toolTip() == PUSH_TIP
        host = window.sandbox.registry.url.removeprefix("http://")
        assert skopeo_inspect(host, REPOSITORY, "1.2-stable")["Digest"]  # type: ignore[index]
        with PolicyStore(ctx.database) as store:
            assert store.list() == []  # the README's walk-through adds it, not the sandbox
            store.add(sample_policy("sandbox"), check=policy_check(ctx.profiles.identities()))
        with qtbot.waitSignal(
            engine.cycle_done, timeout=15000, check_params_cb=lambda r: r.repositories == 1
        ):
            engine.poll_now()  # what saving the policy in the editor does: the baseline

        with qtbot.waitSignal(engine.promotion_finished, timeout=30000) as finished:
            push.trigger()
        row = finished.args[0]
        assert (row.outcome, row.source_repository, row.source_tag, row.target_repository) == (
            "promoted",
            REPOSITORY,
            "1.4-stable",
            TARGET_REPOSITORY,
        )
        pushed = skopeo_inspect(host, REPOSITORY, "1.4-stable")
        promoted = skopeo_inspect(host, TARGET_REPOSITORY, row.target_tag)
        assert pushed["Digest"] == promoted["Digest"] == row.source_digest  # type: ignore[index]
        assert pushed["Labels"]["org.opencontainers.image.version"] == "1.4"  # type: ignore[index]
        qtbot.waitUntil(push.isEnabled)

        push.trigger()
        assert not push.isEnabled()  # one push at a time, answered from the pool
        with qtbot.waitSignal(window.sandbox.pushed, timeout=15000) as again:
            pass
        assert again.args == ["1.5-stable"]
        assert "Pushed dev/website:1.5-stable" in window.status_label.text()
    finally:
        engine.stop()
        window.sandbox.stop()
    assert not push.isEnabled()
