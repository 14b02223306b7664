"""The details pane of one tag: manifest, platforms, config, layers, referrers, actions.

Everything shown is read by a worker (the tag's digest, its details through the shared
cache, its referrers) and laid out here; the pane never waits on the network, and a
click on another tag simply makes the older answer irrelevant.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hoister.registry.mediatypes import short_name
from hoister.ui.browsing.delete_dialog import DeleteDialog
from hoister.ui.browsing.details_html import image_html, none_html
from hoister.ui.browsing.tag_loading import (
    Referrers,
    TagInfo,
    load_referrers,
    load_tag,
    policy_labels,
)
from hoister.ui.context import AppContext
from hoister.ui.promotions.promote_dialog import PromoteDialog
from hoister.ui.shared.format import human_size, local_time
from hoister.ui.shared.workers import Requester

PLACEHOLDER, LOADING, FAILED, SHOWN = range(4)
_RAW_LIMIT = 20_000  # characters of raw manifest shown; the rest is one copy away


class TagDetails(QWidget):
    """The right-hand pane of the Tags tab."""

    loaded = Signal(str, object)  # tag, TagInfo: the table can fill its row too
    referrers_loaded = Signal(object)  # Referrers: the table can show their badges
    promoted = Signal(str)  # target reference
    deleted = Signal(str, list)  # digest, tags that went with it

    def __init__(
        self, ctx: AppContext, profile_name: str, repository: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx, self.profile_name, self.repository = ctx, profile_name, repository
        self.host = ctx.profiles.get(profile_name).host  # a local file, not the network
        self.tag: str | None = None
        self.info: TagInfo | None = None
        self.referrers: Referrers | None = None
        self._known: Callable[[], dict[str, str]] = dict
        self._requester = Requester(ctx.pool, self)
        self._requester.ready.connect(self._ready)
        self._requester.error.connect(self._failed)
        self._referrer_requester = Requester(ctx.pool, self)
        self._referrer_requester.ready.connect(self._referrers_ready)
        self._build()
        self.show_tag(None)

    # -- layout ----------------------------------------------------------------------

    def _build(self) -> None:
        self.stack = QStackedWidget()
        self.placeholder = QLabel("Select a tag to see its manifest, configuration and layers.")
        self.loading = QLabel()
        self.error_label = QLabel()
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setStyleSheet("color: #b3261e")
        self.retry_button = QPushButton("Try again")
        self.retry_button.clicked.connect(self.reload)
        busy = QProgressBar()
        busy.setRange(0, 0)
        busy.setMaximumWidth(160)
        for page, extra in (
            (self.placeholder, None),
            (self.loading, busy),
            (self.error_label, self.retry_button),
        ):
            page.setWordWrap(True)
            page.setAlignment(Qt.AlignmentFlag.AlignCenter)
            box = QWidget()
            column = QVBoxLayout(box)
            column.addStretch(1)
            column.addWidget(page)
            if extra is not None:
                column.addWidget(extra, 0, Qt.AlignmentFlag.AlignHCenter)
            column.addStretch(2)
            self.stack.addWidget(box)
        self.stack.addWidget(self._content())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    def _content(self) -> QWidget:
        self.title = QLabel()
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setWordWrap(True)
        self.digest_label = QLabel()
        self.digest_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.digest_label.setWordWrap(True)
        # a digest is one long word: it must not dictate the pane's width (clipped instead,
        # the whole text stays selectable and copyable)
        for label in (self.digest_label, self.title):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.platform_combo = QComboBox()
        self.platform_combo.currentIndexChanged.connect(self._show_platform)
        self.platform_row = QWidget()
        row = QHBoxLayout(self.platform_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Platform:"))
        row.addWidget(self.platform_combo, 1)
        self.copy_by_tag_action = QAction("docker pull by tag", self)
        self.copy_by_tag_action.triggered.connect(self._copy_by_tag)
        self.copy_by_digest_action = QAction("docker pull by digest", self)
        self.copy_by_digest_action.triggered.connect(self._copy_by_digest)
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy pull")  # short: the pane is narrow on a small screen
        self.copy_button.setToolTip("Copies 'docker pull' by tag; the arrow offers by digest")
        self.copy_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        menu = QMenu(self.copy_button)
        menu.addActions([self.copy_by_tag_action, self.copy_by_digest_action])
        self.copy_button.setMenu(menu)
        self.copy_button.clicked.connect(self._copy_by_tag)
        self.promote_button = QPushButton("Promote…")
        self.promote_button.clicked.connect(self.open_promote_dialog)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.clicked.connect(self.open_delete_dialog)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.promote_button)
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(8, 0, 0, 0)
        for widget in (self.title, self.digest_label, self.summary, self.platform_row):
            column.addWidget(widget)
        column.addLayout(buttons)
        column.addWidget(self.browser, 1)
        return page

    # -- filling ---------------------------------------------------------------------

    def set_known_digests(self, source: Callable[[], dict[str, str]]) -> None:
        """Where the delete dialog starts from: the digests the table has read already."""
        self._known = source

    def show_tag(self, tag: str | None) -> None:
        """Show ``tag`` (loading it in the background), or the placeholder for None."""
        self.tag, self.info, self.referrers = tag, None, None
        if tag is None:
            self._requester.cancel()
            self._referrer_requester.cancel()
            self.stack.setCurrentIndex(PLACEHOLDER)
            return
        self.reload()

    @Slot()
    def reload(self) -> None:
        if self.tag is None:
            return
        self.loading.setText(f"Reading {self.repository}:{self.tag}…")
        self.stack.setCurrentIndex(LOADING)
        self._requester.submit(load_tag, self.ctx, self.profile_name, self.repository, self.tag)

    @Slot(object)
    def _ready(self, info: object) -> None:
        assert isinstance(info, TagInfo)
        if info.tag != self.tag:
            return
        self.info, self.referrers, details = info, None, info.details
        kind = short_name(details.media_type)
        created = local_time(details.created) or "unknown time"
        self.title.setText(f"<b>{escape(self.reference())}</b>")
        self.digest_label.setText(f"<code>{escape(details.digest)}</code>")
        self.summary.setText(f"{kind} · {human_size(details.size)} · created {created}")
        self.platform_combo.blockSignals(True)
        self.platform_combo.clear()
        self.platform_combo.addItems(details.platforms)
        self.platform_combo.blockSignals(False)
        self.platform_row.setVisible(details.is_index)
        self.browser.verticalScrollBar().setValue(0)  # a new tag starts at the top
        self._show_platform(0)
        self.stack.setCurrentIndex(SHOWN)
        self.loaded.emit(info.tag, info)
        self._referrer_requester.submit(
            load_referrers,
            self.ctx,
            self.profile_name,
            self.repository,
            details.digest,
            policy_labels(details),
        )

    @Slot(object)
    def _referrers_ready(self, referrers: object) -> None:
        assert isinstance(referrers, Referrers)
        if self.info is None or self.info.details.digest != referrers.digest:
            return
        self.referrers = referrers
        self._show_platform(self.platform_combo.currentIndex())
        self.referrers_loaded.emit(referrers)

    @Slot(object)
    def _failed(self, error: object) -> None:
        self.error_label.setText(f"Could not read {self.repository}:{self.tag}\n\n{error}")
        self.stack.setCurrentIndex(FAILED)

    @Slot(int)
    def _show_platform(self, number: int) -> None:
        if self.info is None or not self.info.details.images:
            self.browser.setHtml(none_html("this manifest has no images"))
            return
        images = self.info.details.images
        image = images[max(0, min(number, len(images) - 1))]
        scroll = self.browser.verticalScrollBar().value()
        self.browser.setHtml(image_html(self.info.details, image, self.referrers))
        self.browser.verticalScrollBar().setValue(scroll)

    # -- actions ---------------------------------------------------------------------

    def reference(self, by_digest: bool = False) -> str:
        """``host/repo:tag`` or ``host/repo@sha256:…`` of the tag shown."""
        if by_digest and self.info is not None:
            return f"{self.host}/{self.repository}@{self.info.details.digest}"
        return f"{self.host}/{self.repository}:{self.tag}"

    def pull_command(self, by_digest: bool = False) -> str:
        return f"docker pull {self.reference(by_digest)}"

    @Slot()
    def _copy_by_tag(self) -> None:
        QGuiApplication.clipboard().setText(self.pull_command())

    @Slot()
    def _copy_by_digest(self) -> None:
        if self.info is not None:
            QGuiApplication.clipboard().setText(self.pull_command(by_digest=True))

    @Slot()
    def open_promote_dialog(self) -> PromoteDialog | None:
        if self.info is None or self.tag is None:
            return None
        dialog = PromoteDialog(
            self.ctx, self.profile_name, self.repository, self.tag, self.info.details.digest, self
        )
        dialog.promoted.connect(self.promoted)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    @Slot()
    def open_delete_dialog(self) -> DeleteDialog | None:
        if self.info is None or self.tag is None:
            return None
        dialog = DeleteDialog(
            self.ctx,
            self.profile_name,
            self.repository,
            self.tag,
            self.info.details.digest,
            known=self._known(),
            parent=self,
        )
        dialog.deleted.connect(self._deleted)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    @Slot(str, list)
    def _deleted(self, digest: str, tags: list[str]) -> None:
        if self.tag in tags:
            self.show_tag(None)
        self.deleted.emit(digest, tags)
