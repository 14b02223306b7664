"""Failures below HTTP in words, and HTTPS or HTTP for an address typed without a scheme."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from hoister.registry import RetryPolicy, Unreachable
from hoister.registry.errors import describe_transport_error
from hoister.registry.scheme import detect_scheme, speaks_tls
from tests.registry.conftest import ClientFactory
from tests.support.fixtures import RegistryFactory
from tests.support.registry import RegistryServer
from tests.support.tls import make_tls_files


def closed_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _host_port(server: RegistryServer) -> tuple[str, int]:
    host, _, port = server.host.rpartition(":")
    return host, int(port)


def test_a_plain_http_registry_is_detected_as_http(registry: RegistryServer) -> None:
    host, port = _host_port(registry)
    assert not speaks_tls(host, port)
    assert detect_scheme(host, port) == "http"


def test_a_tls_registry_is_detected_as_https(
    registry_factory: RegistryFactory, tmp_path: Path
) -> None:
    server = registry_factory(tls=make_tls_files(tmp_path / "tls"))
    host, port = _host_port(server)
    # the certificate is not trusted here, yet the port plainly speaks TLS
    assert detect_scheme(host, port) == "https"


def test_without_a_port_the_address_is_https() -> None:
    assert detect_scheme("registry.example.com", None) == "https"


def test_a_closed_port_says_nothing_is_listening() -> None:
    port = closed_port()
    with pytest.raises(Unreachable) as caught:
        detect_scheme("127.0.0.1", port)
    assert str(caught.value) == (
        f"Nothing is listening on 127.0.0.1:{port}; is the registry running and the port right?"
    )


def test_a_refused_connection_is_a_sentence_without_errno(make_client: ClientFactory) -> None:
    port = closed_port()
    client = make_client(f"http://127.0.0.1:{port}", retry=RetryPolicy(attempts=1))
    with pytest.raises(Unreachable) as caught:
        client.ping()
    assert str(caught.value).startswith(f"Nothing is listening on 127.0.0.1:{port};")
    assert "Errno" not in str(caught.value)


def test_https_to_plain_http_fails_once_with_the_fix(
    registry: RegistryServer, make_client: ClientFactory, sleeps: list[float]
) -> None:
    client = make_client(f"https://{registry.host}")  # the default retries
    with pytest.raises(Unreachable) as caught:
        client.ping()
    assert str(caught.value).startswith(
        f"TLS handshake with {registry.host} failed: the server may speak plain HTTP — "
        f"try http://{registry.host}"
    )
    assert sleeps == []  # the same answer would come again: no retry, no wait


def test_an_untrusted_certificate_is_explained_without_openssl_codes(
    registry_factory: RegistryFactory,
    tmp_path: Path,
    make_client: ClientFactory,
    sleeps: list[float],
) -> None:
    server = registry_factory(tls=make_tls_files(tmp_path / "tls"))
    with pytest.raises(Unreachable) as caught:
        make_client(server).ping()
    text = str(caught.value)
    assert text.startswith(f"the TLS certificate of {server.host} could not be verified")
    assert "--ca-file" in text and "_ssl.c" not in text and "[SSL" not in text
    assert sleeps == []  # a certificate does not verify better a second time


def _wrapped(error: OSError) -> httpx.ConnectError:
    """The chain httpx builds: its ConnectError raised from the socket's error."""
    try:
        try:
            raise error
        except OSError as cause:
            raise httpx.ConnectError(str(cause)) from cause
    except httpx.ConnectError as exc:
        return exc


def test_a_host_name_that_does_not_exist() -> None:
    error = _wrapped(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    assert describe_transport_error(error, "regsitry.example.com:5000") == (
        "regsitry.example.com: host name not found; check the spelling of the registry address"
    )


def test_a_name_that_cannot_be_looked_up_now() -> None:
    error = _wrapped(socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"))
    assert "could not be looked up now" in describe_transport_error(error, "r.example.com")


def test_an_unreachable_network() -> None:
    import errno

    error = _wrapped(OSError(errno.ENETUNREACH, "Network is unreachable"))
    assert describe_transport_error(error, "10.9.9.9:5000") == (
        "no route to 10.9.9.9:5000: the network is unreachable"
    )


def test_a_timeout() -> None:
    text = describe_transport_error(httpx.ConnectTimeout("timed out"), "slow.example.com")
    assert text.startswith("slow.example.com did not answer in time")
