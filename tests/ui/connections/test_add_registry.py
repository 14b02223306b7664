"""File → Add registry… in the real window: Enter connects, a bare host:port finds its
scheme, and a port with nothing behind it is said in words."""

from __future__ import annotations

import socket

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from hoister.ui.connections.connect_dialog import ConnectDialog
from hoister.ui.main_window import MainWindow
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory


def menu_action(window: MainWindow, menu_title: str, text: str) -> QAction:
    """The action of the window's menu bar a person would click."""
    for top in window.menuBar().actions():
        if top.text().replace("&", "") == menu_title and top.menu() is not None:
            for action in top.menu().actions():
                if action.text().replace("&", "") == text:
                    return action
    raise AssertionError(f"no {menu_title} → {text} in the menu bar")


@pytest.fixture
def file_picker_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the CA file picker being opened instead of opening a modal dialog."""
    calls: list[str] = []

    def fake(*args: object, **kwargs: object) -> tuple[str, str]:
        calls.append("opened")
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake))
    return calls


def _open_add_registry(qtbot: QtBot, window: MainWindow) -> ConnectDialog:
    menu_action(window, "File", "Add registry…").trigger()
    dialog = window.findChild(ConnectDialog)
    assert dialog is not None
    qtbot.waitExposed(dialog)
    return dialog


def _window(qtbot: QtBot, make_context: ContextFactory) -> MainWindow:
    window = MainWindow(make_context())
    qtbot.addWidget(window)
    window.show()
    return window


def test_enter_connects_a_bare_host_port_as_plain_http(
    qtbot: QtBot,
    make_context: ContextFactory,
    registry: RegistryServer,
    file_picker_calls: list[str],
) -> None:
    window = _window(qtbot, make_context)
    dialog = _open_add_registry(qtbot, window)
    assert dialog.connect_button.isDefault() and not dialog.browse_button.isDefault()
    qtbot.keyClicks(dialog.url_edit, registry.host)  # 127.0.0.1:PORT, as the placeholder says
    assert dialog.name_edit.text() == "local"
    with qtbot.waitSignal(dialog.saved, timeout=15000):
        qtbot.keyClick(dialog.url_edit, Qt.Key.Key_Return)
    assert file_picker_calls == []
    assert window.ctx.profiles.get("local").url == f"http://{registry.host}"
    qtbot.waitUntil(lambda: window.sidebar.model.connection_item("local") is not None)


def test_enter_in_the_ca_field_connects_too(
    qtbot: QtBot,
    make_context: ContextFactory,
    registry: RegistryServer,
    file_picker_calls: list[str],
) -> None:
    window = _window(qtbot, make_context)
    dialog = _open_add_registry(qtbot, window)
    dialog.url_edit.setText(registry.url)
    dialog.name_edit.setText("local")
    dialog.browse_button.setFocus()
    dialog.ca_edit.setFocus()
    with qtbot.waitSignal(dialog.saved, timeout=15000):
        qtbot.keyClick(dialog.ca_edit, Qt.Key.Key_Return)
    assert file_picker_calls == []


def test_a_closed_port_says_nothing_is_listening(
    qtbot: QtBot, make_context: ContextFactory, file_picker_calls: list[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    window = _window(qtbot, make_context)
    dialog = _open_add_registry(qtbot, window)
    qtbot.keyClicks(dialog.url_edit, f"127.0.0.1:{port}")
    qtbot.keyClick(dialog.url_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.connect_button.isEnabled(), timeout=15000)
    assert dialog.status.text() == (
        f"Nothing is listening on 127.0.0.1:{port}; is the registry running and the port right?"
    )
    assert dialog.isVisible() and file_picker_calls == []
    assert window.ctx.profiles.list() == []
