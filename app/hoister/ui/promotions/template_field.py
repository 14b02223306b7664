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
    QLineEdit,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hoister.policies import PolicyError, Rule, TemplateError, TimeZoneMode, compile_rule
from hoister.policies.template import TemplateContext, render, validate_template
from hoister.ui.context import AppContext
from hoister.ui.promotions.message_label import MessageLabel
from hoister.ui.promotions.sample_tag import choose_sample, real_tags, tag_digest
from hoister.ui.promotions.tokens_menu import fill_tokens_menu
from hoister.ui.shared.workers import Requester

ERROR_COLOR = "#b3261e"
DEFAULT_SAMPLE = "1.0"
GROUP_TOKEN = "%{NAME}"
_TOKEN = re.compile(r"%(?:\{[^}]*\}?|.?)")  # how template.py splits tokens, for marking

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


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
        self._digester: Requester | None = None
        self._source: tuple[AppContext, str, str] | None = None
        self._tags: list[str] = []  # real tags of the source, the sample is chosen among
        self._rules: tuple[Rule, ...] = ()
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
        # The error (message and marked template: two lines) takes the preview's place;
        # the place is two lines tall either way, so the fields below never move.
        self.preview_label = MessageLabel(reserve=0, retain=False)
        self.preview_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label = MessageLabel(0, Qt.TextFormat.RichText, retain=False)
        self.error_label.setVisible(False)
        messages = QWidget()
        messages_layout = QVBoxLayout(messages)
        messages_layout.setContentsMargins(0, 0, 0, 0)
        messages_layout.setSpacing(0)
        messages_layout.addWidget(self.error_label)
        messages_layout.addWidget(self.preview_label)
        messages_layout.addStretch(1)
        messages.setMinimumHeight(2 * self.fontMetrics().lineSpacing())
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.tokens_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addLayout(row)
        layout.addWidget(messages)
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
        """Preview with a real tag of the source repository (``1.0`` until one is read):
        not a bookkeeping tag, and one the tag rules hold for when there is one."""
        self.set_sample(DEFAULT_SAMPLE, None, repository)
        self._source = (ctx, profile, repository)
        if self._sampler is None:
            self._sampler = Requester(ctx.pool, self)
            self._sampler.ready.connect(self._tags_loaded)
            self._digester = Requester(ctx.pool, self)
            self._digester.ready.connect(self._digest_loaded)
        self._sampler.submit(real_tags, ctx, profile, repository)

    def set_tag_rules(self, rules: Sequence[Rule]) -> None:
        """The policy's rules: their ``matches`` groups feed ``%{NAME}``, and the sample
        is the first real tag their tag-name rules hold for."""
        self.set_tag_patterns(tag_patterns(rules))
        rules = tuple(rules)
        if rules != self._rules:
            self._rules = rules
            self._choose_sample()

    def sample(self) -> str:
        """The source tag the preview renders from."""
        return self._sample[0]

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
    def _tags_loaded(self, tags: object) -> None:
        self._tags = [str(tag) for tag in tags]  # type: ignore[attr-defined]
        self._choose_sample()

    def _choose_sample(self) -> None:
        if self._source is None or not self._tags:
            return
        ctx, profile, repository = self._source
        tag = choose_sample(self._tags, self._rules, repository)
        if tag is None or tag == self._sample[0]:
            return
        self.set_sample(tag, None, repository)
        assert self._digester is not None
        self._digester.submit(tag_digest, ctx, profile, repository, tag)

    @Slot(object)
    def _digest_loaded(self, answer: object) -> None:
        tag, digest = answer  # type: ignore[misc]
        if tag == self._sample[0]:
            self.set_sample(tag, digest, self._sample[2])

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
            self.error_label.setText("")
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
            self.preview_label.setText("")
            self.preview_label.setVisible(False)
            return
        self.preview_label.setVisible(True)
        self.preview_label.setText(self.preview_text())
