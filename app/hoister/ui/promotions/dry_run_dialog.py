"""What a policy would do to the tags already in its source repository, before it does it.

Save & Apply and Run now both end here: MSR applied a policy to existing tags blindly,
and one bad template could flood a QA repository. The dialog only reads (a worker lists
the tags, then runs :func:`hoister.engine.dryrun.dry_run`); confirming hands the matching
tags, with their digests, to whoever opened it as :class:`Candidate` objects. The engine
evaluates them again on its own thread and promotes each (policy, digest, tag) once, so
a dry run that has gone stale by the time someone clicks cannot promote the wrong thing.
Matches the policy queued before (read from the queue, whose key makes "promote once"
true) are shown with what became of them and are never offered again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from hoister.engine.dryrun import DryRunRow, dry_run
from hoister.engine.earlier import Earlier, earlier_matches
from hoister.engine.tags import is_internal_tag
from hoister.engine.watcher import Candidate
from hoister.policies import Policy
from hoister.registry import NotFound
from hoister.store import now_utc
from hoister.store.watch import WatchStore
from hoister.ui.context import AppContext
from hoister.ui.promotions.dry_run_model import TAG, DryRunFilter, DryRunModel
from hoister.ui.promotions.policies_model import policy_name
from hoister.ui.shared.workers import Requester

ERROR_STYLE = "color: #b3261e"


def list_tags(ctx: AppContext, profile: str, repository: str) -> list[str]:
    """Worker: the tags a dry run looks at (a repository never pushed to has none)."""
    try:
        return [tag for tag in ctx.client(profile).tags(repository) if not is_internal_tag(tag)]
    except NotFound:
        return []


def evaluate_tags(
    ctx: AppContext, policy: Policy, tags: list[str], now: datetime
) -> tuple[list[DryRunRow], Earlier]:
    """Worker: the dry run proper, and what the policy queued before; writes nothing.

    The engine's watch state gives the push times it saw (``updated_at`` rules)."""
    with WatchStore(ctx.database) as watch:
        seen = watch.seen(policy.source_profile, policy.source_repository)
    rows = dry_run(policy, ctx.client(policy.source_profile), now, tags, seen=seen)
    return rows, earlier_matches(ctx.database, policy)


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


