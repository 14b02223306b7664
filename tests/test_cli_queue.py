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
