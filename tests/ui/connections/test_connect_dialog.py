"""Adding a connection through the dialog: the registry says what it needs."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hoister.ui.connections.connect_dialog import ConnectDialog
from tests.conftest import MemoryKeyring
from tests.support.fixtures import TokenRegistry
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory


def _dialog(qtbot: QtBot, make_context: ContextFactory) -> ConnectDialog:
    dialog = ConnectDialog(make_context())
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _connect(qtbot: QtBot, dialog: ConnectDialog) -> None:
    """Click Connect and wait until the dialog is idle again (answered or saved)."""
    qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: dialog.connect_button.isEnabled() or not dialog.isVisible(), timeout=15000
    )


def test_anonymous_registry_is_saved_at_once(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    dialog = _dialog(qtbot, make_context)
    qtbot.keyClicks(dialog.url_edit, registry.url)
    dialog.name_edit.setText("local")
    with qtbot.waitSignal(dialog.saved, timeout=15000) as saved:
        qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
    assert saved.args == ["local"]
    assert dialog.ctx.profiles.get("local").url == registry.url


def test_basic_auth_asks_for_a_login_then_saves_it_in_the_keyring(
    qtbot: QtBot,
    make_context: ContextFactory,
    basic_registry: RegistryServer,
    memory_keyring: MemoryKeyring,
) -> None:
    dialog = _dialog(qtbot, make_context)
    dialog.url_edit.setText(basic_registry.url)
    dialog.name_edit.setText("corp")
    assert not dialog.username_edit.isVisible()
    _connect(qtbot, dialog)
    assert dialog.username_edit.isVisible()
    assert "asks for a login" in dialog.login_note.text()
    qtbot.keyClicks(dialog.username_edit, "alice")
    qtbot.keyClicks(dialog.password_edit, "wrong")
    _connect(qtbot, dialog)
    assert "refused user alice" in dialog.status.text()
    assert dialog.isVisible()
    dialog.password_edit.setText(basic_registry.users["alice"])
    with qtbot.waitSignal(dialog.saved, timeout=15000):
        qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
    profile = dialog.ctx.profiles.get("corp")
    assert profile.username == "alice"
    assert memory_keyring.entries == {
        ("hoister", f"profile:corp/{profile.host}/alice"): basic_registry.users["alice"]
    }
    assert basic_registry.users["alice"] not in dialog.ctx.paths.profiles_file.read_text()


def test_token_registry_login(
    qtbot: QtBot, make_context: ContextFactory, token_registry: TokenRegistry
) -> None:
    dialog = _dialog(qtbot, make_context)
    dialog.url_edit.setText(token_registry.registry.url)
    dialog.name_edit.setText("hub")
    _connect(qtbot, dialog)
    assert dialog.username_edit.isVisible()
    assert "anonymous users" in dialog.login_note.text()
    dialog.username_edit.setText("bob")
    dialog.password_edit.setText(token_registry.users["bob"])
    with qtbot.waitSignal(dialog.saved, timeout=15000):
        qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
    assert dialog.ctx.profiles.get("hub").username == "bob"
    assert token_registry.tokens.requests[-1].username == "bob"


def test_bad_input_is_reported_in_place(qtbot: QtBot, make_context: ContextFactory) -> None:
    dialog = _dialog(qtbot, make_context)
    dialog.url_edit.setText("ftp://nowhere")
    dialog.name_edit.setText("x")
    qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
    assert "ftp" in dialog.status.text()
    dialog.url_edit.setText("http://127.0.0.1:9")
    _connect(qtbot, dialog)
    assert "Nothing is listening on 127.0.0.1:9" in dialog.status.text()
    assert "Errno" not in dialog.status.text()
    assert dialog.ctx.profiles.list() == []


def test_a_scanner_command_is_saved_with_the_connection(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    dialog = _dialog(qtbot, make_context)
    dialog.url_edit.setText(registry.url)
    dialog.name_edit.setText("local")
    dialog.scanner_edit.setText("trivy image --format json {ref}")
    with qtbot.waitSignal(dialog.saved, timeout=15000):
        qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
    assert dialog.ctx.profiles.get("local").scanner == "trivy image --format json {ref}"


def test_two_connections_with_one_login_keep_their_own_passwords(
    qtbot: QtBot,
    make_context: ContextFactory,
    basic_registry: RegistryServer,
    registry: RegistryServer,
    memory_keyring: MemoryKeyring,
) -> None:
    ctx = make_context()
    password = basic_registry.users["alice"]
    for name in ("corp", "corp-ci"):
        dialog = ConnectDialog(ctx)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.keyClicks(dialog.url_edit, basic_registry.url)
        dialog.name_edit.setText(name)
        _connect(qtbot, dialog)
        qtbot.keyClicks(dialog.username_edit, "alice")
        qtbot.keyClicks(dialog.password_edit, password)
        with qtbot.waitSignal(dialog.saved, timeout=15000):
            qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
    keys = {key for _, key in memory_keyring.entries}
    assert keys == {f"profile:{n}/{basic_registry.host}/alice" for n in ("corp", "corp-ci")}

    # Pointing corp-ci at another registry, anonymously, forgets only its own password.
    edit = ConnectDialog(ctx, ctx.profiles.get("corp-ci"))
    qtbot.addWidget(edit)
    edit.show()
    edit.url_edit.setText(registry.url)
    edit.username_edit.clear()
    with qtbot.waitSignal(edit.saved, timeout=15000):
        qtbot.mouseClick(edit.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: (
            memory_keyring.entries
            == {("hoister", f"profile:corp/{basic_registry.host}/alice"): password}
        ),
        timeout=5000,
    )
    assert ctx.credential(ctx.profiles.get("corp")) is not None
