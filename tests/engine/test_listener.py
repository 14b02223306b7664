"""The notification listener against a real registry, and the faults a registry never sends.

The real ``docker-registry`` proves the envelope shape and the filtering (blobs, children
pushed by digest, referrer tags). Everything a well-behaved registry will not do on demand
(wrong tokens, huge or missing lengths, broken JSON, retries, out-of-order deliveries) is
sent with plain httpx or, where httpx insists on sending a whole body, a raw socket.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from hoister.engine import listener as listener_module
from hoister.engine.listener import Listener, PushNotice
from hoister.engine.notices import parse_envelope
from tests.support.fixtures import RegistryFactory
from tests.support.images import (
    OCI_INDEX,
    Image,
    build_artifact,
    build_image,
    build_index,
    push_image,
    sha256_digest,
)

TOKEN = "listener-test-token-7f3a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
V1 = "application/vnd.docker.distribution.events.v1+json"
JSON_HEADERS = {**AUTH, "Content-Type": V1}
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DIGEST_A = sha256_digest(b"a")
DIGEST_B = sha256_digest(b"b")


class Collector:
    """``on_notice`` for tests: records notices and lets a test wait for them (no sleeps)."""

    def __init__(self) -> None:
        self.notices: list[PushNotice] = []
        self.fail_with: Exception | None = None
        self._condition = threading.Condition()

    def __call__(self, notice: PushNotice) -> None:
        with self._condition:
            self.notices.append(notice)
            self._condition.notify_all()
            failure = self.fail_with
        if failure is not None:
            raise failure

    def wait_for(self, predicate: Callable[[list[PushNotice]], bool]) -> list[PushNotice]:
        with self._condition:
            if not self._condition.wait_for(lambda: predicate(self.notices), timeout=10):
                raise AssertionError(f"notice never came; received {self.notices}")
            return list(self.notices)


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
def listener(collector: Collector) -> Iterator[Listener]:
    with Listener(token=TOKEN, on_notice=collector) as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http:
        yield http


def event(
    tag: str | None = "1.0",
    digest: str = DIGEST_A,
    *,
    event_id: str = "ev-1",
    repository: str = "dev/app",
    media_type: str = OCI_MANIFEST,
    action: str = "push",
) -> dict[str, Any]:
    """An event shaped like the ones distribution 2.8.2 sends (captured from the binary)."""
    target: dict[str, Any] = {
        "mediaType": media_type,
        "size": 704,
        "digest": digest,
        "length": 704,
        "repository": repository,
        "url": f"http://127.0.0.1:5000/v2/{repository}/manifests/{digest}",
    }
    if tag is not None:
        target["tag"] = tag
    return {
        "id": event_id,
        "timestamp": "2026-11-30T04:58:07.041070465Z",
        "action": action,
        "target": target,
        "request": {"id": "r1", "addr": "127.0.0.1:56244", "host": "127.0.0.1:5000"},
        "actor": {},
        "source": {"addr": "vm:5000", "instanceID": "i1"},
    }


def envelope(*events: Any) -> bytes:
    return json.dumps({"events": list(events)}).encode()


def tagged(repository: str, tag: str) -> Callable[[list[PushNotice]], bool]:
    return lambda notices: any(n.repository == repository and n.tag == tag for n in notices)


def push_and_settle(
    registry_url: str, collector: Collector, pushes: list[tuple[str, str, Image]]
) -> list[PushNotice]:
    """Push, then push a sentinel and wait for it: the registry delivers to one endpoint in
    order, so once the sentinel's notice is in, every earlier event has been handled."""
    for repository, ref, image in pushes:
        push_image(registry_url, repository, ref, image)
    push_image(registry_url, "dev/sentinel", "done", build_image(seed=99, layers=1))
    notices = collector.wait_for(tagged("dev/sentinel", "done"))
    return [n for n in notices if n.repository != "dev/sentinel"]


# -- against the real registry ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["oci", "docker"])
def test_real_push_gives_one_notice(
    listener: Listener, collector: Collector, registry_factory: RegistryFactory, fmt: Any
) -> None:
    registry = registry_factory(notify_url=listener.url, notify_token=TOKEN)
    image = build_image(seed=1, fmt=fmt)

    notices = push_and_settle(registry.url, collector, [("dev/app", "1.0", image)])

    assert len(notices) == 1
    notice = notices[0]
    assert (notice.repository, notice.tag, notice.digest) == ("dev/app", "1.0", image.digest)
    assert notice.media_type == image.media_type
    assert notice.registry_host == registry.host
    assert notice.timestamp is not None and notice.timestamp.tzinfo is not None
    assert notice.actor is None  # anonymous registry: distribution sends "actor": {}
    # Blob pushes were delivered too (and ignored), all with the right token.
    assert listener.received > 2
    assert listener.rejected_auth == listener.malformed == listener.duplicates == 0


