"""The tray in the real window: its menu pauses, resumes, shows and quits; promotions are
announced in it; and where no tray exists, "Keep promoting in the tray" says why it is off.

The offscreen platform has no tray, so most tests force ``isSystemTrayAvailable`` on; Qt's
offscreen plugin then logs that it lacks a tray signal (and cannot raise a window), which
is not ours to fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from hoister.engine.watcher import Candidate
from hoister.policies import Policy, Rule, check_policy
from hoister.store import PolicyStore
from hoister.store.history import HistoryRow
from hoister.ui.background.engine_controller import EngineController
from hoister.ui.background.tray import NO_TRAY, PAUSE_TEXT, RESUME_TEXT, Tray
from hoister.ui.main_window import MainWindow
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory

OFFSCREEN_TRAY = "systemTrayWindowChanged"
OFFSCREEN_RAISE = r"does not support raise\(\)"  # Show Hoister raises the window

SEED = Policy(
    source_profile="local",
    source_repository="dev/website",
    target_repository="qa/website",
    tag_template="%n-qa",
    rules=(Rule("tag", "ew", ["stable"]),),
    name="Stable builds to QA",
)


@pytest.fixture
def tray_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))


@pytest.fixture
def engine(make_context: ContextFactory, registry: RegistryServer) -> Iterator[EngineController]:
    ctx = make_context(local=registry)
    with PolicyStore(ctx.database) as store:
        store.add(SEED, check=check_policy)
    controller = EngineController(ctx, interval=3600)
    yield controller
    controller.stop()


def _window(qtbot: QtBot, engine: EngineController) -> MainWindow:
    window = MainWindow(engine.ctx, engine)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def _start(qtbot: QtBot, engine: EngineController) -> None:
    with qtbot.waitSignal(engine.cycle_done, timeout=15000):
        engine.start()


def test_without_a_tray_the_option_is_off_and_says_why(
    qtbot: QtBot, engine: EngineController
) -> None:
    engine.ctx.settings.set("close_to_tray", True)  # ticked on a desktop that had a tray
    window = _window(qtbot, engine)
    _start(qtbot, engine)
    assert window.tray is None
    action = window.close_to_tray_action
    assert not action.isEnabled() and not action.isChecked()
    assert action.toolTip() == NO_TRAY and action.statusTip() == NO_TRAY
    action.trigger()  # a disabled action does nothing, whatever calls it
    assert not action.isChecked()
    window.close()  # closing really quits here: nothing would be left to show
    assert not window.isVisible() and engine.state == "stopped"


@pytest.mark.qt_log_ignore(OFFSCREEN_TRAY, OFFSCREEN_RAISE)
def test_the_tray_menu_pauses_resumes_shows_and_quits(
    qtbot: QtBot, engine: EngineController, tray_available: None
) -> None:
    window = _window(qtbot, engine)
    _start(qtbot, engine)
    tray = window.tray
    assert isinstance(tray, Tray) and tray.icon.isVisible()
    assert [a.text() for a in tray.menu.actions() if not a.isSeparator()] == [
        "Show Hoister",
        PAUSE_TEXT,
        "Quit",
    ]
    assert window.close_to_tray_action.isEnabled()

    tray.pause_action.trigger()
    assert engine.state == "paused" and tray.pause_action.text() == RESUME_TEXT
    assert "paused" in tray.icon.toolTip()
    tray.pause_action.trigger()
    assert engine.state == "running" and tray.pause_action.text() == PAUSE_TEXT

    window.close_to_tray_action.trigger()
    assert window.ctx.settings.get("close_to_tray") is True
    with qtbot.waitSignal(tray.announced) as announced:
        window.close()
    assert announced.args == ["Hoister", "Still promoting in the background."]
    assert not window.isVisible() and engine.state == "running"

    tray.show_action.trigger()
    assert window.isVisible()

    tray.quit_action.trigger()
    assert not window.isVisible()
    assert engine.state == "stopped" and not tray.icon.isVisible()


@pytest.mark.qt_log_ignore(OFFSCREEN_TRAY)
def test_promotions_are_announced_in_the_tray(
    qtbot: QtBot, engine: EngineController, registry: RegistryServer, tray_available: None
) -> None:
    window = _window(qtbot, engine)
    _start(qtbot, engine)
    tray = window.tray
    assert tray is not None
    image = build_image(seed=91)
    push_image(registry.url, "dev/website", "1.1-stable", image)
    candidate = Candidate(
        "local", "dev/website", "1.1-stable", image.digest, datetime.now(UTC), "poll"
    )
    with qtbot.waitSignal(tray.announced, timeout=15000) as announced:
        engine.submit([candidate])
    assert announced.args == ["Image promoted", "dev/website:1.1-stable → qa/website:1.1-stable-qa"]

    now = datetime.now(UTC)
    failed = HistoryRow(
        None, "Stable builds to QA", "local", "dev/website", "2.0-stable", image.digest,
        "local", "qa/website", None, "failed", "403 from the registry", now, now,
    )  # fmt: skip
    with qtbot.waitSignal(tray.announced) as announced:
        engine.promotion_failed.emit(failed)  # how the engine reports a failure
    assert announced.args == ["Promotion failed", "dev/website:2.0-stable: 403 from the registry"]
