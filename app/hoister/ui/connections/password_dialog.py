"""Asking for a saved connection's password when nothing else has it.

A profile keeps a user name, never a password; the password lives in the keyring. Where
no keyring works, it lived only in memory until the app quit, so after a restart the
connection went out anonymously and the registry's 401 read "add a username and
password to the profile" — to someone whose profile has one. Now connecting first checks
(in a worker: the keyring may talk to D-Bus) that a secret can be found — an operator's
``HOISTER_PASSWORD_<PROFILE>``, the keyring, this session's memory or a matching
``docker login`` — and when none can, the sidebar says "enter the password for user X"
and this dialog asks for it. The dialog is opened with ``open()``, never ``exec()``, and
the registry is asked in a worker whether it accepts the password, so the GUI thread
waits on nothing. An accepted password goes to the keyring when one works and to
``ctx.session_secrets`` otherwise.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from hoister.credentials import Credential
from hoister.credentials.secrets import profile_key
from hoister.errors import HoisterError
from hoister.profiles import Profile
from hoister.ui.connections.probe import ProbeResult, probe, store_secret
from hoister.ui.context import AppContext
from hoister.ui.shared.workers import Requester


class PasswordNeeded(HoisterError):
    """A profile names a user, but no password for it is stored or given anywhere."""

    def __init__(self, profile: Profile) -> None:
        self.profile_name = profile.name
        self.username = profile.username or ""
        super().__init__(f"enter the password for user {self.username}")


def require_login(ctx: AppContext, profile: Profile) -> None:
    """Worker: raise :class:`PasswordNeeded` when the profile's user has no secret."""
    if profile.username and ctx.credential(profile) is None:
        raise PasswordNeeded(profile)


class PasswordDialog(QDialog):
    """One profile's password: checked against the registry before it is kept."""

    entered = Signal(str)  # profile name

    def __init__(self, ctx: AppContext, profile: Profile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.profile = profile
        self.setWindowTitle(f"Password for {profile.name}")
        self.setMinimumWidth(440)
        where = (
            "No system keyring is available, so it is kept until Hoister quits."
            if not ctx.secrets.persistent
            else "It is saved in the system keyring."
        )
        self.note = QLabel(
            f"Enter the password or token of user {profile.username} on {profile.host} "
            f"to connect. {where}"
        )
        self.note.setWordWrap(True)
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout()
        form.addRow("Password or token", self.password_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = self.buttons.addButton(
            "Connect", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.connect_button.clicked.connect(self.verify)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.connect_button.setDefault(True)  # once inside the dialog, see connect_dialog
        self._checker = Requester(ctx.pool, self)
        self._checker.ready.connect(self._checked)
        self._checker.error.connect(self._failed)
        self._saver = Requester(ctx.pool, self)
        self._saver.ready.connect(self._stored)
        self._saver.error.connect(self._failed)

    @Slot()
    def verify(self) -> None:
        secret = self.password_edit.text()
        if not secret:
            self._say("Type the password first.", error=True)
            return
        self._busy(True)
        self._say(f"Contacting {self.profile.host}…")
        typed = Credential(self.profile.username or "", secret, source="typed")
        self._checker.submit(probe, self.ctx, self.profile, typed)

    @Slot(object)
    def _checked(self, result: object) -> None:
        assert isinstance(result, ProbeResult)
        if result.needs_login is not None:
            self._busy(False)
            self._say(result.needs_login, error=True)
            self.password_edit.selectAll()
            self.password_edit.setFocus()
            return
        self._saver.submit(store_secret, self.ctx, result)

    @Slot(object)
    def _stored(self, result: object) -> None:
        assert isinstance(result, ProbeResult)
        self._busy(False)
        if result.credential is not None:
            # Also kept for this session when the keyring works: the next connection
            # must not depend on the keyring answering again.
            self.ctx.session_secrets[profile_key(self.profile)] = result.credential.secret
        self.ctx.forget_client(self.profile.name)
        self.entered.emit(self.profile.name)
        self.accept()

    @Slot(object)
    def _failed(self, error: object) -> None:
        self._busy(False)
        self._say(str(error), error=True)

    def _busy(self, busy: bool) -> None:
        self.connect_button.setEnabled(not busy)
        self.password_edit.setReadOnly(busy)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setProperty("role", "error" if error else "info")
        self.status.setStyleSheet("color: #d9534f;" if error else "")


class PasswordPrompts(QObject):
    """At most one password dialog per connection; the sidebar asks, this opens."""

    entered = Signal(str)  # profile name, once its password was accepted

    def __init__(self, ctx: AppContext, parent: QWidget) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._parent = parent
        self.open_dialogs: dict[str, PasswordDialog] = {}

    def ask(self, name: str) -> PasswordDialog | None:
        """Open (or raise) the dialog for profile ``name``; None when it has no user."""
        dialog = self.open_dialogs.get(name)
        if dialog is not None:
            dialog.raise_()
            dialog.activateWindow()
            return dialog
        try:
            profile = self.ctx.profiles.get(name)
        except HoisterError:
            return None
        if not profile.username:
            return None
        dialog = PasswordDialog(self.ctx, profile, self._parent.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.entered.connect(self.entered)
        dialog.finished.connect(lambda _result, n=name: self.open_dialogs.pop(n, None))
        self.open_dialogs[name] = dialog
        dialog.open()
        return dialog
