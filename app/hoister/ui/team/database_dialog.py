"""File → Team database…: point this app at a team's PostgreSQL server, or back home.

The URL is saved as the ``team_database`` setting (``settings.json``), checked by
:func:`hoister.store.location.check_setting`, which refuses a password inside it: the
password goes to the OS keyring under :func:`~hoister.store.location.password_key`
and nowhere else. *Test connection* opens the server in a worker and asks it one
question, so a server that is slow or not there never freezes the window. The store a
running app uses is opened at start (every view, the engine and its leases hold it),
so a new setting takes effect at the next start, and the dialog says so.
"""

from __future__ import annotations

import os

import sqlalchemy
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hoister.credentials.secrets import SecretStore
from hoister.errors import HoisterError
from hoister.store import Database
from hoister.store.db import database_url
from hoister.store.location import ENV_URL, SETTING, check_setting, password_key, with_password
from hoister.ui.context import AppContext
from hoister.ui.promotions.message_label import MessageLabel
from hoister.ui.shared.workers import Requester
from hoister.ui.team.store_label import store_name

ERROR_STYLE = "color: #b3261e"
FINE_STYLE = "color: palette(text)"
NEXT_START = "Hoister switches to the team database when it next starts."
BACK_HOME = "Hoister uses this computer's own database again when it next starts."


def test_connection(location: str, password: str, secrets: SecretStore) -> str:
    """Worker: connect, ask ``SELECT 1`` and the schema's version; the answer in words."""
    url = database_url(location)
    if password:
        location = url.set(password=password).render_as_string(hide_password=False)
    else:
        location = with_password(location, secrets)
    database = Database(location)
    try:
        with database.connection() as conn:
            conn.execute("SELECT 1").scalar()
            server = conn.execute("SHOW server_version").scalar()
        version = database.schema_version()
    except sqlalchemy.exc.DBAPIError as exc:
        original = getattr(exc, "orig", None) or exc
        line = (str(original).strip().splitlines() or [type(original).__name__])[0]
        raise HoisterError(f"{database.display} answered, but not as expected: {line}") from None
    finally:
        database.close()
    where = f"{url.host}/{url.database}"
    if version:
        tables = f"Hoister's tables are there (schema {version})."
    else:
        tables = "The database is empty: Hoister creates its tables when it first starts on it."
    return f"Connected to {where} (PostgreSQL {server}). {tables}"


def save_password(secrets: SecretStore, key: str, password: str) -> None:
    """Worker: the keyring may talk to D-Bus."""
    secrets.set_entry(key, password)


def forget_password(secrets: SecretStore, key: str | None) -> None:
    if key is not None:
        secrets.delete_entry(key)


def has_password(secrets: SecretStore, key: str) -> bool:
    return bool(secrets.get_entry(key))


def _key(setting: str | None) -> str | None:
    return password_key(database_url(setting)) if setting else None