def test_real_index_push_gives_one_notice_for_the_tag(
    listener: Listener, collector: Collector, registry_factory: RegistryFactory
) -> None:
    registry = registry_factory(notify_url=listener.url, notify_token=TOKEN)
    index = build_index([build_image(seed=2), build_image(seed=3, platform=("linux", "arm64"))])

    notices = push_and_settle(registry.url, collector, [("dev/app", "multi", index)])

    assert [(n.tag, n.digest, n.media_type) for n in notices] == [
        ("multi", index.digest, OCI_INDEX)
    ]


def test_real_referrer_and_signature_tags_give_no_notice(
    listener: Listener, collector: Collector, registry_factory: RegistryFactory
) -> None:
    registry = registry_factory(notify_url=listener.url, notify_token=TOKEN)
    subject = build_image(seed=4)
    signature = build_artifact(subject, "application/vnd.dev.cosign", b"sig", "text/plain")
    fallback_tag = "sha256-" + subject.digest.removeprefix("sha256:")
    referrers = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{**signature.descriptor(), "artifactType": "application/vnd.dev.cosign"}],
        }
    ).encode()
    fallback_index = Image(referrers, OCI_INDEX, [], {}, [signature])

    notices = push_and_settle(
        registry.url,
        collector,
        [
            ("dev/app", "1.0", subject),
            ("dev/app", fallback_tag, fallback_index),
            ("dev/app", fallback_tag + ".sig", signature),
        ],
    )

    assert [(n.tag, n.digest) for n in notices] == [("1.0", subject.digest)]


# -- faults sent by hand ---------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": V1},
        {"Content-Type": V1, "Authorization": "Bearer wrong"},
        {"Content-Type": V1, "Authorization": f"Bearer {TOKEN}x"},
        {"Content-Type": V1, "Authorization": f"Basic {TOKEN}"},
        {"Content-Type": V1, "Authorization": TOKEN},
    ],
    ids=["none", "wrong", "longer", "basic", "bare"],
)
def test_missing_or_wrong_token_is_401(
    listener: Listener, collector: Collector, client: httpx.Client, headers: dict[str, str]
) -> None:
    response = client.post(listener.url, content=envelope(event()), headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert collector.notices == []
    assert listener.rejected_auth == 1


def raw_post(address: tuple[str, int], content_length: str, body: bytes) -> int:
    """POST with a hand-written Content-Length (httpx would not send a false one); the status.

    Reads the answer to EOF with a 5 s socket timeout: a server that waited for the body
    it was promised would make this raise instead of answering.
    """
    head = (
        "POST /events HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: {V1}\r\n"
        f"Content-Length: {content_length}\r\n\r\n"
    ).encode()
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(head + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b"\r\n", 1)[0].split(b" ", 2)[1])


def test_oversized_length_is_refused_without_reading_the_body(
    listener: Listener, collector: Collector
) -> None:
    # Claims 10 MB and sends 1 KiB: only a server that answers from the headers replies.
    assert raw_post(listener.address, "10485760", b"{" * 1024) == 413
    assert raw_post(listener.address, "9" * 5000, b"{}") == 413
    assert raw_post(listener.address, "12x", b"{}") == 400
    assert collector.notices == []
    assert (listener.rejected_size, listener.malformed) == (2, 1)


def test_body_over_max_body_is_413(collector: Collector, client: httpx.Client) -> None:
    with Listener(token=TOKEN, on_notice=collector, max_body=512) as small:
        response = client.post(
            small.url,
            content=envelope(*[event(event_id=f"e{i}") for i in range(10)]),
            headers=JSON_HEADERS,
        )
        assert response.status_code == 413
        assert small.rejected_size == 1
    assert collector.notices == []


def test_missing_length_is_411(listener: Listener, client: httpx.Client) -> None:
    # A generator body makes httpx send Transfer-Encoding: chunked and no Content-Length.
    response = client.post(listener.url, content=iter([envelope(event())]), headers=JSON_HEADERS)

    assert response.status_code == 411
    assert listener.rejected_size == 1


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_unexpected_content_type_is_415(
    listener: Listener, collector: Collector, client: httpx.Client, content_type: str
) -> None:
    response = client.post(
        listener.url, content=envelope(event()), headers={**AUTH, "Content-Type": content_type}
    )

    assert response.status_code == 415
    assert collector.notices == []


