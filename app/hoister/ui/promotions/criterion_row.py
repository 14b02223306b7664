"""One criterion of a policy: field, operator and a value editor that fits the field.

People think in "Vulnerabilities: critical is at most 0", not in MSR's codes, and a
free-text box for a count or a date invites values that only fail at save time. So the
row offers fields by their human names, only the operators the field accepts, and an
editor of the field's type (a spin box for counts, a date picker for times, true/false
for booleans). What cannot be checked by the widget (a bad regex, "1.5 GB" spelled
wrongly) comes back from validation and is shown under the row.
"""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QDate, QDateTime, QTime, QTimeZone, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hoister.errors import HoisterError
from hoister.policies import Rule
from hoister.policies.fields import (
    FIELDS,
    LIST_OPERATORS,
    OPERATOR_WORDS,
    FieldSpec,
    ValueType,
    lookup_field,
    takes_several_values,
)
from hoister.policies.values import parse_bool, parse_time
from hoister.ui.promotions.message_label import MessageLabel

ERROR_COLOR = "#b3261e"
MAX_COUNT = 1_000_000_000
PLACEHOLDERS = {
    ValueType.TEXT: "value",
    ValueType.SIZE: "size, e.g. 500MB or 1.5GiB",
    ValueType.DURATION: "duration, e.g. 12h or 7d",
}
#: Combo widths in average characters: proportional fonts fit the longest names in these.
FIELD_CHARACTERS = 17
OPERATOR_CHARACTERS = 22
LIST_PLACEHOLDER = "values separated by commas, e.g. 1.0, 1.1"


