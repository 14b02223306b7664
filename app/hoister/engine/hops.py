"""How long a chain of promotions may get: exactly :data:`HOP_LIMIT` links.

A promotion into a repository with policies of its own triggers them (dev -> qa -> prod).
A misconfiguration the loop check cannot see (two registries that are really one behind
a proxy, another engine's policies) could otherwise copy forever, so a chain stops.

``hop`` counts the promotions before this one in its chain: a promotion of an image
pushed by a person or CI is hop 0, the promotion its target's policies then make is hop
1, and so on. Hops 0 to ``HOP_LIMIT - 1`` are allowed, which makes ``HOP_LIMIT`` links;
the next one is refused.
"""

from __future__ import annotations

#: Links a chain may have (the README's "a chain stops after 8 links").
HOP_LIMIT = 8


def hop_allowed(hop: int) -> bool:
    """Whether a promotion ``hop`` links into a chain may run (hop 0: a direct one)."""
    return 0 <= hop < HOP_LIMIT


def hop_refusal(repository: str) -> str:
    """The reason recorded when a chain is stopped at ``repository``."""
    return f"a chain of promotions reached {HOP_LIMIT} links at {repository}; stopped there"
