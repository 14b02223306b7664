"""Live views: what the engine learns flows to every open view that shows it.

The engine runs on its own thread and knows repositories by (profile, repository); the
controller's signals arrive here on the GUI thread and are handed to the views showing
that pair: the sidebar lists a repository a promotion created, the open repository's
Tags view shows the promoted tag (highlighted, with where it came from) or what a poll
saw change, and its Promotions and History tabs and the Activity dock read the new rows.
No view reads a whole list again for this, and none is rebuilt, so nothing the user
arranged (selection, sort, expanded groups) moves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from hoister.engine.events import RepositoryChange
from hoister.store.history import HistoryRow
from hoister.ui.background.engine_controller import EngineController

if TYPE_CHECKING:
    from hoister.ui.main_window import MainWindow


class LiveViews(QObject):
    """Connects an engine's signals to a window's views (see the module's docstring)."""

    def __init__(self, window: MainWindow, engine: EngineController) -> None:
        super().__init__(window)
        self.window = window
        engine.promotion_finished.connect(self._finished)
        engine.promotion_failed.connect(self._failed)
        engine.repository_changed.connect(self._changed)

    def _page_for(self, profile: str, repository: str):  # type: ignore[no-untyped-def]
        page = self.window.page
        if page is not None and (page.profile_name, page.repository) == (profile, repository):
            return page
        return None

    def _histories(self, row: HistoryRow) -> None:
        """History rows and "last result": the Activity dock, and the open page if the
        promotion is from or to its repository."""
        self.window.activity_view.refresh()
        for profile, repository in (
            (row.source_profile, row.source_repository),
            (row.target_profile, row.target_repository),
        ):
            page = self._page_for(profile, repository)
            if page is not None:
                page.history.refresh()
                page.promotions.refresh()
                return

    @Slot(object)
    def _finished(self, row: object) -> None:
        assert isinstance(row, HistoryRow)
        if row.outcome == "promoted" and row.target_tag:
            self.window.sidebar.repository_appeared(row.target_profile, row.target_repository)
            page = self._page_for(row.target_profile, row.target_repository)
            if page is not None:
                page.tags.show_promoted(row.target_tag, row.source_repository, row.source_tag)
        self._histories(row)

    @Slot(object)
    def _failed(self, row: object) -> None:
        assert isinstance(row, HistoryRow)
        self._histories(row)

    @Slot(object)
    def _changed(self, change: object) -> None:
        assert isinstance(change, RepositoryChange)
        page = self._page_for(change.profile, change.repository)
        if page is not None:
            page.tags.apply_changes(list(change.added), list(change.moved), list(change.removed))
