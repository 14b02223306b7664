"""The engine end to end on a real registry: the seed workflow, chains, exactly once."""

from __future__ import annotations

import re
from collections.abc import Callable

from hoister.engine.hops import HOP_LIMIT, hop_refusal
from hoister.engine.provenance import read_provenance
from hoister.policies import Rule
from tests.engine.harness import EngineHarness
from tests.support.images import build_image, push_image, skopeo_inspect
from tests.support.registry import RegistryServer

Make = Callable[..., EngineHarness]
STABLE = Rule("tag", "ew", ["stable"])


def test_seed_workflow_with_a_chain(registry: RegistryServer, make_harness: Make) -> None:
    h = make_harness({"local": registry})
    seed = h.policy("dev/website", "qa/website", "%Y%m%d-%H%M%S", STABLE, name="stable to QA")
    h.policy("qa/website", "prod/website", "%n", name="QA to prod")
    push_image(registry.url, "dev/website", "0.9", build_image(seed=1))
    first = h.engine.run_cycle()
    assert (first.repositories, first.candidates, first.promoted) == (2, 0, 0)  # baseline

    push_image(registry.url, "dev/website", "1.0", build_image(seed=2))
    h.clock.advance()
    assert h.engine.run_cycle().promoted == 0
    assert h.tags("qa/website") == []

    image = build_image(seed=3, labels={"team": "web"})
    push_image(registry.url, "dev/website", "1.1-stable", image)
    h.clock.advance()
    report = h.engine.run_cycle()
    assert report.promoted == 2  # dev -> qa, then at once qa -> prod
    [qa_tag] = h.tags("qa/website")
    assert qa_tag == "20261130-090002"
    assert re.fullmatch(r"\d{8}-\d{6}", qa_tag)
    assert h.tags("prod/website") == [qa_tag]
    for repository in ("qa/website", "prod/website"):
        info = skopeo_inspect(registry.host, repository, qa_tag)
        assert isinstance(info, dict) and info["Digest"] == image.digest

    outcomes = [(r.outcome, r.source_repository, r.target_repository, r.hop) for r in h.history()]
    assert outcomes == [
        ("matched", "dev/website", "qa/website", 0),
        ("promoted", "dev/website", "qa/website", 0),
        ("matched", "qa/website", "prod/website", 1),
        ("promoted", "qa/website", "prod/website", 1),
    ]
    promoted = h.history()[1]
    assert promoted.blobs_mounted == 3 and promoted.bytes_moved == 0
    [record] = read_provenance(h.client(), "qa/website", image.digest)
    assert (record.policy_id, record.policy_name) == (seed.id, "stable to QA")
    assert (record.source_repository, record.source_tag, record.source_digest) == (
        "dev/website",
        "1.1-stable",
        image.digest,
    )
    assert record.promoted_by == "test@hoister"
    assert h.policy_store.get(seed.id).last_promoted_at == h.clock()  # type: ignore[arg-type]

    # seen again: nothing happens; the promoted tags are not mistaken for new pushes
    h.clock.advance()
    again = h.engine.run_cycle()
    assert (again.candidates, again.promoted) == (0, 0)
    assert len(h.tags("qa/website")) == 1


def test_new_digest_under_the_same_tag_promotes_again(
    registry: RegistryServer, make_harness: Make
) -> None:
    h = make_harness({"local": registry})
    h.policy("dev/website", "qa/website", "%n-%D", STABLE)
    h.engine.run_cycle()
    first, second = build_image(seed=4), build_image(seed=5)
    push_image(registry.url, "dev/website", "2.0-stable", first)
    h.engine.run_cycle()
    push_image(registry.url, "dev/website", "2.0-stable", first)  # same digest again: nothing
    h.engine.run_cycle()
    push_image(registry.url, "dev/website", "2.0-stable", second)
    h.engine.run_cycle()
    short = [d.removeprefix("sha256:")[:12] for d in (first.digest, second.digest)]
    assert h.tags("qa/website") == sorted(f"2.0-stable-{s}" for s in short)
    assert [r.outcome for r in h.history()].count("promoted") == 2


def test_apply_existing_promotes_what_is_already_there(
    registry: RegistryServer, make_harness: Make
) -> None:
    h = make_harness({"local": registry})
    for tag, seed in (("1.0-stable", 6), ("1.1", 7), ("1.2-stable", 8)):
        push_image(registry.url, "dev/app", tag, build_image(seed=seed))
    h.policy("dev/app", "qa/app", "%n", STABLE, apply_existing=True)
    h.policy("dev/app", "archive/app", "%n", STABLE)  # plain save: future pushes only
    assert h.engine.run_cycle().promoted == 2
    assert h.tags("qa/app") == ["1.0-stable", "1.2-stable"]
    assert h.tags("archive/app") == []
    assert h.engine.run_cycle().promoted == 0


def test_apply_existing_on_a_repository_already_watched(
    registry: RegistryServer, make_harness: Make
) -> None:
    h = make_harness({"local": registry})
    push_image(registry.url, "dev/app", "1.0-stable", build_image(seed=9))
    h.policy("dev/app", "archive/app", "%n", STABLE)
    h.engine.run_cycle()
    h.policy("dev/app", "qa/app", "%n", STABLE, apply_existing=True)
    assert h.engine.run_cycle().promoted == 1
    assert h.tags("qa/app") == ["1.0-stable"]
    assert h.tags("archive/app") == []


