"""The main window: connections on the left, the selected repository on the right.

Everything that talks to a registry runs in the pool; the window only arranges views,
wires their signals and keeps its geometry between runs.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QWidget,
)

from hoister import __version__
from hoister.errors import HoisterError
from hoister.profiles import Profile
from hoister.registry.reference import validate_repository
from hoister.store.history import HistoryRow
from hoister.ui.background.engine_controller import EngineController
from hoister.ui.background.engine_status import EngineStatus
from hoister.ui.background.live import LiveViews
from hoister.ui.background.promote_here import PromoteHere
from hoister.ui.background.store_changes import StoreChanges
from hoister.ui.background.tray import Tray, explain_close_to_tray
from hoister.ui.browsing.repository_page import RepositoryPage
from hoister.ui.connections.connect_dialog import ConnectDialog
from hoister.ui.connections.sandbox_control import GUIDE, SandboxControl
from hoister.ui.connections.sidebar import Sidebar
from hoister.ui.connections.welcome import WelcomePage
from hoister.ui.context import AppContext
from hoister.ui.history.history_view import HistoryView
from hoister.ui.queue.queue_view import QueueView
from hoister.ui.shared.errors import show_error
from hoister.ui.team.database_dialog import TeamDatabaseDialog
from hoister.ui.team.store_label import StoreLabel

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    def __init__(
        self, ctx: AppContext, engine: EngineController | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.engine = engine
        self.setWindowTitle("Hoister")
        self.resize(1280, 800)
        self.page: RepositoryPage | None = None
        self.tray: Tray | None = None
        self._quitting = False
        self.sandbox = SandboxControl(ctx, self)
        self._build()
        self._menus()
        self.changes = StoreChanges(self, ctx.database)  # other machines' writes, live
        self.changes.start()
        self._restore()
        if engine is not None:
            self._attach_engine(engine)
        explain_close_to_tray(self.close_to_tray_action, self.tray, engine is not None)
        self.sandbox.status.connect(self.show_status)
        self.sandbox.ready.connect(self._sandbox_ready)
        self.sandbox.failed.connect(self.welcome.show_error)
        self._show_start()
        self.sandbox.resume_if_configured()

    # -- layout ------------------------------------------------------------------------

    def _build(self) -> None:
        self.sidebar = Sidebar(self.ctx)
        self.welcome = WelcomePage(self.ctx.docker)
        self.hint = QLabel("Select a repository on the left.")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.hint)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([250, 1030])  # the tree is narrow; the page needs the room
        self.setCentralWidget(self.splitter)

        self.status_label = QLabel()
        self.activity_bar = QProgressBar()
        self.activity_bar.setRange(0, 0)  # busy indicator
        self.activity_bar.setMaximumWidth(120)
        self.activity_bar.setTextVisible(False)
        self.activity_bar.hide()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.activity_bar)
        self.store_label = StoreLabel(self.ctx.database)
        self.store_label.clicked.connect(self.team_database)
        self.statusBar().addPermanentWidget(self.store_label)
        self._activity = QTimer(self)
        self._activity.setInterval(250)
        self._activity.timeout.connect(self._update_activity)
        self._activity.start()

        self.sidebar.repository_selected.connect(self.open_repository)
        self.sidebar.add_requested.connect(self.add_connection)
        self.sidebar.edit_requested.connect(self.edit_connection)
        self.sidebar.remove_requested.connect(self.remove_connection)
        self.sidebar.add_by_name_requested.connect(self.add_repository_by_name)
        self.sidebar.activity.connect(self.show_status)
        self.welcome.connect_requested.connect(self.add_connection)
        self.welcome.docker_login_chosen.connect(self.add_docker_login)
        self.welcome.sandbox_requested.connect(self._start_sandbox)

    def _menus(self) -> None:
        file_menu = self.file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Add registry…", self.add_connection, "Ctrl+N")
        self._action(file_menu, "&Team database…", self.team_database)
        file_menu.addSeparator()
        self.close_to_tray_action = QAction("Keep promoting in the tray when closed", self)
        self.close_to_tray_action.setCheckable(True)
        self.close_to_tray_action.setChecked(bool(self.ctx.settings.get("close_to_tray")))
        self.close_to_tray_action.toggled.connect(self._set_close_to_tray)
        file_menu.addAction(self.close_to_tray_action)
        file_menu.setToolTipsVisible(True)  # says why the tray action is off, if it is
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.quit, QKeySequence.StandardKey.Quit)
        view = self.menuBar().addMenu("&View")
        self._action(view, "&Refresh", self.refresh, QKeySequence.StandardKey.Refresh)
        self._action(view, "&Filter tags", self.focus_filter, QKeySequence.StandardKey.Find)
        self._action(view, "Filter &repositories", self.sidebar.focus_filter, "Ctrl+Shift+F")
        self.activity = QDockWidget("Activity: all promotions", self)
        self.activity.setObjectName("activity")
        self.activity_view = HistoryView(self.ctx)
        self.activity_view.retried.connect(self._retried)
        self.activity_view.message.connect(self.show_status)
        self.activity.setWidget(self.activity_view)
        self.activity.hide()
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.activity)
        toggle = self.activity.toggleViewAction()
        toggle.setText("&Activity")
        toggle.setShortcut(QKeySequence("Ctrl+Shift+A"))
        view.addAction(toggle)
        # What waits (for facts, a retry), runs or failed, with Retry; read on the pool.
        self.queue = QDockWidget("Queue: what waits and why", self)
        self.queue.setObjectName("queue")
        self.queue_view = QueueView(self.ctx)
        self.queue_view.retried.connect(self._retried)
        self.queue_view.message.connect(self.show_status)
        self.queue.setWidget(self.queue_view)
        self.queue.hide()
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.queue)
        self.tabifyDockWidget(self.activity, self.queue)  # both open: two tabs, one panel
        toggle = self.queue.toggleViewAction()
        toggle.setText("&Queue")
        view.addAction(toggle)
        theme = view.addMenu("&Theme")
        self.theme_group = QActionGroup(self)  # one theme ticked at a time
        for name in ("auto", "light", "dark"):
            action = theme.addAction(name.capitalize())
            action.setCheckable(True)
            self.theme_group.addAction(action)
            action.setChecked(self.ctx.settings.get("theme") == name)
            action.triggered.connect(lambda _checked, n=name: self._set_theme(n))
        self.menuBar().addMenu(self.sandbox.menu(self))
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "Open the &log folder", self._open_logs)
        self._action(help_menu, "&About Hoister", self._about)

    def _action(self, menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # -- state ---------------------------------------------------------------------------

    def _restore(self) -> None:
        geometry = self.ctx.settings.get("window_geometry")
        if geometry:
            self.restoreGeometry(QByteArray.fromBase64(geometry.encode()))
        splitter = (self.ctx.settings.get("splitters") or {}).get("main")
        if splitter:
            self.splitter.restoreState(QByteArray.fromBase64(splitter.encode()))

    def save_state(self) -> None:
        self.ctx.settings.set("window_geometry", bytes(self.saveGeometry().toBase64()).decode())
        splitters = dict(self.ctx.settings.get("splitters") or {})
        splitters["main"] = bytes(self.splitter.saveState().toBase64()).decode()
        self.ctx.settings.set("splitters", splitters)
        try:
            self.ctx.settings.save()
        except OSError as exc:
            log.warning("settings not saved: %s", exc)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        if self.tray is not None and self.ctx.settings.get("close_to_tray") and not self._quitting:
            # Keep promoting from the tray; "Quit" in the tray menu really quits.
            self.hide()
            self.tray.showMessage("Hoister", "Still promoting in the background.")
            event.ignore()
            return
        if self.engine is not None:
            # Only asked: a copy in a slow request must not freeze the closing window.
            self.engine.request_stop()
        self.sandbox.stop()
        self.changes.stop()
        if self.tray is not None:
            self.tray.hide()
        super().closeEvent(event)

    @Slot()
    def quit(self) -> None:
        self._quitting = True
        self.close()

    # -- navigation ------------------------------------------------------------------

    def _show_start(self) -> None:
        has_profiles = bool(self.ctx.profiles.list())
        if self.page is None:
            self.stack.setCurrentWidget(self.hint if has_profiles else self.welcome)

    def _attach_engine(self, engine: EngineController) -> None:
        self.engine_status = EngineStatus(engine)
        self.statusBar().addPermanentWidget(self.engine_status)
        self.tray = Tray.create(self, engine)
        self.promote_here = PromoteHere(engine, self.show_status, self)
        self.file_menu.insertAction(self.close_to_tray_action, self.promote_here.action)
        self.sandbox.pushed.connect(lambda _tag: engine.poll_now())  # promote it now
        self.live = LiveViews(self, engine)
        engine.promotion_finished.connect(self._promotion_finished)
        engine.promotion_failed.connect(self._promotion_failed)
        for moved in (
            engine.cycle_done,
            engine.promotion_started,
            engine.promotion_finished,
            engine.promotion_failed,
        ):
            moved.connect(self.queue_view.engine_moved)  # the Queue view, if open, reads again

    @Slot(object)
    def _promotion_finished(self, row: object) -> None:
        assert isinstance(row, HistoryRow)
        if row.outcome == "promoted":
            self.show_status(
                f"Promoted {row.source_repository}:{row.source_tag} → "
                f"{row.target_repository}:{row.target_tag}"
            )

    @Slot(object)
    def _promotion_failed(self, row: object) -> None:
        assert isinstance(row, HistoryRow)
        self.show_status(
            f"Promotion of {row.source_repository}:{row.source_tag} failed: {row.reason}"
        )

    @Slot(list)
    def submit_candidates(self, candidates: list) -> None:  # type: ignore[type-arg]
        if self.engine is None:
            show_error(self, "Promote", "The background engine is not running.")
            return
        self.engine.submit(candidates)
        self.show_status(f"{len(candidates)} tag(s) handed to the background engine")

    @Slot(int)
    def _policy_saved(self, _policy_id: int) -> None:
        # The baseline of a newly watched repository is taken now, so a push made right
        # after saving counts as new.
        if self.engine is not None:
            self.engine.poll_now()

    @Slot(int)
    def _retried(self, _entry_id: int) -> None:
        """A failed promotion was queued again: have the engine look now, not at its
        next poll."""
        if self.engine is not None:
            self.engine.poll_now()

    @Slot(bool)
    def _set_close_to_tray(self, enabled: bool) -> None:
        self.ctx.settings.set("close_to_tray", enabled)

    @Slot(str, str)
    def open_repository(self, profile: str, repository: str) -> None:
        if self.page is not None and (self.page.profile_name, self.page.repository) == (
            profile,
            repository,
        ):
            return
        page = RepositoryPage(self.ctx, profile, repository)
        page.status.connect(self.show_status)
        page.submit_candidates.connect(self.submit_candidates)
        page.policy_saved.connect(self._policy_saved)
        page.history.retried.connect(self._retried)
        page.history.message.connect(self.show_status)
        self.stack.addWidget(page)
        self.stack.setCurrentWidget(page)
        if self.page is not None:
            self.stack.removeWidget(self.page)
            self.page.deleteLater()
        self.page = page
        self.setWindowTitle(f"{repository} — Hoister")

    def _focus_in(self, widget: QWidget | None) -> bool:
        focus = QApplication.focusWidget()
        return (
            widget is not None
            and focus is not None
            and (focus is widget or widget.isAncestorOf(focus))
        )

    @Slot()
    def refresh(self) -> None:
        """F5 (View → Refresh): what has focus reads its data again; nothing collapses."""
        if self._focus_in(self.activity_view):
            self.activity_view.refresh()
        elif self._focus_in(self.queue_view):
            self.queue_view.refresh()
        elif self.page is not None and not self._focus_in(self.sidebar):
            self.page.refresh()
        else:
            self.sidebar.refresh()

    @Slot()
    def focus_filter(self) -> None:
        """Ctrl+F: the sidebar's filter when it has focus, else the open tags' filter."""
        if self.page is not None and not self._focus_in(self.sidebar):
            self.page.tabs.setCurrentWidget(self.page.tags)
            self.page.tags.focus_filter()
        else:
            self.sidebar.focus_filter()

    @Slot(str)
    def show_status(self, text: str) -> None:
        self.status_label.setText(text)

    @Slot()
    def _update_activity(self) -> None:
        busy = self.ctx.pool.activeThreadCount() > 0
        self.activity_bar.setVisible(busy)
        self.activity_bar.setToolTip(f"{self.ctx.pool.activeThreadCount()} background task(s)")

    # -- connections -----------------------------------------------------------------

    @Slot()
    def add_connection(self) -> None:
        dialog = ConnectDialog(self.ctx, parent=self)
        dialog.saved.connect(self._connection_saved)
        dialog.open()

    @Slot(str)
    def edit_connection(self, name: str) -> None:
        dialog = ConnectDialog(self.ctx, self.ctx.profiles.get(name), parent=self)
        dialog.saved.connect(self._connection_saved)
        dialog.open()

    @Slot(str)
    def _connection_saved(self, name: str) -> None:
        self.sidebar.reload_profiles()
        self.sidebar.reconnect(name)
        self._show_start()
        self.show_status(f"Saved connection {name}")

    @Slot(str)
    def remove_connection(self, name: str) -> None:
        answer = QMessageBox.question(
            self,
            "Remove connection",
            f"Remove the connection '{name}'? Its stored password is removed too; "
            "nothing in the registry changes.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            removed = self.ctx.profiles.remove(name)
        except HoisterError as exc:
            show_error(self, "Remove connection", exc)
            return
        self.ctx.forget_client(name)
        if removed.username:
            remaining = self.ctx.profiles.list()
            self.ctx.pool.start(lambda: self.ctx.secrets.delete(removed, remaining))
        if self.page is not None and self.page.profile_name == name:
            self.stack.removeWidget(self.page)
            self.page.deleteLater()
            self.page = None
        self.sidebar.reload_profiles()
        self._show_start()

    @Slot(str)
    def add_repository_by_name(self, name: str) -> None:
        text, ok = QInputDialog.getText(self, "Add repository", "Repository name (e.g. team/app):")
        if not ok or not text.strip():
            return
        try:
            repository = validate_repository(text.strip())
            profile = self.ctx.profiles.get(name)
            if repository not in profile.repositories:
                profile.repositories.append(repository)
                self.ctx.profiles.update(profile)
        except HoisterError as exc:
            show_error(self, "Add repository", exc)
            return
        self.sidebar.reload_profiles()
        self.sidebar.model.add_repositories(name, [repository])
        self.sidebar.select_repository(name, repository)

    @Slot(str)
    def add_docker_login(self, host: str) -> None:
        base = host.split(":")[0].split(".")[0] or "registry"
        name = base
        existing = {p.name for p in self.ctx.profiles.list()}
        counter = 2
        while name in existing:
            name, counter = f"{base}-{counter}", counter + 1
        try:
            self.ctx.profiles.add(Profile(name=name, url=host))
        except HoisterError as exc:
            show_error(self, "Use a docker login", exc)
            return
        self._connection_saved(name)

    @Slot()
    def team_database(self) -> TeamDatabaseDialog:
        dialog = TeamDatabaseDialog(self.ctx, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self.store_label.set_next)
        dialog.open()
        return dialog

    # -- sandbox -----------------------------------------------------------------------

    @Slot()
    def _start_sandbox(self) -> None:
        self.welcome.set_busy("Starting the sandbox registry…")
        self.sandbox.start(load_samples=self.welcome.load_samples)

    @Slot(str)
    def _sandbox_ready(self, name: str) -> None:
        self.welcome.set_busy(None)
        self.hint.setWordWrap(True)
        self.hint.setText(GUIDE)  # the status bar is soon taken by the sidebar's loading
        self.sidebar.reload_profiles()
        self.sidebar.reconnect(name)
        self._show_start()

    # -- misc --------------------------------------------------------------------------

    def _set_theme(self, name: str) -> None:
        from PySide6.QtWidgets import QApplication

        from hoister.ui.shared.theme import apply_theme

        self.ctx.settings.set("theme", name)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, name)

    def _open_logs(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.ctx.paths.logs)))

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About Hoister",
            f"<h3>Hoister {__version__}</h3><p>Browse OCI and Docker registries and promote "
            "images between repositories by policy.</p>"
            f"<p>Log: {self.ctx.paths.log_file}</p>",
        )
