"""A loopback HTTP proxy in front of a real registry that fails the way networks do.

A real ``docker-registry`` never answers 503 or drops a connection halfway, but load
balancers and flaky links do, and "promoted exactly once" has to survive them. The
proxy forwards plain HTTP to one upstream registry and, at random, injects:

- ``503``: answers 503 without forwarding (the request was not applied);
- ``upload reset``: reads part of a request body, then resets the connection (not applied);
- ``download reset``: forwards, then sends the headers and part of the body, then resets;
- ``drop answer``: forwards (the registry applied the request), then resets without
  sending a byte of the answer, so the client cannot know whether it happened.

The ``Host`` header is forwarded unchanged, so the registry's ``Location`` headers point
back at the proxy and every later request of an upload goes through it as well. Bodies
are buffered whole (the soak's images are small), which keeps the forwarding simple
enough to be trusted; ``tests/test_bench_flakyproxy.py`` checks it.
"""

from __future__ import annotations

import http.client
import io
import random
import socket
import struct
import sys
import threading
from dataclasses import dataclass, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

#: Headers that describe one hop, not the message; the proxy sets its own.
HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}
)
UPSTREAM_TIMEOUT = 60.0
FAULTS = ("503", "upload reset", "download reset", "drop answer")


@dataclass(frozen=True)
class FaultRates:
    """Probability of each fault per request (each applies only where it can)."""

    unavailable: float = 0.0  # 503 instead of forwarding
    upload_reset: float = 0.0  # requests with a body: part read, then reset
    download_reset: float = 0.0  # answers with a body: part sent, then reset
    drop_answer: float = 0.0  # forwarded and applied, then reset before answering

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault rate {item.name}={value} is not between 0 and 1")

    def describe(self) -> str:
        rates = [getattr(self, item.name) for item in fields(self)]
        return ", ".join(f"{name} {rate:.0%}" for name, rate in zip(FAULTS, rates, strict=True))


