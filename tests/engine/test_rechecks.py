"""The re-read plan: a budget proportional to watched repositories, and a bound on how
long any known tag goes unread, for any mix of repository sizes."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from hoister.engine.rechecks import RecheckPlan


def tags_of(count: int) -> list[str]:
    return [f"t{n}" for n in range(count)]


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 50), min_size=1, max_size=30),
    per_repository=st.sampled_from([0.05, 0.1, 0.5]),
    minimum=st.integers(1, 10),
)
def test_every_known_tag_is_read_within_the_bound_on_budget(
    sizes: list[int], per_repository: float, minimum: int
) -> None:
    plan = RecheckPlan(per_repository, minimum)
    repositories = {("p", f"r{n}"): tags_of(size) for n, size in enumerate(sizes)}
    for key, tags in repositories.items():  # the first cycle reads everything
        assert sorted(plan.choose(key, tags)) == sorted(tags)
    plan.end_cycle()
    budget = max(minimum, math.ceil(len(sizes) * per_repository))
    total = sum(sizes)
    assert plan.bound_cycles == (max(1, math.ceil(total / budget)) if total else 1)
    last_read = {(key, tag): 0 for key, tags in repositories.items() for tag in tags}
    cycles = 3 * plan.bound_cycles + 2
    reads = 0
    for cycle in range(1, cycles + 1):
        for key, tags in repositories.items():
            for tag in plan.choose(key, tags):
                last_read[key, tag] = cycle
                reads += 1
        plan.end_cycle()
        assert all(cycle - when <= plan.bound_cycles for when in last_read.values())
    assert reads <= cycles * budget  # on average, never more than the budget a cycle


def test_tags_read_anyway_restart_their_clock_and_cost_no_budget() -> None:
    plan = RecheckPlan(per_repository=0.0, minimum=1)
    key = ("p", "r")
    plan.choose(key, ["a", "b", "c"])
    plan.end_cycle()  # one re-read a cycle for three tags
    assert plan.choose(key, ["a", "b", "c", "new"], {"new"}) == ["a"]
    plan.end_cycle()
    assert plan.choose(key, ["a", "b", "c", "new"]) == ["b"]
    plan.end_cycle()
    assert plan.choose(key, ["a", "c", "new"]) == ["c"]  # b was deleted: forgotten
