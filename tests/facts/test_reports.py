"""Scan reports counted in MSR's buckets, whatever scanner wrote them."""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from hoister.facts.model import Vulnerabilities
from hoister.facts.reports import bucket_for_score, bucket_for_word, parse_report
from hoister.facts.sbom import FactError, WrongKind


def encode(document: Any) -> bytes:
    return json.dumps(document).encode()


def trivy_vuln(
    cve: str, package: str, word: str, cvss: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    entry: dict[str, Any] = {"VulnerabilityID": cve, "PkgName": package, "Severity": word}
    if cvss is not None:
        entry["CVSS"] = cvss
    return entry | extra


def trivy(*results: list[dict[str, Any]], created: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "SchemaVersion": 2,
        "ArtifactName": "registry.example/dev/website@sha256:" + "ab" * 32,
        "Results": [{"Target": f"target-{i}", "Vulnerabilities": r} for i, r in enumerate(results)],
    }
    if created:
        document["CreatedAt"] = created
    return document


TRIVY_WORDS = trivy(
    [
        trivy_vuln("CVE-2026-0001", "openssl", "CRITICAL"),
        trivy_vuln("CVE-2026-0002", "zlib", "HIGH"),
        trivy_vuln("CVE-2026-0003", "bash", "MEDIUM"),
        trivy_vuln("CVE-2026-0004", "tar", "LOW"),
        trivy_vuln("CVE-2026-0005", "gzip", "UNKNOWN"),
    ]
)


@pytest.mark.parametrize(
    ("score", "bucket"),
    [
        (10.0, "critical"),
        (7.0, "critical"),
        (6.9, "major"),
        (4.0, "major"),
        (3.9, "minor"),
        (0.1, "minor"),
        (0.0, None),
        (10.1, None),
        (math.nan, None),
    ],
)
def test_cvss_scores_fall_in_msr_buckets(score: float, bucket: str | None) -> None:
    assert bucket_for_score(score) == bucket


def test_severity_words_map_like_msr() -> None:
    words = ["CRITICAL", "High", "medium", "LOW", "UNKNOWN", "Negligible", None]
    buckets = ["critical", "critical", "major", "minor", None, None, None]
    assert [bucket_for_word(w) for w in words] == buckets


def test_trivy_with_words_only() -> None:
    report = parse_report(encode(TRIVY_WORDS))
    assert report.scanner == "Trivy"
    assert report.vulnerabilities == Vulnerabilities(critical=2, major=1, minor=1, total=5)
    assert report.vulnerabilities.all == 5 and report.findings == 5


def test_trivy_scores_decide_over_words_and_duplicates_count_once() -> None:
    first = [
        trivy_vuln("CVE-1", "openssl", "HIGH", {"nvd": {"V3Score": 9.8}}),
        # The word says HIGH, the score says 5.3: the score decides (major).
        trivy_vuln("CVE-2", "zlib", "HIGH", {"nvd": {"V3Score": 5.3, "V2Score": 7.5}}),
        # Severity taken from Red Hat: its score comes before NVD's.
        trivy_vuln(
            "CVE-3",
            "curl",
            "LOW",
            {"nvd": {"V3Score": 3.1}, "redhat": {"V3Score": 7.5}},
            SeveritySource="redhat",
        ),
        trivy_vuln("CVE-4", "bash", "MEDIUM"),
        trivy_vuln("CVE-5", "tar", "LOW"),
        trivy_vuln("CVE-6", "x", "UNKNOWN"),
        trivy_vuln("CVE-7", "y", "CRITICAL", {"ghsa": {"V2Score": 6.8}}),
        trivy_vuln("CVE-8", "z", "MEDIUM", {"nvd": {"V3Score": 0}}),  # 0: no score, use word
    ]
    second = [
        trivy_vuln("CVE-1", "openssl", "HIGH", {"nvd": {"V3Score": 9.8}}),  # same, other target
        trivy_vuln("CVE-1", "openssl-libs", "HIGH", {"nvd": {"V3Score": 9.8}}),
    ]
    report = parse_report(encode(trivy(first, second, created="2026-11-30T09:00:00.123456789Z")))
    assert report.vulnerabilities == Vulnerabilities(critical=3, major=4, minor=1, total=9)
    assert report.findings == 10
    assert report.created == datetime(2026, 11, 30, 9, 0, 0, 123456, tzinfo=UTC)


def test_a_clean_trivy_report_counts_zero() -> None:
    document = {"SchemaVersion": 2, "ArtifactName": "x", "Results": [{"Target": "os"}]}
    assert parse_report(encode(document)).vulnerabilities == Vulnerabilities(0, 0, 0, 0)


def test_grype() -> None:
    def match(cve: str, word: str, package: str, **extra: Any) -> dict[str, Any]:
        vulnerability = {"id": cve, "severity": word, **extra.pop("vuln", {})}
        return {"vulnerability": vulnerability, "artifact": {"name": package}, **extra}

    document = {
        "matches": [
            match("CVE-1", "High", "openssl", vuln={"cvss": [cvss("3.1", 9.1, "Primary")]}),
            match(
                "GHSA-1",
                "Medium",
                "lodash",
                relatedVulnerabilities=[
                    {"id": "CVE-9", "cvss": [cvss("2.0", 6.1), cvss("3.1", 3.3, "Secondary")]}
                ],
            ),
            match("CVE-3", "Negligible", "x"),
            match("CVE-4", "Critical", "tar"),
            match("CVE-4", "Critical", "tar"),
        ],
        "descriptor": {"name": "grype", "timestamp": "2026-11-30T10:00:00.5+02:00"},
    }
    report = parse_report(encode(document))
    assert report.scanner == "Grype"
    assert report.vulnerabilities == Vulnerabilities(critical=2, major=0, minor=1, total=4)
    assert report.findings == 5
    assert report.created == datetime(2026, 11, 30, 8, 0, 0, 500000, tzinfo=UTC)


def cvss(version: str, score: float, kind: str = "Primary") -> dict[str, Any]:
    return {"version": version, "metrics": {"baseScore": score}, "type": kind}


CYCLONEDX_VEX: dict[str, Any] = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.5",
    "metadata": {"timestamp": "2026-11-28T00:00:00Z", "tools": {"components": [{"name": "trivy"}]}},
    "components": [{"name": "a"}],
    "vulnerabilities": [
        {
            "id": "CVE-1",
            "ratings": [{"score": 9.8, "severity": "critical", "method": "CVSSv31"}],
            "affects": [{"ref": "pkg:a"}, {"ref": "pkg:b"}],
        },
        {
            "id": "CVE-2",
            "ratings": [
                {"severity": "high", "method": "other"},
                {"score": 5.0, "method": "CVSSv3"},
            ],
        },
        {"id": "CVE-3", "ratings": [{"severity": "low"}], "affects": [{"ref": "pkg:c"}]},
        {"id": "CVE-4", "ratings": [{"severity": "info"}]},
        {"id": "CVE-5", "ratings": [{"score": 8.0, "method": "OWASP", "severity": "medium"}]},
    ],
}


