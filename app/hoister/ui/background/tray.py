"""The system tray icon: promotions announced while the window is hidden or elsewhere."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QSystemTrayIcon

from hoister.store.history import HistoryRow
from hoister.ui.background.engine_controller import EngineController


class Tray(QObject):
    """Only where the desktop has a tray; ``create`` returns None elsewhere (and offscreen)."""

    def __init__(self, window: QMainWindow, engine: EngineController) -> None:
        super().__init__(window)
        self.window = window
        self.icon = QSystemTrayIcon(QApplication.windowIcon(), self)
        self.icon.setToolTip("Hoister")
        menu = QMenu(window)
        show = QAction("Show Hoister", self)
        show.triggered.connect(self._show_window)
        quit_action = QAction("Quit", self)
        quit_action.triggered.connect(getattr(window, "quit", window.close))
        menu.addAction(show)
        menu.addAction(quit_action)
        self.icon.setContextMenu(menu)
        self.icon.activated.connect(self._activated)
        engine.promotion_finished.connect(self._finished)
        engine.promotion_failed.connect(self._failed)
        self.icon.show()

    @classmethod
    def create(cls, window: QMainWindow, engine: EngineController) -> Tray | None:
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        return cls(window, engine)

    def showMessage(self, title: str, text: str) -> None:
        self.icon.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 5000)

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
            self.icon.showMessage(
                "Promotion failed",
                f"{row.source_repository}:{row.source_tag}: {row.reason}",
                QSystemTrayIcon.MessageIcon.Warning,
                10000,
            )

    @Slot(QSystemTrayIcon.ActivationReason)
    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self._show_window()

    @Slot()
    def _show_window(self) -> None:
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()
