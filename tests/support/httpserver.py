"""A loopback HTTP server base shared by the test token server and the notification sink.

Both helpers need the same lifecycle: bind to an ephemeral port (no port race), serve
from a background thread, and on ``stop()`` leave no thread behind, because the suite
fails a test that leaks threads. Handler threads are therefore *not* daemons and are
joined by ``server_close()``; a socket timeout bounds how long a silent client can
hold one open.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

#: Seconds a handler waits on a silent connection before giving up, so stop() stays bounded.
HANDLER_TIMEOUT = 5.0


def free_port(host: str = "127.0.0.1") -> int:
    """Return a port that was free a moment ago.

    Only for processes we cannot hand a socket to (the registry binary): there is a
    small race between closing the probe socket and the child binding it, which is
    acceptable on a loopback interface owned by the test run.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class QuietHandler(BaseHTTPRequestHandler):
    """Request handler that keeps the default access log off stderr.

    pytest shows captured stderr on failures; one line per request from every helper
    server would bury the useful output.
    """

    timeout = HANDLER_TIMEOUT

    def log_message(self, format: str, *args: object) -> None:
        """Discard the access log (see class docstring)."""

    def send_body(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        """Send a complete response with a Content-Length so HTTP/1.0 clients need no EOF."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self) -> bytes:
        """Read exactly the declared body; helpers never need chunked uploads."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer whose handler threads are joined on close (no leaks)."""

    daemon_threads = False
    block_on_close = True


class LoopbackHTTPServer:
    """Owns a ThreadingHTTPServer on 127.0.0.1 and the thread that runs it.

    Subclasses supply ``handler_class``; the handler reaches its owner through
    ``self.server.owner``.
    """

    handler_class: type[BaseHTTPRequestHandler] = QuietHandler
    thread_name = "loopback-http"

    def __init__(self) -> None:
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Base URL, only meaningful once started."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the serving thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Self:
        """Bind and serve in a background thread; idempotent."""
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), self.handler_class)
        server.owner = self  # type: ignore[attr-defined]
        self.port = int(server.server_address[1])
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.thread_name}-{self.port}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and join every thread; idempotent."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=HANDLER_TIMEOUT + 1)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
