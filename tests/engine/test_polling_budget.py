"""A steady poll costs one tag list per repository plus a bounded budget of re-reads.

Measured against a real registry through a transport that counts what goes out: a
cycle with nothing new sends the list and the budget's HEADs, never one per tag; every
known tag is read again within the plan's bound, so a re-push under an old name is
promoted, exactly once, that many cycles later at the latest; a new tag is read whole
at once and promoted in the cycle that sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from hoister.credentials import Credential
from hoister.engine.rechecks import MIN_RECHECKS
from hoister.policies import Rule
from hoister.profiles import Profile
from hoister.registry import RegistryClient
from tests.engine.harness import EngineHarness
from tests.support.counting import CountingTransport, tally
from tests.support.images import build_image, push_image, push_tags
from tests.support.registry import RegistryServer

Make = Callable[..., EngineHarness]
STABLE = Rule("tag", "ew", ["stable"])
TAGS = [f"1.{n}-stable" for n in range(40)]


@pytest.fixture
def counter() -> Iterator[CountingTransport]:
    transport = CountingTransport()
    yield transport
    transport.close()


@pytest.fixture
def watched(
    registry: RegistryServer, make_harness: Make, counter: CountingTransport
) -> EngineHarness:
    """40 matching tags in dev/many, baselined, and the first full cycle behind."""

    def counted(profile: Profile, credential: Credential | None) -> RegistryClient:
        return RegistryClient(profile.url, credential, sleep=lambda _s: None, transport=counter)

    push_tags(registry.url, "dev/many", build_image(seed=1), TAGS)
    h = make_harness({"local": registry}, client_factory=counted)
    h.policy("dev/many", "qa/many", "%n", STABLE)
    h.engine.run_cycle()  # the baseline reads every matching tag once
    h.engine.run_cycle()  # so does the first cycle after a start
    counter.take()
    return h


def test_a_steady_cycle_sends_the_list_and_the_budget_only(
    watched: EngineHarness, counter: CountingTransport
) -> None:
    plan = watched.engine.watcher.rechecks
    assert plan.bound_cycles == -(-len(TAGS) // MIN_RECHECKS)
    read: set[str] = set()
    for _ in range(plan.bound_cycles):
        report = watched.engine.run_cycle()
        sent = counter.take()
        assert tally(sent) == {"GET tags": 1, "HEAD manifests": MIN_RECHECKS}
        assert (report.candidates, report.promoted) == (0, 0)
        read |= {path.rsplit("/", 1)[1] for method, path in sent if method == "HEAD"}
    assert read == set(TAGS)  # every known tag was read again within the bound


def test_a_re_push_under_a_known_tag_is_promoted_within_the_bound(
    registry: RegistryServer, watched: EngineHarness, counter: CountingTransport
) -> None:
    bound = watched.engine.watcher.rechecks.bound_cycles
    pushed = build_image(seed=2)
    push_image(registry.url, "dev/many", "1.33-stable", pushed)
    cycles = 0
    while not watched.tags("qa/many") and cycles < bound:
        watched.engine.run_cycle()
        cycles += 1
    assert watched.tags("qa/many") == ["1.33-stable"]
    for _ in range(bound):  # and it is not promoted again on later re-reads
        watched.engine.run_cycle()
    assert [r.outcome for r in watched.history()].count("promoted") == 1


def test_a_new_tag_is_read_whole_and_promoted_in_the_cycle_that_sees_it(
    registry: RegistryServer, watched: EngineHarness, counter: CountingTransport
) -> None:
    push_image(registry.url, "dev/many", "2.0-stable", build_image(seed=3))
    report = watched.engine.run_cycle()
    assert report.promoted == 1
    assert watched.tags("qa/many") == ["2.0-stable"]
    sent = counter.take()
    assert ("GET", "/v2/dev/many/manifests/2.0-stable") in sent
    assert ("HEAD", "/v2/dev/many/manifests/2.0-stable") not in sent
