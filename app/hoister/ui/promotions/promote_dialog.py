"""Promoting one tag by hand: where to, under which tag, and what to do if it exists.

The copy runs through the same engine as policy promotions (queued, recorded in the
history, provenance attached), in a worker that builds its own engine: the engine's
SQLite connections must belong to the thread that uses them. The dialog only renders
the live preview and shows progress polled from a plain object the worker writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QMenu,
    QProgressBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hoister.engine.engine import Engine
from hoister.engine.events import EngineCallbacks
from hoister.engine.routes import default_actor, manual_options
from hoister.errors import HoisterError
from hoister.policies import OverwriteMode
from hoister.policies.template import TOKENS, TemplateContext, render, validate_template
from hoister.registry.reference import validate_repository
from hoister.store.history import HistoryRow
from hoister.store.queue import QueueEntry
from hoister.ui.context import AppContext
from hoister.ui.shared.format import human_size, short_digest
from hoister.ui.shared.workers import Requester

ERROR_STYLE = "color: #b3261e"
OVERWRITE_CHOICES = (
    (OverwriteMode.SKIP, "Skip: leave an existing target tag alone"),
    (OverwriteMode.OVERWRITE, "Overwrite an existing target tag"),
    (OverwriteMode.BACKUP, "Keep a backup of an existing target tag, then overwrite"),
)
#: Tokens a manual promotion can render (no matches rule, and '%' is never a tag char).
MENU_TOKENS = {k: v for k, v in TOKENS.items() if k not in ("%{NAME}", "%%")}


@dataclass(frozen=True)
class ManualPromotion:
    source_profile: str
    source_repository: str
    source_tag: str
    source_digest: str
    target_profile: str
    target_repository: str
    target_tag: str
    overwrite: OverwriteMode


def list_repositories(ctx: AppContext, profile: str) -> list[str]:
    """Worker: the first page of the catalog, offered as targets (typing always works)."""
    return ctx.client(profile).catalog_page().items


class CopyProgress:
    """Bytes copied so far, written by the worker and read by the dialog's timer."""

    def __init__(self) -> None:
        self.done = 0
        self.total: int | None = None


def promote(ctx: AppContext, request: ManualPromotion, progress: CopyProgress) -> str:
    """Worker: queue, claim and execute one promotion; returns the target reference.

    Chained promotions it triggers stay in the durable queue for the app's engine.
    """
    rows: list[HistoryRow] = []

    def moved(_entry: QueueEntry, done: int, total: int | None) -> None:
        progress.done, progress.total = done, total

    def recorded(_entry: QueueEntry, row: HistoryRow) -> None:
        rows.append(row)

    callbacks = EngineCallbacks(progress=moved, finished=recorded, failed=recorded)
    engine = Engine(
        ctx.database,
        ctx.profiles,
        ctx.credential,
        actor=default_actor(agent=False),
        callbacks=callbacks,
        client_factory=ctx.client_factory,
    )
    try:
        entry = engine.queue.enqueue(
            QueueEntry(
                None,
                None,
                request.source_profile,
                request.source_repository,
                request.source_tag,
                request.source_digest,
                request.target_profile,
                request.target_repository,
                request.target_tag,
                manual_options=manual_options(request.overwrite),
            )
        )
        claimed = engine.runner.claim(entry.id) if entry and entry.id is not None else None
        if claimed is None:
            raise HoisterError("this promotion is already queued; the engine will run it")
        outcome = engine.runner.execute(claimed)
        host = engine.clients.host_of(request.target_profile)
        target = engine.clients.get(request.target_profile)
        reason = rows[-1].reason if rows else engine.queue.get(claimed.id).last_error or ""
        if outcome == "skipped":
            head = target.head_manifest(request.target_repository, request.target_tag)
            if head is None or head.digest != request.source_digest:
                raise HoisterError(f"not promoted: {reason}")
        elif outcome == "retry":
            raise HoisterError(f"not copied yet ({reason}); the engine will try again later")
        elif outcome != "promoted":
            raise HoisterError(reason or "the promotion failed; see the History tab")
    finally:
        engine.close()
    return f"{host}/{request.target_repository}:{request.target_tag}"


