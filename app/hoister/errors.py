"""The one error path of Hoister.

Core code raises :class:`HoisterError` (or a subclass) with a sentence a person can
act on; the command line prints it and exits with :attr:`exit_code`, the GUI shows it
through one helper. Anything else that escapes is a bug and is logged with its
traceback, never shown raw to a user.
"""

from __future__ import annotations


class HoisterError(Exception):
    """A failure explained in words; ``exit_code`` is 1 (operation failed)."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(HoisterError):
    """Input a person gave is wrong (bad URL, bad reference, bad file): exit status 2."""

    exit_code = 2
