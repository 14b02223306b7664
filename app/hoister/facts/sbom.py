"""Components and licenses from an SBOM: SPDX 2.x JSON or CycloneDX 1.x JSON.

SBOMs reach Hoister from people and tools it does not control: attached to an image as
an OCI referrer, under cosign's ``.sbom`` tag, or wrapped in an in-toto attestation
(itself often inside a DSSE envelope). Everything here treats the bytes as hostile: a
size cap before parsing, no recursion on nesting a document chooses, and one error type,
:class:`FactError`, whose sentence becomes the "unknown because ..." of a dry run.
Signatures on envelopes are not checked here; whether an image is signed is a fact of
its own, and the content is what this module reads.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from hoister import jsonlimits
from hoister.errors import HoisterError

#: An SBOM over this size is refused before parsing: JSON in memory is several times its
#: text, and no real image needs more.
MAX_SBOM_BYTES = 32 * 1024 * 1024
#: Nested CycloneDX components are walked iteratively and no further than this many in all.
MAX_COMPONENTS = 500_000

IN_TOTO_TYPES = frozenset({"https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1"})
IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
SPDX_PREDICATE = "https://spdx.dev/Document"
CYCLONEDX_PREDICATE = "https://cyclonedx.org/bom"
VULN_PREDICATE = "https://cosign.sigstore.dev/attestation/vuln/v1"

_IGNORED_LICENSES = frozenset({"", "NOASSERTION", "NONE"})
_LICENSE_SPLIT = re.compile(r"\s+(?:AND|OR)\s+", re.IGNORECASE)


class FactError(HoisterError):
    """An SBOM, report or scanner that could not give a fact; the message says why."""


class WrongKind(FactError):
    """Valid JSON of another kind (a scan report read as an SBOM, or the reverse).

    Separate because an attachment whose kind only its content tells is tried as both:
    being the other kind is then no failure worth reporting.
    """


@dataclass(frozen=True)
class Sbom:
    """What an SBOM tells: component names and license ids, each listed once."""

    format: Literal["spdx", "cyclonedx"]
    components: tuple[str, ...]
    licenses: tuple[str, ...]
    created: datetime | None = None

    @property
    def label(self) -> str:
        """The format's name as people write it, for "SPDX SBOM attached ..."."""
        return "SPDX" if self.format == "spdx" else "CycloneDX"


# -- shared with reports.py: bounded JSON and attestation wrappers ---------------------


def load_json(data: bytes, limit: int, what: str) -> Any:
    """Parse ``data`` as JSON, refusing it first if it is larger than ``limit`` bytes."""
    if len(data) > limit:
        raise FactError(
            f"the {what} is {len(data)} bytes, more than the {human_size(limit)} Hoister "
            "reads; ignored"
        )
    try:
        return jsonlimits.loads(data, max_depth=jsonlimits.SBOM_DEPTH, what=f"the {what}")
    except jsonlimits.InvalidJSON as exc:
        raise FactError(str(exc)) from exc


