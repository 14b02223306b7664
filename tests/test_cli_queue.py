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