class FaultCounts:
    """How many requests went through and how many of each fault were injected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.faults = dict.fromkeys(FAULTS, 0)

    def request(self) -> None:
        with self._lock:
            self.requests += 1

    def fault(self, name: str) -> None:
        with self._lock:
            self.faults[name] += 1

    def merged(self, other: FaultCounts) -> FaultCounts:
        total = FaultCounts()
        total.requests = self.requests + other.requests
        total.faults = {name: self.faults[name] + other.faults[name] for name in FAULTS}
        return total


class _Handler(BaseHTTPRequestHandler):
    """One client connection; its upstream connection is its own and kept alive."""

    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def setup(self) -> None:
        super().setup()
        self._upstream: http.client.HTTPConnection | None = None

    def finish(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
        super().finish()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the soak prints counts, not a line per request."""

    def do_GET(self) -> None:
        self._proxy()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # -- the request ---------------------------------------------------------------------

    def _has_body(self) -> bool:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return True
        return int(self.headers.get("Content-Length") or 0) > 0

    def _read_body(self, limit: int | None = None) -> bytes:
        """The whole body (or its first ``limit`` bytes), de-chunked if it was chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length if limit is None else min(limit, length))

    def _read_chunked(self, limit: int | None) -> bytes:
        parts: list[bytes] = []
        received = 0
        while limit is None or received < limit:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            chunk = self.rfile.read(size if limit is None else min(size, limit - received))
            parts.append(chunk)
            received += len(chunk)
            if len(chunk) == size:
                self.rfile.readline()  # the CRLF after the chunk
        return b"".join(parts)

    # -- forwarding ----------------------------------------------------------------------

    def _proxy(self) -> None:
        rates, counts, rng = self.server.rates, self.server.counts, self.server.rng
        counts.request()
        roll = rng.random()
        if roll < rates.unavailable:
            self._read_body()
            counts.fault("503")
            self._answer(503, [("Retry-After", "0")], b"injected 503\n")
            return
        roll -= rates.unavailable
        if roll < rates.upload_reset and self._has_body():
            length = int(self.headers.get("Content-Length") or 0)
            self._read_body(limit=max(1, length // 2) if length else 1)
            counts.fault("upload reset")
            self._reset()
            return
        body = self._read_body()
        try:
            status, headers, payload = self._forward(body)
        except (OSError, http.client.HTTPException) as exc:
            self._answer(502, [], f"upstream failed: {exc}\n".encode())
            return
        roll = rng.random()
        if roll < rates.drop_answer:
            counts.fault("drop answer")
            self._reset()
            return
        roll -= rates.drop_answer
        if roll < rates.download_reset and payload and self.command != "HEAD":
            counts.fault("download reset")
            self._answer(status, headers, payload, cut=max(1, len(payload) // 2))
            return
        self._answer(status, headers, payload)

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send the request upstream on this connection's own client; one retry if stale."""
        for attempt in (1, 2):
            if self._upstream is None:
                host, port = self.server.upstream
                self._upstream = http.client.HTTPConnection(host, port, timeout=UPSTREAM_TIMEOUT)
            try:
                self._upstream.putrequest(
                    self.command, self.path, skip_host=True, skip_accept_encoding=True
                )
                for name, value in self.headers.items():
                    if name.lower() not in HOP_HEADERS:
                        self._upstream.putheader(name, value)
                if body or self.command in ("POST", "PUT", "PATCH"):
                    self._upstream.putheader("Content-Length", str(len(body)))
                self._upstream.endheaders(body or None)
                response = self._upstream.getresponse()
                payload = response.read()
                headers = [(n, v) for n, v in response.getheaders() if n.lower() not in HOP_HEADERS]
                if self.command == "HEAD" and response.getheader("Content-Length"):
                    headers.append(("Content-Length", response.getheader("Content-Length", "0")))
                return response.status, headers, payload
            except (OSError, http.client.HTTPException):
                self._upstream.close()
                self._upstream = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _answer(
        self, status: int, headers: list[tuple[str, str]], payload: bytes, cut: int | None = None
    ) -> None:
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        if self.command != "HEAD" or not any(n.lower() == "content-length" for n, _ in headers):
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload if cut is None else payload[:cut])
        if cut is not None:
            self._reset()

    def _reset(self) -> None:
        """Abort the connection with a TCP RST, as a dying load balancer does."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        # The socket closes for real only once its file objects are closed too.
        self.rfile.close()
        self.wfile.close()
        self.connection.close()
        # The server flushes wfile after every request; let it flush into nothing.
        self.wfile = io.BytesIO()


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    # Several clients start at once (three agents, a pusher); a small backlog would
    # refuse some of them, which is a fault nobody asked for.
    request_queue_size = 128

    def __init__(self, upstream: tuple[str, int], rates: FaultRates, seed: int | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.rates = rates
        self.counts = FaultCounts()
        self.rng = random.Random(seed)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away (an agent killed mid-request) is routine, not an error."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class FlakyProxy:
    """``start()`` listens on a free loopback port; ``url`` is what a profile points at."""

    def __init__(self, upstream_url: str, rates: FaultRates, seed: int | None = None) -> None:
        host_port = upstream_url.removeprefix("http://").rstrip("/")
        if "://" in host_port:
            raise ValueError(f"the flaky proxy forwards plain HTTP only, not {upstream_url}")
        host, _, port = host_port.rpartition(":")
        self._server = _ProxyServer((host, int(port)), rates, seed)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="flaky-proxy", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def counts(self) -> FaultCounts:
        return self._server.counts

    @property
    def rates(self) -> FaultRates:
        return self._server.rates

    @rates.setter
    def rates(self, value: FaultRates) -> None:
        """Change the rates while running (e.g. none while setting up a profile)."""
        self._server.rates = value

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and wait for the serving thread; idempotent."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
