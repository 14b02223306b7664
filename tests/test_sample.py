"""Sample content: real images a second client can read, and one example policy, once."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hoister.policies import CycleError, Policy, Rule
from hoister.registry import RegistryClient
from hoister.sample import (
    POLICY_NAME,
    REPOSITORY,
    load_sample_content,
    next_stable_tag,
    push_stable_build,
    sample_images,
    sample_policy,
)
from hoister.store import Database, PolicyStore
from tests.support.images import skopeo_inspect
from tests.support.registry import RegistryServer


@pytest.fixture
def client(registry: RegistryServer) -> Iterator[RegistryClient]:
    with RegistryClient(registry.url) as made:
        yield made


@pytest.fixture
def policies(tmp_path: Path) -> Iterator[PolicyStore]:
    with PolicyStore(Database.open(tmp_path / "hoister.db")) as store:
        yield store


def test_load_pushes_tags_and_adds_the_example_policy(
    registry: RegistryServer, client: RegistryClient, policies: PolicyStore
) -> None:
    steps: list[str] = []
    report = load_sample_content(client, policies, "sandbox", progress=steps.append)

    assert report.repository == REPOSITORY == "dev/website"
    assert report.tags == ["1.0", "1.1", "1.2-rc1", "1.2-stable", "1.3"]
    assert sorted(client.tags(REPOSITORY)) == sorted(report.tags)
    assert [tag for tag in report.tags if tag.endswith("stable")] == ["1.2-stable"]
    assert steps[0] == "pushing dev/website:1.0" and steps[-1] == "adding the example policy"

    index = client.get_manifest(REPOSITORY, "1.3")
    assert index.is_index
    assert sorted(str(p) for p in index.platforms) == ["linux/amd64", "linux/arm64/v8"]
    assert index.digest == report.digests["1.3"]

    inspected = skopeo_inspect(registry.host, REPOSITORY, "1.2-stable")
    assert isinstance(inspected, dict)
    assert inspected["Digest"] == report.digests["1.2-stable"]
    assert inspected["Os"] == "linux" and inspected["Architecture"] == "amd64"
    assert inspected["Labels"]["org.opencontainers.image.title"] == "website"
    assert inspected["Labels"]["org.opencontainers.image.version"] == "1.2"

    [policy] = policies.list()
    assert policy.id == report.policy_id
    assert policy.name == POLICY_NAME == "Stable builds to QA"
    assert policy.source_profile == "sandbox" and policy.target_profile is None
    assert (policy.source_repository, policy.target_repository) == ("dev/website", "qa/website")
    assert policy.rules == (Rule("tag", "ew", ("stable",)),)
    assert policy.tag_template == "%Y%m%d-%H%M%S"
    assert policy.enabled and not policy.apply_existing
    assert "Save & Apply" in report.message and "1.2-stable" in report.message


def test_images_are_real_and_spread_over_days(client: RegistryClient) -> None:
    load_sample_content(client, None, "sandbox")
    created = []
    for tag in ("1.0", "1.1", "1.2-rc1", "1.2-stable"):
        manifest = client.get_manifest(REPOSITORY, tag)
        config = client.get_config(REPOSITORY, manifest)
        created.append(config["created"])
        [layer] = manifest.layers
        data = client.get_blob(REPOSITORY, layer.digest)
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
            member = tar.extractfile("srv/www/index.html")
            assert member is not None
            page = member.read().decode()
        assert f"website {config['config']['Labels']['org.opencontainers.image.version']}" in page
        assert config["rootfs"]["diff_ids"]
    assert created == sorted(created) and len({day[:10] for day in created}) == 4


def test_loading_twice_changes_nothing(client: RegistryClient, policies: PolicyStore) -> None:
    first = load_sample_content(client, policies, "sandbox")
    second = load_sample_content(client, policies, "sandbox")
    assert second.digests == first.digests
    assert second.policy_id == first.policy_id
    assert len(policies.list()) == 1
    assert "already there" in second.message


def test_the_example_policy_is_refused_if_it_closes_a_loop_through_an_alias(
    client: RegistryClient, policies: PolicyStore
) -> None:
    policies.add(Policy("mirror", "qa/website", "dev/website", "%n", name="back"))
    same = {"sandbox": "localhost:5000", "mirror": "localhost:5000"}
    with pytest.raises(CycleError, match="the same registry as sandbox"):
        load_sample_content(client, policies, "sandbox", identities=same)
    assert [p.name for p in policies.list()] == ["back"]


def test_without_a_store_only_images_are_pushed(client: RegistryClient) -> None:
    report = load_sample_content(client, None, "sandbox")
    assert report.policy_id is None
    assert "policy" not in report.message


def test_content_is_the_same_every_time() -> None:
    first = {tag: image.digest for tag, image in sample_images().items()}
    second = {tag: image.digest for tag, image in sample_images().items()}
    assert first == second
    assert len(set(first.values())) == len(first)
    assert sample_policy("a") == sample_policy("a")


def test_the_next_stable_build_is_one_minor_version_past_every_tag() -> None:
    assert next_stable_tag(sample_images()) == "1.4-stable"  # past 1.3 of the sample
    assert next_stable_tag(["1.9-stable", "1.10-stable", "latest", "sha256-ab.sig"]) == (
        "1.11-stable"
    )
    assert next_stable_tag([]) == "1.0-stable"


def test_a_stable_build_is_pushed_as_a_new_image(
    client: RegistryClient, registry: RegistryServer
) -> None:
    load_sample_content(client, None, "sandbox")
    tag, digest = push_stable_build(client)
    again, other = push_stable_build(client)
    assert (tag, again) == ("1.4-stable", "1.5-stable")
    assert digest != other
    inspected = skopeo_inspect(registry.host, REPOSITORY, tag)
    assert inspected["Digest"] == digest  # type: ignore[index]
    assert inspected["Labels"]["org.opencontainers.image.version"] == "1.4"  # type: ignore[index]
