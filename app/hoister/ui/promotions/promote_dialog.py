"""Promoting one tag by hand: where to, under which tag, and what to do if it exists.

The copy itself runs in a worker (:mod:`.manual`); the dialog renders the live preview,
shows progress polled from a plain object the worker writes, and then says exactly what
happened: promoted, skipped and why, or failed. The target starts where this repository's
tags usually go (a policy's target, else the last manual target), never the repository
itself, and a copy of the tag onto itself is refused before it is tried.
"""

from __future__ import annotations

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

from hoister.errors import HoisterError
from hoister.policies import OverwriteMode
from hoister.policies.template import TemplateContext, render, validate_template
from hoister.registry.identity import profile_identities
from hoister.registry.reference import validate_repository
from hoister.ui.context import AppContext
from hoister.ui.promotions.manual import (
    LAST_TARGET,
    CopyProgress,
    ManualPromotion,
    ManualResult,
    default_target,
    list_repositories,
    promote,
)
from hoister.ui.promotions.tokens_menu import fill_tokens_menu
from hoister.ui.shared.format import human_size, short_digest
from hoister.ui.shared.workers import Requester

ERROR_STYLE = "color: #b3261e"
FINE_STYLE = "color: palette(placeholder-text)"
OVERWRITE_CHOICES = (
    (OverwriteMode.SKIP, "Skip: leave an existing target tag alone"),
    (OverwriteMode.OVERWRITE, "Overwrite an existing target tag"),
    (OverwriteMode.BACKUP, "Keep a backup of an existing target tag, then overwrite"),
)
#: A manual promotion has no matches rule, so no named group to read.
LEFT_OUT_TOKENS = ("%{NAME}",)


class PromoteDialog(QDialog):
    """Choose target registry, repository and tag (or template) and promote now."""

    promoted = Signal(str)  # target reference, host/repo:tag
    finished = Signal(object)  # the ManualResult, promoted or skipped
    target_suggested = Signal()  # the default target is known (or there is none)

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
        self._defaults = Requester(ctx.pool, self)
        self._defaults.ready.connect(self._default_found)
        self._defaults.error.connect(self._no_default)
        self._typed = False  # the person chose a target: a late default must not replace it
        self.identities = profile_identities(ctx.profiles.list())  # a local file
        self._build()
        self._fill()
        self._validate()
        self._load_suggestions()
        last = ctx.settings.get(LAST_TARGET)
        self._defaults.submit(default_target, ctx, profile_name, repository, last)

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
        self.repository_combo.setEditText("")
        self.repository_combo.lineEdit().setPlaceholderText("looking for the usual target…")
        self.template_edit.setText("%n")
        self.token_actions = fill_tokens_menu(self.tokens_menu, self._insert_token, LEFT_OUT_TOKENS)
        for mode, text in OVERWRITE_CHOICES:
            self.overwrite_combo.addItem(text, mode)
        self.repository_combo.editTextChanged.connect(self._validate)
        self.repository_combo.lineEdit().textEdited.connect(self._chosen)
        self.profile_combo.activated.connect(self._chosen)
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

    @Slot()
    def _chosen(self) -> None:
        self._typed = True

    @Slot(object)
    def _default_found(self, target: object) -> None:
        placeholder = "namespace/repository, e.g. qa/website"
        self.repository_combo.lineEdit().setPlaceholderText(placeholder)
        if isinstance(target, tuple) and not self._typed and not self._running:
            profile, repository = target
            if self.profile_combo.findText(profile) >= 0:
                self.profile_combo.setCurrentText(profile)
                self.repository_combo.setEditText(repository)
        self._validate()
        self.target_suggested.emit()

    @Slot(object)
    def _no_default(self, _error: object) -> None:
        self._default_found(None)

    # -- validation and preview ------------------------------------------------------

    def _insert_token(self, token: str) -> None:
        self.template_edit.insert(token)
        self.template_edit.setFocus()

    def _same_registry(self, profile: str) -> bool:
        """Whether ``profile`` reaches the source's registry (itself or an alias of it)."""
        if profile == self.profile_name:
            return True
        mine = self.identities.get(self.profile_name)
        return mine is not None and self.identities.get(profile) == mine

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
        message, style = "", ERROR_STYLE
        if not repository:
            message, style = "Choose the repository to promote to.", FINE_STYLE
            valid = False
        else:
            try:
                validate_repository(repository)
            except HoisterError as exc:
                message, valid = str(exc), False
        try:
            tag = self.target_tag()
        except HoisterError as exc:
            self.preview.setStyleSheet(ERROR_STYLE)
            self.preview.setText(str(exc))
            valid = False
        else:
            self.preview.setStyleSheet("font-weight: bold")
            self.preview.setText(f"{repository or '…'}:{tag}")
            same = self._same_registry(self.profile_combo.currentText())
            if valid and same and repository == self.repository and tag == self.tag:
                message = (
                    f"That is {self.repository}:{self.tag} itself: choose another target "
                    "repository, or a template that gives another tag."
                )
                valid = False
        self.repository_message.setStyleSheet(style)
        self.repository_message.setText(message)
        self.repository_message.setVisible(bool(message))
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
    def _done(self, result: object) -> None:
        assert isinstance(result, ManualResult)
        self._set_running(False)
        if result.outcome == "promoted":
            self.status.setStyleSheet("")
            self.status.setText(f"Promoted: {result.reference}")
            self.ok_button.setEnabled(False)
            self.cancel_button.setText("Close")
            target = {"profile": self.profile_combo.currentText()}
            target["repository"] = self.repository_combo.currentText().strip()
            self.ctx.settings.set(LAST_TARGET, target)
        else:
            self.status.setStyleSheet(ERROR_STYLE)
            why = result.reason or "the engine skipped it"
            self.status.setText(f"Not promoted: nothing was written to {result.reference} ({why}).")
            self._validate()
        self._fit_messages()
        self.finished.emit(result)
        if result.outcome == "promoted":
            self.promoted.emit(result.reference)

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