class TeamDatabaseDialog(QDialog):
    """URL, password, Test connection, Save, Use this computer only (see the module)."""

    #: The saved setting ("" after *Use this computer only*).
    saved = Signal(str)
    #: A test's outcome was shown: (True, words) or (False, words). Tests wait on it.
    tested = Signal(bool, str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Team database")
        self.setMinimumWidth(560)
        saved = ctx.settings.get(SETTING)
        self._saved = saved if isinstance(saved, str) and saved.strip() else None
        self._pending = ""  # what Save or Use this computer only is saving
        self._build()
        self._tester = Requester(ctx.pool, self)
        self._tester.ready.connect(self._test_passed)
        self._tester.error.connect(self._test_failed)
        self._keyring = Requester(ctx.pool, self)
        self._keyring.ready.connect(self._keyring_done)
        self._keyring.error.connect(self._keyring_failed)
        self._looker = Requester(ctx.pool, self)
        self._looker.ready.connect(self._password_known)
        self.url_edit.setText(self._saved or "")
        self._check()
        if self._saved:
            self._looker.submit(has_password, ctx.secrets, _key(self._saved))

    def _build(self) -> None:
        intro = QLabel(
            "A team shares its policies, promotions and history through one PostgreSQL "
            "database. Passwords stay in this computer's keyring; the URL names the user only."
        )
        intro.setWordWrap(True)
        database = self.ctx.database
        self.now_label = QLabel(f"Now using: {store_name(database.display)} ({database.display})")
        self.now_label.setWordWrap(True)
        self.now_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.env_label = QLabel()
        self.env_label.setWordWrap(True)
        if os.environ.get(ENV_URL):
            self.env_label.setText(
                f"{ENV_URL} is set in this app's environment: it is used instead of this setting."
            )
        self.env_label.setVisible(bool(self.env_label.text()))
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("postgresql://user@host:5432/db")
        self.url_message = MessageLabel()
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("kept in this computer's keyring")
        form = QFormLayout()
        url_box = QWidget()
        url_layout = QVBoxLayout(url_box)
        url_layout.setContentsMargins(0, 0, 0, 0)
        url_layout.addWidget(self.url_edit)
        url_layout.addWidget(self.url_message)
        form.addRow("Database URL:", url_box)
        form.addRow("Password:", self.password_edit)
        self.result_label = MessageLabel(reserve=2)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        role = QDialogButtonBox.ButtonRole.ActionRole
        self.test_button = self.buttons.addButton("Test connection", role)
        self.local_button = self.buttons.addButton("Use this computer only", role)
        self.local_button.setToolTip("Forget the team database and its saved password")
        self.save_button: QPushButton = self.buttons.addButton("Save", role)
        self.save_button.setDefault(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.now_label)
        layout.addWidget(self.env_label)
        layout.addLayout(form)
        layout.addWidget(self.result_label)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.url_edit.textChanged.connect(self._check)
        self.test_button.clicked.connect(self.test)
        self.save_button.clicked.connect(self.save)
        self.local_button.clicked.connect(self.use_this_computer)
        self.buttons.rejected.connect(self.reject)

    # -- the URL ---------------------------------------------------------------------

    def setting(self) -> str | None:
        """The URL as it would be saved, or None (and the reason shown) if it cannot be."""
        text = self.url_edit.text().strip()
        if not text:
            return None
        try:
            return check_setting(text)
        except HoisterError as exc:
            self.url_message.show_message(f"{exc}.", ERROR_STYLE)
            return None

    @Slot()
    def _check(self) -> None:
        self.url_message.show_message("")
        ok = self.setting() is not None
        busy = self._tester.busy or self._keyring.busy
        self.test_button.setEnabled(ok and not busy)
        self.save_button.setEnabled(ok and not busy)
        self.local_button.setEnabled(not busy and self._saved is not None)

    def _say(self, text: str, bad: bool = False) -> None:
        self.result_label.show_message(text, ERROR_STYLE if bad else FINE_STYLE)

    # -- Test connection -------------------------------------------------------------

    @Slot()
    def test(self) -> None:
        setting = self.setting()
        if setting is None:
            return
        url = database_url(setting)
        self._say(f"Connecting to {url.host}/{url.database}…")
        self._tester.submit(test_connection, setting, self.password_edit.text(), self.ctx.secrets)
        self._check()

    @Slot(object)
    def _test_passed(self, words: object) -> None:
        self._say(str(words))
        self._check()
        self.tested.emit(True, str(words))

    @Slot(object)
    def _test_failed(self, error: object) -> None:
        words = f"Could not connect: {error}"
        self._say(words, bad=True)
        self._check()
        self.tested.emit(False, words)

    # -- Save, Use this computer only ------------------------------------------------

    @Slot()
    def save(self) -> None:
        setting = self.setting()
        if setting is None:
            return
        password = self.password_edit.text()
        self._pending = setting
        if password:
            self._say("Saving the password in the keyring…")
            self._keyring.submit(save_password, self.ctx.secrets, _key(setting), password)
            self._check()
        else:
            self._keyring_done(None)

    @Slot()
    def use_this_computer(self) -> None:
        self._pending = ""
        self._keyring.submit(forget_password, self.ctx.secrets, _key(self._saved))
        self._check()

    @Slot(object)
    def _keyring_done(self, _result: object) -> None:
        setting = self._pending
        self.ctx.settings.set(SETTING, setting or None)
        try:
            self.ctx.settings.save()
        except OSError as exc:
            self._say(f"The setting could not be saved: {exc}", bad=True)
            self._check()
            return
        self._saved = setting or None
        self.password_edit.clear()
        if setting:
            self.password_edit.setPlaceholderText("saved in the keyring (type to replace it)")
            kept = "" if self.ctx.secrets.persistent else f" {self.ctx.secrets.warning}"
            self._say(f"Saved: {store_name(setting)}. {NEXT_START}{kept}")
        else:
            self.url_edit.clear()
            self.password_edit.setPlaceholderText("kept in this computer's keyring")
            self._say(f"Saved: this computer only. {BACK_HOME}")
        self._check()
        self.saved.emit(setting)

    @Slot(object)
    def _keyring_failed(self, error: object) -> None:
        self._say(f"The keyring did not take the password, nothing was saved: {error}", True)
        self._check()

    @Slot(object)
    def _password_known(self, known: object) -> None:
        if known and not self.password_edit.text():
            self.password_edit.setPlaceholderText("saved in the keyring (type to replace it)")
