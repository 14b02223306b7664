"""The order of the Tags table's rows, kept by the model itself.

Unknown values (details still on their way) go last in both directions and ties are
broken by tag name, so rows still loading never crowd the top of a table sorted newest
first. Every row gets one ascending key for the whole order, computed once and cached
on the row until it changes, so both a full sort and the bisection that puts back a
handful of changed rows compare plain tuples in C: a descending number is negated
rather than wrapped, because each comparison of a wrapped value crossed into Python
and a second's batch of 150 rows cost 8 ms of the GUI thread in a 10,000-row table.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from PySide6.QtCore import Qt

#: Re-sort everything when more rows than this share of the table changed at once.
FULL_SORT_SHARE = 0.05


class Sortable(Protocol):
    """What the order needs of a row (``TagRow``)."""

    name_key: str
    sort_cache: tuple[tuple[int, bool], tuple[Any, ...]] | None


Row = TypeVar("Row", bound=Sortable)


class Descending:
    """A value that sorts the other way round (text, in a descending order)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: Descending) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Descending) and bool(self.value == other.value)

    __hash__ = None  # type: ignore[assignment]


def reversed_value(value: object) -> object:
    """``value`` so that ascending order over it is descending over the original."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return -value
    return Descending(value)


class RowOrder(Generic[Row]):
    """The sort column and order, and where rows go under them."""

    def __init__(self, value_of: Callable[[Row, int], object], tag_column: int) -> None:
        self.value_of = value_of  # the model's sort value of a row in a column
        self.tag_column = tag_column
        self._signature = (-1, False)  # (column, descending): what cached keys are for

    @property
    def column(self) -> int:
        return self._signature[0]

    @column.setter
    def column(self, column: int) -> None:
        self._signature = (column, self.descending)

    @property
    def order(self) -> Qt.SortOrder:
        return Qt.SortOrder.DescendingOrder if self.descending else Qt.SortOrder.AscendingOrder

    @order.setter
    def order(self, order: Qt.SortOrder) -> None:
        self._signature = (self.column, order == Qt.SortOrder.DescendingOrder)

    @property
    def descending(self) -> bool:
        return self._signature[1]

    def key(self, row: Row) -> tuple[Any, ...]:
        """The row's ascending key for the whole order, cached until the row changes.

        The cache holds the signature object itself, so a hit is one identity test."""
        cached = row.sort_cache
        if cached is not None and cached[0] is self._signature:
            return cached[1]
        key = self._key_of(row)
        row.sort_cache = (self._signature, key)
        return key

    def _key_of(self, row: Row) -> tuple[Any, ...]:
        if self.column == self.tag_column:
            return (Descending(row.name_key) if self.descending else row.name_key,)
        value = self.value_of(row, self.column)
        if value is None:
            return (1, row.name_key)
        return (0, reversed_value(value) if self.descending else value, row.name_key)

    def sorted(self, rows: list[Row]) -> list[Row]:
        """Every row in order (one sort in C over the cached keys)."""
        if self.column == self.tag_column:
            by_name = sorted(rows, key=_name_key)
            return by_name[::-1] if self.descending else by_name
        signature, key = self._signature, self.key
        # The cache is read inline: a call per row was most of the sort's time.
        keys = [
            c[1] if (c := r.sort_cache) is not None and c[0] is signature else key(r) for r in rows
        ]
        return [rows[n] for n in sorted(range(len(rows)), key=keys.__getitem__)]

    def placed(self, rows: list[Row], moved: list[Row], positions: list[int]) -> list[Row]:
        """``rows`` (in order but for ``moved``, found at ``positions``) with the moved
        rows put where they belong: a new list, the old one untouched."""
        if len(moved) > FULL_SORT_SHARE * len(rows):
            return self.sorted(rows)
        kept = rows.copy()
        for position in sorted(positions, reverse=True):
            del kept[position]
        for row in moved:
            bisect.insort(kept, row, key=self.key)
        return kept


def _name_key(row: Sortable) -> str:
    return row.name_key
