"""The command line on hostile input: exit 2 for a bad file, 1 naming the registry, never
"internal error"."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.support.fakeregistry import Answer, FakeRegistry

Cli = Callable[..., CliResult]
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


@pytest.fixture
def fake(cli: Cli) -> Iterator[FakeRegistry]:
    with FakeRegistry() as server:
        code, _, err = cli("profile", "add", "fake", "--url", server.url)
        assert code == 0, err
        yield server


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"policies": ' + "[" * 1000 + "]" * 1000 + "}", "nested too deeply"),
        ("[" * 100_000, "nested too deeply"),
        ('[{"sourceRepository": ' + "9" * 5000 + "}]", "more than 4300 digits"),
        ('{"policies": [], "version": NaN}', "NaN"),
        ('[{"name": "\\ud800"}]', "surrogate"),
        ('[{"sourceRepository": "a", "targetRepository": "b", "tagTemplate": "x",'
         ' "lastPromotedAt": "99999-01-01T00:00:00Z"}]', "not an ISO 8601 time"),
        ('[{"sourceRepository": "a", "targetRepository": "b", "tagTemplate": "x",'
         ' "lastPromotedAt": "0001-01-01T00:00:00+14:00"}]', "not an ISO 8601 time"),
        ('{"policies": [{"sourceProfile": "fake", "sourceRepository": "a",'
         ' "targetRepository": "b", "tagTemplate": "x", "webhookUrl": "http://[::1/x"}]}',
         "not an http"),
    ],
    ids=["deep-policies", "deep-unclosed", "huge-int", "nan", "surrogate", "year-99999",
         "year-1-east", "webhook-ipv6"],
)  # fmt: skip
def test_import_of_a_hostile_file_is_invalid_input(
    cli: Cli, fake: FakeRegistry, tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "policies.json"
    path.write_text(text, encoding="utf-8")
    code, _, err = cli("policy", "import", str(path), "--profile", "fake")
    assert code == 2, err
    assert reason in err
    assert "internal error" not in err


def test_tags_with_a_deep_answer_fail_naming_the_registry(cli: Cli, fake: FakeRegistry) -> None:
    fake.set("GET", "/v2/dev/app/tags/list", Answer(200, b"[" * 5000 + b"]" * 5000))
    code, _, err = cli("tags", "dev/app", "--profile", "fake")
    assert code == 1
    assert fake.host in err and "nested too deeply" in err
    assert "internal error" not in err


def test_tags_with_a_malformed_link_fail_naming_the_registry(cli: Cli, fake: FakeRegistry) -> None:
    link = '<http://[::1/v2/dev/app/tags/list?n=1>; rel="next"'
    fake.set("GET", "/v2/dev/app/tags/list", Answer.json({"tags": ["a"]}, Link=link))
    code, _, err = cli("tags", "dev/app", "--profile", "fake")
    assert code == 1
    assert f"{fake.host} sent a malformed URL" in err
    assert "internal error" not in err


@pytest.mark.parametrize("digest", ["", "sha256:", "sha256:" + "z" * 64])
def test_inspect_of_an_index_with_a_bad_child_digest(
    cli: Cli, fake: FakeRegistry, digest: str
) -> None:
    body = (
        f'{{"schemaVersion": 2, "mediaType": "{OCI_INDEX}", "manifests": '
        f'[{{"mediaType": "{OCI_INDEX}", "digest": "{digest}", "size": 2}}]}}'
    ).encode()
    fake.set("GET", "/v2/dev/app/manifests/1", Answer(200, body, content_type=OCI_INDEX))
    code, _, err = cli("inspect", "dev/app:1", "--profile", "fake")
    assert code == 1
    assert fake.host in err and "invalid digest" in err
    assert "internal error" not in err


def test_promote_of_an_endless_index_chain_fails_in_words(cli: Cli, fake: FakeRegistry) -> None:
    def serve(method: str, target: str) -> Answer | None:
        if "/v2/dev/app/manifests/" not in target or method not in ("GET", "HEAD"):
            return None
        reference = target.rsplit("/", 1)[1]
        top = not reference.startswith("sha512:")  # the tag, and the digest it resolves to
        level = 0 if top else int(reference.split(":")[1], 16) + 1
        body = (
            f'{{"schemaVersion": 2, "mediaType": "{OCI_INDEX}", "manifests": [{{"mediaType":'
            f' "{OCI_INDEX}", "digest": "sha512:{level:0128x}", "size": 2}}]}}'
        ).encode()
        return Answer(200, body, content_type=OCI_INDEX)

    fake.route = serve
    code, _, err = cli("promote", "dev/app:1", "prod/app:1", "--profile", "fake")
    assert code == 1, err
    assert "nests indexes more than 8 deep" in err
    assert "internal error" not in err
