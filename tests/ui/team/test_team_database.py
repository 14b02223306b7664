"""File → Team database… and the status bar's word on the store, in the real main window."""

from __future__ import annotations

import json
import socket
import threading

import keyring
import pytest
import sqlalchemy
from keyring.backend import KeyringBackend
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from hoister.credentials import SecretStore
from hoister.settings import Settings
from hoister.store.location import SETTING, open_store, password_key
from hoister.ui.main_window import MainWindow
from hoister.ui.team.database_dialog import NEXT_START, TeamDatabaseDialog
from tests.support.httpserver import free_port
from tests.support_keyring import real_keyring, secret_service  # noqa: F401
from tests.ui.conftest import ContextFactory
from tests.ui.team.support import ContextOn, context_on  # noqa: F401

WAIT_MS = 20_000


def _window(qtbot: QtBot, ctx) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    return window


def _open_dialog(window: MainWindow) -> TeamDatabaseDialog:
    """Through the File menu, as a person does."""
    file_menu = window.menuBar().actions()[0].menu()
    assert isinstance(file_menu, QMenu)
    (action,) = [a for a in file_menu.actions() if a.text() == "&Team database…"]
    action.trigger()
    dialog = window.findChild(TeamDatabaseDialog)
    assert dialog is not None and dialog.isVisible()
    return dialog


def _without_password(url: str) -> tuple[str, str]:
    parsed = sqlalchemy.make_url(url)
    assert parsed.password
    bare = sqlalchemy.URL.create(
        "postgresql", parsed.username, None, parsed.host, parsed.port, parsed.database
    ).render_as_string(hide_password=False)
    return bare, str(parsed.password)


def test_the_status_bar_says_which_store(
    qtbot: QtBot,
    context_on: ContextOn,  # noqa: F811 - fixture
    database_url: str,
) -> None:
    ctx = context_on(database_url)
    window = _window(qtbot, ctx)
    label = window.store_label
    assert label in window.statusBar().findChildren(type(label))
    tip = label.toolTip()
    assert ctx.database.display in tip
    if database_url.startswith("sqlite"):
        assert label.text() == "This computer"
        assert str(ctx.database.path) in tip
    else:
        parsed = sqlalchemy.make_url(database_url)
        assert label.text() == f"Team: {parsed.host}/{parsed.database}"
        assert str(parsed.password) not in tip
    qtbot.mouseClick(label, Qt.MouseButton.LeftButton)  # the way to change it
    dialog = window.findChild(TeamDatabaseDialog)
    assert dialog is not None and dialog.isVisible()


@pytest.mark.real_keyring
def test_the_team_database_setting_keeps_its_password_in_the_keyring_only(
    qtbot: QtBot,
    make_context: ContextFactory,
    postgres_url: str,
    real_keyring: KeyringBackend,  # noqa: F811 - fixture
) -> None:
    keyring.set_keyring(real_keyring)  # conftest's autouse fixture puts the previous one back
    ctx = make_context()
    window = _window(qtbot, ctx)
    dialog = _open_dialog(window)
    bare, password = _without_password(postgres_url)

    dialog.url_edit.setText(postgres_url)  # a password inside the URL is refused
    assert not dialog.save_button.isEnabled() and not dialog.test_button.isEnabled()
    assert "leave the password out of the URL" in dialog.url_message.text()

    dialog.url_edit.setText(bare)
    dialog.password_edit.setText(password)
    assert dialog.url_message.isHidden(), (bare, dialog.url_message.text())
    assert dialog.save_button.isEnabled()
    with qtbot.waitSignal(dialog.tested, timeout=WAIT_MS) as tested:
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    parsed = sqlalchemy.make_url(bare)
    assert tested.args[0] is True, tested.args
    assert f"Connected to {parsed.host}/{parsed.database}" in dialog.result_label.text()
    assert "empty" in dialog.result_label.text()  # Hoister has not started on it yet

    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert NEXT_START in dialog.result_label.text()
    assert real_keyring.get_password("hoister", password_key(parsed)) == password
    text = ctx.paths.settings_file.read_text()
    assert password not in text
    assert json.loads(text)[SETTING] == bare
    assert "At the next start: Team:" in window.store_label.toolTip()
    assert window.store_label.text() == "This computer"  # until the next start

    # The password field is empty now: Test connection finds it in the keyring.
    assert dialog.password_edit.text() == ""
    with qtbot.waitSignal(dialog.tested, timeout=WAIT_MS) as tested:
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert tested.args[0] is True, tested.args

    # The next start opens the team database, password from the keyring.
    database, where = open_store(
        ctx.paths,
        environ={},
        settings=Settings(ctx.paths.settings_file),
        secrets=SecretStore(real_keyring),
    )
    with database:
        assert database.shared and where.origin == "the Team database setting"

    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.local_button, Qt.MouseButton.LeftButton)
    assert json.loads(ctx.paths.settings_file.read_text())[SETTING] is None
    assert real_keyring.get_password("hoister", password_key(parsed)) is None
    assert "this computer only" in dialog.result_label.text()


class SilentServer:
    """Takes TCP connections and says nothing until released: a server that hangs."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="silent-server")
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:
                return  # released
            self.accepted.append(conn)

    def release(self) -> None:
        """Close everything: the waiting client sees the connection end."""
        self.socket.shutdown(socket.SHUT_RDWR)
        self.socket.close()
        self._thread.join()
        for conn in self.accepted:
            conn.close()


def test_test_connection_fails_in_words_and_never_holds_the_window(
    qtbot: QtBot, make_context: ContextFactory
) -> None:
    window = _window(qtbot, make_context())
    dialog = _open_dialog(window)
    server = SilentServer()
    try:
        dialog.url_edit.setText(f"postgresql://hoister@127.0.0.1:{server.port}/team")
        dialog.password_edit.setText("secret")
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        # The click returned while the server has not answered: the wait is a worker's.
        qtbot.waitUntil(lambda: len(server.accepted) > 0, timeout=WAIT_MS)
        assert dialog.result_label.text().startswith("Connecting to 127.0.0.1/team")
        assert not dialog.test_button.isEnabled()
    finally:
        with qtbot.waitSignal(dialog.tested, timeout=WAIT_MS) as tested:
            server.release()
    assert tested.args[0] is False
    words = dialog.result_label.text()
    assert words.startswith("Could not connect: cannot reach the team database"), words
    assert "Traceback" not in words and "secret" not in words
    assert dialog.test_button.isEnabled()

    # Nothing listens at all: said as plainly.
    dialog.url_edit.setText(f"postgresql://hoister@127.0.0.1:{free_port()}/team")
    with qtbot.waitSignal(dialog.tested, timeout=WAIT_MS) as tested:
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert tested.args[0] is False
    words = dialog.result_label.text()
    assert "Could not connect" in words and "refused" in words.lower(), words
    assert "Traceback" not in words
