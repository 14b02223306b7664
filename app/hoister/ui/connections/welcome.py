"""The first-run page: three ways to reach a registry, for someone with no profile yet.

The page only offers; it starts nothing. The main window listens to its signals and
opens the connect dialog, reuses a Docker login or starts the sandbox in a worker, so
this widget stays free of network calls and processes and is trivial to test. What it
shows is read from local files only (Docker's ``config.json``, ``PATH``), which is
quick enough for the GUI thread; credential helpers are never run here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QFont, QIcon, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from hoister import sandbox
from hoister.credentials import DockerConfig
from hoister.errors import HoisterError
from hoister.resources import resource_path

#: Wide enough for the explanations to read as sentences, narrow enough to scan.
COLUMN_WIDTH = 720
ACTION_WIDTH = 230
ACTION_HEIGHT = 44
GROUP_GAP = 14
INSTALL_HINT = sandbox.INSTALL_HINT
SP = QStyle.StandardPixmap
SAMPLES_TEXT = "Load sample content (dev/website with a few tags)"


def _home_relative(path: Path) -> str:
    """``~/.docker/config.json`` reads better than a long absolute path."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def _muted(text: str = "", name: str = "") -> QLabel:
    """A secondary line: the palette's placeholder colour is muted in light and dark themes.

    Plain text, because it may hold a path or an error message with '<' in it.
    """
    label = QLabel(text)
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


def _action(name: str, text: str, icon: QIcon) -> QPushButton:
    """A large button of one fixed width, so the three line up as a column."""
    button = QPushButton(icon, text)
    button.setObjectName(f"{name}_button")
    button.setIconSize(QSize(22, 22))
    button.setMinimumSize(ACTION_WIDTH, ACTION_HEIGHT)
    button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    font = QFont(button.font())
    font.setWeight(QFont.Weight.DemiBold)
    button.setFont(font)
    return button


