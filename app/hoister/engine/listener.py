"""Receives a registry's notifications so a push is promoted the moment it lands.

Notifications are a shortcut, never the source of truth: a registry keeps them in memory,
delivers them in no guaranteed order and forgets them when it restarts. The engine
therefore keeps reconciling by polling; this listener only makes promotion immediate where
an admin pointed the registry at it. Out-of-order delivery (an older push of a tag arriving
after a newer one) is harmless because the engine re-reads the tag's current digest before
acting; the listener hands notices on in arrival order and decides nothing itself.

A registry retries a delivery it believes failed, so notices are deduplicated by event id.
Whoever reaches the port can claim that a push happened, hence the shared secret: binding a
non-loopback address without a token is refused. Loopback without a token is for tests
and demos only.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import socket
import socketserver
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

from hoister.engine.notices import ENVELOPE_TYPES, PushNotice, parse_counted

log = logging.getLogger(__name__)

MIB = 1024 * 1024
#: Event ids remembered for deduplication; a registry retries within minutes, not days.
DEDUP_MEMORY = 10_000
#: Seconds a silent client may hold a handler thread.
HANDLER_TIMEOUT = 10.0
#: Unread body bytes discarded after a refusal, so closing does not reset the connection
#: (and destroy the answer) before the client has read it.
_DRAIN_LIMIT = 64 * 1024
_DRAIN_TIMEOUT = 1.0
#: received: POSTs to the events path; accepted: notices handed to on_notice; rejected_size:
#: 411 and 413; malformed: 400s, 415s and events skipped inside a valid envelope.
COUNTERS = ("received", "accepted", "rejected_auth", "rejected_size", "malformed", "duplicates")

Route = Callable[[], tuple[int, str, bytes]]
_Hdrs = dict[str, str] | None
_TEXT = "text/plain; charset=utf-8"


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # another host name, or "" for every interface: assume reachable
        return False


def _counter(name: str) -> Any:
    return property(lambda self: self._count(name), doc=f"Thread-safe count: {name}.")


class Listener:
    """HTTP endpoint a registry posts notifications to; each new push goes to ``on_notice``.

    ``on_notice`` runs on the delivery's handler thread while the registry waits for the
    answer, so it should queue work rather than do it, and must not call ``stop()``.
    """

    received = _counter("received")
    accepted = _counter("accepted")
    rejected_auth = _counter("rejected_auth")
    rejected_size = _counter("rejected_size")
    malformed = _counter("malformed")
    duplicates = _counter("duplicates")

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None,
        on_notice: Callable[[PushNotice], None],
        max_body: int = MIB,
        path: str = "/events",
        extra_routes: Mapping[str, Route] | None = None,
    ) -> None:
        if token is not None and not token:
            raise ValueError("the notification token must not be empty")
        if token is None and not _is_loopback(host):
            raise ValueError(
                f"listening on {host or 'every interface'} without a shared secret would "
                "let anyone trigger promotions; set a token"
            )
        if not path.startswith("/"):
            raise ValueError(f"the events path must start with '/', got {path!r}")
        self.host, self.port, self.path, self.max_body = host, port, path, max_body
        self._expected = None if token is None else f"Bearer {token}".encode()
        self._on_notice = on_notice
        self.routes: dict[str, Route] = dict(extra_routes or {})
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Bind (port 0 picks a free one) and serve from a background thread; idempotent."""
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), _Handler)
        server.listener = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"hoister-listener-{self.address[1]}",
        )
        self._thread.start()
        log.info("listening for registry notifications on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop accepting, cut open connections and join every thread; idempotent."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.abort_connections()
        server.server_close()  # block_on_close: joins the handler threads
        if thread is not None:
            thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); only meaningful once started."""
        if self._server is None:
            raise RuntimeError("the listener is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """The URL to configure as the registry's notification endpoint."""
        host, port = self.address
        return f"http://{host}:{port}{self.path}"

    def counters(self) -> dict[str, int]:
        """A consistent snapshot of every counter, for metrics."""
        with self._lock:
            return dict(self._counts)

    def _count(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def _bump(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counts[name] += by

    def _authorized(self, header: str | None) -> bool:
        if self._expected is None:
            return True
        return hmac.compare_digest((header or "").encode("latin-1", "replace"), self._expected)

    def _hand_over(self, notices: list[PushNotice]) -> bool:
        """Call ``on_notice`` for each unseen event; False if it raised for any.

        A failed id is forgotten again so the registry's retry of the envelope delivers it.
        """
        ok = True
        for notice in notices:
            with self._lock:
                if notice.event_id in self._seen:
                    self._seen.move_to_end(notice.event_id)
                    self._counts["duplicates"] += 1
                    continue
                self._seen[notice.event_id] = None
                if len(self._seen) > DEDUP_MEMORY:
                    self._seen.popitem(last=False)
            try:
                self._on_notice(notice)
            except Exception:
                log.exception("handling the push of %s:%s failed", notice.repository, notice.tag)
                with self._lock:
                    self._seen.pop(notice.event_id, None)
                ok = False
            else:
                self._bump("accepted")
        return ok


class _Server(ThreadingHTTPServer):
    """Joins its handler threads on close and can cut open connections, so stop() is bounded."""

    daemon_threads = False
    block_on_close = True
    listener: Listener

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer would resolve its FQDN here, which can stall on a broken resolver.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def abort_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.0 on purpose: one delivery per connection keeps stop() from waiting on idlers."""

    server: _Server
    timeout = HANDLER_TIMEOUT
    server_version = "hoister-listener"
    sys_version = ""
    #: What a request line without a version is answered in: HTTP/0.9 answers carry no
    #: status line, so a client sending garbage would not even see its 400.
    default_request_version = "HTTP/1.0"
    error_message_format = "%(code)d %(message)s\n"
    error_content_type = _TEXT

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's refusals, as short text and never a 5xx: an unknown method (501) or
        HTTP version (505) is the client's mistake, not the listener's failure."""
        if code in (501, 505):
            code, message = 400, message or "unsupported method or HTTP version"
        super().send_error(code, message[:200] if message else message, explain)

    def _dispatch(self) -> None:
        try:
            self._route()
        except Exception:
            log.exception("notification listener failed on %s %s", self.command, self._path())
            self._reply(500, "internal error\n")

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def _path(self) -> str:
        """The request's path, never its query (it may carry a secret).

        Before the request line is parsed (or when it was garbage) there is no path.
        """
        raw = getattr(self, "path", "")
        try:
            return urlsplit(raw).path
        except ValueError:  # "//[" is a path urlsplit reads as an unclosed IPv6 host
            return raw.split("?", 1)[0]

    def _route(self) -> None:
        owner, path = self.server.listener, self._path()
        if path == owner.path:
            if self.command != "POST":
                return self._refuse(405, "use POST\n", {"Allow": "POST"})
            return self._deliver(owner)
        route = owner.routes.get(path)
        if route is None:
            return self._refuse(404, "not found\n")
        if self.command not in ("GET", "HEAD"):
            return self._refuse(405, "use GET\n", {"Allow": "GET, HEAD"})
        status, content_type, body = route()
        return self._reply(status, body, content_type)

    def _deliver(self, owner: Listener) -> None:
        owner._bump("received")
        if not owner._authorized(self.headers.get("Authorization")):
            owner._bump("rejected_auth")
            return self._refuse(
                401, "missing or wrong bearer token\n", {"WWW-Authenticate": "Bearer"}
            )
        declared = self.headers.get("Content-Length")
        if declared is None or self.headers.get("Transfer-Encoding"):
            owner._bump("rejected_size")
            return self._refuse(411, "Content-Length is required\n")
        if not ((digits := declared.strip()).isascii() and digits.isdigit()):
            owner._bump("malformed")
            return self._refuse(400, "invalid Content-Length\n")
        # The length check keeps int() off absurd numbers (Python refuses > 4300 digits).
        if len(digits) > 15 or (length := int(digits)) > owner.max_body:
            owner._bump("rejected_size")
            return self._refuse(413, f"envelope larger than {owner.max_body} bytes\n")
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type not in ENVELOPE_TYPES:
            owner._bump("malformed")
            return self._refuse(415, f"unexpected content type {content_type[:80]!r}\n")
        body = self.rfile.read(length)
        if len(body) < length:
            log.debug("client left after %d of %d bytes", len(body), length)
            return None
        try:
            notices, skipped = parse_counted(body)
        except ValueError as exc:
            owner._bump("malformed")
            return self._reply(400, f"malformed envelope: {exc}\n")
        owner._bump("malformed", skipped)
        if owner._hand_over(notices):
            return self._reply(200, f"{len(notices)} push(es)\n")
        return self._reply(500, "handling a push failed; retry\n")

    def _reply(
        self, status: int, body: bytes | str, ctype: str = _TEXT, extra: _Hdrs = None
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except OSError:
            log.debug("client left before the %d answer", status)

    def _refuse(self, status: int, text: str, headers: _Hdrs = None) -> None:
        """Answer without reading the body, then discard (never keep) a bounded part of it."""
        self.close_connection = True
        self._reply(status, text, extra={**(headers or {}), "Connection": "close"})
        if not (self.headers.get("Content-Length") or self.headers.get("Transfer-Encoding")):
            return
        with contextlib.suppress(OSError, ValueError):
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(_DRAIN_TIMEOUT)
            left = _DRAIN_LIMIT
            while left > 0 and (chunk := self.rfile.read1(min(left, 16384))):
                left -= len(chunk)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        command = getattr(self, "command", None) or "-"
        log.debug("%s %s -> %s from %s", command, self._path()[:200], code, self.client_address[0])

    def log_error(self, format: str, *args: Any) -> None:
        """One line for what the stdlib refuses itself: a garbage request line, a timeout."""
        text = (format % args)[:300]
        log.info("listener refused a request from %s: %s", self.client_address[0], text)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("listener: %s", format % args)
