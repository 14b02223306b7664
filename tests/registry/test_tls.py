"""HTTPS registries signed by a private CA, and Docker identity tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoister.credentials import Credential
from hoister.errors import InvalidInput
from hoister.registry import RegistryClient, RetryPolicy, Unreachable
from tests.registry.conftest import ClientFactory
from tests.support.fixtures import RegistryFactory, TokenRegistry
from tests.support.tls import make_tls_files


@pytest.fixture
def tls_registry(registry_factory: RegistryFactory, tmp_path: Path):  # type: ignore[no-untyped-def]
    files = make_tls_files(tmp_path / "tls")
    return registry_factory(tls=files), files


def test_unknown_ca_is_refused_with_the_fix(tls_registry, make_client: ClientFactory) -> None:  # type: ignore[no-untyped-def]
    server, _ = tls_registry
    client = make_client(server, retry=RetryPolicy(attempts=1))
    with pytest.raises(Unreachable, match=r"could not be verified .*--ca-file"):
        client.ping()


def test_ca_file_makes_the_registry_trusted(tls_registry, make_client: ClientFactory) -> None:  # type: ignore[no-untyped-def]
    server, files = tls_registry
    assert server.url.startswith("https://")
    assert make_client(server, ca_file=str(files.ca)).ping().api_version == "registry/2.0"


def test_insecure_skips_verification(tls_registry, make_client: ClientFactory) -> None:  # type: ignore[no-untyped-def]
    server, _ = tls_registry
    assert make_client(server, verify=False).ping().api_version == "registry/2.0"


def test_unusable_ca_file_is_invalid_input(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(InvalidInput, match="cannot be used"):
        RegistryClient("https://127.0.0.1:1", ca_file=str(bad))


def test_docker_identity_token_uses_the_oauth2_refresh_flow(
    token_registry: TokenRegistry, make_client: ClientFactory
) -> None:
    tokens = token_registry.tokens
    tokens.refresh_tokens["refresh-abc"] = "alice"
    credential = Credential("<token>", "refresh-abc", kind="identitytoken", source="docker")
    client = make_client(token_registry.registry, credential=credential)
    assert list(client.catalog()) == []
    assert [(r.method, r.grant_type, r.username) for r in tokens.requests] == [
        ("POST", "refresh_token", "alice")
    ]
