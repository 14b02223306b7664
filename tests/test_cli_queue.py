"""``hoister queue`` and ``hoister retry``: a collision fails visibly and can be retried."""

from __future__ import annotations

import json

from hoister.registry import RegistryClient
from tests.support.images import build_image, push_image, skopeo_inspect
from tests.support.registry import RegistryServer
from tests.test_cli_agent import _seed


def test_a_collision_is_listed_and_retried_after_the_cause_is_fixed(  # type: ignore[no-untyped-def]
    cli, registry: RegistryServer
) -> None:
    _seed(cli, registry)  # template %n-qa: constant for a given tag name
    assert cli("run", "--once")[0] == 0
    squatter = build_image(seed=160)
    push_image(registry.url, "qa/website", "2.0-stable-qa", squatter)
    image = build_image(seed=161)
    push_image(registry.url, "dev/website", "2.0-stable", image)

    code, _, err = cli("run", "--once")
    assert code == 1  # a promotion failed
    assert "collides with qa/website:2.0-stable-qa" in err
    code, out, _ = cli("queue", "--json")
    [entry] = json.loads(out)
    assert entry["state"] == "failed"
    assert f"which holds {squatter.digest}" in entry["lastError"]
    code, out, _ = cli("queue")
    assert "failed" in out and "collides with" in out
    code, out, _ = cli("history", "--json")
    assert json.loads(out)[0]["outcome"] == "failed"

    # Running again changes nothing: a failure stays until someone retries it.
    assert cli("run", "--once")[0] == 0
    assert cli("queue", "--json")[1].count('"failed"') == 1

    code, _, err = cli("retry", "999")
    assert code == 2 and "there is no queue entry 999" in err
    code, _, err = cli("retry", str(entry["id"]))
    assert code == 0
    # Still taken: the retry fails again, with the same reason, and nothing else moves.
    assert cli("run", "--once")[0] == 1
    # The cause fixed (the squatting tag removed), the retry promotes.
    registry_client = RegistryClient(registry.url)
    try:
        registry_client.delete_manifest("qa/website", squatter.digest)
    finally:
        registry_client.close()
    assert cli("retry", str(entry["id"]))[0] == 0
    code, _, err = cli("run", "--once")
    assert code == 0, err
    info = skopeo_inspect(registry.host, "qa/website", "2.0-stable-qa")
    assert isinstance(info, dict) and info["Digest"] == image.digest
    code, _, err = cli("retry", str(entry["id"]))
    assert code == 1 and "only failed or skipped promotions can be retried" in err
    code, out, err = cli("queue")
    assert out == "" and "nothing waiting" in err


def test_run_once_finishes_a_burst_under_a_seconds_template(  # type: ignore[no-untyped-def]
    cli, registry: RegistryServer
) -> None:
    """Three stable builds found by one `run --once`: each waits for the next second's
    tag, and the one invocation promotes all three under three tags."""
    assert cli("profile", "add", "local", "--url", registry.url)[0] == 0
    code, _, err = cli(
        "policy", "add", "--profile", "local", "--source", "dev/web", "--target", "qa/web",
        "--rule", "tag ew stable", "--template", "%Y%m%d-%H%M%S",
    )  # fmt: skip
    assert code == 0, err
    assert cli("run", "--once")[0] == 0
    images = {f"1.{i}-stable": build_image(seed=190 + i) for i in range(3)}
    for tag, image in images.items():
        push_image(registry.url, "dev/web", tag, image)
    code, _, err = cli("run", "--once")
    assert code == 0, err
    _, out, _ = cli("history", "--json")
    promoted = [row for row in json.loads(out) if row["outcome"] == "promoted"]
    assert len(promoted) == 3
    assert len({row["target_tag"] for row in promoted}) == 3
    for row in promoted:
        assert images[row["source_tag"]].digest == row["source_digest"]
        info = skopeo_inspect(registry.host, "qa/web", row["target_tag"])
        assert isinstance(info, dict) and info["Digest"] == row["source_digest"]