def unwrap(document: Any, what: str) -> tuple[str | None, Any]:
    """Peel a DSSE envelope and an in-toto statement; return (predicate type, content).

    A plain document comes back with ``None`` as its predicate type. cosign's "custom"
    predicates carry the document as a JSON string under ``Data``; that is parsed too.
    """
    if isinstance(document, dict) and "payloadType" in document and "payload" in document:
        if document["payloadType"] != IN_TOTO_PAYLOAD:
            raise FactError(
                f"the {what} is a DSSE envelope of {document['payloadType']!r}, not an "
                "in-toto statement"
            )
        try:
            payload = base64.b64decode(str(document["payload"]), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FactError(f"the payload of the {what}'s DSSE envelope is not base64") from exc
        document = load_json(payload, len(payload), f"{what}'s DSSE payload")
    if not isinstance(document, dict) or document.get("_type") not in IN_TOTO_TYPES:
        return None, document
    predicate_type = document.get("predicateType")
    predicate = document.get("predicate")
    if isinstance(predicate, dict) and isinstance(predicate.get("Data"), str):
        predicate = predicate["Data"]
    if isinstance(predicate, str):
        predicate = load_json(predicate.encode("utf-8"), MAX_SBOM_BYTES, f"{what}'s predicate")
    if not isinstance(predicate_type, str) or not isinstance(predicate, dict):
        raise FactError(f"the {what} is an in-toto statement without a usable predicate")
    return predicate_type, predicate


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time as an aware datetime (UTC when no zone is given); else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    # Go writes nanoseconds; Python 3.11 accepts at most microseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def human_size(size: int) -> str:
    """ "32 MiB" for round limits, else the bytes: for messages about caps."""
    mib = 1024 * 1024
    return f"{size // mib} MiB" if size >= mib and size % mib == 0 else f"{size} bytes"


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 120 else text[:117] + "..."


# -- SBOMs -----------------------------------------------------------------------------


def parse_sbom(data: bytes, *, limit: int = MAX_SBOM_BYTES) -> Sbom:
    """Read an SPDX 2.x or CycloneDX 1.x JSON SBOM, bare or in an attestation.

    Raises :class:`FactError` for anything else: invalid JSON, a tag-value or XML SBOM,
    SPDX 3, an attestation about something other than components.
    """
    predicate_type, document = unwrap(load_json(data, limit, "SBOM"), "SBOM")
    if predicate_type is not None:
        if predicate_type.startswith(SPDX_PREDICATE):
            return _spdx(document)
        if predicate_type.startswith(CYCLONEDX_PREDICATE):
            return _cyclonedx(document)
        raise WrongKind(f"the attestation is a {predicate_type} predicate, not an SBOM")
    if not isinstance(document, dict):
        raise FactError("the SBOM is JSON but not an object")
    if str(document.get("spdxVersion", "")).startswith("SPDX-2"):
        return _spdx(document)
    if document.get("bomFormat") == "CycloneDX":
        return _cyclonedx(document)
    if "@graph" in document or "spdxVersion" in document:
        raise FactError("the SBOM is SPDX, but not version 2 (SPDX 3 is not read yet)")
    raise WrongKind("the JSON is neither an SPDX 2 nor a CycloneDX document")


def split_license_expression(expression: str) -> list[str]:
    """License ids of a simple SPDX expression: ``(MIT OR Apache-2.0)`` -> both.

    ``X WITH exception`` stays one term, because the exception changes what X allows.
    NOASSERTION and NONE say "nothing known" and are dropped.
    """
    text = expression.replace("(", " ").replace(")", " ").strip()
    terms = (" ".join(term.split()) for term in _LICENSE_SPLIT.split(text))
    return [term for term in terms if term.upper() not in _IGNORED_LICENSES]


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _spdx(document: dict[str, Any]) -> Sbom:
    packages = document.get("packages", [])
    if not isinstance(packages, list):
        raise FactError("the SPDX document's 'packages' is not a list")
    names: list[str] = []
    licenses: list[str] = []
    for package in packages:
        if not isinstance(package, dict):
            continue
        if isinstance(package.get("name"), str):
            names.append(package["name"].strip())
        for key in ("licenseConcluded", "licenseDeclared"):
            if isinstance(package.get(key), str):
                licenses += split_license_expression(package[key])
    info = document.get("creationInfo")
    created = parse_time(info.get("created")) if isinstance(info, dict) else None
    return Sbom("spdx", _unique(names), _unique(licenses), created)


def _walk_components(top: Any) -> Iterator[dict[str, Any]]:
    """Every component, nested ones included, without recursion and with a ceiling."""
    stack = [top] if isinstance(top, list) else []
    seen = 0
    while stack:
        for component in stack.pop():
            if not isinstance(component, dict):
                continue
            seen += 1
            if seen > MAX_COMPONENTS:
                raise FactError(f"the CycloneDX document lists over {MAX_COMPONENTS} components")
            yield component
            if isinstance(component.get("components"), list):
                stack.append(component["components"])


def _cyclonedx_licenses(entries: Any) -> Iterator[str]:
    if not isinstance(entries, list):
        return
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("expression"), str):
            yield from split_license_expression(entry["expression"])
        license_ = entry.get("license")
        if isinstance(license_, dict):
            value = license_.get("id") or license_.get("name")
            if isinstance(value, str) and value.strip().upper() not in _IGNORED_LICENSES:
                yield value.strip()


def _cyclonedx(document: dict[str, Any]) -> Sbom:
    components = document.get("components", [])
    if not isinstance(components, list):
        raise FactError("the CycloneDX document's 'components' is not a list")
    names: list[str] = []
    licenses: list[str] = []
    for component in _walk_components(components):
        if isinstance(component.get("name"), str):
            names.append(component["name"].strip())
        licenses += _cyclonedx_licenses(component.get("licenses"))
    metadata = document.get("metadata")
    created = parse_time(metadata.get("timestamp")) if isinstance(metadata, dict) else None
    return Sbom("cyclonedx", _unique(names), _unique(licenses), created)
