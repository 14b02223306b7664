"""The main window: the saved registry connections and where Hoister keeps its files.

Browsing, the Promotions tab and the background engine are added here as they land;
this window reads only local files, so it opens instantly and never waits on a network.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from hoister import __version__
from hoister.errors import HoisterError
from hoister.profiles import ProfileStore


class MainWindow(QMainWindow):
    def __init__(self, profiles: ProfileStore) -> None:
        super().__init__()
        self.setWindowTitle("Hoister")
        self.resize(1000, 640)
        self._profiles = profiles

        self.connections = QListWidget()
        self.connections.setObjectName("connections")
        self.details = QLabel()
        self.details.setObjectName("details")
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setMargin(16)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(8, 8, 0, 8)
        side_layout.addWidget(QLabel("<b>Registries</b>"))
        side_layout.addWidget(self.connections)

        splitter = QSplitter()
        splitter.addWidget(side)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 740])
        self.setCentralWidget(splitter)
        self.statusBar().showMessage(f"Hoister {__version__}")

        self.connections.currentItemChanged.connect(self._show_profile)
        self.reload()

    def reload(self) -> None:
        """Fill the sidebar from the profiles file; a broken file is shown, not raised."""
        self.connections.clear()
        try:
            profiles = self._profiles.list()
        except HoisterError as exc:
            self.details.setText(
                f"<b>Your saved connections could not be read.</b><p>{escape(str(exc))}</p>"
            )
            return
        for profile in profiles:
            item = QListWidgetItem(profile.name)
            item.setToolTip(profile.url)
            item.setData(Qt.ItemDataRole.UserRole, profile)
            self.connections.addItem(item)
        if profiles:
            self.connections.setCurrentRow(0)
        else:
            self.details.setText(
                "<h2>Welcome to Hoister</h2>"
                "<p>No registry connection is saved yet. Add one from a terminal:</p>"
                "<pre>hoister profile add NAME --url https://registry.example.com \\\n"
                "    --username USER --password-stdin</pre>"
                "<p>Logins from <code>docker login</code> are used automatically.</p>"
            )

    def _show_profile(self, current: QListWidgetItem | None, _previous: object = None) -> None:
        if current is None:
            return
        profile = current.data(Qt.ItemDataRole.UserRole)
        tls = "not verified" if profile.insecure else "verified"
        if profile.url.startswith("http://"):
            tls = "plain HTTP"
        self.details.setText(
            f"<h2>{escape(profile.name)}</h2>"
            f"<p>{escape(profile.url)}</p>"
            f"<p>User: {escape(profile.username or 'anonymous')}<br>TLS: {tls}</p>"
        )