@pytest.mark.parametrize(
    "content_type",
    [
        V1,
        "application/vnd.docker.distribution.events.v2+json",
        "application/json; charset=utf-8",
    ],
)
def test_envelope_content_types_accepted(
    listener: Listener, collector: Collector, client: httpx.Client, content_type: str
) -> None:
    headers = {**AUTH, "Content-Type": content_type}
    response = client.post(listener.url, content=envelope(event()), headers=headers)

    assert response.status_code == 200
    assert [n.tag for n in collector.notices] == ["1.0"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe\x00", "not"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"[]", "events"),
        (b'{"events": {}}', "events"),
    ],
    ids=["truncated", "empty", "binary", "deep", "list", "events-object"],
)
def test_malformed_envelope_is_400_with_a_reason(
    listener: Listener, collector: Collector, client: httpx.Client, body: bytes, reason: str
) -> None:
    response = client.post(listener.url, content=body, headers=JSON_HEADERS)

    assert response.status_code == 400
    assert reason in response.text
    assert "Traceback" not in response.text
    assert collector.notices == []
    assert listener.malformed == 1


def test_one_malformed_event_is_skipped_and_the_good_one_kept(
    listener: Listener, collector: Collector, client: httpx.Client
) -> None:
    bad = event("1.0", "sha256:not-a-digest", event_id="bad")
    good = event("2.0", DIGEST_B, event_id="good")

    response = client.post(listener.url, content=envelope(bad, good), headers=JSON_HEADERS)

    assert response.status_code == 200
    assert [(n.tag, n.digest) for n in collector.notices] == [("2.0", DIGEST_B)]
    assert listener.malformed == 1
    assert listener.accepted == 1


def test_duplicate_delivery_triggers_once(
    listener: Listener, collector: Collector, client: httpx.Client
) -> None:
    body = envelope(event(event_id="same"))

    first = client.post(listener.url, content=body, headers=JSON_HEADERS)
    second = client.post(listener.url, content=body, headers=JSON_HEADERS)

    assert (first.status_code, second.status_code) == (200, 200)
    assert len(collector.notices) == 1
    assert listener.duplicates == 1
    assert listener.counters()["received"] == 2


