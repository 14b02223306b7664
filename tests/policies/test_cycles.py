"""Loops are found between registries, not between profile names: two profiles that
name one registry (an alias, a trailing slash, 127.0.0.1 for localhost) are one node."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hoister.policies import (
    CycleError,
    Policy,
    check_no_cycle,
    check_policy,
    find_cycle,
    policy_check,
)
from hoister.policies.model import Route
from hoister.profiles import Profile, ProfileStore
from hoister.store import Database, PolicyStore

#: prod and prod-alias are one registry; qa is another on the same host.
PROFILES = [
    Profile("prod", "https://localhost:5000"),
    Profile("prod-alias", "http://127.0.0.1:5000/"),
    Profile("qa", "localhost:5001"),
]


def _p(
    src: str,
    dst: str,
    profile: str,
    target_profile: str | None = None,
    pid: int | None = None,
    enabled: bool = True,
) -> Policy:
    return Policy(
        source_profile=profile,
        source_repository=src,
        target_profile=target_profile,
        target_repository=dst,
        tag_template="%n",
        id=pid,
        enabled=enabled,
    )


@pytest.fixture
def identities(tmp_path: Path) -> dict[str, str]:
    store = ProfileStore(tmp_path / "profiles.json")
    for profile in PROFILES:
        store.add(profile)
    return store.identities()


def test_profiles_file_gives_one_identity_per_registry(identities: dict[str, str]) -> None:
    assert identities == {
        "prod": "localhost:5000",
        "prod-alias": "localhost:5000",
        "qa": "localhost:5001",
    }


def test_a_loop_through_an_alias_is_refused_with_the_names_people_chose(
    identities: dict[str, str],
) -> None:
    existing = [_p("qa/website", "dev/website", "prod-alias", pid=1)]
    closing = _p("dev/website", "qa/website", "prod", "prod-alias")
    assert find_cycle(closing, existing) is None  # by names alone it looks harmless
    with pytest.raises(CycleError) as caught:
        check_no_cycle(closing, existing, identities)
    assert caught.value.chain == [
        "dev/website on prod",
        "qa/website on prod-alias (the same registry as prod)",
        "dev/website on prod-alias",
    ]
    assert (
        "would make promotions loop: dev/website on prod -> qa/website on prod-alias "
        "(the same registry as prod) -> dev/website on prod-alias; an image would be "
        "promoted around this circle forever"
    ) in str(caught.value)


def test_a_target_profile_that_points_back_at_the_source_registry_is_a_self_loop(
    identities: dict[str, str],
) -> None:
    back = _p("dev/a", "dev/a", "prod", "prod-alias")
    assert find_cycle(back, [], identities) == [
        Route("prod", "dev/a"),
        Route("prod-alias", "dev/a"),
    ]
    with pytest.raises(CycleError, match=r"dev/a on prod -> dev/a on prod-alias \(the same"):
        check_policy(back, [], identities)


def test_another_port_is_another_registry(identities: dict[str, str]) -> None:
    existing = [_p("qa/website", "dev/website", "qa", pid=1)]
    assert find_cycle(_p("dev/website", "qa/website", "prod", "qa"), existing, identities) is None
    assert find_cycle(_p("dev/a", "dev/a", "prod", "qa"), [], identities) is None


def test_unknown_profiles_stand_for_a_registry_of_their_own(
    identities: dict[str, str],
) -> None:
    existing = [_p("qa/website", "dev/website", "removed", pid=1)]
    closing = _p("dev/website", "qa/website", "prod", "gone")
    assert find_cycle(closing, existing, identities) is None
    looping = _p("dev/website", "qa/website", "prod", "removed")
    assert find_cycle(looping, existing, identities) is None  # back to 'removed', not prod
    assert find_cycle(_p("dev/a", "dev/a", "gone", "gone"), [], identities) is not None


def test_a_resolver_function_works_like_a_mapping() -> None:
    existing = [_p("qa/a", "dev/a", "b", pid=1)]
    closing = _p("dev/a", "qa/a", "a", "b")
    assert find_cycle(closing, existing) is None
    assert find_cycle(closing, existing, lambda name: "one registry") is not None


def test_disabled_links_and_the_policy_being_edited_still_do_not_count(
    identities: dict[str, str],
) -> None:
    closing = _p("dev/website", "qa/website", "prod", "prod-alias", pid=2)
    off = [_p("qa/website", "dev/website", "prod-alias", pid=1, enabled=False)]
    assert find_cycle(closing, off, identities) is None
    itself = [_p("qa/website", "dev/website", "prod-alias", pid=2)]
    assert find_cycle(closing, itself, identities) is None


def test_the_store_refuses_an_alias_loop_inside_its_transaction(
    tmp_path: Path, identities: dict[str, str]
) -> None:
    database = Database.open(tmp_path / "hoister.db")
    with PolicyStore(database) as store:
        check = policy_check(identities)
        store.add(_p("qa/website", "dev/website", "prod-alias"), check=check)
        with pytest.raises(CycleError, match="the same registry as"):
            store.add_many(
                [
                    _p("dev/website", "stage/website", "prod"),
                    _p("stage/website", "qa/website", "prod"),
                ],
                check=check,
            )
        assert len(store.list()) == 1
    database.close()


ALIASES = ["prod", "prod-alias", "alias-3"]


@given(
    st.integers(1, 6).flatmap(
        lambda n: st.lists(st.sampled_from(ALIASES), min_size=n + 1, max_size=n + 1)
    )
)
def test_a_ring_is_a_loop_whichever_aliases_its_links_use(names: list[str]) -> None:
    """r0 -> r1 -> ... -> r0, each link on any alias of one registry: always refused, and
    the chain reported walks the ring link by link."""
    identity = {name: "localhost:5000" for name in ALIASES}
    size = len(names) - 1
    ring = [
        _p(f"r/{i}", f"r/{(i + 1) % size}", names[i], names[i + 1], pid=i + 1) for i in range(size)
    ]
    candidate, others = ring[-1].with_changes(id=None), ring[:-1]
    chain = find_cycle(candidate, others, identity)
    assert chain is not None
    repositories = [route.repository for route in chain]
    start = size - 1
    assert repositories == [f"r/{(start + k) % size}" for k in range(size + 1)]
    # Taken as different registries, the ring closes only if its last link returns to
    # the very profile its first one started from.
    by_name = find_cycle(candidate, others, {name: name for name in ALIASES})
    assert (by_name is not None) == (names[-1] == names[0])
