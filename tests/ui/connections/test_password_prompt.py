"""No keyring: after a restart the app asks for the password instead of going anonymous,
and a password given by the environment needs no keyring at all (nor a warning)."""

from __future__ import annotations

import logging

import httpx
import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hoister.credentials.secrets import profile_key
from hoister.policies import Policy, Rule, check_policy
from hoister.profiles import Profile
from hoister.store import PolicyStore
from hoister.ui.background.engine_controller import EngineController
from hoister.ui.connections.connections_model import Kind, KindRole
from hoister.ui.connections.password_dialog import PasswordDialog
from hoister.ui.main_window import MainWindow
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory


@pytest.fixture
def no_keyring() -> None:
    """Every keyring call fails, as on a desktop without a Secret Service."""
    keyring.set_keyring(fail.Keyring())  # the suite's keyring fixture restores its own


@pytest.fixture
def corp(basic_registry: RegistryServer) -> RegistryServer:
    """A registry that needs alice's login, holding one repository."""
    auth = httpx.BasicAuth("alice", basic_registry.users["alice"])
    with httpx.Client(auth=auth) as client:
        push_image(basic_registry.url, "team/app", "1.0", build_image(seed=90), client=client)
    return basic_registry


def _messages(window: MainWindow, name: str) -> list[str]:
    item = window.sidebar.model.connection_item(name)
    assert item is not None
    return [
        item.child(row).text()
        for row in range(item.rowCount())
        if item.child(row).data(KindRole) == Kind.MESSAGE
    ]


def _window(qtbot: QtBot, ctx) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    return window


def test_a_saved_user_without_a_stored_password_is_asked_for_it(
    qtbot: QtBot,
    make_context: ContextFactory,
    corp: RegistryServer,
    no_keyring: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    ctx = make_context()  # the relaunch: a fresh process, nothing in memory
    assert not ctx.secrets.persistent
    ctx.profiles.add(Profile(name="corp", url=corp.url, username="alice"))
    window = _window(qtbot, ctx)
    window.sidebar.load("corp")
    qtbot.waitUntil(lambda: "corp" in window.sidebar.passwords.open_dialogs, timeout=15000)
    dialog = window.sidebar.passwords.open_dialogs["corp"]
    assert isinstance(dialog, PasswordDialog) and dialog.isVisible()
    assert "user alice" in dialog.note.text() and "kept until Hoister quits" in dialog.note.text()
    texts = " ".join(_messages(window, "corp"))
    assert "Enter the password for user alice" in texts
    assert "add a username and password" not in texts

    qtbot.keyClicks(dialog.password_edit, "wrong")
    qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.connect_button.isEnabled(), timeout=15000)
    assert "refused user alice" in dialog.status.text()
    assert dialog.isVisible()

    dialog.password_edit.setText(corp.users["alice"])
    with qtbot.waitSignal(dialog.entered, timeout=15000):
        qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.sidebar.model.repository_count("corp") == 1, timeout=15000)
    key = profile_key(ctx.profiles.get("corp"))
    assert ctx.session_secrets[key] == corp.users["alice"]
    assert "corp" not in window.sidebar.passwords.open_dialogs
    assert corp.users["alice"] not in caplog.text
    assert corp.users["alice"] not in ctx.paths.profiles_file.read_text()
    # the one place the missing keyring matters: a password is kept in memory only
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("No system keyring is available" in text for text in warnings)


def test_a_password_from_the_environment_needs_no_keyring_and_no_warning(
    qtbot: QtBot,
    make_context: ContextFactory,
    corp: RegistryServer,
    no_keyring: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("HOISTER_PASSWORD_CORP", corp.users["alice"])
    ctx = make_context()
    ctx.profiles.add(Profile(name="corp", url=corp.url, username="alice"))
    window = _window(qtbot, ctx)
    window.sidebar.load("corp")
    qtbot.waitUntil(lambda: window.sidebar.model.repository_count("corp") == 1, timeout=15000)
    assert window.sidebar.passwords.open_dialogs == {}
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not any("keyring" in text for text in warnings), warnings


def test_the_engine_uses_a_password_entered_after_it_started(
    qtbot: QtBot, make_context: ContextFactory, corp: RegistryServer, no_keyring: None
) -> None:
    """The engine keeps a client per profile; one built before the password was entered
    must not go on anonymously: the push after the prompt is promoted."""
    ctx = make_context()
    ctx.profiles.add(Profile(name="corp", url=corp.url, username="alice"))
    with PolicyStore(ctx.database) as store:
        store.add(
            Policy(
                source_profile="corp",
                source_repository="team/app",
                target_repository="team/app-qa",
                tag_template="%n",
                rules=(Rule("tag", "ew", ("stable",)),),
            ),
            check=check_policy,
        )
    engine = EngineController(ctx, interval=3600.0)  # only poll_now wakes it
    window = MainWindow(ctx, engine)
    qtbot.addWidget(window)
    window.show()
    try:
        with qtbot.waitSignal(engine.cycle_done, timeout=15000):
            engine.start()  # polls without a password: refused
        qtbot.waitUntil(lambda: "corp" in window.sidebar.passwords.open_dialogs, timeout=15000)
        dialog = window.sidebar.passwords.open_dialogs["corp"]
        dialog.password_edit.setText(corp.users["alice"])
        with qtbot.waitSignal(engine.cycle_done, timeout=15000):  # the baseline, with it
            qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
        auth = httpx.BasicAuth("alice", corp.users["alice"])
        with httpx.Client(auth=auth) as client:
            push_image(corp.url, "team/app", "1.1-stable", build_image(seed=91), client=client)
        with qtbot.waitSignal(engine.promotion_finished, timeout=15000) as finished:
            engine.poll_now()
        assert finished.args[0].outcome == "promoted"
        assert finished.args[0].target_repository == "team/app-qa"
    finally:
        engine.stop()
