"""HTTPS registries signed by a private CA, and Docker identity tokens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hoister.credentials import Credential
from hoister.errors import InvalidInput
from hoister.registry import RegistryClient, RetryPolicy, Unreachable
from tests.registry.conftest import ClientFactory
from tests.support.fixtures import RegistryFactory, TokenRegistry
from tests.support.registry import RegistryServer
from tests.support.tls import make_tls_files

APP = Path(__file__).resolve().parents[2] / "app"


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


def _ping_in_a_new_process(url: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter: the process-wide default trust is made and loaded there."""
    script = (
        "import sys\n"
        "from hoister.registry import RegistryClient, RetryPolicy\n"
        "from hoister.registry.session import default_trust\n"
        "client = RegistryClient(sys.argv[1], retry=RetryPolicy(attempts=1))\n"
        "try:\n"
        "    print(client.ping().api_version)\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
        "print('CAs loaded:', default_trust(False).cert_store_stats()['x509_ca'])\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, url],
        env={**os.environ, "PYTHONPATH": str(APP), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_the_default_trust_honours_ssl_cert_file_at_the_first_handshake(tls_registry) -> None:  # type: ignore[no-untyped-def]
    """Loaded at the first TLS handshake, the default trust is still httpx's own:
    ``SSL_CERT_FILE`` first, and a private CA not in it is refused."""
    server, files = tls_registry
    env = {"SSL_CERT_FILE": "", "SSL_CERT_DIR": ""}
    refused = _ping_in_a_new_process(server.url, env).stdout
    assert refused.startswith("Unreachable") and "could not be verified" in refused
    trusted = _ping_in_a_new_process(server.url, {**env, "SSL_CERT_FILE": str(files.ca)})
    assert trusted.stdout.splitlines() == ["registry/2.0", "CAs loaded: 1"]


def test_a_plain_http_registry_loads_no_ca_bundle(registry: RegistryServer) -> None:
    """The bundle costs every client tens of milliseconds; plain HTTP never reads it."""
    answer = _ping_in_a_new_process(registry.url, {"SSL_CERT_FILE": "", "SSL_CERT_DIR": ""})
    assert answer.stdout.splitlines() == ["registry/2.0", "CAs loaded: 0"]
