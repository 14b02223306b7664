"""View → Theme in the real window: light, dark and auto applied to the whole app, one
choice ticked, remembered in the settings, and style sheets resolved for the new palette."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from hoister.ui.main_window import MainWindow
from hoister.ui.shared import theme
from tests.ui.conftest import ContextFactory

DARK_WINDOW = QColor("#2b2d30")
DARK_TEXT = QColor("#dfe1e5")


@pytest.fixture
def app() -> Iterator[QApplication]:
    """The session's application, its style and palette put back afterwards."""
    application = QApplication.instance()
    assert isinstance(application, QApplication)
    style, palette = application.style().name(), QPalette(application.palette())
    yield application
    application.setStyle(style)
    application.setPalette(palette)


def _theme_actions(window: MainWindow) -> dict[str, object]:
    for top in window.menuBar().actions():
        if top.text().replace("&", "") == "View":
            for action in top.menu().actions():
                if action.menu() is not None and action.text().replace("&", "") == "Theme":
                    return {a.text(): a for a in action.menu().actions()}
    raise AssertionError("no View → Theme menu")


def _window(qtbot: QtBot, make_context: ContextFactory) -> MainWindow:
    window = MainWindow(make_context())
    qtbot.addWidget(window)
    window.show()
    return window


def test_dark_then_light_from_the_view_menu(
    qtbot: QtBot, make_context: ContextFactory, app: QApplication
) -> None:
    window = _window(qtbot, make_context)
    sheet_label = QLabel("sheet")
    sheet_label.setStyleSheet("QLabel { color: palette(text); }")
    window.statusBar().addWidget(sheet_label)
    actions = _theme_actions(window)
    assert list(actions) == ["Auto", "Light", "Dark"]
    assert actions["Auto"].isChecked()  # the default setting

    actions["Dark"].trigger()
    assert app.style().name().lower() == "fusion"
    assert app.palette().color(QPalette.ColorRole.Window) == DARK_WINDOW
    # widgets take the new palette from the change events Qt sends them
    qtbot.waitUntil(lambda: window.palette().color(QPalette.ColorRole.Window) == DARK_WINDOW)
    qtbot.waitUntil(lambda: sheet_label.palette().color(QPalette.ColorRole.WindowText) == DARK_TEXT)
    assert window.ctx.settings.get("theme") == "dark"
    assert [name for name, a in actions.items() if a.isChecked()] == ["Dark"]

    actions["Light"].trigger()
    light = app.style().standardPalette()
    assert app.palette().color(QPalette.ColorRole.Window) == light.color(QPalette.ColorRole.Window)
    assert app.palette().color(QPalette.ColorRole.Window) != DARK_WINDOW
    qtbot.waitUntil(
        lambda: (
            sheet_label.palette().color(QPalette.ColorRole.WindowText)
            == light.color(QPalette.ColorRole.Text)
        )
    )
    assert window.ctx.settings.get("theme") == "light"
    assert [name for name, a in actions.items() if a.isChecked()] == ["Light"]


@pytest.mark.parametrize(("desktop_dark", "expected"), [(True, DARK_WINDOW), (False, None)])
def test_auto_follows_the_desktop(
    qtbot: QtBot,
    make_context: ContextFactory,
    app: QApplication,
    monkeypatch: pytest.MonkeyPatch,
    desktop_dark: bool,
    expected: QColor | None,
) -> None:
    monkeypatch.setattr(theme, "system_prefers_dark", lambda: desktop_dark)
    window = _window(qtbot, make_context)
    actions = _theme_actions(window)
    actions["Dark" if not desktop_dark else "Light"].trigger()  # start from the other one
    actions["Auto"].trigger()
    window_color = app.palette().color(QPalette.ColorRole.Window)
    if expected is None:
        assert window_color == app.style().standardPalette().color(QPalette.ColorRole.Window)
    else:
        assert window_color == expected
    assert window.ctx.settings.get("theme") == "auto"


def test_the_saved_theme_is_ticked_in_a_new_window(
    qtbot: QtBot, make_context: ContextFactory, app: QApplication
) -> None:
    ctx = make_context()
    ctx.settings.set("theme", "dark")
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    assert [name for name, a in _theme_actions(window).items() if a.isChecked()] == ["Dark"]


def test_apply_theme_says_which_palette_is_in_effect(
    app: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(theme, "system_prefers_dark", lambda: True)
    assert theme.apply_theme(app, "auto") == "dark"
    assert theme.apply_theme(app, "light") == "light"
    monkeypatch.setattr(theme, "system_prefers_dark", lambda: False)
    assert theme.apply_theme(app, "auto") == "light"
    dark = theme.dark_palette()
    assert dark.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text) == QColor("#7a7d82")
