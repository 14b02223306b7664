"""SBOM parsing: SPDX and CycloneDX, bare and wrapped, and what is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hoister.errors import HoisterError
from hoister.facts.sbom import (
    FactError,
    WrongKind,
    parse_sbom,
    split_license_expression,
)

SPDX: dict[str, Any] = {
    "spdxVersion": "SPDX-2.3",
    "SPDXID": "SPDXRef-DOCUMENT",
    "name": "website",
    "creationInfo": {"created": "2026-11-30T08:15:00Z", "creators": ["Tool: syft-1.0"]},
    "packages": [
        {"name": "openssl", "licenseConcluded": "Apache-2.0", "licenseDeclared": "NOASSERTION"},
        {"name": "zlib", "licenseConcluded": "NOASSERTION", "licenseDeclared": "Zlib"},
        {"name": "busybox", "licenseDeclared": "GPL-2.0-only"},
        {"name": "rust-dual", "licenseConcluded": "(MIT OR Apache-2.0) AND BSD-3-Clause"},
        {"name": "openjdk", "licenseConcluded": "GPL-2.0-only WITH Classpath-exception-2.0"},
        {"name": "unknown-thing", "licenseConcluded": "NONE"},
        {"name": "openssl", "licenseConcluded": "Apache-2.0"},
        "not a package",
    ],
}

CYCLONEDX: dict[str, Any] = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.5",
    "metadata": {"timestamp": "2026-11-29T23:00:00+01:00", "component": {"name": "website"}},
    "components": [
        {"name": "flask", "licenses": [{"license": {"id": "BSD-3-Clause"}}]},
        {
            "name": "bundle",
            "licenses": [{"expression": "MIT OR Apache-2.0"}],
            "components": [
                {"name": "inner", "licenses": [{"license": {"name": "Custom License"}}]},
                {"name": "deeper", "components": [{"name": "deepest"}]},
            ],
        },
        {"name": "nolicense", "licenses": [{"license": {"id": "NOASSERTION"}}]},
    ],
}


def encode(document: Any) -> bytes:
    return json.dumps(document).encode()


def statement(predicate_type: str, predicate: Any, version: str = "v1") -> dict[str, Any]:
    return {
        "_type": f"https://in-toto.io/Statement/{version}",
        "subject": [{"name": "website", "digest": {"sha256": "ab" * 32}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def envelope(document: Any) -> dict[str, Any]:
    payload = base64.b64encode(encode(document)).decode()
    return {
        "payloadType": "application/vnd.in-toto+json",
        "payload": payload,
        "signatures": [{"keyid": "", "sig": "c2ln"}],
    }


def test_spdx_components_and_licenses() -> None:
    sbom = parse_sbom(encode(SPDX))
    assert sbom.format == "spdx" and sbom.label == "SPDX"
    assert sbom.components == (
        "openssl",
        "zlib",
        "busybox",
        "rust-dual",
        "openjdk",
        "unknown-thing",
    )
    assert sbom.licenses == (
        "Apache-2.0",
        "Zlib",
        "GPL-2.0-only",
        "MIT",
        "BSD-3-Clause",
        "GPL-2.0-only WITH Classpath-exception-2.0",
    )
    assert sbom.created == datetime(2026, 11, 30, 8, 15, tzinfo=UTC)


def test_cyclonedx_nested_components_and_expressions() -> None:
    sbom = parse_sbom(encode(CYCLONEDX))
    assert sbom.format == "cyclonedx"
    assert sorted(sbom.components) == ["bundle", "deeper", "deepest", "flask", "inner", "nolicense"]
    assert "website" not in sbom.components  # the image itself is not one of its components
    assert set(sbom.licenses) == {"BSD-3-Clause", "MIT", "Apache-2.0", "Custom License"}
    assert sbom.created == datetime(2026, 11, 29, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "ids"),
    [
        ("MIT", ["MIT"]),
        ("MIT OR Apache-2.0", ["MIT", "Apache-2.0"]),
        ("(MIT and Apache-2.0) or ISC", ["MIT", "Apache-2.0", "ISC"]),
        ("NOASSERTION", []),
        ("LicenseRef-acme  AND   NONE", ["LicenseRef-acme"]),
    ],
)
def test_license_expressions_split_into_ids(expression: str, ids: list[str]) -> None:
    assert split_license_expression(expression) == ids


@pytest.mark.parametrize("version", ["v0.1", "v1"])
def test_in_toto_statements_are_unwrapped(version: str) -> None:
    spdx = parse_sbom(encode(statement("https://spdx.dev/Document", SPDX, version)))
    assert spdx.format == "spdx" and "zlib" in spdx.components
    cdx = parse_sbom(encode(statement("https://cyclonedx.org/bom/v1.5", CYCLONEDX, version)))
    assert cdx.format == "cyclonedx" and "deepest" in cdx.components


def test_dsse_envelopes_are_unwrapped() -> None:
    sbom = parse_sbom(encode(envelope(statement("https://spdx.dev/Document/v2.3", SPDX))))
    assert sbom.components[0] == "openssl"


def test_cosign_custom_predicates_carry_the_document_as_a_string() -> None:
    wrapped = statement("https://spdx.dev/Document", {"Data": json.dumps(SPDX)})
    assert parse_sbom(encode(wrapped)).licenses[0] == "Apache-2.0"


def test_a_vulnerability_attestation_is_the_wrong_kind() -> None:
    vuln = statement("https://cosign.sigstore.dev/attestation/vuln/v1", {"scanner": {}})
    with pytest.raises(WrongKind, match="not an SBOM"):
        parse_sbom(encode(vuln))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply|not valid JSON"),
        (b"[1, 2]", "not an object"),
        (b'{"hello": "world"}', "neither an SPDX 2 nor a CycloneDX"),
        (b'{"spdxVersion": "SPDX-3.0"}', "SPDX 3"),
        (b'{"spdxVersion": "SPDX-2.3", "packages": {}}', "not a list"),
        (encode(envelope({"x": 1}) | {"payload": "***"}), "not base64"),
        (encode({"payloadType": "text/plain", "payload": ""}), "not an in-toto statement"),
        (encode(statement("https://spdx.dev/Document", 42)), "without a usable predicate"),
    ],
)
def test_bad_input_is_a_fact_error_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(FactError, match=reason) as caught:
        parse_sbom(data)
    assert isinstance(caught.value, HoisterError)


def test_an_oversized_sbom_is_refused_before_parsing() -> None:
    data = encode(SPDX)
    with pytest.raises(FactError, match=f"more than the {len(data) - 1} bytes"):
        parse_sbom(data, limit=len(data) - 1)
    with pytest.raises(FactError, match="32 MiB"):
        parse_sbom(b" " * (32 * 1024 * 1024 + 1))
    assert parse_sbom(data, limit=len(data)).format == "spdx"


def test_huge_nesting_of_components_is_walked_without_recursion() -> None:
    inner: dict[str, Any] = {"name": "leaf"}
    for depth in range(400):  # deeper than json's own limit would allow much beyond
        inner = {"name": f"level-{depth}", "components": [inner]}
    sbom = parse_sbom(encode({"bomFormat": "CycloneDX", "components": [inner]}))
    assert len(sbom.components) == 401
