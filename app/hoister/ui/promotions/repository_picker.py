"""Choosing a target repository among thousands, or typing one that does not exist yet.

MSR's promotions UI broke with many repositories; here the catalog is read page by page
in a worker and appended to a string model as pages arrive, and a completer filters it
by substring, so a registry with tens of thousands of names stays responsive. A target
is often new (the first promotion creates it), so free typing is always allowed and
only the name's grammar is checked. Registries that refuse the catalog still offer the
repositories remembered in the profile.
"""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCompleter,
    QHBoxLayout,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hoister.errors import HoisterError
from hoister.registry import Page
from hoister.registry.reference import validate_repository
from hoister.ui.context import AppContext
from hoister.ui.promotions.message_label import MessageLabel
from hoister.ui.shared.workers import Requester

ERROR_COLOR = "#b3261e"
INFO_STYLE = "color: palette(placeholder-text)"


def catalog_page(ctx: AppContext, profile: str, next_url: str | None) -> Page:
    """Worker: one page of the target registry's catalog."""
    return ctx.client(profile).catalog_page(next_url)


class RepositoryPicker(QWidget):
    """A line edit completing on substrings of the registry's repository names."""

    changed = Signal(str)
    #: The name is complete: the field was left, Enter pressed or a completion chosen.
    committed = Signal(str)
    #: The whole catalog is in (number of names offered), or it was refused (-1).
    loaded = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._profile: str | None = None
        self._names: list[str] = []
        self._complete = False
        self._problem: str | None = None
        self.model = QStringListModel(self)
        self.completer = QCompleter(self.model, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setMaxVisibleItems(12)
        self.line_edit = QLineEdit()
        self.line_edit.setPlaceholderText("namespace/repository, e.g. qa/website")
        self.line_edit.setCompleter(self.completer)
        self.browse_button = QToolButton()
        self.browse_button.setArrowType(Qt.ArrowType.DownArrow)
        self.browse_button.setToolTip("Show the registry's repositories")
        self.message_label = MessageLabel()  # a line kept: the template field stays put
        self.message_label.show_message("")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(self.line_edit, 1)
        row.addWidget(self.browse_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addLayout(row)
        layout.addWidget(self.message_label)
        self._requester = Requester(ctx.pool, self)
        self._requester.ready.connect(self._page_arrived)
        self._requester.error.connect(self._catalog_refused)
        self.line_edit.textChanged.connect(self._edited)
        self.line_edit.editingFinished.connect(self._committed)
        self.completer.activated.connect(self._committed)
        self.browse_button.clicked.connect(self._browse)

    # -- public ------------------------------------------------------------------------

    def set_profile(self, name: str) -> None:
        """Offer the repositories of another registry (the catalog is read anew)."""
        if name == self._profile:
            return
        self._profile = name
        self._complete = False
        try:
            remembered = list(self.ctx.profiles.get(name).repositories)  # a local file
        except HoisterError:
            remembered = []
        self._set_names(remembered)
        self._requester.submit(catalog_page, self.ctx, name, None)
        self._show_message()

    def repository(self) -> str:
        return self.line_edit.text().strip()

    def set_repository(self, text: str) -> None:
        self.line_edit.setText(text)

    def names(self) -> list[str]:
        """The names offered so far (catalog pages and remembered repositories)."""
        return list(self._names)

    def show_problem(self, message: str | None) -> None:
        """A problem found elsewhere (a cycle through this target), shown under the name."""
        self._problem = message
        self._show_message()

    def is_valid(self) -> bool:
        """Whether the typed name is a repository name at all (it need not exist)."""
        try:
            validate_repository(self.repository())
        except HoisterError:
            return False
        return True

    def message(self) -> str:
        return self.message_label.text() if self.message_label.isVisible() else ""

    # -- catalog -----------------------------------------------------------------------

    def _set_names(self, names: list[str]) -> None:
        self._names = sorted(set(names))
        self.model.setStringList(self._names)

    @Slot(object)
    def _page_arrived(self, page: object) -> None:
        assert isinstance(page, Page)
        if page.items:
            self._set_names(self._names + page.items)
        if page.next_url:
            self._requester.submit(catalog_page, self.ctx, self._profile, page.next_url)
            return
        self._complete = True
        self._show_message()
        self.loaded.emit(len(self._names))

    @Slot(object)
    def _catalog_refused(self, _error: object) -> None:
        """No catalog (forbidden, or not offered): remembered names and typing remain."""
        self.line_edit.setPlaceholderText("type a repository name, e.g. qa/website")
        self.loaded.emit(-1)

    @Slot()
    def _browse(self) -> None:
        self.completer.setCompletionPrefix(self.repository())
        self.completer.complete()

    @Slot()
    def _committed(self) -> None:
        self.committed.emit(self.repository())

    # -- messages ----------------------------------------------------------------------

    @Slot(str)
    def _edited(self, _text: str) -> None:
        self._show_message()
        self.changed.emit(self.repository())

    def _show_message(self) -> None:
        """Own grammar check first, then a problem from outside, then "will be created"."""
        name = self.repository()
        error: str | None = None
        try:
            validate_repository(name)
        except HoisterError as exc:
            error = str(exc)
        error = error or self._problem
        if error:
            self._set_message(error, f"color: {ERROR_COLOR}")
            self.line_edit.setStyleSheet(f"QLineEdit {{ border: 1px solid {ERROR_COLOR}; }}")
            return
        self.line_edit.setStyleSheet("")
        if self._complete and name not in self._names:
            self._set_message(
                f"{name} does not exist yet: the first promotion creates it", INFO_STYLE
            )
        else:
            self._set_message("", "")

    def _set_message(self, text: str, style: str) -> None:
        self.message_label.show_message(text, style)
