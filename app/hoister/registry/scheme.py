"""HTTPS or plain HTTP, for a registry address typed without a scheme.

People type ``127.0.0.1:5000`` or ``registry.lan:5000`` (the placeholder suggests it), and
such a registry often speaks plain HTTP. Treating every bare address as HTTPS made the
first request fail only after the client's retries (about 6 s), with an OpenSSL code.

:func:`detect_scheme` instead opens one TCP connection and sends a TLS hello, with short
timeouts. A server that completes the handshake (or answers it with a TLS alert, such as
a certificate or SNI refusal) speaks TLS: ``https``. A server that answers the hello
with something that is not TLS — a plain-HTTP registry replies ``HTTP/1.1 400`` — or
hangs up on it speaks plain HTTP: ``http``. One round trip decides, so there is no need
to guess from the host name (Docker treats ``localhost`` as an insecure registry by
default; here a loopback registry that does speak TLS is still used over TLS).

TLS is always tried first, so a password is never sent in clear to a server that would
have taken it encrypted. The certificate is not checked here: this only asks *which
protocol* the port speaks; the real connection verifies it as the profile says and
reports a certificate it cannot trust in words. A refused connection, an unknown host
or a timeout raise :class:`~hoister.registry.errors.Unreachable` with a sentence.
"""

from __future__ import annotations

import socket
import ssl

from hoister.registry.errors import Unreachable, describe_transport_error

#: Enough for a registry across the world to answer a TLS hello; a typo fails fast.
PROBE_TIMEOUT = 3.0


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


def speaks_tls(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether ``host:port`` answers a TLS hello as a TLS server would.

    ``host`` is a name or an IP address (IPv6 without brackets). Raises
    :class:`Unreachable` when no connection can be made at all.
    """
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise Unreachable(describe_transport_error(exc, netloc), host=netloc) from exc
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only the protocol is asked here, see the module
    try:
        with context.wrap_socket(
            raw, server_hostname=None if _is_ip(host) else host, do_handshake_on_connect=False
        ) as tls:
            tls.settimeout(timeout)
            tls.do_handshake()
    except ssl.SSLEOFError:
        return False  # hung up on the hello
    except ssl.SSLError as exc:
        # An alert is TLS speaking (it refuses us, but in TLS); anything else is not TLS.
        return "ALERT" in (exc.reason or "").upper() or "alert" in str(exc)
    except (ConnectionResetError, BrokenPipeError):
        return False
    except TimeoutError:
        # Connected, but no answer to the hello: a plain-HTTP server waits for a request.
        return False
    except OSError as exc:
        raise Unreachable(describe_transport_error(exc, netloc), host=netloc) from exc
    finally:
        raw.close()
    return True


def detect_scheme(host: str, port: int | None, timeout: float = PROBE_TIMEOUT) -> str:
    """``"https"`` or ``"http"`` for a registry typed as ``host[:port]`` (see the module).

    Without a port the registry is HTTPS on 443, as for Docker: a plain-HTTP registry on
    port 80 must be typed with ``http://``.
    """
    bare = host[1:-1] if host.startswith("[") else host
    if port is None:
        return "https"
    return "https" if speaks_tls(bare, port, timeout) else "http"