class CriterionRow(QWidget):
    """Field combo, key (for labels and annotations), operator combo, value, remove."""

    changed = Signal()
    remove_requested = Signal(QWidget)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._kind: ValueType | None = None
        # Same widths in every row, whatever is chosen, so the rows read as a table.
        self.field_combo = _fixed_combo(FIELD_CHARACTERS)
        for spec in FIELDS.values():
            self.field_combo.addItem(spec.label, spec.code)
        self.key_edit = QLineEdit()
        self.key_edit.setPlaceholderText("key, e.g. org.opencontainers.image.version")
        self.key_edit.setMinimumWidth(170)
        self.operator_combo = _fixed_combo(OPERATOR_CHARACTERS)
        self.value_widget: QWidget = QLineEdit()
        self._value_box = QHBoxLayout()
        self._value_box.setContentsMargins(0, 0, 0, 0)
        self._value_box.addWidget(self.value_widget)
        self.remove_button = QToolButton()
        self.remove_button.setText("✕")
        self.remove_button.setToolTip("Remove this criterion")
        # Its line is kept when empty: the fields below must not move as it comes and goes.
        self.problem_label = MessageLabel()
        self.problem_label.show_message("", f"color: {ERROR_COLOR}")
        self._row = QHBoxLayout()
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.addWidget(self.field_combo)
        self._row.addWidget(self.key_edit, 1)
        self._row.addWidget(self.operator_combo)
        self._row.addLayout(self._value_box, 2)
        self._row.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addLayout(self._row)
        layout.addWidget(self.problem_label)
        self._field_chosen()
        self.field_combo.currentIndexChanged.connect(self._field_chosen)
        self.operator_combo.currentIndexChanged.connect(self._operator_chosen)
        self.key_edit.textChanged.connect(self._emit_changed)
        self.remove_button.clicked.connect(self._remove)

    # -- reading and writing -----------------------------------------------------------

    @property
    def spec(self) -> FieldSpec:
        return FIELDS[str(self.field_combo.currentData())]

    def operator(self) -> str:
        return str(self.operator_combo.currentData())

    def rule(self) -> Rule:
        spec = self.spec
        code = f"{spec.code}.{self.key_edit.text().strip()}" if spec.keyed else spec.code
        return Rule(code, self.operator(), self._values())

    def set_rule(self, rule: Rule) -> None:
        """Show ``rule``; an unknown field or operator keeps the defaults (validation says)."""
        try:
            spec, key = lookup_field(rule.field)
        except HoisterError:
            return
        self.field_combo.setCurrentIndex(self.field_combo.findData(spec.code))
        self.key_edit.setText(key or "")
        self.key_edit.setCursorPosition(0)  # long keys: show where they start
        self.key_edit.setToolTip(key or "")
        index = self.operator_combo.findData(rule.operator)
        if index >= 0:
            self.operator_combo.setCurrentIndex(index)
        self._set_values(rule.values)

    def show_problem(self, message: str | None) -> None:
        self.problem_label.show_message(message or "")
        border = f"border: 1px solid {ERROR_COLOR};" if message else ""
        name = type(self.value_widget).__name__
        self.value_widget.setStyleSheet(f"{name} {{ {border} }}" if border else "")

    # -- value editors -----------------------------------------------------------------

    def _values(self) -> tuple[str, ...]:
        widget, kind = self.value_widget, self._kind
        if isinstance(widget, QSpinBox):
            return (str(widget.value()),)
        if isinstance(widget, QDateTimeEdit):
            moment = widget.dateTime().toUTC()
            return (moment.toString("yyyy-MM-ddTHH:mm:ss") + "Z",)
        if isinstance(widget, QComboBox):
            return (str(widget.currentData()),)
        assert isinstance(widget, QLineEdit)
        text = widget.text()
        if kind is ValueType.TEXT and takes_several_values(self.spec.code, self.operator()):
            return tuple(part.strip() for part in text.split(",") if part.strip())
        if kind is not ValueType.TEXT:
            text = text.strip()
        return (text,) if text else ()

    def _set_values(self, values: tuple[str, ...]) -> None:
        widget = self.value_widget
        first = values[0] if values else ""
        try:
            if isinstance(widget, QSpinBox):
                widget.setValue(int(first))
            elif isinstance(widget, QDateTimeEdit):
                widget.setDateTime(_qt_time(parse_time(first)))
            elif isinstance(widget, QComboBox):
                widget.setCurrentIndex(widget.findData("true" if parse_bool(first) else "false"))
            elif isinstance(widget, QLineEdit):
                widget.setText(", ".join(values))
        except ValueError:
            if isinstance(widget, QLineEdit):
                widget.setText(first)

    def _make_editor(self, kind: ValueType) -> QWidget:
        if kind is ValueType.COUNT:
            spin = QSpinBox()
            spin.setRange(0, MAX_COUNT)
            spin.valueChanged.connect(self._emit_changed)
            return spin
        if kind is ValueType.TIME:
            edit = QDateTimeEdit()
            edit.setTimeZone(QTimeZone.utc())
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm 'UTC'")
            edit.setDateTime(_qt_time(datetime.now(UTC).replace(second=0, microsecond=0)))
            edit.dateTimeChanged.connect(self._emit_changed)
            return edit
        if kind is ValueType.BOOL:
            combo = QComboBox()
            combo.addItem("true", "true")
            combo.addItem("false", "false")
            combo.currentIndexChanged.connect(self._emit_changed)
            return combo
        line = QLineEdit()
        line.setPlaceholderText(PLACEHOLDERS[kind])
        line.textChanged.connect(self._emit_changed)
        return line

    # -- reacting ----------------------------------------------------------------------

    @Slot()
    def _field_chosen(self) -> None:
        spec = self.spec
        self.key_edit.setVisible(spec.keyed)
        previous = self.operator()
        self.operator_combo.blockSignals(True)
        self.operator_combo.clear()
        for code in spec.operators:
            self.operator_combo.addItem(OPERATOR_WORDS[code], code)
        index = self.operator_combo.findData(previous)
        self.operator_combo.setCurrentIndex(max(index, 0))
        self.operator_combo.blockSignals(False)
        if spec.value_type is not self._kind:
            self._kind = spec.value_type
            editor = self._make_editor(spec.value_type)
            self._value_box.replaceWidget(self.value_widget, editor)
            # hidden at once: deleteLater waits for the event loop, and until then the old
            # editor would be painted over the row at its default size
            self.value_widget.hide()
            self.value_widget.deleteLater()
            self.value_widget = editor
        self._operator_chosen()

    @Slot()
    def _operator_chosen(self) -> None:
        widget = self.value_widget
        if isinstance(widget, QLineEdit) and self._kind is ValueType.TEXT:
            listed = self.operator() in LIST_OPERATORS
            several = takes_several_values(self.spec.code, self.operator())
            widget.setPlaceholderText(LIST_PLACEHOLDER if listed else PLACEHOLDERS[self._kind])
            widget.setToolTip(
                "Separate several values with commas"
                if listed
                else "Several values separated by commas: any one of them will do"
                if several
                else ""
            )
        self.changed.emit()

    @Slot()
    def _emit_changed(self) -> None:
        self.changed.emit()

    @Slot()
    def _remove(self) -> None:
        self.remove_requested.emit(self)


def _fixed_combo(characters: int) -> QComboBox:
    combo = QComboBox()
    combo.setMinimumContentsLength(characters)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    return combo


def _qt_time(moment: datetime) -> QDateTime:
    utc = moment.astimezone(UTC)
    return QDateTime(
        QDate(utc.year, utc.month, utc.day),
        QTime(utc.hour, utc.minute, utc.second),
        QTimeZone.utc(),
    )
