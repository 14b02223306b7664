"""The order of the Tags table's rows, kept by the model itself.

Unknown values (details still on their way) go last in both directions and ties are
broken by tag name, so rows still loading never crowd the top of a table sorted newest
first. A full sort runs in C on keys computed once per row (and cached on the row until
it changes); a handful of changed rows, the usual batch while details arrive, are taken
out and put back by bisection, so a 10,000-row table is not re-sorted 10 times a second.
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
    sort_cache: tuple[int, object] | None


Row = TypeVar("Row", bound=Sortable)


class Descending:
    """A value that sorts the other way round (for bisection in a descending order)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: Descending) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Descending) and bool(self.value == other.value)

    __hash__ = None  # type: ignore[assignment]


class RowOrder(Generic[Row]):
    """The sort column and order, and where rows go under them."""

    def __init__(self, value_of: Callable[[Row, int], object], tag_column: int) -> None:
        self.value_of = value_of  # the model's sort value of a row in a column
        self.tag_column = tag_column
        self.column = -1
        self.order = Qt.SortOrder.AscendingOrder

    @property
    def descending(self) -> bool:
        return self.order == Qt.SortOrder.DescendingOrder

    def value(self, row: Row) -> object:
        """The row's sort value in the sort column, computed once until the row changes."""
        cached = row.sort_cache
        if cached is not None and cached[0] == self.column:
            return cached[1]
        value = self.value_of(row, self.column)
        row.sort_cache = (self.column, value)
        return value

    def key(self, row: Row) -> tuple[Any, ...]:
        """One ascending key for the whole order (used to bisect, not to sort)."""
        if self.column == self.tag_column:
            return (Descending(row.name_key) if self.descending else row.name_key,)
        value = self.value(row)
        if value is None:
            return (1, row.name_key)
        return (0, Descending(value) if self.descending else value, row.name_key)

    def sorted(self, rows: list[Row]) -> list[Row]:
        """Every row in order: stable sorts on plain values, no Python comparisons."""
        by_name = sorted(rows, key=lambda row: row.name_key)
        if self.column == self.tag_column:
            return by_name[::-1] if self.descending else by_name
        values = [self.value(row) for row in by_name]
        known = [n for n, value in enumerate(values) if value is not None]
        known.sort(key=values.__getitem__, reverse=self.descending)  # ties keep name order
        unknown = [row for row, value in zip(by_name, values, strict=True) if value is None]
        return [by_name[n] for n in known] + unknown

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
