"""Polls say what changed in a watched repository, so open views can follow without
reading every tag again."""

from __future__ import annotations

from collections.abc import Callable

from hoister.engine.events import RepositoryChange
from hoister.policies import Rule
from tests.engine.harness import EngineHarness
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer

Make = Callable[..., EngineHarness]


def test_a_poll_reports_tags_added_moved_and_removed(
    registry: RegistryServer, make_harness: Make
) -> None:
    h = make_harness({"local": registry})
    h.policy("dev/website", "qa/website", "%n", Rule("tag", "ew", ["stable"]))
    old, new = build_image(seed=90), build_image(seed=91)
    push_image(registry.url, "dev/website", "1.0-stable", old)
    push_image(registry.url, "dev/website", "0.9", old)
    h.engine.run_cycle()
    assert h.recorder.changes == []  # the baseline: nothing to compare with

    push_image(registry.url, "dev/website", "1.1", new)
    push_image(registry.url, "dev/website", "1.0-stable", new)  # moved to another image
    h.client().delete_manifest("dev/website", build_image(seed=90).digest)  # 0.9 is gone
    h.clock.advance()
    h.engine.run_cycle()
    [change] = h.recorder.changes
    assert change == RepositoryChange("local", "dev/website", ("1.1",), ("1.0-stable",), ("0.9",))

    h.clock.advance()
    h.engine.run_cycle()  # nothing new: no report, so views are left alone
    assert len(h.recorder.changes) == 1
