"""JSON from outside Hoister, parsed with limits so a hostile document is refused in words.

``json.loads`` on its own turns a document nested a thousand levels deep into a
``RecursionError``, one with a 5,000-digit number into a bare ``ValueError``, and accepts
``NaN`` and lone UTF-16 surrogates that later break SQLite or ``str.encode``. Every
document that comes from a registry, a file a person imports, a notification or an
attached SBOM goes through :func:`loads` instead, which raises :class:`InvalidJSON` (a
``ValueError``) for all of these; callers turn it into their own typed error.

Depth limits (a scalar at the top is depth 0, ``{"a": []}`` is depth 2):

* :data:`DOCUMENT_DEPTH` = 64 for registry answers (manifests, indexes, tag lists,
  catalogs, referrers, token and error bodies), notification bodies, policy files and
  provenance records. The deepest of these in the wild is an OCI manifest with
  annotations inside a descriptor inside a list: 4 levels.
* :data:`SBOM_DEPTH` = 900 for SBOMs and scan reports. CycloneDX nests ``components``
  inside components for sub-assemblies and wraps documents in in-toto statements and
  DSSE envelopes. Generated SBOMs (syft, trivy, cdxgen) stay under 20 levels, but the
  SBOM readers walk components without recursion, so the limit only has to keep clear
  of Python's recursion limit (1000), where ``json`` itself gives up.

The depth is measured iteratively on the parsed value (no recursion), after a cheap
count of opening brackets skips the walk for documents that cannot exceed the limit.
"""

from __future__ import annotations

import json
import re
from typing import Any

DOCUMENT_DEPTH = 64
SBOM_DEPTH = 900

#: An escaped UTF-16 surrogate half; only then can a decoded string hold a lone one.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class InvalidJSON(ValueError):
    """A document that is not JSON, or JSON beyond Hoister's limits; ``str()`` says which.

    ``reason`` is the sentence without the name of the document, for callers that word
    the message themselves.
    """

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what} {reason}")
        self.what = what
        self.reason = reason


class BeyondLimits(InvalidJSON):
    """Well-formed JSON that Hoister still refuses: too deep, a huge number, a lone surrogate."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(
    data: str | bytes | bytearray, *, max_depth: int = DOCUMENT_DEPTH, what: str = "the document"
) -> Any:
    """Parse ``data`` as strict JSON nested at most ``max_depth`` levels.

    ``what`` names the document in the message ("the manifest sha256:…", "the file").
    """
    if isinstance(data, str) and not _encodable(data):  # stdin read with surrogateescape
        raise InvalidJSON(what, "is not UTF-8 text")
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InvalidJSON(
            what, f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise BeyondLimits(what, f"is nested too deeply (more than {max_depth} levels)") from None
    except UnicodeDecodeError:
        raise InvalidJSON(what, "is not UTF-8 text") from None
    except ValueError as exc:  # a 5,000-digit number, NaN, Infinity
        if "int_max_str_digits" in str(exc):
            raise BeyondLimits(what, "holds a number of more than 4300 digits") from None
        raise InvalidJSON(what, f"is not valid JSON: {_first_line(exc)}") from None
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    opening = raw.count(b"[") + raw.count(b"{")
    surrogates = _SURROGATE_ESCAPE.search(raw) is not None
    if opening > max_depth or surrogates:
        _check(value, max_depth, what, surrogates)
    return value


def depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects, measured without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        stack.extend((child, level) for child in children if isinstance(child, dict | list))
    return deepest


def _check(value: Any, max_depth: int, what: str, surrogates: bool) -> None:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, str):
            if surrogates and not _encodable(item):
                raise BeyondLimits(what, "holds text with a lone UTF-16 surrogate (\\ud800…)")
            continue
        if isinstance(item, dict):
            if surrogates:
                for key in item:
                    if not _encodable(key):
                        raise BeyondLimits(
                            what, "holds text with a lone UTF-16 surrogate (\\ud800…)"
                        )
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        level += 1
        if level > max_depth:
            raise BeyondLimits(what, f"is nested too deeply (more than {max_depth} levels)")
        stack.extend((child, level) for child in children)


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
