"""Errors of the policy domain, each naming the policy and rule it concerns."""

from __future__ import annotations

from hoister.errors import HoisterError, InvalidInput


class PolicyError(InvalidInput):
    """A policy, rule or template that cannot be used as given (exit status 2)."""


class TemplateError(PolicyError):
    """A tag template that is malformed or renders an invalid tag.

    ``position`` is the 1-based character position in the template (or in the rendered
    tag, for ``rendered=True``) so an editor can put the cursor on it.
    """

    def __init__(self, message: str, position: int | None = None, rendered: bool = False) -> None:
        super().__init__(message)
        self.position = position
        self.rendered = rendered


class CycleError(PolicyError):
    """Saving the policy would make promotions loop; ``chain`` lists the routes."""

    def __init__(self, message: str, chain: list[str]) -> None:
        super().__init__(message)
        self.chain = chain


class PolicyNotFound(HoisterError):
    """No policy with that id."""


class PolicyConflict(HoisterError):
    """Someone saved the policy after this copy of it was read: saving would undo that.

    Exit status 1: nothing is wrong with the input, the store moved on; reload and edit.
    """

    def __init__(self, message: str, *, version: int, updated_by: str) -> None:
        super().__init__(message)
        self.version = version
        self.updated_by = updated_by