class DryRunDialog(QDialog):
    """Runs at once when built; ``confirmed`` carries the candidates the user accepted."""

    confirmed = Signal(list)  # list[Candidate]
    loaded = Signal()  # the table is filled (or the dry run failed)

    def __init__(
        self,
        ctx: AppContext,
        policy: Policy,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.policy, self.clock = ctx, policy, clock
        self.setWindowTitle(f"Dry run: {policy_name(policy)}")
        self.resize(900, 520)
        self.model = DryRunModel(self)
        self.proxy = DryRunFilter(self)
        self.proxy.setSourceModel(self.model)
        self.model.set_rows(policy, [])  # the criteria head their columns while it runs
        self._requester = Requester(ctx.pool, self)
        self._requester.ready.connect(self._answered)
        self._requester.error.connect(self._failed)
        self._tags: list[str] | None = None
        self._build()
        self.table.resizeColumnsToContents()  # criteria headers readable while it runs
        self.start()

    # -- layout ----------------------------------------------------------------------

    def _build(self) -> None:
        policy = self.policy
        intro = QLabel(
            f"What <b>{_escape(policy_name(policy))}</b> would do to the tags already in "
            f"<b>{_escape(policy.source_repository)}</b>. Nothing is promoted until you "
            "confirm; tags this policy promoted before are not promoted again."
        )
        intro.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(160)
        self.progress.setMaximumHeight(self.fontMetrics().height())
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        status_row = QHBoxLayout()
        status_row.addWidget(self.progress)
        status_row.addWidget(self.status, 1)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(TAG, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)

        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.only_promoted = QCheckBox("Only tags that would be promoted")
        summary_row = QHBoxLayout()
        summary_row.addWidget(self.summary, 1)
        summary_row.addWidget(self.only_promoted)

        self.buttons = QDialogButtonBox()
        self.promote_button: QPushButton = self.buttons.addButton(
            "Promote", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.close_button: QPushButton = self.buttons.addButton(
            QDialogButtonBox.StandardButton.Close
        )
        self.promote_button.setEnabled(False)
        self.close_button.setDefault(True)  # Enter must not promote by accident

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(status_row)
        layout.addWidget(self.table, 1)
        layout.addLayout(summary_row)
        layout.addWidget(self.buttons)
        self.only_promoted.toggled.connect(self.proxy.set_only_promoted)
        self.promote_button.clicked.connect(self._confirm)
        self.close_button.clicked.connect(self.reject)

    # -- running ---------------------------------------------------------------------

    @Slot()
    def start(self) -> None:
        """List the tags (so the count can be shown), then evaluate them."""
        self._tags = None
        self.promote_button.setEnabled(False)
        self._busy(f"Reading the tag list of {self.policy.source_repository}…")
        self._requester.submit(
            list_tags, self.ctx, self.policy.source_profile, self.policy.source_repository
        )

    def _busy(self, text: str) -> None:
        self._say(text)
        self.progress.show()

    def _say(self, text: str, style: str = "") -> None:
        """One status line, hidden when there is nothing to say."""
        self.status.setStyleSheet(style)
        self.status.setText(text)
        self.status.setVisible(bool(text))

    @Slot(object)
    def _answered(self, result: object) -> None:
        if self._tags is None:
            assert isinstance(result, list)
            self._tags = [str(tag) for tag in result]
            self._busy(f"Reading {plural(len(self._tags), 'tag')}…")
            self._requester.submit(evaluate_tags, self.ctx, self.policy, self._tags, self.clock())
            return
        assert isinstance(result, tuple)
        rows, earlier = result
        self.progress.hide()
        self.model.set_rows(self.policy, rows, earlier)
        self.table.resizeColumnsToContents()
        self._limit_columns()
        self._show_summary()
        self.loaded.emit()

    @Slot(object)
    def _failed(self, error: object) -> None:
        self.progress.hide()
        self._say(f"The dry run could not finish: {error}", ERROR_STYLE)
        self.loaded.emit()

    def _limit_columns(self) -> None:
        """Long reasons would push "Would become" off screen; their tooltips say all."""
        header = self.table.horizontalHeader()
        widest = max(self.fontMetrics().horizontalAdvance("x" * 48), 200)
        for column in range(self.model.columnCount() - 1):
            header.resizeSection(column, min(header.sectionSize(column) + 12, widest))

    def _show_summary(self) -> None:
        total, count = self.model.rowCount(), len(self.model.promotable())
        target = self.policy.target_repository
        self._say(f"{self.policy.source_repository} has no tags yet." if total == 0 else "")
        before = len(self.model.earlier())
        earlier = f" ({before:,} matched before: not promoted again)" if before else ""
        self.summary.setText(
            f"{count:,} of {plural(total, 'tag')} would be promoted to {target}{earlier}"
        )
        self.promote_button.setText(f"Promote {plural(count, 'tag')}")
        self.promote_button.setEnabled(count > 0 and self.policy.enabled)
        if count and not self.policy.enabled:
            self._say("The policy is disabled: enable it to promote these tags.")
            return
        targets = [row.target_tag for row in self.model.promotable()]
        shared = sorted({t for t in targets if t is not None and targets.count(t) > 1})
        if shared:
            # A template made of the time alone gives every tag promoted in the same second
            # the same name; the policy would then skip all but the first.
            self._say(
                f"{len(targets) - len(set(targets)) + len(shared)} tags would get the same "
                f"target tag ({', '.join(shared[:3])}): only one of each would be promoted. "
                "Add %n or %D to the template to keep them apart."
            )

    # -- confirming ------------------------------------------------------------------

    def candidates(self) -> list[Candidate]:
        """The tags to promote, as the engine takes them: with digest and this policy only."""
        seen_at = self.clock()
        return [
            Candidate(
                profile=self.policy.source_profile,
                repository=self.policy.source_repository,
                tag=row.tag,
                digest=row.digest or "",
                seen_at=seen_at,
                trigger="existing",
                only_policy=self.policy.id,
            )
            for row in self.model.promotable()
        ]

    @Slot()
    def _confirm(self) -> None:
        candidates = self.candidates()
        if not candidates:
            return
        self.confirmed.emit(candidates)
        self.accept()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