def test_queue_lists_images_waiting_for_facts_and_retrying_promotions(  # type: ignore[no-untyped-def]
    cli, registry_factory
) -> None:
    source, target = registry_factory(), registry_factory()
    assert cli("profile", "add", "build", "--url", source.url)[0] == 0
    assert cli("profile", "add", "release", "--url", target.url)[0] == 0
    code, _, err = cli(
        "policy", "add", "--profile", "build", "--source", "dev/app", "--target", "app",
        "--rule", "tag ew stable", "--rule", "vulnerability_critical eq 0",
        "--template", "%n", "--name", "scanned",
    )  # fmt: skip
    assert code == 0, err
    code, _, err = cli(
        "policy", "add", "--profile", "build", "--source", "dev/web", "--target", "web",
        "--target-profile", "release", "--rule", "tag ew stable", "--template", "%n",
        "--name", "to release",
    )  # fmt: skip
    assert code == 0, err
    assert cli("run", "--once")[0] == 0  # baselines
    push_image(source.url, "dev/app", "1.0-stable", build_image(seed=170))
    push_image(source.url, "dev/web", "2.0-stable", build_image(seed=171))
    target.stop()
    cli("run", "--once")  # the target is down: the promotion waits for its next attempt

    code, out, _ = cli("queue", "--json")
    rows = json.loads(out)
    waiting = [r for r in rows if r["state"] == "waiting"]
    assert [(r["policyName"], r["source"], r["target"]) for r in waiting] == [
        ("scanned", "dev/app:1.0-stable", "app")
    ]
    assert waiting[0]["id"] is None and waiting[0]["since"]
    assert "scan" in waiting[0]["reason"] or "vulnerab" in waiting[0]["reason"]
    [entry] = [r for r in rows if r["state"] != "waiting"]
    assert entry["state"] == "pending" and entry["retrying"] is True
    assert entry["attempts"] >= 1 and entry["nextAttemptAt"] and entry["lastError"]

    code, out, _ = cli("queue")
    lines = {line.split()[1]: line for line in out.splitlines()[1:]}
    assert set(lines) == {"waiting", "retrying"}
    assert "scanned" in lines["waiting"] and "since " in lines["waiting"]
    assert "next " in lines["retrying"] and entry["lastError"][:30] in lines["retrying"]
    # --state picks: waiting only; pending includes retrying.
    assert [r["state"] for r in json.loads(cli("queue", "--state", "waiting", "--json")[1])] == [
        "waiting"
    ]
    assert len(json.loads(cli("queue", "--state", "pending", "--json")[1])) == 1

    # Nothing failed: nothing to retry, said plainly; a retrying entry is not "failed".
    code, _, err = cli("queue", "retry", "--failed")
    assert code == 0 and "no failed promotions to retry" in err
    code, _, err = cli("queue", "retry", str(entry["id"]))
    assert code == 1 and f"entry {entry['id']} is retrying" in err
    code, _, err = cli("queue", "retry")
    assert code == 2 and "give their ids" in err
    code, _, err = cli("queue", "retry", "5", "--failed")
    assert code == 2 and "not both" in err


def test_queue_retry_failed_requeues_every_failed_entry(  # type: ignore[no-untyped-def]
    cli, registry: RegistryServer
) -> None:
    _seed(cli, registry)  # template %n-qa
    assert cli("run", "--once")[0] == 0
    for seed, tag in ((180, "3.0-stable"), (181, "3.1-stable")):
        push_image(registry.url, "qa/website", f"{tag}-qa", build_image(seed=seed))  # squatters
        push_image(registry.url, "dev/website", tag, build_image(seed=seed + 10))
    assert cli("run", "--once")[0] == 1
    failed = [r["id"] for r in json.loads(cli("queue", "--state", "failed", "--json")[1])]
    assert len(failed) == 2
    code, _, err = cli("queue", "retry", str(failed[0]), "999")
    assert code == 2 and "there is no queue entry 999" in err  # and the known one went back
    assert [r["state"] for r in json.loads(cli("queue", "--json")[1])].count("pending") == 1
    code, out, err = cli("queue", "retry", "--failed")
    assert code == 0, err
    assert out.count("queued again") == 1 and f"entry {failed[1]} queued again" in out
    states = [r["state"] for r in json.loads(cli("queue", "--json")[1])]
    assert states == ["pending", "pending"]
    code, _, err = cli("queue", "retry", "--failed")
    assert code == 0 and "no failed promotions to retry" in err
    code, _, err = cli("retry", str(failed[0]))  # the old spelling still answers
    assert code == 1 and "only failed or skipped promotions can be retried" in err
