"""Refusing policies that would make promotions loop (A -> B -> ... -> A).

MSR left loops undefined; a promotion is a push into the target, whose policies run in
turn, so a loop would copy forever. The check is on repositories, not tags: a rule that
happens not to match today may match tomorrow.

A node of the graph is a (registry identity, repository) pair, not a (profile name,
repository) one: two profiles may name one registry (``localhost:5000`` and
``http://127.0.0.1:5000/``), and a loop through them is still a loop. The caller says
which profile is which registry (:func:`hoister.registry.identity.profile_identities`);
messages keep the profile names people chose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from hoister.policies.errors import CycleError
from hoister.policies.model import Policy, Route, source_route, target_route

#: Profile name -> registry identity, as a mapping or a function. A name the mapping
#: does not know (a profile removed since) stands for a registry of its own.
Identities = Mapping[str, str] | Callable[[str], str]
IdentityOf = Callable[[str], str]
Node = tuple[str, str]


def identity_resolver(identities: Identities | None) -> IdentityOf:
    """A function from profile name to identity; None means every name is its own."""
    if identities is None:
        return lambda name: name
    if isinstance(identities, Mapping):
        known = identities
        return lambda name: known.get(name, name)
    return identities


def find_cycle(
    candidate: Policy, others: Iterable[Policy], identities: Identities | None = None
) -> list[Route] | None:
    """The chain of routes that ``candidate`` would close into a loop, or None.

    Routes keep the profile names of the policies; the last one is the candidate's
    source, possibly under another profile name for the same registry.
    """
    if not candidate.enabled:
        return None
    identity_of = identity_resolver(identities)

    def node(route: Route) -> Node:
        return identity_of(route.profile), route.repository

    edges: dict[Node, list[Route]] = {}
    for policy in others:
        if policy.enabled and (candidate.id is None or policy.id != candidate.id):
            edges.setdefault(node(source_route(policy)), []).append(target_route(policy))
    start, first = source_route(candidate), target_route(candidate)
    goal = node(start)
    # Depth-first from the candidate's target, looking for the way back to its source.
    stack: list[tuple[Route, list[Route]]] = [(first, [start, first])]
    seen: set[Node] = set()
    while stack:
        route, path = stack.pop()
        here = node(route)
        if here == goal:
            return path
        if here in seen:
            continue
        seen.add(here)
        for nxt in sorted(edges.get(here, []), key=str, reverse=True):
            stack.append((nxt, [*path, nxt]))
    return None


def describe_chain(chain: list[Route], identities: Identities | None = None) -> list[str]:
    """How a message names each route: the repository alone when one profile is
    involved, else ``repo on profile``, saying once when a profile is another's alias."""
    if len({route.profile for route in chain}) == 1:
        return [route.repository for route in chain]
    identity_of = identity_resolver(identities)
    first_name: dict[str, str] = {}  # identity -> the profile name it was first shown as
    explained: set[str] = set()
    names = []
    for route in chain:
        identity = identity_of(route.profile)
        shown = first_name.setdefault(identity, route.profile)
        text = f"{route.repository} on {route.profile}"
        if shown != route.profile and route.profile not in explained:
            explained.add(route.profile)
            text += f" (the same registry as {shown})"
        names.append(text)
    return names


def check_no_cycle(
    candidate: Policy, others: list[Policy], identities: Identities | None = None
) -> None:
    """Raise :class:`CycleError` spelling out the loop ``candidate`` would close."""
    chain = find_cycle(candidate, others, identities)
    if chain is None:
        return
    names = describe_chain(chain, identities)
    raise CycleError(
        f"{candidate.label} would make promotions loop: {' -> '.join(names)}; "
        "an image would be promoted around this circle forever",
        names,
    )