def test_cyclonedx_vulnerabilities() -> None:
    report = parse_report(encode(CYCLONEDX_VEX))
    assert report.scanner == "Trivy"
    assert report.vulnerabilities == Vulnerabilities(critical=2, major=2, minor=1, total=6)
    assert report.created == datetime(2026, 11, 28, tzinfo=UTC)


def test_a_cyclonedx_sbom_without_vulnerabilities_is_no_report() -> None:
    document = {key: CYCLONEDX_VEX[key] for key in ("bomFormat", "specVersion", "components")}
    with pytest.raises(WrongKind, match="no vulnerabilities section"):
        parse_report(encode(document))


def sarif_result(rule: str, text: str, index: int | None = None, **extra: Any) -> dict[str, Any]:
    location = {"physicalLocation": {"artifactLocation": {"uri": "dev/website"}}}
    result = {"ruleId": rule, "message": {"text": text}, "locations": [location], **extra}
    if index is not None:
        result["ruleIndex"] = index
    return result


def test_sarif_security_severity_then_trivy_tags_then_level() -> None:
    rules = [
        {"id": "CVE-1", "properties": {"security-severity": "9.8", "tags": ["CRITICAL"]}},
        {"id": "CVE-2", "properties": {"tags": ["vulnerability", "MEDIUM"]}},
        {"id": "RULE-3", "defaultConfiguration": {"level": "note"}},
    ]
    results = [
        sarif_result("CVE-1", "Package: openssl", 0, level="error"),
        sarif_result("CVE-1", "Package: openssl", 0, level="error"),  # the same result again
        sarif_result("CVE-1", "Package: openssl-libs", 0, level="error"),
        sarif_result("CVE-2", "Package: zlib", 1, level="error"),  # the tag says MEDIUM
        sarif_result("RULE-3", "by rule default"),
        sarif_result("X", "own score", level="error", properties={"security-severity": "3.5"}),
        sarif_result("Y", "error level", level="error"),
        sarif_result("Z", "no level", level="none"),
        sarif_result("W", "SARIF's default level is warning"),
    ]
    document = {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [
            {
                "tool": {"driver": {"name": "Trivy", "rules": rules}},
                "results": results,
                "invocations": [{"endTimeUtc": "2026-11-30T11:00:00Z"}],
            }
        ],
    }
    report = parse_report(encode(document))
    assert report.scanner == "Trivy"
    assert report.vulnerabilities == Vulnerabilities(critical=3, major=2, minor=2, total=8)
    assert report.findings == 9
    assert report.created == datetime(2026, 11, 30, 11, tzinfo=UTC)


