"""Creating and editing a promotion policy, checked live at the field that is wrong.

Every change re-runs the same validation the store runs on save (rules, template,
names) plus the cycle check against the other policies, debounced so typing stays
smooth; each problem is shown next to the input that causes it and saving stays
disabled until none is left. The store still re-checks inside its write transaction,
because another window or the CLI may add a policy while this dialog is open.
Permissions are checked against the registries themselves and only warn: a registry's
own rules decide, and they may change before the first promotion.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QLabel,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from hoister.policies import (
    CycleError,
    Policy,
    Problem,
    TimeZoneMode,
    check_no_cycle,
    policy_problems,
)
from hoister.policies.errors import PolicyConflict
from hoister.policies.model import OverwriteMode
from hoister.registry.identity import profile_identities
from hoister.ui.context import AppContext
from hoister.ui.promotions.criteria_editor import CriteriaEditor
from hoister.ui.promotions.message_label import MessageLabel
from hoister.ui.promotions.permissions import PermissionsNote
from hoister.ui.promotions.policy_version import VersionNote
from hoister.ui.promotions.policy_workers import connect_clients, load_others, store_policy
from hoister.ui.promotions.promote_dialog import OVERWRITE_CHOICES
from hoister.ui.promotions.repository_picker import RepositoryPicker
from hoister.ui.promotions.template_field import Clock, TemplateField, utc_now
from hoister.ui.shared.workers import Requester

ERROR_COLOR = "#b3261e"
FINE_STYLE = "color: palette(placeholder-text)"
VALIDATE_DELAY_MS = 150
MINIMUM_WIDTH = 760  # a criterion row (field, key, operator, value) fits on one line
PLACES = {
    "name": "name",
    "source": "source",
    "target": "target repository",
    "cycle": "target (a loop)",
    "template": "tag template",
    "rules": "criteria",
    "webhook": "webhook",
}


def _message_label() -> MessageLabel:
    """A rare message (a name too long, a bad webhook): no line kept for it."""
    label = MessageLabel(reserve=0)
    label.show_message("", f"color: {ERROR_COLOR}")
    return label


def _with_message(field: QWidget, message: QLabel) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(field)
    layout.addWidget(message)
    return box


class PolicyEditor(QDialog):
    """Name, criteria, target, tag template and options of one policy; Save or Save & Apply."""

    saved = Signal(int, bool)  # policy id, apply to existing tags (the caller's dry run)
    validated = Signal(list)  # the problems found, [] when the policy can be saved

    def __init__(
        self,
        ctx: AppContext,
        profile_name: str,
        repository: str,
        policy: Policy | None = None,
        parent: QWidget | None = None,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._original = policy
        self.source_profile = policy.source_profile if policy else profile_name
        self.source_repository = policy.source_repository if policy else repository
        #: The other stored policies, for the cycle check; None until a worker read them.
        self.others: list[Policy] | None = None
        #: Profile name -> registry identity, so a loop through an alias is seen.
        self.identities: dict[str, str] = {}
        self._saving = False
        self._apply = False
        self._save_error: str | None = None
        self.setWindowTitle("Edit promotion policy" if policy else "New promotion policy")
        self._build(clock)
        self._fill(policy)
        self._connect()
        self._workers()
        self._validate()

    # -- layout ------------------------------------------------------------------------

    def _build(self, clock: Clock) -> None:
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. Stable builds to QA")
        self.description_edit = QPlainTextEdit()
        self.description_edit.setPlaceholderText("What this policy is for (optional)")
        self.description_edit.setFixedHeight(2 * self.fontMetrics().lineSpacing() + 10)
        self.source_label = QLabel(f"{self.source_profile}:{self.source_repository}")
        self.source_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.enabled_check = QCheckBox("Enabled")
        self.criteria = CriteriaEditor()
        self.target_profile_combo = QComboBox()
        self.target_picker = RepositoryPicker(self.ctx)
        self.template = TemplateField(clock)
        self.time_zone_combo = QComboBox()
        self.time_zone_combo.addItem("UTC", TimeZoneMode.UTC)
        self.time_zone_combo.addItem("Local time of the promoting machine", TimeZoneMode.LOCAL)
        self.overwrite_combo = QComboBox()
        for mode, words in OVERWRITE_CHOICES:
            self.overwrite_combo.addItem(words, mode)
        self.copy_referrers_check = QCheckBox("Copy signatures and SBOMs with the image")
        self.provenance_check = QCheckBox("Record where the image came from in the target")
        self.webhook_edit = QLineEdit()
        self.webhook_edit.setPlaceholderText("optional: https://… is called after each promotion")
        self.field_messages = {where: _message_label() for where in ("name", "source", "webhook")}
        self.field_messages["rules"] = _message_label()
        self.permissions_label = PermissionsNote(self.ctx)
        self.version_note = VersionNote(self.ctx.database, self.ctx.pool)
        self.problems_label = QLabel()
        self.problems_label.setTextFormat(Qt.TextFormat.PlainText)
        self.problems_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        role = QDialogButtonBox.ButtonRole.ActionRole
        self.save_apply_button = self.buttons.addButton("Save && Apply…", role)
        self.save_apply_button.setToolTip("Save, then see which existing tags it would promote")
        self.save_button = self.buttons.addButton("Save", role)
        self.save_button.setToolTip("Save: the policy applies to future pushes")
        self.save_button.setDefault(True)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)

        general = QFormLayout()
        general.addRow("Name:", _with_message(self.name_edit, self.field_messages["name"]))
        general.addRow("Description:", self.description_edit)
        general.addRow("Source:", _with_message(self.source_label, self.field_messages["source"]))
        general.addRow("", self.enabled_check)
        criteria_frame = QFrame()
        criteria_frame.setFrameShape(QFrame.Shape.StyledPanel)
        criteria_layout = QVBoxLayout(criteria_frame)
        criteria_layout.addWidget(self.criteria)
        self.criteria.setMinimumWidth(MINIMUM_WIDTH)
        criteria_layout.addWidget(self.field_messages["rules"])
        target = QFormLayout()
        target.addRow("Target registry:", self.target_profile_combo)
        target.addRow("Target repository:", self.target_picker)
        target.addRow("Tag template:", self.template)
        target.addRow("Time zone:", self.time_zone_combo)
        target.addRow("If the tag exists:", self.overwrite_combo)
        target.addRow("", self.copy_referrers_check)
        target.addRow("", self.provenance_check)
        target.addRow("Webhook:", _with_message(self.webhook_edit, self.field_messages["webhook"]))
        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        layout.addLayout(general)
        layout.addWidget(criteria_frame)
        layout.addLayout(target)
        layout.addWidget(self.permissions_label)
        layout.addStretch(1)
        layout.addWidget(self.version_note)
        layout.addWidget(self.problems_label)
        layout.addWidget(self.buttons)

    def _fill(self, policy: Policy | None) -> None:
        if policy is not None:
            self.version_note.show_policy(policy)
        profiles = self.ctx.profiles.list()  # a local file
        names = [p.name for p in profiles]
        self.identities = profile_identities(profiles)
        wanted = policy.effective_target_profile if policy else self.source_profile
        with QSignalBlocker(self.target_profile_combo):  # filled again on Reload
            self.target_profile_combo.clear()
            for name in dict.fromkeys([*names, self.source_profile, wanted]):
                self.target_profile_combo.addItem(name)
        self.target_profile_combo.setCurrentText(wanted)
        policy = policy or Policy(self.source_profile, self.source_repository, "", "%n")
        self.name_edit.setText(policy.name)
        self.description_edit.setPlainText(policy.description)
        self.enabled_check.setChecked(policy.enabled)
        self.criteria.set_rules(policy.rules)
        self.target_picker.set_repository(policy.target_repository)
        self.template.set_text(policy.tag_template)
        self.time_zone_combo.setCurrentIndex(self.time_zone_combo.findData(policy.time_zone))
        self.template.set_time_zone(policy.time_zone)
        self.overwrite_combo.setCurrentIndex(self.overwrite_combo.findData(policy.overwrite))
        self.copy_referrers_check.setChecked(policy.copy_referrers)
        self.provenance_check.setChecked(policy.record_provenance)
        self.webhook_edit.setText(policy.webhook_url or "")

    def _connect(self) -> None:
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(VALIDATE_DELAY_MS)
        self._debounce.timeout.connect(self._validate)
        for signal in (
            self.name_edit.textChanged,
            self.description_edit.textChanged,
            self.enabled_check.toggled,
            self.criteria.changed,
            self.target_picker.changed,
            self.target_profile_combo.currentTextChanged,
            self.template.changed,
            self.time_zone_combo.currentIndexChanged,
            self.webhook_edit.textChanged,
        ):
            signal.connect(self._schedule)
        # A push check opens an upload on the target: only for a name that is complete.
        self.target_picker.committed.connect(self._check_permissions)
        self.target_picker.changed.connect(self._target_edited)
        self.target_profile_combo.currentTextChanged.connect(self._target_profile_chosen)
        self.time_zone_combo.currentIndexChanged.connect(self._time_zone_chosen)
        self.version_note.reloaded.connect(self._reloaded)
        self.version_note.reload_failed.connect(self._reload_failed)
        self.save_button.clicked.connect(self._save)
        self.save_apply_button.clicked.connect(self._save_and_apply)
        self.buttons.rejected.connect(self.reject)

    def _workers(self) -> None:
        self._others_loader = Requester(self.ctx.pool, self)
        self._others_loader.ready.connect(self._others_loaded)
        self._saver = Requester(self.ctx.pool, self)
        self._saver.ready.connect(self._stored)
        self._saver.error.connect(self._store_failed)
        exclude = self._original.id if self._original else None
        self._others_loader.submit(load_others, self.ctx.database, exclude)
        self._connector = Requester(self.ctx.pool, self)
        self._connector.ready.connect(self._connected)
        target = self.target_profile_combo.currentText()
        self._connector.submit(connect_clients, self.ctx, self.source_profile, target)

    @Slot()
    def _connected(self) -> None:
        """Clients exist: now read the catalog and the sample tag, and check permissions."""
        self.target_picker.set_profile(self.target_profile_combo.currentText())
        self.template.load_sample(self.ctx, self.source_profile, self.source_repository)
        self._check_permissions()  # the target the policy already has, once

    # -- the policy and its problems ---------------------------------------------------

    def policy(self) -> Policy:
        """The policy as the inputs describe it now (it may have problems)."""
        target_profile = self.target_profile_combo.currentText()
        fields: dict[str, object] = {
            "source_profile": self.source_profile,
            "source_repository": self.source_repository,
            "target_repository": self.target_picker.repository(),
            "tag_template": self.template.text(),
            "rules": self.criteria.rules(),
            "name": self.name_edit.text().strip(),
            "description": self.description_edit.toPlainText().strip(),
            "target_profile": None if target_profile == self.source_profile else target_profile,
            "enabled": self.enabled_check.isChecked(),
            "overwrite": OverwriteMode(self.overwrite_combo.currentData()),
            "time_zone": TimeZoneMode(self.time_zone_combo.currentData()),
            "copy_referrers": self.copy_referrers_check.isChecked(),
            "record_provenance": self.provenance_check.isChecked(),
            "webhook_url": self.webhook_edit.text().strip() or None,
        }
        if self._original is not None:
            return self._original.with_changes(**fields)
        return Policy(**fields)  # type: ignore[arg-type]

    @Slot()
    def _schedule(self) -> None:
        self._save_error = None
        self._debounce.start()

    @Slot()
    def _validate(self) -> list[Problem]:
        self._debounce.stop()
        policy = self.policy()
        self.template.set_tag_rules(policy.rules)
        problems = policy_problems(policy)
        if self.others is not None:
            try:
                check_no_cycle(policy, self.others, self.identities)
            except CycleError as exc:
                problems.append(Problem("cycle", str(exc)))
        self._show_problems(problems)
        self.validated.emit(problems)
        return problems

    def _show_problems(self, problems: list[Problem]) -> None:
        self.criteria.clear_problems()
        by_place: dict[str, list[str]] = {}
        for problem in problems:
            if problem.where.startswith("rules["):
                self.criteria.show_problem(int(problem.where[6:-1]), problem.message)
            by_place.setdefault(problem.where, []).append(problem.message)
        for where, label in self.field_messages.items():
            label.show_message("\n".join(by_place.get(where, [])))
        target = by_place.get("target", []) + by_place.get("cycle", [])
        self.target_picker.show_problem("\n".join(target) or None)
        lines = [f"Not saved: {self._save_error}"] if self._save_error else []
        if problems:
            count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
            places = ", ".join(dict.fromkeys(_place(p.where) for p in problems))
            lines.append(f"Cannot save yet: {count}, marked in red ({places}).")
        elif not lines and not self._saving:
            lines.append("Ready to save.")
        bad = bool(problems or self._save_error)
        self.problems_label.setStyleSheet(f"color: {ERROR_COLOR}" if bad else FINE_STYLE)
        self.problems_label.setText("\n".join(lines))
        ready = not problems and not self._saving
        self.save_button.setEnabled(ready)
        self.save_apply_button.setEnabled(ready)

    # -- workers' answers --------------------------------------------------------------

    @Slot(object)
    def _others_loaded(self, others: object) -> None:
        self.others = list(others)  # type: ignore[call-overload]
        self._validate()

    @Slot(str)
    def _target_profile_chosen(self, name: str) -> None:
        self.target_picker.set_profile(name)
        self._check_permissions()

    @Slot(str)
    def _target_edited(self, repository: str) -> None:
        self.permissions_label.target_edited((self.target_profile_combo.currentText(), repository))

    @Slot()
    def _check_permissions(self) -> None:
        source = (self.source_profile, self.source_repository)
        target = (self.target_profile_combo.currentText(), self.target_picker.repository())
        self.permissions_label.check(source, target if self.target_picker.is_valid() else None)

    @Slot()
    def _time_zone_chosen(self) -> None:
        self.template.set_time_zone(TimeZoneMode(self.time_zone_combo.currentData()))

    # -- saving ------------------------------------------------------------------------

    @Slot()
    def _save(self) -> None:
        self._start_saving(apply=False)

    @Slot()
    def _save_and_apply(self) -> None:
        self._start_saving(apply=True)

    def _start_saving(self, apply: bool) -> None:
        if self._saving or self._validate():
            return
        self._saving, self._apply, self._save_error = True, apply, None
        self._show_problems([])
        self.problems_label.setStyleSheet(FINE_STYLE)
        self.problems_label.setText("Saving…")
        self._saver.submit(store_policy, self.ctx.database, self.ctx.profiles, self.policy())

    @Slot(object)
    def _stored(self, policy: object) -> None:
        assert isinstance(policy, Policy) and policy.id is not None
        self._saving = False
        self.saved.emit(policy.id, self._apply)
        self.accept()

    @Slot(object)
    def _store_failed(self, error: object) -> None:
        """Nothing was saved; every field keeps what the user made of it."""
        self._saving = False
        self._save_error = str(error)
        if isinstance(error, PolicyConflict):
            self.version_note.show_conflict(error)
        self._validate()
        exclude = self._original.id if self._original else None
        self._others_loader.submit(load_others, self.ctx.database, exclude)

    def stored_meanwhile(self, policies: list[Policy]) -> None:
        """The Promotions tab read the policies again: is ours newer in the store?"""
        mine = self._original
        if mine is None or mine.id is None or self._saving:
            return
        for stored in policies:
            if stored.id == mine.id and stored.version > mine.version:
                self.version_note.show_newer(stored)

    @Slot(object)
    def _reloaded(self, policy: object) -> None:
        """Reload after a conflict: the stored version replaces what the fields say."""
        assert isinstance(policy, Policy)
        self._original = policy
        self._fill(policy)
        self._target_profile_chosen(self.target_profile_combo.currentText())
        self._save_error = None
        self._validate()

    @Slot(str)
    def _reload_failed(self, message: str) -> None:
        self._save_error = message
        self._validate()

    def reject(self) -> None:
        """Closing while the store writes would hide whether it saved: wait for the answer."""
        if not self._saving:
            super().reject()


def _place(where: str) -> str:
    if where.startswith("rules["):
        return f"criterion {int(where[6:-1]) + 1}"
    return PLACES.get(where, where)
