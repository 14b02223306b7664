"""Limits on registry answers: what a broken or hostile registry sends is refused in words.

A real registry validates manifests and paginates correctly, so these answers come from
:class:`~tests.support.fakeregistry.FakeRegistry` over real HTTP, or, for faults in the
middle of a body, from an ``httpx.MockTransport`` stream that fails part-way.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from hoister.engine.promoter import CopyStats, Promoter, PromotionRequest, _Copy
from hoister.registry import (
    PaginationLoop,
    ProtocolError,
    RegistryError,
    RetryPolicy,
    Unreachable,
)
from hoister.registry import client as client_module
from hoister.registry.manifest import MAX_INDEX_DEPTH, Manifest
from hoister.registry.reference import sha256_digest
from tests.registry.conftest import ClientFactory
from tests.support.fakeregistry import Answer, FakeRegistry

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CHILD = "sha256:" + "a" * 64


@pytest.fixture
def fake() -> Iterator[FakeRegistry]:
    with FakeRegistry() as server:
        yield server


def deep(levels: int) -> bytes:
    return b'{"tags": ' + b"[" * levels + b"]" * levels + b"}"


def index(*children: str, media_type: str = OCI_MANIFEST) -> bytes:
    manifests = ",".join(
        f'{{"mediaType": "{media_type}", "digest": "{c}", "size": 10}}' for c in children
    )
    return (
        f'{{"schemaVersion": 2, "mediaType": "{OCI_INDEX}", "manifests": [{manifests}]}}'.encode()
    )


def manifest_answer(data: bytes, **headers: str) -> Answer:
    return Answer(200, data, headers, OCI_INDEX)


# -- JSON depth ------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [65, 1_000, 100_000])
def test_deeply_nested_tag_list_is_a_protocol_error(
    fake: FakeRegistry, make_client: ClientFactory, levels: int
) -> None:
    fake.set("GET", "/v2/dev/app/tags/list", Answer(200, deep(levels)))
    with pytest.raises(ProtocolError, match=rf"{fake.host} .*nested too deeply") as caught:
        list(make_client(fake.url).tags("dev/app"))
    assert caught.value.host == fake.host


def test_deeply_nested_manifest_is_a_protocol_error(
    fake: FakeRegistry, make_client: ClientFactory
) -> None:
    body = b'{"schemaVersion": 2, "annotations": {"a": ' + b"[" * 1000 + b"]" * 1000 + b"}}"
    fake.set("GET", "/v2/dev/app/manifests/1.0", manifest_answer(body))
    with pytest.raises(ProtocolError, match=r"broken manifest.*nested too deeply") as caught:
        make_client(fake.url).get_manifest("dev/app", "1.0")
    assert caught.value.host == fake.host


def test_deep_error_body_still_gives_the_status(
    fake: FakeRegistry, make_client: ClientFactory
) -> None:
    fake.set("GET", "/v2/dev/app/tags/list", Answer(403, b"[" * 5000 + b"]" * 5000))
    with pytest.raises(RegistryError, match="403 from"):
        list(make_client(fake.url).tags("dev/app"))


# -- Link headers and endless listings -------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        '<http://[::1/v2/_catalog?n=1>; rel="next"',
        '<http://127.0.0.1:notaport/v2/_catalog>; rel="next"',
        '<http://[zz]:5000/v2/_catalog>; rel="next"',
    ],
)
def test_malformed_link_is_a_protocol_error(
    fake: FakeRegistry, make_client: ClientFactory, link: str
) -> None:
    fake.set("GET", "/v2/_catalog", Answer.json({"repositories": ["a"]}, Link=link))
    with pytest.raises(ProtocolError, match=rf"{fake.host} sent a malformed URL|another host"):
        list(make_client(fake.url).catalog())


def test_endless_distinct_pages_stop_at_the_page_cap(
    fake: FakeRegistry, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "MAX_LISTING_PAGES", 30)

    def endless(method: str, target: str) -> Answer:
        page = len(fake.requests)
        return Answer.json(
            {"tags": [f"t{page}"]}, Link=f'</v2/dev/app/tags/list?last=t{page}>; rel="next"'
        )

    fake.route = endless
    with pytest.raises(ProtocolError, match=r"more than 30 pages .*do not end"):
        list(make_client(fake.url).tags("dev/app"))
    assert len(fake.requests) == 30


def test_endless_empty_pages_stop_at_the_page_cap(
    fake: FakeRegistry, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "MAX_LISTING_PAGES", 20)
    fake.route = lambda method, target: Answer.json(
        {"tags": []}, Link=f'</v2/dev/app/tags/list?page={len(fake.requests)}>; rel="next"'
    )
    with pytest.raises(ProtocolError, match="more than 20 pages"):
        list(make_client(fake.url).tags("dev/app"))


def test_listing_stops_at_the_entry_cap(
    fake: FakeRegistry, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "MAX_LISTING_ENTRIES", 2500)

    def pages(method: str, target: str) -> Answer:
        page = len(fake.requests)
        return Answer.json(
            {"tags": [f"p{page}-{i}" for i in range(1000)]},
            Link=f'</v2/dev/app/tags/list?last=p{page}>; rel="next"',
        )

    fake.route = pages
    with pytest.raises(ProtocolError, match="more than 2,500 tags"):
        list(make_client(fake.url).tags("dev/app"))
    assert len(fake.requests) == 3


def test_the_documented_caps() -> None:
    assert client_module.MAX_LISTING_PAGES == 10_000
    assert client_module.MAX_LISTING_ENTRIES == 1_000_000


def test_repeated_page_is_a_pagination_loop(fake: FakeRegistry, make_client: ClientFactory) -> None:
    fake.route = lambda method, target: Answer.json(
        {"tags": ["same"]}, Link=f'</v2/dev/app/tags/list?n={len(fake.requests)}>; rel="next"'
    )
    with pytest.raises(PaginationLoop):
        list(make_client(fake.url).tags("dev/app"))


# -- indexes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digest", "reason"),
    [
        ("", "invalid digest"),
        ("sha256:abc", "invalid digest"),
        ("sha256:" + "A" * 64, "invalid digest"),
        ("../../../etc", "invalid digest"),
        ("sha256:" + "a" * 64 + "/x", "invalid digest"),
    ],
)
def test_index_child_with_an_invalid_digest_is_refused_at_parse(digest: str, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        Manifest.parse(index(digest), sha256_digest(index(digest)))


@pytest.mark.parametrize(
    "descriptor",
    [
        '{"digest": "' + CHILD + '", "size": -1}',
        '{"digest": "' + CHILD + '", "size": true}',
        '{"digest": "' + CHILD + '", "size": 1.5}',
        '{"digest": 7, "size": 1}',
    ],
)
def test_layer_without_a_usable_size_or_digest_is_refused(descriptor: str) -> None:
    data = f'{{"schemaVersion": 2, "layers": [{descriptor}]}}'.encode()
    with pytest.raises(ProtocolError, match="descriptor"):
        Manifest.parse(data, sha256_digest(data))


def test_index_that_lists_itself_is_refused() -> None:
    # A real sha256 cannot be its own child; the digest is what the client computed.
    data = index(CHILD)
    with pytest.raises(ProtocolError, match="lists itself"):
        Manifest.parse(data, CHILD)


def test_other_algorithms_follow_the_oci_grammar() -> None:
    data = index("sha512:" + "b" * 128)
    assert Manifest.parse(data, sha256_digest(data)).manifests[0].digest.startswith("sha512:")


def _chain(fake: FakeRegistry, *, loop: bool = False) -> None:
    """``dev/app:1`` -> an index whose child is another index, endlessly (or back to itself).

    Children are named by sha512, which the client cannot check against sha256 bytes, so
    the server may answer anything for them: only a depth limit stops the walk.
    """

    def serve(method: str, target: str) -> Answer | None:
        if not target.startswith("/v2/dev/app/manifests/"):
            return None
        reference = target.rsplit("/", 1)[1]
        if method != "GET" and method != "HEAD":
            return None
        level = 0 if reference == "1" or loop else int(reference.split(":")[1], 16) + 1
        child = f"sha512:{level:0128x}"
        return manifest_answer(index(child, media_type=OCI_INDEX))

    fake.route = serve
    # the target repository never has anything
    fake.set("HEAD", "/v2/prod/app/manifests/1", Answer(404, b""))


@pytest.mark.parametrize("loop", [False, True], ids=["endless", "circular"])
def test_promotion_of_an_endless_index_chain_stops_at_the_depth_limit(
    fake: FakeRegistry, make_client: ClientFactory, loop: bool
) -> None:
    _chain(fake, loop=loop)
    client = make_client(fake.url)
    request = PromotionRequest(client, "dev/app", "1", client, "prod/app", "1")
    with pytest.raises(ProtocolError, match=f"nests indexes more than {MAX_INDEX_DEPTH} deep"):
        Promoter().promote(request)
    gets = [t for m, t in fake.requests if m == "GET" and "/manifests/" in t]
    assert len(gets) == MAX_INDEX_DEPTH
    assert not [t for m, t in fake.requests if m == "PUT"]  # nothing was written


def test_promotion_refuses_an_index_that_leads_back_to_an_ancestor(
    fake: FakeRegistry, make_client: ClientFactory
) -> None:
    # With sha256 children a cycle cannot be built (the client checks every digest), so
    # the walk is started as if CHILD were already above the index that lists it.
    data = index(CHILD)
    top = Manifest.parse(data, sha256_digest(data))
    client = make_client(fake.url)
    request = PromotionRequest(client, "dev/app", top.digest, client, "prod/app", "1")
    job = _Copy(Promoter(), request, CopyStats())
    with pytest.raises(ProtocolError, match=f"leads back to {CHILD}"):
        job.copy_tree(top, (CHILD,))
    assert fake.requests == []


# -- transport errors in the middle of a body -------------------------------------------


class _FailingStream(httpx.SyncByteStream):
    def __init__(self, first: bytes, error: Exception) -> None:
        self.first, self.error = first, error

    def __iter__(self) -> Iterator[bytes]:
        yield self.first
        raise self.error


def _failing(error: Exception, status: int = 200) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, stream=_FailingStream(b"partial", error))

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.ReadError("connection reset by peer"), Unreachable),
        (httpx.ReadTimeout("timed out"), Unreachable),
        (httpx.RemoteProtocolError("peer closed connection mid-chunk"), ProtocolError),
    ],
    ids=["read-error", "read-timeout", "remote-protocol-error"],
)
@pytest.mark.parametrize("what", ["blob", "manifest", "error-body"])
def test_transport_error_while_reading_a_body_is_typed(
    make_client: ClientFactory, error: Exception, expected: type[RegistryError], what: str
) -> None:
    status = 500 if what == "error-body" else 200
    client = make_client(
        "https://registry.test", transport=_failing(error, status), retry=RetryPolicy(attempts=1)
    )
    with pytest.raises(expected, match="cut off") as caught:
        if what == "blob":
            with client.open_blob("dev/app", CHILD) as reader:
                b"".join(reader)
        elif what == "manifest":
            client.get_manifest("dev/app", "1.0")
        else:
            client.open_blob("dev/app", CHILD)
    assert caught.value.host == "registry.test"


def test_body_that_is_not_what_its_encoding_says_is_a_protocol_error(
    make_client: ClientFactory,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"not gzip", headers={"Content-Encoding": "gzip"})

    client = make_client("https://registry.test", transport=httpx.MockTransport(handler))
    with pytest.raises(ProtocolError, match="cannot follow"):
        list(client.tags("dev/app"))


@pytest.mark.parametrize("location", ["http://[::1/upload", "http://127.0.0.1:x/upload"])
def test_malformed_upload_location_is_a_protocol_error(
    make_client: ClientFactory, location: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(202, headers={"Location": location})

    client = make_client("https://registry.test", transport=httpx.MockTransport(handler))
    with pytest.raises(ProtocolError, match="malformed URL"):
        client.upload_blob("dev/app", sha256_digest(b"x"), b"x")


def test_token_with_characters_a_header_cannot_carry_is_refused(
    make_client: ClientFactory,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            return httpx.Response(200, json={"token": "tök\nen"})
        if "authorization" in request.headers:
            return httpx.Response(200, json={"tags": []})
        return httpx.Response(
            401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.test/token"'}
        )

    client = make_client("https://registry.test", transport=httpx.MockTransport(handler))
    with pytest.raises(ProtocolError, match="cannot carry"):
        list(client.tags("dev/app"))


@pytest.mark.parametrize("realm", ["https://[::1/token", "ftp://auth.test/token", "not a url"])
def test_unusable_token_realm_is_a_registry_error(make_client: ClientFactory, realm: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={"WWW-Authenticate": f'Bearer realm="{realm}"'})

    client = make_client(
        "https://registry.test", transport=httpx.MockTransport(handler), retry=RetryPolicy(1)
    )
    with pytest.raises(RegistryError):
        list(client.tags("dev/app"))


def test_basic_challenge_without_credentials_on_a_streamed_read_is_unauthorized(
    fake: FakeRegistry, make_client: ClientFactory
) -> None:
    # Found by fuzzing: the body of the refused answer was read after it had been closed.
    challenge = Answer(401, b"[]", {"WWW-Authenticate": 'Basic realm="x"'})
    fake.set("GET", "/v2/dev/app/manifests/1", challenge)
    fake.set("GET", f"/v2/dev/app/blobs/{CHILD}", challenge)
    client = make_client(fake.url)
    with pytest.raises(RegistryError, match=r"401 from .* needs a login"):
        client.get_manifest("dev/app", "1")
    with pytest.raises(RegistryError, match=r"401 from .* needs a login"):
        client.open_blob("dev/app", CHILD)
