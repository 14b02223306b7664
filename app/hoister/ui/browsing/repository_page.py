"""One repository: its tags, the promotion policies around it, and its history."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from hoister.ui.browsing.tags_view import TagsView
from hoister.ui.context import AppContext
from hoister.ui.history.history_view import HistoryView
from hoister.ui.promotions.promotions_tab import PromotionsTab


class RepositoryPage(QWidget):
    status = Signal(str)
    submit_candidates = Signal(list)  # tags for the background engine (Save & Apply, run now)
    policy_saved = Signal(int)

    def __init__(
        self, ctx: AppContext, profile_name: str, repository: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.profile_name = profile_name
        self.repository = repository
        host = ctx.profiles.get(profile_name).host
        title = QLabel(f"<b>{repository}</b> &nbsp;<span style='color:gray'>{host}</span>")
        title.setTextFormat(title.textFormat().RichText)
        self.tabs = QTabWidget()
        self.tags = TagsView(ctx, profile_name, repository)
        self.promotions = PromotionsTab(ctx, profile_name, repository)
        self.promotions.submit_candidates.connect(self.submit_candidates)
        self.promotions.policy_saved.connect(self.policy_saved)
        self.history = HistoryView(ctx, repository)
        self.tabs.addTab(self.tags, "Tags")
        self.tabs.addTab(self.promotions, "Promotions")
        self.tabs.addTab(self.history, "History")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(title)
        layout.addWidget(self.tabs, 1)

    def refresh(self) -> None:
        current = self.tabs.currentWidget()
        refresh = getattr(current, "refresh", None)
        if callable(refresh):
            refresh()
