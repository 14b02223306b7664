"""The Promotions tab of a repository: its policies, from either end, and what they did.

MSR's "Is source" / "Is target" toggle answers the two questions people bring here:
"where do images from this repository go?" and "where do the images in here come from?".
The tab reads the store in workers (sqlite3 connections belong to the thread that made
them) and reloads every few seconds so "last promoted" and "last result" follow the
engine as it works. It never promotes by itself: Run now and Save & Apply end in a dry
run whose confirmed tags leave through :attr:`PromotionsTab.submit_candidates` for the
app's engine, which evaluates them again and promotes each exactly once.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hoister.policies import Policy, Route, policy_check
from hoister.profiles import ProfileStore
from hoister.store import Database, PolicyStore
from hoister.ui.context import AppContext
from hoister.ui.promotions.dry_run_dialog import DryRunDialog
from hoister.ui.promotions.policies_model import (
    CRITERIA,
    ENABLED,
    LAST_PROMOTED,
    LAST_RESULT,
    NAME,
    OTHER,
    TEMPLATE,
    PoliciesModel,
    PromotionsData,
    RowRole,
    SortRole,
    load_promotions,
    policy_name,
)
from hoister.ui.shared.column_fit import Column, ColumnFitter
from hoister.ui.shared.workers import Fanout, Requester

BANNER_STYLE = (  # light in both themes, so its text colour is fixed too
    "QLabel { background: #fdecea; border: 1px solid #e6b0aa; border-radius: 3px;"
    " color: #5f2120; padding: 6px; }"
)
PRIMARY_STYLE = (
    "QPushButton { background: #2f6fdb; color: white; border: 1px solid #2a62c4;"
    " border-radius: 3px; padding: 4px 12px; font-weight: bold; }"
    "QPushButton:hover { background: #3b7be6; } QPushButton:pressed { background: #2a62c4; }"
)
TOGGLE_STYLE = (
    "QToolButton { padding: 3px 12px; border: 1px solid palette(mid); background: palette(base); }"
    "QToolButton:checked { background: palette(highlight); color: palette(highlighted-text); }"
    "QToolButton#left { border-top-left-radius: 3px; border-bottom-left-radius: 3px; }"
    "QToolButton#right { border-top-right-radius: 3px; border-bottom-right-radius: 3px;"
    " border-left: none; }"
)


def store_action(database: Database, profiles: ProfileStore, action: str, policy_id: int) -> Policy:
    """Worker: one change to one policy, on a store (and connection) of the worker's own.

    Enabling brings a route back, so it is checked for cycles like a new policy, with
    registries known by identity (two profiles may name one registry).
    """
    with PolicyStore(database) as store:
        if action in ("enable", "disable"):
            check = policy_check(profiles.identities())
            return store.set_enabled(policy_id, action == "enable", check=check)
        return store.remove(policy_id) if action == "remove" else store.get(policy_id)


def policy_editor(
    ctx: AppContext, profile: str, repository: str, policy: Policy | None, parent: QWidget
) -> QDialog:
    """The visual editor, imported late: it is written alongside this tab."""
    from hoister.ui.promotions.policy_editor import PolicyEditor

    return PolicyEditor(ctx, profile, repository, policy, parent=parent)


class PromotionsTab(QWidget):
    """Policies around one repository; see the module docstring for what leaves it."""

    REFRESH_MS = 3000
    submit_candidates = Signal(list)  # list[Candidate], for the app's engine
    loaded = Signal()  # a reload was shown (tests and the owner wait on it)
    policy_saved = Signal(int)  # the engine should look at the repository now

    def __init__(
        self, ctx: AppContext, profile_name: str, repository: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx, self.route = ctx, Route(profile_name, repository)
        self._data = PromotionsData([], [], {})
        self._has_data = False
        self.editor: QDialog | None = None
        self._editing: QDialog | None = None  # the editor while it is open
        self.editor_factory: Callable[..., QDialog] = policy_editor  # tests put a fake here
        self.dry_run_dialog: DryRunDialog | None = None
        self.model = PoliciesModel(self, home_profile=profile_name)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SortRole)
        self._loader = Requester(ctx.pool, self)
        self._actions = Fanout(ctx.pool, self)  # every answer wanted: one per click
        self._timer = QTimer(self)
        self._timer.setInterval(self.REFRESH_MS)
        self._build()
        self._connect()
        self._timer.start()
        self.refresh()

    # -- layout ----------------------------------------------------------------------

    def _build(self) -> None:
        self.toggle_group = QButtonGroup(self)  # exclusive: one list at a time
        self.source_button, self.target_button = QToolButton(), QToolButton()
        for button, text, side, way in (
            (self.source_button, "Is source", "left", "from"),
            (self.target_button, "Is target", "right", "into"),
        ):
            button.setText(text)
            button.setObjectName(side)
            button.setCheckable(True)
            button.setStyleSheet(TOGGLE_STYLE)
            button.setToolTip(f"Policies that promote images {way} {self.route.repository}")
            self.toggle_group.addButton(button)
        self.source_button.setChecked(True)
        self.new_button = QPushButton("New promotion policy")
        self.new_button.setStyleSheet(PRIMARY_STYLE)
        self.edit_button = QPushButton("Edit…")
        self.duplicate_button = QPushButton("Duplicate…")
        self.delete_button = QPushButton("Delete…")
        self.run_button = QPushButton("Run now…")
        self.run_button.setToolTip("See what the policy would promote among the existing tags")
        top = QHBoxLayout()
        top.setSpacing(6)
        toggle = QHBoxLayout()
        toggle.setSpacing(0)
        toggle.addWidget(self.source_button)
        toggle.addWidget(self.target_button)
        top.addLayout(toggle)
        top.addStretch(1)
        for action in (
            self.edit_button,
            self.duplicate_button,
            self.delete_button,
            self.run_button,
        ):
            top.addWidget(action)
        top.addSpacing(12)
        top.addWidget(self.new_button)

        self.banner = QLabel()  # errors in place; cleared by the next thing that works
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.table.horizontalHeader().setHighlightSections(False)
        self.fitter = ColumnFitter(self.table, self._columns())
        self.empty_label = QLabel()
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(placeholder-text); padding: 24px")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty_label)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(self.stack, 1)

    def _connect(self) -> None:
        self.toggle_group.buttonToggled.connect(self._toggled)
        self.new_button.clicked.connect(self._new)
        self.edit_button.clicked.connect(self._edit)
        self.duplicate_button.clicked.connect(self._duplicate)
        self.delete_button.clicked.connect(self._delete)
        self.run_button.clicked.connect(self._run_now)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.model.enable_requested.connect(self._enable_requested)
        self._loader.ready.connect(self._loaded)
        self._loader.error.connect(self._load_failed)
        self._actions.ready.connect(self._action_done)
        self._actions.error.connect(self._action_failed)
        self._timer.timeout.connect(self._tick)

    # -- loading ---------------------------------------------------------------------

    @property
    def as_source(self) -> bool:
        return self.source_button.isChecked()

    @Slot()
    def refresh(self) -> None:
        """Read both lists again; the selected policy stays selected."""
        self._loader.submit(load_promotions, self.ctx.database, self.route)

    @Slot()
    def _tick(self) -> None:
        if self.isVisible() and not self._loader.busy:
            self.refresh()

    @Slot(object)
    def _loaded(self, data: object) -> None:
        assert isinstance(data, PromotionsData)
        self._data, self._has_data = data, True
        if self.banner.property("kind") == "load":
            self.banner.hide()
        self._show()
        self._tell_editor()
        self.loaded.emit()

    def _tell_editor(self) -> None:
        """An open editor learns of a version saved meanwhile (another window, machine)."""
        stored = getattr(self._editing, "stored_meanwhile", None)
        if callable(stored):
            stored([*self._data.as_source, *self._data.as_target])

    @Slot()
    def _editor_closed(self) -> None:
        self._editing = None

    @Slot(object)
    def _load_failed(self, error: object) -> None:
        self._show_banner(f"The promotion policies could not be read: {error}", "load")

    def _show(self) -> None:
        selected = self.selected_policy()
        self.model.set_mode(self.as_source)
        policies = self._data.as_source if self.as_source else self._data.as_target
        self.model.set_policies(policies, self._data.last_results)
        if selected is not None and selected.id is not None and self.selected_policy() is None:
            self.select_policy(selected.id)  # the rows were replaced, not updated in place
        repository = self.route.repository
        if not self._has_data:
            empty = "Reading the promotion policies…"
        elif self.as_source:
            empty = (
                f"No promotion policies use {repository} as their source. "
                "Create one to promote its images automatically."
            )
        else:
            empty = f"No promotion policies promote images into {repository}."
        self.empty_label.setText(empty)
        self.stack.setCurrentWidget(self.table if policies else self.empty_label)
        self._update_buttons()

    def _columns(self) -> list[Column]:
        """Name, route, whether it is on and what it last did always show (each cell's
        tooltip has its whole text); criteria, template and time give way, in that order."""

        def width(sample: str) -> int:
            return self.fontMetrics().horizontalAdvance(sample) + 12  # the cell's margins

        return [
            Column(NAME, width("stable builds to QA"), width("stable b…"), grow=2),
            Column(OTHER, width("local/qa/website"), width("qa/web…"), grow=1),
            Column(
                CRITERIA, width("Tag name ends with stable"), width("Tag name…"), drop=1, grow=2
            ),
            Column(TEMPLATE, width("%n-%Y%m%d"), width("%n-%Y…"), drop=2),
            Column(ENABLED, width("Enabled"), width("Enabled")),
            Column(LAST_PROMOTED, width("2026-12-31 23:59"), width("2026-12-31 23:59"), drop=3),
            Column(LAST_RESULT, width("promoted 1.4-stable → qa"), width("promoted…"), grow=3),
        ]

    @Slot()
    def _toggled(self) -> None:
        self.table.clearSelection()
        self._show()

    def _show_banner(self, text: str, kind: str) -> None:
        self.banner.setText(text)
        self.banner.setProperty("kind", kind)
        self.banner.show()

    # -- selection -------------------------------------------------------------------

    def selected_policy(self) -> Policy | None:
        rows = self.table.selectionModel().selectedRows()
        value = rows[0].data(RowRole) if rows else None
        return value if isinstance(value, Policy) else None

    def select_policy(self, policy_id: int) -> None:
        number = self.model.row_of(policy_id)
        if number is None:
            return
        index = self.proxy.mapFromSource(self.model.index(number, NAME))
        self.table.selectRow(index.row())

    @Slot()
    def _update_buttons(self) -> None:
        chosen = self.selected_policy() is not None
        for button in (
            self.edit_button,
            self.duplicate_button,
            self.delete_button,
            self.run_button,
        ):
            button.setEnabled(chosen)

    @Slot(QModelIndex)
    def _double_clicked(self, index: QModelIndex) -> None:
        if index.column() != ENABLED:  # a double click there is two clicks on the switch
            self._edit()

    # -- the editor ------------------------------------------------------------------

    def open_editor(self, policy: Policy | None = None) -> QDialog:
        """A new policy starts from this repository; others keep their own source."""
        route = Route(policy.source_profile, policy.source_repository) if policy else self.route
        editor = self.editor_factory(self.ctx, route.profile, route.repository, policy, self)
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.saved.connect(self._saved)  # type: ignore[attr-defined]
        editor.finished.connect(self._editor_closed)
        self.editor = self._editing = editor
        editor.open()
        return editor

    @Slot()
    def _new(self) -> None:
        self.open_editor(None)

    @Slot()
    def _edit(self) -> None:
        policy = self.selected_policy()
        if policy is not None:
            self.open_editor(policy)

    @Slot()
    def _duplicate(self) -> None:
        policy = self.selected_policy()
        if policy is None:
            return
        copy = policy.with_changes(
            id=None,
            name=f"{policy_name(policy)} (copy)",
            enabled=False,  # two live copies of one route would promote everything twice
            created_at=None,
            updated_at=None,
            last_promoted_at=None,
        )
        self.open_editor(copy)

    @Slot(int, bool)
    def _saved(self, policy_id: int, apply: bool) -> None:
        self.refresh()
        self.policy_saved.emit(policy_id)
        if apply:  # Save & Apply: the dry run of the policy exactly as stored
            self._submit("apply", policy_id)

    # -- actions on the selected policy ----------------------------------------------

    @Slot()
    def _delete(self) -> None:
        policy = self.selected_policy()
        if policy is None or policy.id is None:
            return
        answer = QMessageBox.question(
            self,
            "Delete promotion policy",
            f"Delete the policy '{policy_name(policy)}'? "
            "Tags it already promoted stay where they are.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._submit("remove", policy.id)

    @Slot()
    def _run_now(self) -> None:
        policy = self.selected_policy()
        if policy is not None:
            self.open_dry_run(policy)

    def open_dry_run(self, policy: Policy) -> DryRunDialog:
        dialog = DryRunDialog(self.ctx, policy, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.confirmed.connect(self.submit_candidates)  # the owner hands them to the engine
        self.dry_run_dialog = dialog
        dialog.open()
        return dialog

    @Slot(int, bool)
    def _enable_requested(self, policy_id: int, enabled: bool) -> None:
        self._submit("enable" if enabled else "disable", policy_id)

    def _submit(self, action: str, policy_id: int) -> None:
        self.banner.hide()  # a new attempt: the last message no longer applies
        self._actions.submit(
            (action, policy_id),
            store_action,
            self.ctx.database,
            self.ctx.profiles,
            action,
            policy_id,
        )

    @Slot(object, object)
    def _action_done(self, key: object, result: object) -> None:
        assert isinstance(key, tuple) and isinstance(result, Policy)
        action, policy_id = key
        if action in ("enable", "disable"):
            self.model.settle(policy_id, result)
        elif action == "apply":
            self.open_dry_run(result)
        self.refresh()

    @Slot(object, object)
    def _action_failed(self, key: object, error: object) -> None:
        assert isinstance(key, tuple)
        action, policy_id = key
        if action in ("enable", "disable"):
            self.model.settle(policy_id, None)  # the switch goes back to what is stored
            self._show_banner(f"The policy was not {action}d: {error}", "switch")
        elif action == "remove":
            self._show_banner(f"The policy could not be deleted: {error}", "remove")
        else:
            self._show_banner(f"The policy could not be read: {error}", "apply")
        self.refresh()
