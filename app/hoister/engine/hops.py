"""How long a chain of promotions may grow: exactly :data:`HOP_LIMIT` links."""

from __future__ import annotations

#: A promotion into a repository with policies of its own triggers them; at most this
#: many promotions follow from one push, so a misconfiguration cannot run away.
HOP_LIMIT = 8


def hop_allowed(hop: int) -> bool:
    """Hop 0 is the first (direct) promotion, so hops 0..7 make the 8 links allowed."""
    return 0 <= hop < HOP_LIMIT
