"""``--database URL``: which store a command uses, accepted anywhere on the command line.

The flag is taken out of ``argv`` before argparse sees it. argparse ties an option to
the parser it is declared on: declared on the top-level parser it is only accepted
before the command (``hoister --database URL policy list``), declared on every
sub-parser it is only accepted after it, and declared on both the sub-parser's default
(``None``) overwrites the value given earlier. People put it on either side — and a
script adds it at the end of whatever command it runs — so one pass over ``argv``
here, before parsing, accepts both places and both spellings (``--database URL``,
``--database=URL``) the same way for every command, present and future.
"""

from __future__ import annotations

from collections.abc import Sequence

FLAG = "--database"
HELP = (
    "the store to use: postgresql://user@host/db (a team database) or a SQLite file; "
    "accepted before or after the command (default: $HOISTER_DATABASE_URL, then the "
    "Team database setting, then this machine's own file)"
)


class FlagError(Exception):
    """The flag is malformed (no value, given twice): a usage error, exit status 2."""


def take_database_flag(argv: Sequence[str]) -> tuple[list[str], str | None]:
    """``argv`` without ``--database``, and its value (``None`` when not given).

    Everything after a lone ``--`` is an operand and is left alone.
    """
    rest: list[str] = []
    value: str | None = None
    seen = False
    items = list(argv)
    index = 0
    while index < len(items):
        item = items[index]
        if item == "--":
            rest += items[index:]
            break
        if item == FLAG or item.startswith(FLAG + "="):
            if seen:
                raise FlagError("--database was given twice; give it once")
            seen = True
            if item == FLAG:
                if index + 1 >= len(items) or items[index + 1].startswith("-"):
                    raise FlagError("--database needs a URL: --database postgresql://user@host/db")
                value = items[index + 1]
                index += 2
            else:
                value = item[len(FLAG) + 1 :]
                index += 1
            if not value.strip():
                raise FlagError("--database needs a URL: --database postgresql://user@host/db")
            continue
        rest.append(item)
        index += 1
    return rest, value
