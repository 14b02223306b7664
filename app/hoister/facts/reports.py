"""Vulnerability counts from a scan report, in MSR's buckets.

MSR's rules compare counts of *critical* (CVSS >= 7.0), *major* (4.0 <= CVSS < 7.0) and
*minor* (0 < CVSS < 4.0) vulnerabilities, and *all*. Scanners speak in other terms, so
every finding is put in a bucket the same way whatever wrote it:

1. a CVSS base score, when the report has one (v3 preferred, then v4, then v2), decides;
2. otherwise the scanner's word: CRITICAL and HIGH -> critical, MEDIUM -> major,
   LOW -> minor (MSR's own mapping);
3. SARIF has no severity words; its ``level`` stands in for them the way Trivy writes it
   (CRITICAL/HIGH -> error, MEDIUM -> warning, LOW/UNKNOWN -> note), read backwards:
   error -> critical, warning -> major, note -> minor, none -> no bucket.

UNKNOWN, NEGLIGIBLE, INFO and NONE go in no bucket but count in *all*. The same
vulnerability found in the same package twice (two layers, two targets) counts once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hoister.facts.model import Vulnerabilities
from hoister.facts.sbom import (
    CYCLONEDX_PREDICATE,
    VULN_PREDICATE,
    FactError,
    WrongKind,
    load_json,
    parse_time,
    unwrap,
)

#: Scanner output is larger than an SBOM (one entry per finding per package); still capped.
MAX_REPORT_BYTES = 64 * 1024 * 1024

_WORDS = {
    "critical": "critical",
    "high": "critical",
    "medium": "major",
    "moderate": "major",
    "low": "minor",
}
_SARIF_LEVELS = {"error": "critical", "warning": "major", "note": "minor"}
#: A finding is identified by these; a repeat of the same key is not counted again.
Finding = tuple[tuple[str, ...], str | None]


@dataclass(frozen=True)
class ScanReport:
    """Counts from one report; ``findings`` is the entries read before de-duplication."""

    scanner: str
    vulnerabilities: Vulnerabilities
    findings: int
    created: datetime | None = None


def bucket_for_score(score: float) -> str | None:
    """MSR's bucket for a CVSS base score; None for 0 (no impact) or nonsense."""
    if not math.isfinite(score) or score <= 0 or score > 10:
        return None
    return "critical" if score >= 7.0 else "major" if score >= 4.0 else "minor"


def bucket_for_word(word: Any) -> str | None:
    """MSR's bucket for a severity word; None for UNKNOWN, NEGLIGIBLE and the like."""
    return _WORDS.get(str(word).strip().lower()) if word is not None else None