def vuln_attestation(result: Any) -> dict[str, Any]:
    statement = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [{"name": "dev/website", "digest": {"sha256": "ab" * 32}}],
        "predicateType": "https://cosign.sigstore.dev/attestation/vuln/v1",
        "predicate": {
            "invocation": {"uri": "", "event_id": "", "builder.id": ""},
            "scanner": {"uri": "pkg:github/aquasecurity/trivy@0.57.0", "result": result},
            "metadata": {
                "scanStartedOn": "2026-11-30T11:59:00Z",
                "scanFinishedOn": "2026-11-30T12:00:00Z",
            },
        },
    }
    payload = base64.b64encode(encode(statement)).decode()
    return {"payloadType": "application/vnd.in-toto+json", "payload": payload, "signatures": []}


def test_cosign_vuln_attestation() -> None:
    report = parse_report(encode(vuln_attestation(TRIVY_WORDS)))
    assert report.scanner == "Trivy"
    assert report.vulnerabilities == Vulnerabilities(critical=2, major=1, minor=1, total=5)
    assert report.created == datetime(2026, 11, 30, 12, tzinfo=UTC)


def test_an_attestation_inside_an_attestation_is_refused() -> None:
    inner = json.loads(base64.b64decode(vuln_attestation(TRIVY_WORDS)["payload"]))
    with pytest.raises(FactError, match="itself an attestation"):
        parse_report(encode(vuln_attestation(inner)))


@pytest.mark.parametrize(
    ("document", "error", "reason"),
    [
        (b"Trivy crashed: panic", FactError, "not valid JSON"),
        (b"", FactError, "not valid JSON"),
        (b'"just a string"', FactError, "not an object"),
        (b'{"foo": []}', WrongKind, "not a Trivy, Grype, CycloneDX or SARIF"),
        (encode({"ArtifactName": "x", "Results": "nope"}), FactError, "not a list"),
        (encode({"matches": 3}), FactError, "not a list"),
        (encode(vuln_attestation(None)), FactError, "no scan result"),
        (
            encode(
                {
                    "_type": "https://in-toto.io/Statement/v1",
                    "predicateType": "https://slsa.dev/provenance/v1",
                    "predicate": {},
                }
            ),
            WrongKind,
            "not a scan report",
        ),
    ],
)
def test_bad_reports_are_fact_errors(document: bytes, error: type[Exception], reason: str) -> None:
    with pytest.raises(error, match=reason):
        parse_report(document)


def test_an_oversized_report_is_refused() -> None:
    data = encode(TRIVY_WORDS)
    with pytest.raises(FactError, match="more than"):
        parse_report(data, limit=100)
