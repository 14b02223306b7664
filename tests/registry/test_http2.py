"""HTTP/2 where the registry offers it and it is asked for, keep-alive everywhere
(registry/session.py).

distribution offers ``h2`` by ALPN on its TLS listener, so a client asked for HTTP/2
(with the ``h2`` package) speaks it there: every request of every promotion in flight
shares one connection. It is off by default (measured slower than kept-alive HTTP/1.1,
see the session module). Plain HTTP has no way to offer it (httpx has no h2c) and stays
HTTP/1.1, where kept-alive connections are reused instead of opened per request.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from hoister.registry import session
from hoister.registry.manifest import Descriptor
from tests.registry.conftest import ClientFactory
from tests.support.fixtures import RegistryFactory
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.support.tls import make_tls_files


def _version(client) -> str:  # type: ignore[no-untyped-def]
    response = client.session.send("GET", "/v2/", scopes=[], what="checking the API")
    return str(response.http_version)


def test_a_tls_registry_that_offers_http2_is_spoken_to_over_it_when_asked(
    registry_factory: RegistryFactory, tmp_path: Path, make_client: ClientFactory
) -> None:
    pytest.importorskip("h2", reason="HTTP/2 needs the h2 package (a dependency)")
    assert session.HTTP2_AVAILABLE
    files = make_tls_files(tmp_path / "tls")
    server = registry_factory(tls=files)
    assert _version(make_client(server, ca_file=str(files.ca))) == "HTTP/1.1"  # by default
    client = make_client(server, ca_file=str(files.ca), http2=True)
    assert _version(client) == "HTTP/2"
    image = build_image(seed=40)
    with httpx.Client(verify=ssl.create_default_context(cafile=str(files.ca))) as pusher:
        push_image(server.url, "dev/h2", "1", image, client=pusher)  # not Hoister's client
    descriptor = client.head_manifest("dev/h2", "1")
    assert isinstance(descriptor, Descriptor) and descriptor.digest == image.digest
    assert client.get_manifest("dev/h2", image.digest).data == image.manifest


def test_a_plain_http_registry_stays_on_http11_and_reuses_its_connection(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    client = make_client(registry)
    versions = {_version(client) for _ in range(5)}
    assert versions == {"HTTP/1.1"}
    pool = client.session._http._transport._pool  # type: ignore[attr-defined]
    assert len(pool.connections) == 1  # five requests, one kept-alive connection