class PromoteDialog(QDialog):
    """Choose target registry, repository and tag (or template) and promote now."""

    promoted = Signal(str)  # target reference, host/repo:tag

    def __init__(
        self,
        ctx: AppContext,
        profile_name: str,
        repository: str,
        tag: str,
        digest: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.profile_name = ctx, profile_name
        self.repository, self.tag, self.digest = repository, tag, digest
        self.setWindowTitle(f"Promote {repository}:{tag}")
        self.setMinimumWidth(580)
        self._running = False
        self._progress = CopyProgress()
        self._poll = QTimer(self)
        self._poll.setInterval(200)
        self._poll.timeout.connect(self._show_progress)
        self._requester = Requester(ctx.pool, self)
        self._requester.ready.connect(self._done)
        self._requester.error.connect(self._failed)
        self._catalog = Requester(ctx.pool, self)  # a refused catalog just offers nothing
        self._catalog.ready.connect(self._suggest)
        self._build()
        self._fill()
        self._validate()
        self._load_suggestions()

    # -- layout ----------------------------------------------------------------------

    def _build(self) -> None:
        self.profile_combo = QComboBox()
        self.repository_combo = QComboBox()
        self.repository_combo.setEditable(True)
        self.repository_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.repository_combo.setMinimumWidth(380)
        self.repository_message = QLabel()
        self.repository_message.setTextFormat(Qt.TextFormat.PlainText)
        self.repository_message.setStyleSheet(ERROR_STYLE)
        self.repository_message.setWordWrap(True)
        self.template_edit = QLineEdit()
        self.template_edit.setPlaceholderText("a tag, or a template such as %n-qa or %Y%m%d")
        self.tokens_button = QToolButton()
        self.tokens_button.setText("Tokens")
        self.tokens_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.tokens_menu = QMenu(self.tokens_button)
        self.tokens_button.setMenu(self.tokens_menu)
        template_row = QHBoxLayout()
        template_row.addWidget(self.template_edit, 1)
        template_row.addWidget(self.tokens_button)
        self.preview = QLabel()
        self.preview.setTextFormat(Qt.TextFormat.PlainText)
        self.preview.setWordWrap(True)
        self.preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.overwrite_combo = QComboBox()
        form = QFormLayout()
        form.addRow(
            "Source:", QLabel(f"{self.repository}:{self.tag} ({short_digest(self.digest)})")
        )
        form.addRow("Target registry:", self.profile_combo)
        form.addRow("Target repository:", self.repository_combo)
        form.addRow("", self.repository_message)
        form.addRow("Tag or template:", template_row)
        form.addRow("Result:", self.preview)
        form.addRow("If the tag exists:", self.overwrite_combo)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.addButton("Promote", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        layout = QVBoxLayout(self)
        # Messages wrap onto more lines as one types: the dialog grows to show them whole.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

    def _fill(self) -> None:
        for profile in self.ctx.profiles.list():  # a local file
            self.profile_combo.addItem(profile.name)
        self.profile_combo.setCurrentText(self.profile_name)
        self.repository_combo.setEditText(self.repository)
        self.template_edit.setText("%n")
        for token, meaning in MENU_TOKENS.items():
            action = self.tokens_menu.addAction(f"{token}\t{meaning}")
            action.setData(token)
        for mode, text in OVERWRITE_CHOICES:
            self.overwrite_combo.addItem(text, mode)
        self.tokens_menu.triggered.connect(self._insert_token)
        self.repository_combo.editTextChanged.connect(self._validate)
        self.template_edit.textChanged.connect(self._validate)
        self.profile_combo.currentTextChanged.connect(self._validate)
        self.profile_combo.currentTextChanged.connect(self._load_suggestions)
        self.buttons.accepted.connect(self._start)
        self.buttons.rejected.connect(self.reject)

    @Slot()
    def _load_suggestions(self) -> None:
        self._catalog.submit(list_repositories, self.ctx, self.profile_combo.currentText())

    @Slot(object)
    def _suggest(self, names: object) -> None:
        text = self.repository_combo.currentText()
        self.repository_combo.blockSignals(True)
        self.repository_combo.clear()
        self.repository_combo.addItems([str(n) for n in names])  # type: ignore[attr-defined]
        self.repository_combo.setEditText(text)
        self.repository_combo.blockSignals(False)

    # -- validation and preview ------------------------------------------------------

    @Slot(object)
    def _insert_token(self, action: object) -> None:
        self.template_edit.insert(str(action.data()))  # type: ignore[attr-defined]
        self.template_edit.setFocus()

    def target_tag(self, when: datetime | None = None) -> str:
        """The tag the template renders now (raises TemplateError when it cannot)."""
        template = self.template_edit.text().strip()
        validate_template(template)
        moment = when or datetime.now(UTC)
        return render(template, TemplateContext(self.tag, moment, self.digest, self.repository))

    @Slot()
    def _validate(self) -> bool:
        valid = True
        repository = self.repository_combo.currentText().strip()
        try:
            validate_repository(repository)
            self.repository_message.clear()
        except HoisterError as exc:
            self.repository_message.setText(str(exc))
            valid = False
        self.repository_message.setVisible(not valid)
        try:
            tag = self.target_tag()
        except HoisterError as exc:
            self.preview.setStyleSheet(ERROR_STYLE)
            self.preview.setText(str(exc))
            valid = False
        else:
            self.preview.setStyleSheet("font-weight: bold")
            self.preview.setText(f"{repository or '…'}:{tag}")
        self.ok_button.setEnabled(valid and not self._running)
        self._fit_messages()
        return valid

    def _fit_messages(self) -> None:
        """Give wrapped messages the lines they need (a layout does not grow for them)."""
        for label in (self.repository_message, self.preview, self.status):
            width = label.width() if label.isVisible() else self.width() - 40
            label.setMinimumHeight(label.heightForWidth(max(width, 200)) if label.text() else 0)

    # -- running ---------------------------------------------------------------------

    @Slot()
    def _start(self) -> None:
        if self._running or not self._validate():
            return
        request = ManualPromotion(
            self.profile_name,
            self.repository,
            self.tag,
            self.digest,
            self.profile_combo.currentText(),
            self.repository_combo.currentText().strip(),
            self.target_tag(),
            OverwriteMode(self.overwrite_combo.currentData()),
        )
        self._set_running(True)
        self.status.setStyleSheet("")
        self.status.setText(f"Promoting to {request.target_repository}:{request.target_tag}…")
        self._fit_messages()
        self._progress = CopyProgress()
        self._requester.submit(promote, self.ctx, request, self._progress)

    def _set_running(self, running: bool) -> None:
        self._running = running
        for widget in (self.profile_combo, self.repository_combo, self.template_edit):
            widget.setEnabled(not running)
        self.tokens_button.setEnabled(not running)
        self.overwrite_combo.setEnabled(not running)
        self.cancel_button.setEnabled(not running)
        self.ok_button.setEnabled(not running)
        self.progress.setVisible(running)
        self.progress.setRange(0, 0)
        if running:
            self._poll.start()
        else:
            self._poll.stop()

    @Slot()
    def _show_progress(self) -> None:
        done, total = self._progress.done, self._progress.total
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(done, total) / total))
            self.progress.setFormat(f"{human_size(done)} of {human_size(total)}")

    @Slot(object)
    def _done(self, reference: object) -> None:
        self._set_running(False)
        self.status.setText(f"Promoted: {reference}")
        self._fit_messages()
        self.ok_button.setEnabled(False)
        self.cancel_button.setText("Close")
        self.promoted.emit(str(reference))

    @Slot(object)
    def _failed(self, error: object) -> None:
        self._set_running(False)
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.setText(str(error))
        self._fit_messages()
        self._validate()

    def reject(self) -> None:
        """Closing while the copy runs would orphan it on screen: wait for its answer."""
        if not self._running:
            super().reject()
