"""The listener on hostile input: 400 in words, one log line, never a 500 or a traceback."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hoister.engine.listener import Listener
from hoister.engine.notices import PushNotice
from tests.support.images import sha256_digest

HEADERS = {"Content-Type": "application/json"}


@pytest.fixture
def listener() -> Iterator[Listener]:
    notices: list[PushNotice] = []
    with Listener(token=None, on_notice=notices.append) as running:
        yield running


def harbor(occur_at: Any) -> bytes:
    return json.dumps(
        {
            "type": "PUSH_ARTIFACT",
            "occur_at": occur_at,
            "operator": "alice",
            "event_data": {
                "resources": [{"tag": "1.0", "digest": sha256_digest(b"x")}],
                "repository": {"repo_full_name": "dev/app"},
            },
        },
        allow_nan=True,
    ).encode()


@pytest.mark.parametrize(
    "occur_at",
    [1e300, -1, -1e300, 10**30, "99999-01-01T00:00:00Z", "soon", True, [], {}],
    ids=["1e300", "negative", "-1e300", "huge-int", "year-99999", "word", "bool", "list",
         "object"],
)  # fmt: skip
def test_harbor_time_out_of_range_is_400(
    listener: Listener, occur_at: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="hoister")
    response = httpx.post(listener.url, content=harbor(occur_at), headers=HEADERS)
    assert response.status_code == 400
    assert "occur_at" in response.text and len(response.text) < 200
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_harbor_nan_is_400(listener: Listener, constant: str) -> None:
    body = harbor(0).replace(b'"occur_at": 0', f'"occur_at": {constant}'.encode())
    response = httpx.post(listener.url, content=body, headers=HEADERS)
    assert response.status_code == 400
    assert f"{constant} is not a JSON number" in response.text


@pytest.mark.parametrize("occur_at", [0, 1_700_000_000, 1.7e9, "2026-05-01T10:00:00Z", None])
def test_harbor_times_in_range_are_accepted(listener: Listener, occur_at: Any) -> None:
    response = httpx.post(listener.url, content=harbor(occur_at), headers=HEADERS)
    assert response.status_code == 200


def _raw(listener: Listener, data: bytes) -> bytes:
    with socket.create_connection(listener.address, timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\xff garbage\r\n\r\n",
        b"GET\r\n\r\n",
        b"POST /events HTTP/9.9\r\n\r\n",
        b"GET /events HTTP/1.1 extra words\r\n\r\n",
        b"A" * 70_000 + b"\r\n\r\n",
    ],
    ids=["binary", "bare-get", "version", "words", "too-long"],
)
def test_garbage_request_line_is_answered_400_with_one_log_line(
    listener: Listener, data: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hoister")
    answer = _raw(listener, data)
    assert answer.startswith(b"HTTP/1.0 4")
    assert len(answer.partition(b"\r\n\r\n")[2]) < 400  # a short text, no HTML page
    refused = [r for r in caplog.records if "refused a request" in r.getMessage()]
    assert len(refused) == 1
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_path_that_looks_like_an_ipv6_host_is_a_404(
    listener: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    assert _raw(listener, b"POST //[::1 HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 404")
    assert not [r for r in caplog.records if r.exc_info]
