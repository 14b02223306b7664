"""A loopback HTTP proxy in front of a real registry that cuts one chosen request.

A registry does not cut its own connections; links, load balancers and proxies do. Two
kinds of cut, because they leave the registry in different states:

- ``"buffered"``: the proxy reads part of the request body, then resets the client. The
  registry sees nothing of that request, as behind nginx, which buffers request bodies
  by default. The upload session still holds exactly what it acknowledged.
- ``"forwarded"``: the proxy forwards the headers and part of the body, then drops both
  connections. The registry keeps the part it got (distribution then cancels the
  session on the next request, because its bytes no longer match its Location).
- ``"answer"``: the proxy forwards the request whole, then sends the answer's headers and
  the first ``after_bytes`` of its body, then closes (a download cut part-way).

Every other request is forwarded whole, with its ``Host`` header unchanged so that the
registry's ``Location`` headers point back at the proxy. ``log`` records each forwarded
request and its answer as an :class:`Exchange`, ``cuts`` the requests that were cut.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal, Self

HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}
)
CutMode = Literal["buffered", "forwarded", "answer"]


@dataclass
class Cut:
    """Cut the ``skip + 1``-th request with this method whose path contains ``path_part``."""

    method: str
    path_part: str
    mode: CutMode
    after_bytes: int
    skip: int = 0


@dataclass(frozen=True)
class Exchange:
    """One forwarded request and the registry's answer (headers as sent, names as is)."""

    method: str
    path: str
    status: int
    request: dict[str, str]
    response: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self._proxy()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _proxy(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        cut = self.server.take_cut(self.command, self.path)
        if cut is not None and cut.mode != "answer":
            self.server.cuts.append((self.command, self.path))
            part = self.rfile.read(min(cut.after_bytes, length))
            if cut.mode == "forwarded":
                self._forward_part(part, length)
            self._reset()
            return
        body = self.rfile.read(length) if length else b""
        if len(body) < length:  # the client gave up mid-body: a buffering proxy drops it
            self._reset()
            return
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=60)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP_HEADERS:
                    upstream.putheader(name, value)
            if length or self.command in ("POST", "PUT", "PATCH"):
                upstream.putheader("Content-Length", str(length))
            upstream.endheaders(body or None)
            response = upstream.getresponse()
            payload = response.read()
            headers = [(n, v) for n, v in response.getheaders() if n.lower() not in HOP_HEADERS]
            status = response.status
        finally:
            upstream.close()
        self.server.log.append(
            Exchange(self.command, self.path, status, dict(self.headers.items()), dict(headers))
        )
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if cut is not None:
            self.server.cuts.append((self.command, self.path))
            self.wfile.write(payload[: cut.after_bytes])
            # a FIN, not a RST: a RST would let the client's kernel drop what it had
            # received but not yet read, and the cut would land somewhere earlier
            self.close_connection = True
        elif self.command != "HEAD":
            self.wfile.write(payload)

    def _forward_part(self, part: bytes, length: int) -> None:
        """Start the request upstream with its full length announced, send ``part``, drop."""
        lines = [f"{self.command} {self.path} HTTP/1.1"]
        lines += [f"{n}: {v}" for n, v in self.headers.items() if n.lower() not in HOP_HEADERS]
        lines.append(f"Content-Length: {length}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        with socket.create_connection(self.server.upstream, timeout=60) as upstream:
            upstream.sendall(head + part)
            # Let the registry read what was sent before the line drops.
            upstream.shutdown(socket.SHUT_WR)
            upstream.settimeout(10)
            try:
                while upstream.recv(65536):
                    pass
            except OSError:
                pass

    def _reset(self) -> None:
        """Abort the client connection with a TCP RST."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: tuple[str, int]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.log: list[Exchange] = []
        self.cuts: list[tuple[str, str]] = []
        self.pending: list[Cut] = []
        self.lock = threading.Lock()

    def take_cut(self, method: str, path: str) -> Cut | None:
        with self.lock:
            for cut in self.pending:
                if cut.method == method and cut.path_part in path:
                    if cut.skip:
                        cut.skip -= 1
                        return None
                    self.pending.remove(cut)
                    return cut
        return None

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away is routine here."""


class CutProxy:
    """``start()`` listens on a free loopback port; point a client at ``url``."""

    def __init__(self, upstream_url: str) -> None:
        host, _, port = upstream_url.removeprefix("http://").rstrip("/").rpartition(":")
        self._server = _Server((host, int(port)))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def log(self) -> list[Exchange]:
        return self._server.log

    @property
    def cuts(self) -> list[tuple[str, str]]:
        return self._server.cuts

    def cut(self, cut: Cut) -> None:
        with self._server.lock:
            self._server.pending.append(cut)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
