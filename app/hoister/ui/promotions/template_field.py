"""A tag template input with a tokens menu, a live preview and its error at the field.

People rarely remember strftime letters, and a template is only proven by what it
renders: the menu lists every token with its meaning, and the preview renders the
template from a real tag of the source repository at the current time, ticking every
second so ``%S`` visibly moves. A template that cannot yield a valid tag is explained
under the field, with the offending character marked.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hoister.policies import PolicyError, Rule, TemplateError, TimeZoneMode, compile_rule
from hoister.policies.template import TemplateContext, render, validate_template
from hoister.registry import NotFound
from hoister.ui.context import AppContext
from hoister.ui.promotions.tokens_menu import fill_tokens_menu
from hoister.ui.shared.workers import Requester

ERROR_COLOR = "#b3261e"
DEFAULT_SAMPLE = "1.0"
GROUP_TOKEN = "%{NAME}"
_TOKEN = re.compile(r"%(?:\{[^}]*\}?|.?)")  # how template.py splits tokens, for marking

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def first_tag(ctx: AppContext, profile: str, repository: str) -> tuple[str, str | None] | None:
    """Worker: the first tag of ``repository`` and its digest; None while it has none."""
    client = ctx.client(profile)
    try:
        tags = client.tags_page(repository).items
    except NotFound:
        return None
    if not tags:
        return None
    head = client.head_manifest(repository, tags[0])
    return tags[0], head.digest if head is not None else None


def tag_patterns(rules: Sequence[Rule]) -> list[re.Pattern[str]]:
    """The compiled ``matches`` rules on the tag, whose named groups ``%{NAME}`` reads."""
    patterns = []
    for rule in rules:
        if rule.field == "tag" and rule.operator == "matches":
            try:
                pattern = compile_rule(rule).pattern
            except PolicyError:
                continue
            if pattern is not None:
                patterns.append(pattern)
    return patterns


class TemplateField(QWidget):
    """Line edit + Tokens menu + preview ("1.4-stable → 20261130-090503") + error."""

    changed = Signal(str)

    def __init__(self, clock: Clock = utc_now, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._clock = clock
        self._zone = TimeZoneMode.UTC
        self._sample: tuple[str, str | None, str | None] = (DEFAULT_SAMPLE, None, None)
        self._sampler: Requester | None = None
        self._patterns: tuple[re.Pattern[str], ...] = ()
        self._error: str | None = None
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("for example %n-qa or %Y%m%d-%H%M%S")
        self.tokens_button = QToolButton()
        self.tokens_button.setText("Tokens")
        self.tokens_button.setToolTip("Insert a token at the cursor")
        self.tokens_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.tokens_menu = QMenu(self.tokens_button)
        self.tokens_button.setMenu(self.tokens_menu)
        self.token_actions = fill_tokens_menu(self.tokens_menu, self._insert_token)
        self.preview_label = QLabel()
        self.preview_label.setTextFormat(Qt.TextFormat.PlainText)
        self.preview_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview_label.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setTextFormat(Qt.TextFormat.RichText)
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.tokens_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addLayout(row)
        layout.addWidget(self.error_label)
        layout.addWidget(self.preview_label)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._refresh_preview)
        self.edit.textChanged.connect(self._edited)
        self._check()

    # -- public ------------------------------------------------------------------------

    def text(self) -> str:
        return self.edit.text().strip()

    def set_text(self, text: str) -> None:
        self.edit.setText(text)

    def error(self) -> str | None:
        """The template's problem in words, or None when it yields valid tags."""
        return self._error

    def set_sample(
        self, tag: str, digest: str | None = None, repository: str | None = None
    ) -> None:
        """The real source tag the preview renders from (``%n``, ``%D``, ``%R``)."""
        self._sample = (tag, digest, repository)
        self._refresh_preview()

    def load_sample(self, ctx: AppContext, profile: str, repository: str) -> None:
        """Preview with the first real tag of the source repository (``1.0`` until then)."""
        self.set_sample(DEFAULT_SAMPLE, None, repository)
        if self._sampler is None:
            self._sampler = Requester(ctx.pool, self)
            self._sampler.ready.connect(self._sample_loaded)
        self._sampler.submit(first_tag, ctx, profile, repository)

    def set_time_zone(self, zone: TimeZoneMode) -> None:
        self._zone = TimeZoneMode(zone)
        self._refresh_preview()

    def set_tag_patterns(self, patterns: Sequence[re.Pattern[str]]) -> None:
        """The policy's ``matches`` rules on the tag, whose named groups ``%{NAME}`` reads."""
        patterns = tuple(patterns)
        if patterns != self._patterns:
            self._patterns = patterns
            self._check()

    def preview_text(self, when: datetime | None = None) -> str:
        """What the preview shows for ``when`` (default: now, in the chosen zone)."""
        tag, digest, repository = self._sample
        moment = when or self._now()
        groups: dict[str, str] = {}
        for pattern in self._patterns:
            match = pattern.fullmatch(tag)
            if match is not None:
                groups.update({k: v for k, v in match.groupdict().items() if v is not None})
        try:
            rendered = render(self.text(), TemplateContext(tag, moment, digest, repository, groups))
        except TemplateError as exc:
            return f"{tag} → cannot be named: {exc}"
        return f"{tag} → {rendered}"

    def showEvent(self, event: QShowEvent) -> None:
        """Tick only while visible: a hidden preview needs no redraw every second."""
        self._refresh_preview()
        self._timer.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)

    # -- internals ---------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        return now.astimezone() if self._zone is TimeZoneMode.LOCAL else now.astimezone(UTC)

    def _group_names(self) -> tuple[str, ...]:
        names: list[str] = []
        for pattern in self._patterns:
            names.extend(n for n in pattern.groupindex if n not in names)
        return tuple(names)

    @Slot(object)
    def _sample_loaded(self, sample: object) -> None:
        if isinstance(sample, tuple):
            self.set_sample(sample[0], sample[1], self._sample[2])

    def _insert_token(self, token: str) -> None:
        self.edit.insert(token)
        if token == GROUP_TOKEN:  # select NAME so typing replaces it
            end = self.edit.cursorPosition()
            self.edit.setSelection(end - 5, 4)
        self.edit.setFocus()

    @Slot(str)
    def _edited(self, _text: str) -> None:
        self._check()
        self.changed.emit(self.text())

    def _check(self) -> None:
        """Validate as the store will, and mark where the problem is."""
        text = self.text()
        try:
            validate_template(text, has_matches_groups=self._group_names())
        except TemplateError as exc:
            self._error = str(exc)
            self.error_label.setText(self._error_html(text, exc))
            self.error_label.setVisible(True)
            self.edit.setStyleSheet(f"QLineEdit {{ border: 1px solid {ERROR_COLOR}; }}")
        else:
            self._error = None
            self.error_label.clear()
            self.error_label.setVisible(False)
            self.edit.setStyleSheet("")
        self._refresh_preview()

    @staticmethod
    def _error_html(text: str, exc: TemplateError) -> str:
        """The message, and the template with the character at fault highlighted."""
        message = f'<span style="color:{ERROR_COLOR}">{html.escape(str(exc))}</span>'
        position = exc.position
        if exc.rendered or position is None or not 1 <= position <= len(text):
            return message
        start = position - 1
        token = _TOKEN.match(text, start) if text[start] == "%" else None
        end = token.end() if token else position
        before, at, after = text[:start], text[start:end], text[end:]
        marked = (
            f"{html.escape(before)}<span style='background:{ERROR_COLOR};color:white'>"
            f"{html.escape(at)}</span>{html.escape(after)}"
        )
        return f"{message}<br><code>{marked}</code>"

    @Slot()
    def _refresh_preview(self) -> None:
        if self._error is not None:
            self.preview_label.clear()
            self.preview_label.setVisible(False)
            return
        self.preview_label.setVisible(True)
        self.preview_label.setText(self.preview_text())
