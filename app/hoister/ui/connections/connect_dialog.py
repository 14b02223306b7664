"""Adding or editing a registry connection: the registry itself says what it needs.

The dialog pings ``/v2/`` first. A registry that answers anonymously is saved as it
is; one that asks for a login reveals the username and password fields (a login found in
``~/.docker/config.json`` is tried first, so a ``docker login`` user types nothing). The
connection is saved only after the registry accepted it; the password goes to the
keyring from a worker thread (the keyring may talk to D-Bus).

An address typed without a scheme (``127.0.0.1:5000``) is not assumed to be HTTPS: the
worker first asks the port whether it speaks TLS (:mod:`hoister.registry.scheme`), so a
local plain-HTTP registry connects at once instead of failing after retries.
"""

from __future__ import annotations

import logging
from functools import partial

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hoister.credentials import Credential
from hoister.credentials.secrets import profile_key
from hoister.errors import HoisterError, InvalidInput
from hoister.facts.scanner import scanner_arguments
from hoister.profiles import Profile, parse_registry_url, validate_profile_name
from hoister.ui.connections.probe import ProbeResult, forget_replaced, probe, store_secret
from hoister.ui.context import AppContext
from hoister.ui.shared.workers import Requester

log = logging.getLogger(__name__)


class ConnectDialog(QDialog):
    saved = Signal(str)  # profile name

    def __init__(
        self, ctx: AppContext, profile: Profile | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.editing = profile
        self._offered_login = profile is not None
        self.setWindowTitle("Edit connection" if profile else "Connect to a registry")
        self.setMinimumWidth(520)
        self._requester = Requester(ctx.pool, self)
        self._requester.ready.connect(self._probed)
        self._requester.error.connect(self._failed)
        self._saver = Requester(ctx.pool, self)
        self._saver.ready.connect(self._stored)
        self._saver.error.connect(self._failed)
        self._build()
        if profile is not None:
            self._fill(profile)

    def _build(self) -> None:
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("https://registry.example.com or 127.0.0.1:5000")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("a short name, e.g. prod")
        self.insecure_box = QCheckBox("Do not verify the TLS certificate (test registries only)")
        self.ca_edit = QLineEdit()
        self.ca_edit.setPlaceholderText("CA certificate (PEM) of a private registry, optional")
        browse = QPushButton("Browse…")
        # Enter in any field means Connect, never "open the file picker".
        browse.setAutoDefault(False)
        self.browse_button = browse
        browse.clicked.connect(self._choose_ca)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_edit, 1)
        ca_row.addWidget(browse)
        self.scanner_edit = QLineEdit()
        self.scanner_edit.setPlaceholderText("optional, e.g. trivy image --format json {ref}")
        self.scanner_edit.setToolTip(
            "Run for policies with vulnerability criteria when no scan report is attached"
        )
        self.login_note = QLabel()
        self.login_note.setWordWrap(True)
        self.username_edit = QLineEdit()
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout()
        form.addRow("Registry URL", self.url_edit)
        form.addRow("Name", self.name_edit)
        form.addRow("", self.insecure_box)
        form.addRow("CA file", ca_row)
        form.addRow("Scanner", self.scanner_edit)
        form.addRow("", self.login_note)
        form.addRow("Username", self.username_edit)
        form.addRow("Password or token", self.password_edit)
        self._login_rows = [self.login_note, self.username_edit, self.password_edit]
        self._form = form
        self._show_login(False)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = self.buttons.addButton(
            "Connect", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.connect_button.clicked.connect(self.verify)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        # Only once the button is inside the dialog does the dialog learn it is the
        # default; set earlier, the first auto-default button (Browse…) took Enter.
        self.connect_button.setDefault(True)
        self.url_edit.textEdited.connect(self._suggest_name)

    def _show_login(self, visible: bool) -> None:
        for widget in self._login_rows:
            self._form.setRowVisible(widget, visible)

    def _fill(self, profile: Profile) -> None:
        self.url_edit.setText(profile.url)
        self.name_edit.setText(profile.name)
        self.name_edit.setReadOnly(True)
        self.insecure_box.setChecked(profile.insecure)
        self.ca_edit.setText(profile.ca_file or "")
        self.scanner_edit.setText(profile.scanner or "")
        if profile.username:
            self.username_edit.setText(profile.username)
            self.login_note.setText("Leave the password empty to keep the stored one.")
            self._show_login(True)

    @Slot(str)
    def _suggest_name(self, text: str) -> None:
        if self.editing is None and not self.name_edit.isModified():
            host = text.split("://")[-1].split("/")[0].split(":")[0]
            self.name_edit.setText(
                host.split(".")[0] if host and not host[0].isdigit() else "local"
            )

    @Slot()
    def _choose_ca(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "CA certificate", "", "PEM files (*.pem *.crt);;All files (*)"
        )
        if path:
            self.ca_edit.setText(path)

    def _profile(self) -> Profile:
        name = validate_profile_name(self.name_edit.text().strip())
        if self.editing is None and name in {p.name for p in self.ctx.profiles.list()}:
            raise InvalidInput(f"a connection named '{name}' exists already")
        return Profile(
            name=name,
            url=parse_registry_url(self.url_edit.text()),
            username=self.username_edit.text().strip() or None,
            insecure=self.insecure_box.isChecked(),
            ca_file=self.ca_edit.text().strip() or None,
            scanner=self._scanner(),
            repositories=list(self.editing.repositories) if self.editing else [],
        )

    def _scanner(self) -> str | None:
        command = self.scanner_edit.text().strip()
        if command:
            scanner_arguments(command, "registry.example.com/repo@sha256:" + "0" * 64)
        return command or None

    @Slot()
    def verify(self) -> None:
        try:
            profile = self._profile()
        except HoisterError as exc:
            self._say(str(exc), error=True)
            return
        typed = None
        if profile.username and self.password_edit.text():
            typed = Credential(profile.username, self.password_edit.text(), source="typed")
        elif profile.username and self.editing is not None:
            typed = self._stored_credential(profile)  # else the keyring's, when probing
        detect = "://" not in self.url_edit.text()
        self._busy(True)
        self._say(f"Contacting {profile.host}…")
        self._requester.submit(probe, self.ctx, profile, typed, detect)

    def _stored_credential(self, profile: Profile) -> Credential | None:
        if not profile.username:
            return None
        secret = self.ctx.session_secrets.get(profile_key(profile))
        return Credential(profile.username or "", secret, source="session") if secret else None

    @Slot(object)
    def _probed(self, result: object) -> None:
        assert isinstance(result, ProbeResult)
        self._busy(False)
        if "://" not in self.url_edit.text():
            self.url_edit.setText(result.profile.url)  # with the scheme the registry speaks
        if result.needs_login is not None:
            self._show_login(True)
            self.login_note.setText(f"{result.profile.host} asks for a login.")
            self._say(result.needs_login, error=bool(self.password_edit.text()))
            (self.password_edit if self.username_edit.text() else self.username_edit).setFocus()
            return
        anonymous_token = result.info is not None and result.info.auth_scheme == "bearer"
        if anonymous_token and result.credential is None and not self._offered_login:
            # Token registries (Docker Hub, GHCR...) hand anonymous tokens out freely; what
            # they show anonymously is rarely what the user came for.
            self._offered_login = True
            self._show_login(True)
            self.login_note.setText(
                f"{result.profile.host} lets anonymous users in through its token server. "
                "Log in to see private repositories, or press Connect again to stay anonymous."
            )
            self._say("Connected anonymously.")
            self.username_edit.setFocus()
            return
        self._say(f"Connected as {result.info.user if result.info else 'anonymous'}. Saving…")
        self._busy(True)
        self._saver.submit(store_secret, self.ctx, result)

    @Slot(object)
    def _stored(self, result: object) -> None:
        assert isinstance(result, ProbeResult)
        self._busy(False)
        profile = result.profile
        try:
            self.ctx.profiles.add(profile, replace=self.editing is not None)
        except HoisterError as exc:
            self._say(str(exc), error=True)
            return
        self.ctx.forget_client(profile.name)
        if self.editing is not None:
            self.ctx.pool.start(partial(forget_replaced, self.ctx, self.editing, profile))
        self.saved.emit(profile.name)
        self.accept()

    @Slot(object)
    def _failed(self, error: object) -> None:
        self._busy(False)
        self._say(str(error), error=True)

    def _busy(self, busy: bool) -> None:
        self.connect_button.setEnabled(not busy)
        for widget in (self.url_edit, self.username_edit, self.password_edit):
            widget.setReadOnly(busy)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setProperty("role", "error" if error else "info")
        color = self.palette().color(self.palette().ColorRole.Text)
        self.status.setStyleSheet("color: #d9534f;" if error else f"color: {color.name()};")
