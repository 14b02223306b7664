"""The hop cap in numbers: exactly HOP_LIMIT links, hop 0 being the direct promotion."""

from __future__ import annotations

from hoister.engine.hops import HOP_LIMIT, hop_allowed, hop_refusal


def test_exactly_eight_links_are_allowed() -> None:
    assert HOP_LIMIT == 8
    allowed = [hop for hop in range(-2, 20) if hop_allowed(hop)]
    assert allowed == list(range(8))
    assert len(allowed) == HOP_LIMIT


def test_the_refusal_names_the_limit_and_the_repository() -> None:
    assert hop_refusal("stage/s8") == (
        "a chain of promotions reached 8 links at stage/s8; stopped there"
    )