def _score(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return score if math.isfinite(score) and 0 < score <= 10 else None


def _bucket(scores: Iterable[Any], word: Any) -> str | None:
    for value in scores:
        score = _score(value)
        if score is not None:
            return bucket_for_score(score)
    return bucket_for_word(word)


def _count(scanner: str, findings: list[Finding], created: datetime | None) -> ScanReport:
    rank = {"critical": 3, "major": 2, "minor": 1, None: 0}
    worst: dict[tuple[str, ...], str | None] = {}
    for key, bucket in findings:
        if key not in worst or rank[bucket] > rank[worst[key]]:
            worst[key] = bucket
    buckets = list(worst.values())
    counts = Vulnerabilities(
        critical=buckets.count("critical"),
        major=buckets.count("major"),
        minor=buckets.count("minor"),
        total=len(buckets),
    )
    return ScanReport(scanner, counts, len(findings), created)


def _obj(value: Any, *keys: str) -> dict[str, Any]:
    """``value[k1][k2]...`` when every step is an object, else ``{}``: reports are untrusted."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def parse_report(data: bytes, *, limit: int = MAX_REPORT_BYTES) -> ScanReport:
    """Counts from Trivy JSON, Grype JSON, CycloneDX with vulnerabilities or SARIF 2.1.0,
    bare or in an in-toto attestation (cosign's vuln predicate included).

    Raises :class:`FactError` for invalid JSON or any other shape.
    """
    return report_from_document(load_json(data, limit, "scan report"))


def report_from_document(document: Any, *, wrapped: bool = True) -> ScanReport:
    """Like :func:`parse_report` for JSON already parsed.

    ``wrapped=False`` refuses attestations: the result inside a vuln attestation is a
    bare report, and allowing another layer would let a document nest without end.
    """
    predicate_type, document = unwrap(document, "scan report")
    if predicate_type is not None:
        if not wrapped:
            raise FactError("the scan result inside the attestation is itself an attestation")
        if predicate_type.startswith(VULN_PREDICATE):
            return _cosign_vuln(document)
        if not predicate_type.startswith(CYCLONEDX_PREDICATE):
            raise WrongKind(f"the attestation is a {predicate_type} predicate, not a scan report")
    if not isinstance(document, dict):
        raise FactError("the scan report is JSON but not an object")
    if "Results" in document or document.get("ArtifactName") is not None:
        return _trivy(document)
    if "matches" in document:
        return _grype(document)
    if document.get("bomFormat") == "CycloneDX":
        if not isinstance(document.get("vulnerabilities"), list):
            raise WrongKind("the CycloneDX document has no vulnerabilities section (not a scan)")
        return _cyclonedx(document)
    if isinstance(document.get("runs"), list) and "version" in document:
        return _sarif(document)
    raise WrongKind("the JSON is not a Trivy, Grype, CycloneDX or SARIF report")


def _trivy(document: dict[str, Any]) -> ScanReport:
    results = document.get("Results") or []
    if not isinstance(results, list):
        raise FactError("the Trivy report's 'Results' is not a list")
    findings: list[Finding] = []
    for result in _dicts(results):
        for vuln in _dicts(result.get("Vulnerabilities")):
            key = (str(vuln.get("VulnerabilityID", "")), str(vuln.get("PkgName", "")))
            cvss = _obj(vuln, "CVSS")
            # The vendor Trivy took the severity from first, then NVD, then any other.
            order = [str(vuln.get("SeveritySource")), "nvd", *cvss]
            sources = [cvss[s] for s in dict.fromkeys(order) if isinstance(cvss.get(s), dict)]
            scores = [s.get(v) for v in ("V3Score", "V40Score", "V2Score") for s in sources]
            findings.append((key, _bucket(scores, vuln.get("Severity"))))
    return _count("Trivy", findings, parse_time(document.get("CreatedAt")))


def _grype_scores(vulnerability: dict[str, Any]) -> list[Any]:
    entries = list(_dicts(vulnerability.get("cvss")))
    entries.sort(
        key=lambda e: (not str(e.get("version", "")).startswith("3"), e.get("type") != "Primary")
    )
    return [e["metrics"].get("baseScore") for e in entries if isinstance(e.get("metrics"), dict)]


def _grype(document: dict[str, Any]) -> ScanReport:
    matches = document.get("matches") or []
    if not isinstance(matches, list):
        raise FactError("the Grype report's 'matches' is not a list")
    findings: list[Finding] = []
    for match in _dicts(matches):
        vuln, artifact = _obj(match, "vulnerability"), _obj(match, "artifact")
        scores = _grype_scores(vuln)
        for related in _dicts(match.get("relatedVulnerabilities")):
            scores += _grype_scores(related)
        key = (str(vuln.get("id", "")), str(artifact.get("name", "")))
        findings.append((key, _bucket(scores, vuln.get("severity"))))
    timestamp = _obj(document, "descriptor").get("timestamp")
    return _count("Grype", findings, parse_time(timestamp))


def _cyclonedx_tool(metadata: dict[str, Any]) -> str:
    tools = metadata.get("tools")
    if isinstance(tools, dict):  # CycloneDX 1.5: {"components": [...], "services": [...]}
        tools = tools.get("components")
    for tool in _dicts(tools):
        if isinstance(tool.get("name"), str) and tool["name"].strip():
            return tool["name"].strip().capitalize()
    return "CycloneDX"


def _cyclonedx(document: dict[str, Any]) -> ScanReport:
    findings: list[Finding] = []
    for vuln in _dicts(document.get("vulnerabilities")):
        ratings = list(_dicts(vuln.get("ratings")))
        # CVSS ratings first (v3 before v4 before v2); OWASP or SSVC scores are other scales.
        order = {"CVSSv31": 0, "CVSSv3": 1, "CVSSv4": 2, "CVSSv2": 3}
        cvss = sorted(
            (r for r in ratings if str(r.get("method", "")) in order),
            key=lambda r: order[str(r["method"])],
        )
        word = next((r["severity"] for r in ratings if bucket_for_word(r.get("severity"))), None)
        bucket = _bucket([r.get("score") for r in cvss], word)
        refs = [str(a.get("ref", "")) for a in _dicts(vuln.get("affects"))] or [""]
        # One entry per package the vulnerability affects, as Trivy JSON lists them.
        findings += [((str(vuln.get("id", "")), ref), bucket) for ref in refs]
    metadata = _obj(document, "metadata")
    return _count(_cyclonedx_tool(metadata), findings, parse_time(metadata.get("timestamp")))


def _sarif_bucket(result: dict[str, Any], rule: dict[str, Any]) -> str | None:
    for where in (result, rule):
        score = _score(_obj(where, "properties").get("security-severity"))
        if score is not None:
            return bucket_for_score(score)
    tags = _obj(rule, "properties").get("tags")
    for tag in tags if isinstance(tags, list) else []:  # Trivy tags rules with the word
        if str(tag).upper() in ("CRITICAL", "HIGH", "MEDIUM", "LOW"):
            return bucket_for_word(tag)
    level = result.get("level") or _obj(rule, "defaultConfiguration").get("level")
    return _SARIF_LEVELS.get(str(level or "warning"))  # SARIF's default level is warning


def _sarif(document: dict[str, Any]) -> ScanReport:
    findings: list[Finding] = []
    scanner, created = "", None
    for run in _dicts(document.get("runs")):
        driver = _obj(run, "tool", "driver")
        scanner = scanner or str(driver.get("name") or "")
        rules = list(_dicts(driver.get("rules")))
        by_id = {str(r.get("id")): r for r in rules}
        for invocation in _dicts(run.get("invocations")):
            created = created or parse_time(invocation.get("endTimeUtc"))
        for result in _dicts(run.get("results")):
            index = result.get("ruleIndex")
            rule = rules[index] if isinstance(index, int) and 0 <= index < len(rules) else None
            rule = rule or by_id.get(str(result.get("ruleId")), {})
            text = _obj(result, "message").get("text")
            uris = [
                str(_obj(loc, "physicalLocation", "artifactLocation").get("uri"))
                for loc in _dicts(result.get("locations"))
            ]
            key = (str(result.get("ruleId", "")), str(text), *uris)
            findings.append((key, _sarif_bucket(result, rule)))
    return _count(scanner or "SARIF", findings, created)


def _cosign_vuln(predicate: dict[str, Any]) -> ScanReport:
    result = _obj(predicate, "scanner", "result")
    if not result:
        raise FactError("the vulnerability attestation carries no scan result")
    report = report_from_document(result, wrapped=False)
    finished = _obj(predicate, "metadata").get("scanFinishedOn")
    created = report.created or parse_time(finished)
    return ScanReport(report.scanner, report.vulnerabilities, report.findings, created)
