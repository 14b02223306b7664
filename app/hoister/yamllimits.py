"""YAML from outside Hoister, read with the same limits as :mod:`hoister.jsonlimits`.

``yaml.safe_load`` builds no objects but plain data, yet on its own it still turns a
document nested a thousand levels deep into a ``RecursionError``, expands a few lines
of aliases (``&a [*b, *b, …]``) into billions of nodes for whoever walks the result, and
reads ``2026-11-30T09:00:00Z`` as a ``datetime`` where a file written by hand means a
string. :func:`loads` first walks the event stream, which PyYAML produces without
recursion, counting nesting and the nodes the aliases stand for; only a document within
:data:`~hoister.jsonlimits.DOCUMENT_DEPTH` levels and :data:`MAX_NODES` nodes is then
loaded, with timestamps kept as text and a key given twice in one mapping refused.
Every refusal is an :class:`~hoister.jsonlimits.InvalidJSON` (a ``ValueError``) whose
message names the line.
"""

from __future__ import annotations

from typing import Any, ClassVar

import yaml

from hoister.jsonlimits import DOCUMENT_DEPTH, BeyondLimits, InvalidJSON

#: Nodes a document may stand for once its aliases are expanded; a policy is ~40.
MAX_NODES = 1_000_000

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """Safe loading with timestamps left as strings and duplicate keys refused."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, Any]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
        for first, resolvers in _Base.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the base class words that error
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key '{str(key)[:80]}' is given twice", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def _where(mark: Any) -> str:
    return f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""


def _scan(text: str, what: str) -> None:
    """Refuse, from the event stream alone, nesting or alias expansion beyond the limits."""
    level = 0
    nodes = 0
    open_anchors: list[tuple[str | None, int]] = []  # per open collection: anchor, nodes before
    sizes: dict[str, int] = {}  # finished anchors: how many nodes each stands for
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in sizes:
                where = _where(event.start_mark)
                raise BeyondLimits(
                    what, f"has an alias *{event.anchor} inside its own anchor{where}"
                )
            nodes += sizes[event.anchor]
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            nodes += 1
            level += 1
            if level > DOCUMENT_DEPTH:
                raise BeyondLimits(
                    what,
                    f"is nested too deeply (more than {DOCUMENT_DEPTH} levels)"
                    f"{_where(event.start_mark)}",
                )
            open_anchors.append((event.anchor, nodes - 1))
        elif isinstance(event, yaml.CollectionEndEvent):
            level -= 1
            anchor, before = open_anchors.pop()
            if anchor is not None:
                sizes[anchor] = nodes - before
        if nodes > MAX_NODES:
            raise BeyondLimits(
                what, f"stands for more than {MAX_NODES:,} values (aliases included)"
            )


def _check_text(value: Any, what: str) -> None:
    """Strings must be encodable (a ``"\\ud800"`` escape makes a lone surrogate)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise BeyondLimits(
                    what, "holds text with a lone UTF-16 surrogate (\\ud800…)"
                ) from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def loads(text: str, *, what: str = "the document") -> Any:
    """Parse one YAML document (JSON is YAML too) within Hoister's limits."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # stdin read with surrogateescape
        raise InvalidJSON(what, "is not UTF-8 text") from None
    try:
        _scan(text, what)
        value = yaml.load(text, Loader=_Loader)  # a safe loader: plain data only
    except InvalidJSON:
        raise
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or exc.context or "not YAML"
        raise InvalidJSON(what, f"is not valid YAML: {problem}{_where(exc.problem_mark)}") from None
    except yaml.YAMLError as exc:
        raise InvalidJSON(what, f"is not valid YAML: {str(exc)[:200]}") from None
    except RecursionError:
        raise BeyondLimits(
            what, f"is nested too deeply (more than {DOCUMENT_DEPTH} levels)"
        ) from None
    except ValueError as exc:  # an integer of more than 4300 digits
        if "digits" in str(exc):
            raise BeyondLimits(what, "holds a number of more than 4300 digits") from None
        raise InvalidJSON(what, f"is not valid YAML: {str(exc)[:200]}") from None
    _check_text(value, what)
    return value
