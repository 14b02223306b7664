"""The Tags tab's filter bar: words for the tag, and where a tag came from.

QA looks at a target repository for what promotions brought into it, and from where:
"Promoted tags only", a list of the sources seen so far, and ``from:dev/web`` typed
among the words all narrow the same proxy, together with the tag filter.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLineEdit, QWidget

from hoister.ui.browsing.tags_model import TagsModel
from hoister.ui.browsing.tags_proxy import TagsProxy

ANY_SOURCE = "Any source"
SOURCE_PREFIX = "from:"


class TagsFilter(QWidget):
    """Filter line, "Promoted tags only" and the source combo, applied to ``proxy``."""

    changed = Signal()  # the rows shown may have changed

    def __init__(self, model: TagsModel, proxy: TagsProxy, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model, self.proxy = model, proxy
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(f"Filter tags (Ctrl+F); {SOURCE_PREFIX}dev/web for a source")
        self.edit.setClearButtonEnabled(True)
        self.promoted_only = QCheckBox("Promoted tags only")
        self.promoted_only.setToolTip("Tags that a promotion brought here, with where from")
        self.source_combo = QComboBox()
        self.source_combo.addItem(ANY_SOURCE)
        self.source_combo.setToolTip("Only tags promoted from this repository")
        self.source_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.source_combo.setMaximumWidth(self.fontMetrics().horizontalAdvance("x" * 28))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.promoted_only)
        row.addWidget(self.source_combo)
        self.edit.textChanged.connect(self._text_changed)
        self.promoted_only.toggled.connect(self._promoted_toggled)
        self.source_combo.currentIndexChanged.connect(self._source_chosen)
        model.sources_changed.connect(self._fill_sources)

    @Slot(str)
    def _text_changed(self, text: str) -> None:
        """Words filter the tag name; ``from:dev/web`` the repository it was promoted from."""
        words, sources = [], []
        for word in text.split():
            (sources if word.lower().startswith(SOURCE_PREFIX) else words).append(word)
        self.proxy.setFilterFixedString(" ".join(words))
        source_text = " ".join(w[len(SOURCE_PREFIX) :] for w in sources).strip()
        self.proxy.set_source(self.proxy.source, source_text)
        self.changed.emit()

    @Slot(bool)
    def _promoted_toggled(self, checked: bool) -> None:
        self.proxy.set_promoted_only(checked)
        self.changed.emit()

    @Slot()
    def _source_chosen(self) -> None:
        chosen = self.source_combo.currentText()
        self.proxy.set_source("" if chosen == ANY_SOURCE else chosen, self.proxy.source_text)
        self.changed.emit()

    @Slot()
    def _fill_sources(self) -> None:
        """The combo lists the sources seen so far; a choice survives the refill."""
        chosen = self.source_combo.currentText()
        self.source_combo.blockSignals(True)
        self.source_combo.clear()
        self.source_combo.addItems([ANY_SOURCE, *self.model.sources()])
        found = self.source_combo.findText(chosen)
        if found < 0 and chosen != ANY_SOURCE:  # after a refresh, until it is seen again
            self.source_combo.addItem(chosen)
            found = self.source_combo.count() - 1
        self.source_combo.setCurrentIndex(max(found, 0))
        self.source_combo.blockSignals(False)

    def empty_text(self, checking: bool, done: int, total: int) -> str:
        """Why no row is shown, in the terms of the filters that hid them all."""
        if not self.proxy.provenance_filtered:
            return f"No tag matches “{self.edit.text()}”."
        source = self.proxy.source or self.proxy.source_text
        what = f"promoted from {source}" if source else "promoted here"
        if checking:
            return f"No tag {what} found yet: {done:,} of {total:,} tags checked…"
        return f"No tag of this repository was {what} by Hoister."
