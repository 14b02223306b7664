"""Refusing policies that would make promotions loop (A -> B -> ... -> A).

MSR left loops undefined; a promotion is a push into the target, whose policies run in
turn, so a loop would copy forever. The check is on repositories, not tags: a rule that
happens not to match today may match tomorrow.
"""

from __future__ import annotations

from collections.abc import Iterable

from hoister.policies.errors import CycleError
from hoister.policies.model import Policy, Route, source_route, target_route


def find_cycle(candidate: Policy, others: Iterable[Policy]) -> list[Route] | None:
    """The chain of routes that ``candidate`` would close into a loop, or None."""
    if not candidate.enabled:
        return None
    edges: dict[Route, list[Route]] = {}
    for policy in others:
        if policy.enabled and (candidate.id is None or policy.id != candidate.id):
            edges.setdefault(source_route(policy), []).append(target_route(policy))
    start, first = source_route(candidate), target_route(candidate)
    # Depth-first from the candidate's target, looking for the way back to its source.
    stack: list[tuple[Route, list[Route]]] = [(first, [start, first])]
    seen: set[Route] = set()
    while stack:
        node, path = stack.pop()
        if node == start:
            return path
        if node in seen:
            continue
        seen.add(node)
        for nxt in sorted(edges.get(node, []), key=str, reverse=True):
            stack.append((nxt, [*path, nxt]))
    return None


def check_no_cycle(candidate: Policy, others: list[Policy]) -> None:
    """Raise :class:`CycleError` spelling out the loop ``candidate`` would close."""
    chain = find_cycle(candidate, others)
    if chain is None:
        return
    profiles = {route.profile for route in chain}
    names = [str(r) if len(profiles) > 1 else r.repository for r in chain]
    raise CycleError(
        f"{candidate.label} would make promotions loop: {' -> '.join(names)}; "
        "an image would be promoted around this circle forever",
        names,
    )
