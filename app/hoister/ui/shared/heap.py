"""Keeping Python's cyclic garbage collector from pausing the GUI thread.

A full collection walks every object the interpreter tracks. With 100,000 repository
items and 10,000 tag rows loaded, one pass took 25 to 60 ms on the GUI thread, at moments
nobody chose. What a bulk load brings in lives as long as the view, so once it is in,
:func:`settle` moves everything alive into the collector's permanent generation
(:func:`gc.freeze`): later passes skip it. Reference counting still frees those objects;
only a cycle among them would outlive its use, and rows, items and details hold none.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Call after a bulk load (a catalog page, a tag list, a batch of details)."""
    gc.freeze()
