"""Light and dark palettes on the Fusion style, so the app looks the same everywhere.

"auto" follows the desktop's colour scheme where Qt can read it (Qt 6.5+ on most
desktops); a dark palette is applied on Fusion because native styles ignore palettes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

_DARK = {
    QPalette.ColorRole.Window: "#2b2d30",
    QPalette.ColorRole.WindowText: "#dfe1e5",
    QPalette.ColorRole.Base: "#1e1f22",
    QPalette.ColorRole.AlternateBase: "#26282b",
    QPalette.ColorRole.ToolTipBase: "#3c3f41",
    QPalette.ColorRole.ToolTipText: "#dfe1e5",
    QPalette.ColorRole.PlaceholderText: "#8c8f94",
    QPalette.ColorRole.Text: "#dfe1e5",
    QPalette.ColorRole.Button: "#35373b",
    QPalette.ColorRole.ButtonText: "#dfe1e5",
    QPalette.ColorRole.BrightText: "#ff6b68",
    QPalette.ColorRole.Highlight: "#2f6fdb",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#6aa6ff",
    QPalette.ColorRole.Mid: "#4a4d52",
    QPalette.ColorRole.Dark: "#1b1c1f",
    QPalette.ColorRole.Light: "#45484d",
    QPalette.ColorRole.Shadow: "#111111",
}
_DISABLED = {
    QPalette.ColorRole.WindowText: "#7a7d82",
    QPalette.ColorRole.Text: "#7a7d82",
    QPalette.ColorRole.ButtonText: "#7a7d82",
    QPalette.ColorRole.HighlightedText: "#b0b3b8",
}


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, color in _DARK.items():
        palette.setColor(role, QColor(color))
    for role, color in _DISABLED.items():
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(color))
    return palette


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return scheme is not None and scheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, theme: str) -> str:
    """Apply ``auto``/``light``/``dark``; returns the one in effect."""
    app.setStyle("Fusion")
    dark = theme == "dark" or (theme == "auto" and system_prefers_dark())
    app.setPalette(dark_palette() if dark else app.style().standardPalette())
    # Style sheets resolve palette(...) when they are set: set them again for the new one.
    for widget in app.allWidgets():
        sheet = widget.styleSheet()
        if sheet:
            widget.setStyleSheet(sheet)
    return "dark" if dark else "light"