class WelcomePage(QWidget):
    """Shown while no profile is saved; the window wires the three signals."""

    connect_requested = Signal()
    docker_login_chosen = Signal(str)  # host[:port] as Docker keys it, e.g. "ghcr.io"
    sandbox_requested = Signal()

    def __init__(self, docker: DockerConfig | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self._docker = docker or DockerConfig()
        self._busy = False
        self._sandbox_available = False
        self._build()
        self.connect_button.clicked.connect(self._connect_clicked)
        self.docker_button.clicked.connect(self._docker_clicked)
        self.sandbox_button.clicked.connect(self._sandbox_clicked)
        self.refresh()

    # -- layout ------------------------------------------------------------------------

    def _build(self) -> None:
        column = QWidget()
        column.setMaximumWidth(COLUMN_WIDTH)
        layout = QVBoxLayout(column)
        layout.setContentsMargins(20, 36, 20, 20)
        layout.setSpacing(10)
        layout.addLayout(self._heading())
        intro = QLabel(
            "Hoister browses container registries and promotes images by policy: when a "
            "new image matches your rules, it is copied to the repository where it belongs."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addSpacing(14)
        layout.addWidget(QLabel("<b>Choose how to start</b>"))
        layout.addLayout(self._actions())
        layout.addSpacing(12)
        self.status = _muted()
        self.status.setObjectName("status")
        self.status.setForegroundRole(QPalette.ColorRole.WindowText)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.hide()
        layout.addWidget(self.status)
        layout.addStretch(1)

        # Centred column in a scroll area: readable on a wide window, usable on a small one.
        centre = QHBoxLayout()
        centre.setContentsMargins(0, 0, 0, 0)
        centre.addStretch(1)
        centre.addWidget(column, 100)
        centre.addStretch(1)
        holder = QWidget()
        holder.setLayout(centre)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(holder)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def _actions(self) -> QGridLayout:
        """Buttons in one column, what each does (and what it needs) beside it."""
        icon = self.style().standardIcon
        self.connect_button = _action("connect", "Connect to a registry…", icon(SP.SP_DriveNetIcon))
        self.connect_note = _muted(
            "Enter its address; Hoister asks the registry which sign-in it needs.", "connect_note"
        )
        self.docker_button = _action("docker", "Use my Docker logins", icon(SP.SP_DirHomeIcon))
        self.docker_note = _muted(name="docker_note")
        self.docker_hosts = QComboBox()
        self.docker_hosts.setObjectName("docker_hosts")
        self.docker_hosts.setAccessibleName("Registry with a Docker login")
        self.docker_hosts.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.sandbox_button = _action(
            "sandbox", "Start a sandbox registry", icon(SP.SP_ComputerIcon)
        )
        self.sandbox_note = _muted(name="sandbox_note")
        self.sandbox_hint = QLabel()
        self.sandbox_hint.setObjectName("sandbox_hint")
        self.sandbox_hint.setTextFormat(Qt.TextFormat.RichText)
        self.sandbox_hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.samples = QCheckBox(SAMPLES_TEXT)
        self.samples.setObjectName("load_samples")
        self.samples.setChecked(True)

        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(6)
        grid.setColumnStretch(1, 1)
        groups: list[tuple[QPushButton, list[QWidget]]] = [
            (self.connect_button, [self.connect_note]),
            (self.docker_button, [self.docker_note, self.docker_hosts]),
            (self.sandbox_button, [self.sandbox_note, self.sandbox_hint, self.samples]),
        ]
        row = 0
        for index, (button, details) in enumerate(groups):
            if index:
                grid.setRowMinimumHeight(row, GROUP_GAP)
                row += 1
            grid.addWidget(button, row, 0, len(details), 1, Qt.AlignmentFlag.AlignTop)
            for widget in details:
                # Wrapped labels fill the cell (an alignment would shrink them and clip).
                if isinstance(widget, QLabel):
                    grid.addWidget(widget, row, 1)
                else:
                    grid.addWidget(widget, row, 1, Qt.AlignmentFlag.AlignLeft)
                row += 1
        return grid

    def _heading(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(14)
        icon_file = resource_path("icons/hoister.svg")
        if icon_file is not None:
            icon = QLabel()
            icon.setPixmap(QIcon(str(icon_file)).pixmap(48, 48))
            row.addWidget(icon, 0, Qt.AlignmentFlag.AlignVCenter)
        title = QLabel("Welcome to Hoister")
        title.setObjectName("title")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setWeight(QFont.Weight.DemiBold)
        title.setFont(font)
        row.addWidget(title, 1)
        return row

    # -- state -------------------------------------------------------------------------

    @property
    def load_samples(self) -> bool:
        """Whether the window should fill a newly started sandbox with sample content."""
        return self.samples.isChecked()

    def refresh(self) -> None:
        """Read Docker's logins and look for a registry program again (both are local)."""
        self._refresh_docker()
        self._refresh_sandbox()
        self._apply_enabled()

    def set_busy(self, message: str | None) -> None:
        """While the window works on a choice: actions off and ``message`` shown; None ends it."""
        self._busy = message is not None
        self._show_status(message)
        self._apply_enabled()

    def show_error(self, message: str) -> None:
        """Say why the last choice failed; the actions are offered again."""
        self._busy = False
        self._show_status(message)
        self._apply_enabled()

    def _show_status(self, message: str | None) -> None:
        self.status.setText(message or "")
        self.status.setVisible(bool(message))

    def _refresh_docker(self) -> None:
        chosen = self.docker_hosts.currentText()
        self.docker_hosts.clear()
        where = _home_relative(self._docker.path)
        try:
            hosts = self._docker.hosts()
        except HoisterError as exc:
            hosts, problem = [], str(exc)
        else:
            problem = ""
        self.docker_hosts.addItems(hosts)
        if chosen in hosts:
            self.docker_hosts.setCurrentText(chosen)
        self.docker_hosts.setVisible(len(hosts) > 1)  # one login is named in the note
        if len(hosts) == 1:
            text = f"Sign in to {hosts[0]} with the login that docker login saved in {where}."
        elif hosts:
            text = f"Sign in with a login that docker login saved in {where}. Registry:"
        else:
            text = problem or (
                f"Not available: {where} holds no registry logins. "
                "Once you run docker login, it appears here."
            )
        self.docker_note.setText(text)
        self.docker_button.setToolTip(text)

    def _refresh_sandbox(self) -> None:
        self._sandbox_available = sandbox.find_binary() is not None
        if self._sandbox_available:
            self.sandbox_note.setText(
                "A private registry on this computer, reachable only from here (127.0.0.1) "
                "and stopped when Hoister quits. Try everything in a minute."
            )
        else:
            self.sandbox_note.setText(
                "Not available: it needs the registry program, which is not installed."
            )
            self.sandbox_hint.setText(f"Install it with: <code>{INSTALL_HINT}</code>")
        self.sandbox_hint.setVisible(not self._sandbox_available)
        self.sandbox_button.setToolTip(self.sandbox_note.text())
        self.samples.setVisible(self._sandbox_available)

    def _apply_enabled(self) -> None:
        ready = not self._busy
        self.connect_button.setEnabled(ready)
        self.docker_button.setEnabled(ready and self.docker_hosts.count() > 0)
        self.docker_hosts.setEnabled(ready)
        self.sandbox_button.setEnabled(ready and self._sandbox_available)
        self.samples.setEnabled(ready and self._sandbox_available)

    def showEvent(self, event: QShowEvent) -> None:
        """A `docker login` or an install done while Hoister was open shows up on return."""
        super().showEvent(event)
        if not self._busy:
            self.refresh()

    # -- signals -----------------------------------------------------------------------

    @Slot()
    def _connect_clicked(self) -> None:
        self.connect_requested.emit()

    @Slot()
    def _docker_clicked(self) -> None:
        host = self.docker_hosts.currentText()
        if host:
            self.docker_login_chosen.emit(host)

    @Slot()
    def _sandbox_clicked(self) -> None:
        self.sandbox_requested.emit()
