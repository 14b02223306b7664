"""The policy editor's line on which version it edits, and the way out of a conflict.

On a team database several people edit the same policies. The editor says which
version it opened and who saved it ("Version 4, saved by alice@ws2 at 2026-12-01
10:04"). A save over a newer version is refused by the store
(:class:`~hoister.policies.errors.PolicyConflict`); the editor keeps every edit in its
fields and this note offers *Reload*, which reads the stored version in a worker and
hands it to the editor to show instead.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QThreadPool, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from hoister.policies import Policy
from hoister.policies.errors import PolicyConflict
from hoister.store import Database, PolicyStore
from hoister.ui.shared.format import local_time
from hoister.ui.shared.workers import Requester

FINE_STYLE = "color: palette(placeholder-text)"
CONFLICT_STYLE = "color: #b3261e"


def read_policy(database: Database, policy_id: int) -> Policy:
    """Worker: the policy as stored now."""
    with PolicyStore(database) as store:
        return store.get(policy_id)


def describe(policy: Policy) -> str:
    """``Version 4, saved by alice@ws2 at 2026-12-01 10:04`` (empty for a new policy)."""
    if policy.id is None or not policy.version:
        return ""
    words = f"Version {policy.version}"
    if policy.updated_by:
        words += f", saved by {policy.updated_by}"
    if policy.updated_at is not None:
        words += f" at {local_time(policy.updated_at)}"
    return words


class VersionNote(QWidget):
    """The version line, and *Reload* once a save was refused as a conflict."""

    reloaded = Signal(object)  # Policy: the stored version, for the editor to show
    reload_failed = Signal(str)

    def __init__(
        self, database: Database, pool: QThreadPool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._database = database
        self._policy_id: int | None = None
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setStyleSheet(FINE_STYLE)
        self.label.hide()  # a new policy has no version yet
        self.reload_button = QPushButton("Reload")
        self.reload_button.setToolTip(
            "Show the version saved meanwhile; the changes made here are replaced by it"
        )
        self.reload_button.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.reload_button)
        self._reader = Requester(pool, self)
        self._reader.ready.connect(self._read)
        self._reader.error.connect(self._read_failed)
        self.reload_button.clicked.connect(self.reload)

    @property
    def conflicted(self) -> bool:
        return not self.reload_button.isHidden()

    def show_policy(self, policy: Policy) -> None:
        """The version this editor now edits; any conflict is over."""
        self._policy_id = policy.id
        self.label.setStyleSheet(FINE_STYLE)
        self.label.setText(describe(policy))
        self.label.setVisible(bool(self.label.text()))
        self.reload_button.hide()
        self.reload_button.setEnabled(True)

    def show_conflict(self, conflict: PolicyConflict) -> None:
        """Someone saved version ``conflict.version`` meanwhile: offer theirs."""
        self.label.setStyleSheet(CONFLICT_STYLE)
        self.label.setText(
            f"{conflict.updated_by} saved version {conflict.version} while this was open. "
            "Your changes are still here; Reload shows theirs instead."
        )
        self.label.show()
        self.reload_button.show()

    def show_newer(self, stored: Policy) -> None:
        """A newer version was saved while this was open (not saved over yet)."""
        if self.conflicted:
            return
        who = stored.updated_by or "Someone"
        when = f" at {local_time(stored.updated_at)}" if stored.updated_at else ""
        self.label.setStyleSheet(CONFLICT_STYLE)
        self.label.setText(
            f"{who} saved version {stored.version}{when} while this was open: saving "
            "would undo their change and is refused. Reload shows theirs."
        )
        self.label.show()
        self.reload_button.show()

    @Slot()
    def reload(self) -> None:
        if self._policy_id is None:
            return
        self.reload_button.setEnabled(False)
        self._reader.submit(read_policy, self._database, self._policy_id)

    @Slot(object)
    def _read(self, policy: object) -> None:
        assert isinstance(policy, Policy)
        self.show_policy(policy)
        self.reloaded.emit(policy)

    @Slot(object)
    def _read_failed(self, error: object) -> None:
        self.reload_button.setEnabled(True)
        self.reload_failed.emit(f"The policy could not be read again: {error}")
