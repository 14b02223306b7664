"""The Tokens menu of a tag template: short labels in groups, the full meaning as a tip.

One flat menu of every token with its whole explanation was about 850 px wide and ran
off a 1024 px window. Here the tokens of the source image stay at the top (they are the
ones most templates use), dates and times sit in their own submenus, and each label is
a few words; the long explanation is the action's tooltip and status tip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from hoister.policies.template import TOKENS

#: (group title or None for the top level, tokens with their short labels).
GROUPS: tuple[tuple[str | None, dict[str, str]], ...] = (
    (
        None,
        {
            "%n": "source tag",
            "%D": "source digest (12 hex)",
            "%R": "source repository name",
            "%{NAME}": "group of the tag's matches rule",
        },
    ),
    (
        "Date",
        {
            "%Y": "year",
            "%y": "year, 2 digits",
            "%m": "month number",
            "%B": "month name",
            "%b": "month, short",
            "%d": "day of the month",
            "%j": "day of the year",
            "%W": "week of the year",
            "%A": "weekday",
            "%a": "weekday, short",
            "%w": "weekday number",
        },
    ),
    (
        "Time",
        {
            "%H": "hour (24 h)",
            "%I": "hour (12 h)",
            "%p": "AM or PM",
            "%M": "minute",
            "%S": "second",
            "%f": "microsecond",
            "%Z": "time zone",
        },
    ),
)
#: ``%%`` renders a '%', which no tag may contain: it is not offered at all.
OFFERED = frozenset(token for _, tokens in GROUPS for token in tokens)


def fill_tokens_menu(
    menu: QMenu, insert: Callable[[str], None], leave_out: Iterable[str] = ()
) -> list[QAction]:
    """Add the token actions to ``menu``; choosing one calls ``insert`` with its token.

    Each action is connected itself: a submenu's ``triggered`` reaches the top menu only
    when the person clicks, not when the action is triggered in code.
    """
    skipped = set(leave_out)
    actions: list[QAction] = []
    menu.setToolTipsVisible(True)
    separated = False
    for title, tokens in GROUPS:
        if title is None:
            target = menu
        else:
            if not separated:
                menu.addSeparator()
                separated = True
            target = menu.addMenu(title)
            target.setToolTipsVisible(True)
        for token, label in tokens.items():
            if token in skipped:
                continue
            action = target.addAction(f"{token}   {label}")
            action.setData(token)
            action.setToolTip(TOKENS[token])
            action.setStatusTip(TOKENS[token])
            action.triggered.connect(partial(insert, token))
            actions.append(action)
    return actions