def test_dedup_memory_forgets_the_oldest(
    listener: Listener,
    collector: Collector,
    client: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(listener_module, "DEDUP_MEMORY", 2)
    for event_id in ["a", "b", "c", "a"]:
        client.post(listener.url, content=envelope(event(event_id=event_id)), headers=JSON_HEADERS)

    assert [n.event_id for n in collector.notices] == ["a", "b", "c", "a"]
    assert listener.duplicates == 0


def test_out_of_order_pushes_are_passed_on_in_arrival_order(
    listener: Listener, collector: Collector, client: httpx.Client
) -> None:
    newer = event("1.0", DIGEST_B, event_id="newer")
    older = event("1.0", DIGEST_A, event_id="older")
    older["timestamp"] = "2026-11-30T04:00:00Z"

    for item in (newer, older):
        response = client.post(listener.url, content=envelope(item), headers=JSON_HEADERS)
        assert response.status_code == 200

    # Both reach the engine, which re-checks the tag's current digest before acting.
    assert [n.digest for n in collector.notices] == [DIGEST_B, DIGEST_A]


def test_on_notice_raising_is_500_and_the_retry_is_delivered(
    listener: Listener,
    collector: Collector,
    client: httpx.Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    collector.fail_with = RuntimeError("queue is full")
    body = envelope(event(event_id="retry-me"))

    with caplog.at_level(logging.ERROR, logger="hoister.engine.listener"):
        failed = client.post(listener.url, content=body, headers=JSON_HEADERS)
    collector.fail_with = None
    retried = client.post(listener.url, content=body, headers=JSON_HEADERS)

    assert failed.status_code == 500
    assert "queue is full" not in failed.text
    assert "queue is full" in caplog.text
    assert retried.status_code == 200  # the server survived, and the id was not burnt
    assert [n.event_id for n in collector.notices] == ["retry-me", "retry-me"]
    assert listener.accepted == 1
    assert listener.duplicates == 0


def test_token_never_appears_in_logs(
    listener: Listener, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="hoister.engine.listener"):
        client.post(listener.url, content=envelope(event()), headers=JSON_HEADERS)
        client.post(listener.url, content=b"{", headers=JSON_HEADERS)
        client.post(
            f"{listener.url}?token={TOKEN}",
            content=envelope(event()),
            headers={"Content-Type": V1, "Authorization": "Bearer guessed-secret"},
        )

    # Only Hoister's own lines: httpx logs the URL this test itself sent, token and all.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("hoister"))
    assert "POST /events" in ours
    assert TOKEN not in ours
    assert "guessed-secret" not in ours


def test_non_loopback_without_token_is_refused(collector: Collector) -> None:
    for host in ["0.0.0.0", "", "192.0.2.10", "registry.example"]:
        with pytest.raises(ValueError, match="without a shared secret"):
            Listener(host, token=None, on_notice=collector)
    with pytest.raises(ValueError, match="empty"):
        Listener("0.0.0.0", token="", on_notice=collector)


def test_loopback_without_token_accepts_unauthenticated_posts(
    collector: Collector, client: httpx.Client
) -> None:
    with Listener("127.0.0.1", token=None, on_notice=collector) as open_listener:
        assert open_listener.url.startswith("http://127.0.0.1:")
        response = client.post(
            open_listener.url, content=envelope(event()), headers={"Content-Type": V1}
        )
    assert response.status_code == 200
    assert len(collector.notices) == 1


def test_extra_routes_and_unknown_paths(collector: Collector, client: httpx.Client) -> None:
    routes = {"/healthz": lambda: (200, "text/plain", b"ok\n")}
    with Listener(token=TOKEN, on_notice=collector, extra_routes=routes) as running:
        base = running.url.removesuffix("/events")
        health = client.get(f"{base}/healthz")
        unknown = client.get(f"{base}/nope")
        get_events = client.get(running.url, headers=AUTH)
        post_health = client.post(f"{base}/healthz", content=b"x")

    assert (health.status_code, health.headers["Content-Type"], health.content) == (
        200,
        "text/plain",
        b"ok\n",
    )
    assert unknown.status_code == 404
    assert get_events.status_code == 405
    assert post_health.status_code == 405


def test_stop_closes_an_idle_connection(collector: Collector) -> None:
    running = Listener(token=TOKEN, on_notice=collector).start()
    with socket.create_connection(running.address, timeout=5) as idle:
        idle.sendall(b"POST /events HTTP/1.1\r\n")  # and then nothing more
        running.stop()  # must not wait for this client's timeout
        try:
            closed = idle.recv(1024) == b""
        except ConnectionResetError:  # cut by stop(): just as closed
            closed = True
    assert closed
    running.stop()  # idempotent


# -- parse_envelope on its own ---------------------------------------------------------


def test_parse_envelope_keeps_only_tagged_manifest_pushes() -> None:
    events = [
        event("1.0", event_id="keep"),
        event("list", media_type="application/vnd.docker.distribution.manifest.list.v2+json"),
        event(None, event_id="by-digest"),
        event("1.0", media_type="application/octet-stream", event_id="blob"),
        event("1.0", action="pull", event_id="pull"),
        event("1.0", action="mount", event_id="mount"),
        event("sha256-" + "a" * 64, event_id="referrers"),
        event("sha256-" + "a" * 64 + ".att", event_id="cosign"),
        event("1.0.hoister-backup-20261130T090503", event_id="backup"),
    ]

    notices = parse_envelope(envelope(*events))

    assert [n.tag for n in notices] == ["1.0", "list"]
    assert notices[0] == PushNotice(
        repository="dev/app",
        tag="1.0",
        digest=DIGEST_A,
        media_type=OCI_MANIFEST,
        registry_host="127.0.0.1:5000",
        event_id="keep",
        timestamp=datetime(2026, 11, 30, 4, 58, 7, 41070, tzinfo=UTC),
        actor=None,
    )


def test_parse_envelope_fallbacks_and_bad_events() -> None:
    no_request = event(event_id="no-request")
    del no_request["request"]
    no_request["actor"] = {"name": "alice"}
    no_request["timestamp"] = "yesterday"
    bad = [
        "not an object",
        event("-bad-tag"),
        event(repository="Dev/App"),
        event(event_id=""),
        {"action": "push", "target": []},
    ]

    notices = parse_envelope(envelope(no_request, *bad))

    assert len(notices) == 1
    assert notices[0].registry_host == "127.0.0.1:5000"  # from target.url
    assert notices[0].actor == "alice"
    assert notices[0].timestamp is None
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_envelope(b"<html>")
