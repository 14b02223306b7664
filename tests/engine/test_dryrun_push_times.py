"""Dry runs decide ``updated_at`` rules from the push times the engine saw.

A real registry and a real engine: a tag that was there before the first look stays
unknown (its push time is not known), a tag the engine saw pushed is judged by when it
saw it, and a tag moved since the last poll is unknown again, each with its reason.
"""

from __future__ import annotations

import json
from datetime import timedelta

from hoister.engine.dryrun import ENGINE_SOURCE, dry_run
from hoister.policies import Outcome, Rule
from hoister.store.watch import WatchStore
from tests.engine.conftest import backends_fixture
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer

STABLE = Rule("tag", "ew", ("stable",))
RECENT = Rule("updated_at_duration", "af", ("1h",))  # pushed less than an hour ago

#: The engine's tests here run on SQLite and on PostgreSQL (the watch state's join).
harness_backend = backends_fixture()


def test_dry_run_uses_the_push_times_the_engine_saw(  # type: ignore[no-untyped-def]
    registry: RegistryServer, make_harness
) -> None:
    push_image(registry.url, "dev/website", "0.9-stable", build_image(seed=801))
    h = make_harness({"local": registry})
    policy = h.policy("dev/website", "qa/website", "%n", STABLE, RECENT)
    h.engine.run_cycle()  # the first look: 0.9-stable is baseline
    first_look = h.clock()
    h.clock.advance(60)
    push_image(registry.url, "dev/website", "1.0-stable", build_image(seed=802))
    h.engine.run_cycle()
    pushed = h.clock()
    assert h.tags("qa/website") == ["1.0-stable"]  # the engine judged it recent too

    with WatchStore(h.database) as watch:
        seen = watch.seen("local", "dev/website")
    client = h.client()
    rows = {r.tag: r for r in dry_run(policy, client, pushed + timedelta(minutes=10), seen=seen)}

    recent = rows["1.0-stable"].evaluation.verdicts[1]
    assert recent.outcome is Outcome.HELD and recent.source == ENGINE_SOURCE
    assert f"(pushed at {pushed.isoformat(timespec='seconds')} as seen by the engine)" in (
        recent.reason
    )
    old = rows["0.9-stable"].evaluation.verdicts[1]
    assert old.outcome is Outcome.UNKNOWN
    assert f"already there when the engine first looked, at {first_look:%Y-%m-%dT%H:%M:%S}" in (
        old.reason
    )

    later = dry_run(policy, client, pushed + timedelta(hours=2), ["1.0-stable"], seen=seen)
    assert later[0].evaluation.verdicts[1].outcome is Outcome.FAILED
    assert "as seen by the engine" in later[0].evaluation.verdicts[1].reason

    # Moved since the last poll: the recorded time is another image's.
    push_image(registry.url, "dev/website", "1.0-stable", build_image(seed=803))
    moved = dry_run(policy, client, pushed, ["1.0-stable"], seen=seen)
    verdict = moved[0].evaluation.verdicts[1]
    assert verdict.outcome is Outcome.UNKNOWN and "has not seen this push yet" in verdict.reason

    # Without watch state (a repository never watched): unknown, as before.
    unwatched = dry_run(policy, client, pushed, ["1.0-stable"])
    assert unwatched[0].evaluation.verdicts[1].outcome is Outcome.UNKNOWN


def test_policy_test_says_where_the_push_time_came_from(cli, registry: RegistryServer) -> None:  # type: ignore[no-untyped-def]
    assert cli("profile", "add", "local", "--url", registry.url)[0] == 0
    code, _, err = cli(
        "policy", "add", "--profile", "local", "--source", "dev/web", "--target", "qa/web",
        "--rule", "tag ew stable", "--rule", "updated_at_duration af 1d", "--template", "%n",
    )  # fmt: skip
    assert code == 0, err
    push_image(registry.url, "dev/web", "0.9-stable", build_image(seed=811))
    assert cli("run", "--once")[0] == 0
    push_image(registry.url, "dev/web", "1.0-stable", build_image(seed=812))
    assert cli("run", "--once")[0] == 0
    code, out, err = cli("policy", "test", "1", "--json")
    assert code == 0, err
    rules = {row["tag"]: row["rules"][1] for row in json.loads(out)}
    assert rules["1.0-stable"]["verdict"] == "held"
    assert "as seen by the engine" in rules["1.0-stable"]["reason"]
    assert rules["1.0-stable"]["source"] == ENGINE_SOURCE
    assert rules["0.9-stable"]["verdict"] == "unknown"
    assert "when it was pushed is not known" in rules["0.9-stable"]["reason"]
    code, out, err = cli("policy", "test", "1")
    assert "when it was pushed is not known" in out and ENGINE_SOURCE in err
