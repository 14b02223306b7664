"""Fuzzing the notification listener over real HTTP: any body, any bytes on the socket.

The answer is always 2xx or 4xx (never 5xx), and nothing is logged with a traceback.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from hoister.engine.listener import Listener
from hoister.engine.notices import PushNotice
from tests.fuzz.support import FUZZ, deep, dumps, fuzz_timeout, json_values, tricky_text

TOKEN = "fuzz-token"
V1 = "application/vnd.docker.distribution.events.v1+json"
DIGEST = "sha256:" + "b" * 64


@pytest.fixture
def listener() -> Iterator[Listener]:
    notices: list[PushNotice] = []
    with Listener(token=TOKEN, on_notice=notices.append) as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


maybe = st.one_of(json_values, tricky_text)
times = st.one_of(
    st.floats(),  # NaN, infinities, 1e300
    st.integers(),
    st.integers(-(10**40), 10**40),
    tricky_text,
    json_values,
)
distribution_event = st.fixed_dictionaries(
    {},
    optional={
        "id": st.uuids().map(str) | maybe,
        "timestamp": times,
        "action": st.sampled_from(["push", "pull", "delete"]) | maybe,
        "target": st.fixed_dictionaries(
            {},
            optional={
                "mediaType": st.sampled_from(
                    ["application/vnd.oci.image.manifest.v1+json", "application/octet-stream"]
                )
                | maybe,
                "digest": st.just(DIGEST) | maybe,
                "repository": st.sampled_from(["dev/app", "Dev/App", "a" * 300]) | maybe,
                "tag": st.sampled_from(["1.0", "-bad", "sha256-" + "b" * 64]) | maybe,
                "url": st.sampled_from(["http://[::1/v2/x", "http://127.0.0.1:5000/v2/x"]) | maybe,
            },
        )
        | maybe,
        "request": st.fixed_dictionaries({}, optional={"host": maybe}) | maybe,
        "actor": st.fixed_dictionaries({}, optional={"name": maybe}) | maybe,
    },
)
harbor_payload = st.fixed_dictionaries(
    {"type": st.sampled_from(["PUSH_ARTIFACT", "pushImage"])},
    optional={
        "occur_at": times,
        "operator": maybe,
        "event_data": st.fixed_dictionaries(
            {},
            optional={
                "resources": st.lists(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "tag": st.just("1.0") | maybe,
                            "digest": st.just(DIGEST) | maybe,
                            "resource_url": maybe,
                        },
                    )
                    | maybe,
                    max_size=3,
                )
                | maybe,
                "repository": st.fixed_dictionaries(
                    {}, optional={"repo_full_name": st.just("dev/app") | maybe}
                )
                | maybe,
            },
        )
        | maybe,
    },
)
bodies = st.one_of(
    st.tuples(st.lists(distribution_event, max_size=4), st.booleans()).map(
        lambda p: ("distribution", dumps({"events": p[0]}, p[1]).encode("utf-8", "surrogatepass"))
    ),
    st.tuples(harbor_payload, st.booleans()).map(
        lambda p: ("harbor", dumps(p[0], p[1]).encode("utf-8", "surrogatepass"))
    ),
    json_values.map(lambda v: ("random-json", dumps(v, True).encode())),
    st.integers(1, 20_000).map(lambda n: ("deep", deep(n).encode())),
    st.binary(max_size=300).map(lambda b: ("bytes", b)),
)
content_types = st.sampled_from([V1, "application/json", "text/plain", "", "application/json; x"])


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@fuzz_timeout
@FUZZ
@given(body=bodies, content_type=content_types, authorized=st.booleans())
def test_any_body_is_answered_without_a_server_error(
    listener: Listener,
    http: httpx.Client,
    caplog: pytest.LogCaptureFixture,
    body: tuple[str, bytes],
    content_type: str,
    authorized: bool,
) -> None:
    caplog.clear()
    kind, data = body
    headers = {"Content-Type": content_type}
    if authorized:
        headers["Authorization"] = f"Bearer {TOKEN}"
    response = http.post(listener.url, content=data, headers=headers)
    event(f"{kind}: {response.status_code}")
    assert 200 <= response.status_code < 500, response.text
    assert not _tracebacks(caplog)


def _request(parts: tuple[bytes, bytes, bytes, list[bytes], bytes]) -> bytes:
    method, target, version, headers, body = parts
    line = b" ".join(x for x in (method, target, version) if x)
    return line + b"\r\n" + b"\r\n".join(headers) + b"\r\n\r\n" + body


request_lines = st.one_of(
    st.binary(max_size=400),
    st.tuples(
        st.sampled_from([b"GET", b"POST", b"PUT", b"\x00", b"", b"G\xffT"]),
        st.sampled_from([b"/events", b"//[::1", b"/metrics", b"*", b"/" + b"x" * 70_000, b""]),
        st.sampled_from([b"HTTP/1.0", b"HTTP/1.1", b"HTTP/9.9", b"HTTP/1.x", b""]),
        st.lists(
            st.sampled_from(
                [b"Content-Length: 5", b"Content-Length: -1", b"Content-Length: 99999999999",
                 b"Transfer-Encoding: chunked", b"Content-Type: application/json",
                 b"Authorization: Bearer fuzz-token", b"bad header", b"X: \xff"]
            ),
            max_size=4,
        ),
        st.binary(max_size=50),
    ).map(_request),
)  # fmt: skip


@fuzz_timeout
@FUZZ
@given(data=request_lines)
def test_any_bytes_on_the_socket_get_a_4xx_or_a_clean_close(
    listener: Listener, caplog: pytest.LogCaptureFixture, data: bytes
) -> None:
    caplog.clear()
    with socket.create_connection(listener.address, timeout=15) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            answer = b""  # the server closed while bytes were still unread: a clean refusal
    status = answer[9:12]
    event(f"status {status.decode('latin-1') or 'none'}")
    assert not status or status[:1] in (b"2", b"4"), answer[:200]
    assert not _tracebacks(caplog)
