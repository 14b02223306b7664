"""The system tray icon: promotions announced while the window is hidden or elsewhere.

The tray is what lets the engine keep promoting after the window is closed, so its menu
holds what a person needs without the window: show it again, pause or resume the
engine, quit. Where the desktop has no tray (a bare window manager, offscreen) there is
no icon, and the File menu's "Keep promoting in the tray when closed" is disabled with
the reason (:func:`explain_close_to_tray`): ticking it there would promise something
closing the window could not keep.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QStyle, QSystemTrayIcon

from hoister.store.history import HistoryRow
from hoister.ui.background.engine_controller import EngineController

NO_TRAY = (
    "This desktop has no system tray, so Hoister cannot keep running without its window; "
    "closing the window quits."
)
NO_ENGINE = "The promotion engine is not running in this window, so there is nothing to keep."
PAUSE_TEXT = "Pause promotions"
RESUME_TEXT = "Resume promotions"


def _icon() -> QIcon:
    """The app's icon; a stock one where none is set (a tray icon must have one)."""
    icon = QApplication.windowIcon()
    if icon.isNull():
        icon = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_ComputerIcon)
    return icon


class Tray(QObject):
    """Only where the desktop has a tray; ``create`` returns None elsewhere (and offscreen)."""

    #: (title, text) of every message shown, for the window and for tests to observe.
    announced = Signal(str, str)

    def __init__(self, window: QMainWindow, engine: EngineController) -> None:
        super().__init__(window)
        self.window = window
        self.engine = engine
        self.icon = QSystemTrayIcon(_icon(), self)
        self.icon.setToolTip("Hoister")
        self.menu = QMenu(window)
        self.show_action = QAction("Show Hoister", self)
        self.show_action.triggered.connect(self._show_window)
        self.pause_action = QAction(PAUSE_TEXT, self)
        self.pause_action.triggered.connect(self._toggle_pause)
        self.quit_action = QAction("Quit", self)
        self.quit_action.triggered.connect(getattr(window, "quit", window.close))
        self.menu.addAction(self.show_action)
        self.menu.addAction(self.pause_action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        engine.promotion_finished.connect(self._finished)
        engine.promotion_failed.connect(self._failed)
        engine.state_changed.connect(self._state_changed)
        self._state_changed(engine.state)
        self.icon.show()

    @classmethod
    def create(cls, window: QMainWindow, engine: EngineController) -> Tray | None:
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        return cls(window, engine)

    def showMessage(
        self,
        title: str,
        text: str,
        icon: QSystemTrayIcon.MessageIcon = QSystemTrayIcon.MessageIcon.Information,
        milliseconds: int = 5000,
    ) -> None:
        self.icon.showMessage(title, text, icon, milliseconds)
        self.announced.emit(title, text)

    def hide(self) -> None:
        self.icon.hide()

    @Slot(object)
    def _finished(self, row: object) -> None:
        if isinstance(row, HistoryRow) and row.outcome == "promoted":
            source = f"{row.source_repository}:{row.source_tag}"
            self.showMessage(
                "Image promoted", f"{source} → {row.target_repository}:{row.target_tag}"
            )

    @Slot(object)
    def _failed(self, row: object) -> None:
        if isinstance(row, HistoryRow):
            self.showMessage(
                "Promotion failed",
                f"{row.source_repository}:{row.source_tag}: {row.reason}",
                QSystemTrayIcon.MessageIcon.Warning,
                10000,
            )

    @Slot(str)
    def _state_changed(self, state: str) -> None:
        self.pause_action.setText(RESUME_TEXT if state == "paused" else PAUSE_TEXT)
        self.pause_action.setEnabled(state in ("running", "paused"))
        self.icon.setToolTip("Hoister — promotions paused" if state == "paused" else "Hoister")

    @Slot()
    def _toggle_pause(self) -> None:
        self.engine.set_paused(self.engine.state != "paused")

    @Slot(QSystemTrayIcon.ActivationReason)
    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self._show_window()

    @Slot()
    def _show_window(self) -> None:
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()


def explain_close_to_tray(action: QAction, tray: Tray | None, has_engine: bool) -> None:
    """Enable "Keep promoting in the tray" only where it can work; else say why.

    The reason is the action's tooltip (menus show it when ``toolTipsVisible``) and its
    status tip (the status bar while the pointer is on it). A setting ticked in another
    session stays saved but shows unticked here, since here it does nothing.
    """
    reason = None
    if not QSystemTrayIcon.isSystemTrayAvailable():
        reason = NO_TRAY
    elif tray is None or not has_engine:
        reason = NO_ENGINE
    action.setEnabled(reason is None)
    if reason is not None:
        action.blockSignals(True)
        action.setChecked(False)
        action.blockSignals(False)
    tip = reason or "Closing the window leaves Hoister promoting; quit from the tray icon."
    action.setToolTip(tip)
    action.setStatusTip(tip)
