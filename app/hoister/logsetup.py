"""Logging: one rotating file per user, with secrets scrubbed from every line.

Redaction is done by a filter on the handlers rather than by discipline at call sites,
because the lines that leak are the ones nobody thought about: an exception message
that quotes a header, a library's debug output, a URL with a token in its query.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from typing import TextIO

from hoister.paths import Paths

_PATTERNS = [
    # Authorization: Bearer abc / Basic xyz, in headers, reprs and messages
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)([^'\",\r\n]+)"), r"\1<redacted>"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 <redacted>"),
    # JSON or form fields that carry secrets
    (
        re.compile(
            r"(?i)([\"']?(?:token|access_token|refresh_token|identitytoken|password|secret|auth)"
            r"[\"']?\s*[:=]\s*[\"']?)([^\"'&\s,}]+)"
        ),
        r"\1<redacted>",
    ),
    # the password of a URL (a team database's postgresql://user:password@host/db)
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@/\s]+)@"), r"\1***@"),
    # anything that looks like a JWT
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "<redacted-jwt>"),
]

FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"
#: Room a record's prefix (time, level, thread, logger) takes beside its message.
_PREFIX_ROOM = 256


class _RotatingLog(logging.handlers.RotatingFileHandler):
    """The standard rotating file, without what it pays per record for cases that are
    not Hoister's: two ``stat`` calls (is the log a special file?) and formatting every
    record twice (once to measure it). An agent logs a few lines per promotion, and
    that was 4 % of a promotion's CPU. The log still rotates once it reaches
    ``maxBytes``, give or take a record's prefix, and still sees what other processes
    appended (its size is read from the file).
    """

    def shouldRollover(self, record: logging.LogRecord) -> bool:
        if self.maxBytes <= 0:
            return False
        if self.stream is None:
            self.stream = self._open()
        self.stream.seek(0, 2)
        return self.stream.tell() + len(record.getMessage()) + _PREFIX_ROOM >= self.maxBytes


def redact(text: str) -> str:
    """Remove credentials and tokens from ``text``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message (and traceback) with secrets removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.msg = redact(message)
        record.args = None
        return True


def shutdown_logging() -> None:
    """Remove and close the handlers :func:`configure_logging` installed."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_hoister", False):
            root.removeHandler(handler)
            handler.close()


def attach_console(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Also log to stderr (the headless agent: its journal is stderr)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    handler.setLevel(level)
    handler._hoister = True  # type: ignore[attr-defined]
    logging.getLogger().addHandler(handler)


def configure_logging(
    paths: Paths, *, verbose: bool = False, stream: TextIO | None = None
) -> logging.Handler:
    """Log to ``paths.log_file`` (rotated at 2 MiB, 5 kept); ``verbose`` adds stderr."""
    paths.logs.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutdown_logging()
    root = logging.getLogger()
    file_handler = _RotatingLog(
        paths.log_file, maxBytes=2 * 1024 * 1024, backupCount=5, encoding="utf-8"
    )
    handlers: list[logging.Handler] = [file_handler]
    if verbose:
        handlers.append(logging.StreamHandler(stream or sys.stderr))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(RedactingFilter())
        handler._hoister = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # httpx logs every request at INFO; keep that for --verbose only.
    logging.getLogger("httpx").setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return file_handler