def test_referrer_and_backup_tags_are_not_pushes(
    registry: RegistryServer, make_harness: Make
) -> None:
    h = make_harness({"local": registry})
    h.policy("dev/app", "qa/app", "%n")  # no criteria: every push
    h.engine.run_cycle()
    image = build_image(seed=10)
    push_image(registry.url, "dev/app", "1.0", image)
    push_image(registry.url, "dev/app", "sha256-" + "a" * 64 + ".sig", build_image(seed=11))
    push_image(registry.url, "dev/app", "1.0.hoister-backup-20261130T090000", build_image(seed=12))
    h.engine.run_cycle()
    assert h.tags("qa/app") == ["1.0"]
    assert [t for t in h.client().tags("qa/app") if t.endswith(".sig")] == []


def test_a_constant_template_that_collides_fails_visibly_and_can_be_retried(
    registry: RegistryServer, make_harness: Make
) -> None:
    h = make_harness({"local": registry})
    h.policy("dev/app", "qa/app", "%n", STABLE)
    h.engine.run_cycle()
    other = build_image(seed=13)
    push_image(registry.url, "qa/app", "3.0-stable", other)
    push_image(registry.url, "dev/app", "3.0-stable", build_image(seed=14))
    report = h.engine.run_cycle()
    assert (report.promoted, report.skipped, report.failed) == (0, 0, 1)
    failed = h.history()[-1]
    assert failed.outcome == "failed"
    assert f"collides with qa/app:3.0-stable, which holds {other.digest}" in failed.reason
    assert h.client().head_manifest("qa/app", "3.0-stable").digest == other.digest
    # The cause removed (the foreign tag deleted), a retry promotes it.
    h.client().delete_manifest("qa/app", other.digest)
    [entry] = h.engine.queue.entries("failed")
    assert entry.id is not None and h.engine.queue.retry(entry.id) is not None
    assert h.engine.run_cycle().promoted == 1
    assert h.history()[-1].outcome == "promoted"


def test_chain_stops_after_exactly_hop_limit_links(
    registry: RegistryServer, make_harness: Make
) -> None:
    """The README's "a chain stops after 8 links", with the real limit: the direct
    promotion is hop 0, the eighth link hop 7, and the ninth is refused."""
    assert HOP_LIMIT == 8
    h = make_harness({"local": registry})
    for i in range(HOP_LIMIT + 1):
        h.policy(f"stage/s{i}", f"stage/s{i + 1}", "%n")
    h.engine.run_cycle()
    push_image(registry.url, "stage/s0", "1", build_image(seed=15))
    h.engine.run_cycle()
    promoted = [(r.target_repository, r.hop) for r in h.history() if r.outcome == "promoted"]
    assert promoted == [(f"stage/s{i + 1}", i) for i in range(HOP_LIMIT)]
    assert h.tags(f"stage/s{HOP_LIMIT}") == ["1"]
    assert h.tags(f"stage/s{HOP_LIMIT + 1}") == []
    refused = h.history()[-1]
    assert (refused.outcome, refused.source_repository, refused.hop) == (
        "failed",
        f"stage/s{HOP_LIMIT}",
        HOP_LIMIT,
    )
    assert refused.reason == hop_refusal(f"stage/s{HOP_LIMIT}")


def test_webhook_receives_the_promotion_event(
    registry: RegistryServer,
    make_harness: Make,
    notification_sink,  # type: ignore[no-untyped-def]
) -> None:
    h = make_harness({"local": registry})
    h.policy("dev/app", "qa/app", "%n-qa", STABLE, webhook_url=notification_sink.url, name="hooked")
    h.engine.run_cycle()
    image = build_image(seed=16)
    push_image(registry.url, "dev/app", "5-stable", image)
    assert h.engine.run_cycle().promoted == 1
    [(headers, event)] = notification_sink.wait_for(lambda received: len(received) == 1)
    assert headers["content-type"] == "application/json"
    assert event == {
        "type": "PROMOTION",
        "sourceRepository": "dev/app",
        "sourceTag": "5-stable",
        "targetRepository": "qa/app",
        "targetTag": "5-stable-qa",
        "promotedAt": "2026-11-30T09:00:00Z",
        "digest": image.digest,
        "policyId": event["policyId"],
        "policyName": "hooked",
        "promotedBy": "test@hoister",
    }


def test_a_webhook_that_fails_does_not_undo_the_promotion(
    registry: RegistryServer, make_harness: Make
) -> None:
    h = make_harness({"local": registry})
    h.policy("dev/app", "qa/app", "%n", STABLE, webhook_url="http://127.0.0.1:9/hook")
    h.engine.run_cycle()
    push_image(registry.url, "dev/app", "6-stable", build_image(seed=17))
    assert h.engine.run_cycle().promoted == 1
    assert h.tags("qa/app") == ["6-stable"]
    assert "webhook not delivered" in h.history()[-1].reason
