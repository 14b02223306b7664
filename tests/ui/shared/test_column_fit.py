"""Column fitting: the columns that matter keep their width, the others give way in order."""

from __future__ import annotations

from hoister.ui.shared.column_fit import Column, fit

COLUMNS = [
    Column(0, preferred=140, minimum=80, grow=2),  # tag
    Column(1, preferred=180, minimum=100, grow=3),  # provenance
    Column(2, preferred=120, minimum=120),  # created
    Column(3, preferred=150, minimum=150, drop=3),  # digest
    Column(4, preferred=70, minimum=70, drop=2),  # size
    Column(5, preferred=110, minimum=70, drop=1, grow=1),  # platforms
]


def test_room_to_spare_goes_to_the_growing_columns_and_fills_the_width() -> None:
    widths = fit(COLUMNS, 1000)
    assert None not in widths.values()
    assert sum(w or 0 for w in widths.values()) == 1000
    assert widths[2] == 120 and widths[3] == 150 and widths[4] == 70
    assert widths[1] > 180 and widths[0] > 140 and widths[5] > 110


def test_a_narrow_table_drops_columns_in_order_before_squeezing_the_main_ones() -> None:
    # the three main columns at their preferred width, plus the digest, just fit
    widths = fit(COLUMNS, 590)
    assert [n for n, w in widths.items() if w is None] == [4, 5]
    assert sum(w or 0 for w in widths.values()) == 590
    widths = fit(COLUMNS, 450)
    assert [n for n, w in widths.items() if w is None] == [3, 4, 5]
    assert widths[0] == 140 + 4 and widths[1] == 180 + 6  # the rest, by weight
    # narrower than preferred: the main columns shrink towards their minimum, never below
    widths = fit(COLUMNS, 360)
    assert widths[2] == 120 and 80 <= (widths[0] or 0) < 140 and 100 <= (widths[1] or 0) < 180
    assert sum(w or 0 for w in widths.values()) <= 360
    widths = fit(COLUMNS, 200)
    assert (widths[0], widths[1], widths[2]) == (80, 100, 120)  # a scrollbar, at last
