"""Every MSR criterion decides a promotion on real images: components and licenses read
from the image's layers or an attached SBOM, vulnerabilities from an attached scan
report — and "unknown" waits instead of promoting, until the report arrives."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import pytest

from hoister.policies import Rule
from tests.engine.harness import EngineHarness
from tests.facts.test_attached import SPDX_TYPE, TRIVY_TYPE, artifact, attach
from tests.facts.test_layers import entry, image_of, layer
from tests.facts.test_reports import trivy, trivy_vuln
from tests.facts.test_sbom import SPDX
from tests.support.images import build_index, push_image
from tests.support.registry import RegistryServer

Make = Callable[..., EngineHarness]
REPO = "dev/website"  # the attach() helper works on this repository

DPKG = b"""Package: busybox
Status: install ok installed
Version: 1.36.1-3

Package: openssl
Status: install ok installed
Version: 3.0.11-1

Package: telnet
Status: deinstall ok config-files
Version: 0.17
"""
APK = b"""P:musl
V:1.2.4-r2
L:MIT

P:zlib
V:1.3-r2
L:Zlib
"""


def test_components_and_licenses_from_the_layers_decide(
    registry: RegistryServer, make_harness: Make
) -> None:
    h = make_harness({"local": registry})
    h.policy(REPO, "qa/busybox-users", "%n", Rule("component.name", "sw", ["busy"]))
    h.policy(REPO, "qa/permissive", "%n", Rule("license.name", "oo", ["MIT", "Zlib"]))
    h.policy(REPO, "qa/no-telnet", "%n", Rule("component.name", "noo", ["telnet"]))
    h.engine.run_cycle()
    debian = image_of(layer(("var/lib/dpkg/status", DPKG)))
    alpine = image_of(layer(("lib/apk/db/installed", APK)))
    # a later layer deletes the dpkg database: nothing tells what is installed any more
    erased = image_of(layer(("var/lib/dpkg/status", DPKG)), layer(entry("var/lib/dpkg/.wh.status")))
    for tag, image in (("debian", debian), ("alpine", alpine), ("erased", erased)):
        push_image(registry.url, REPO, tag, image)
    h.engine.run_cycle()
    assert h.tags("qa/busybox-users") == ["debian"]
    assert h.tags("qa/permissive") == ["alpine"]  # dpkg records no licenses: unknown, waits
    assert h.tags("qa/no-telnet") == ["alpine", "debian"]  # telnet was removed, not installed
    undecided = {(u.tag, u.reason) for u in h.engine.undecided.due()}
    assert any(tag == "erased" and "no package database" in reason for tag, reason in undecided)


def test_a_scan_report_arriving_later_decides_the_vulnerability_rule(
    registry: RegistryServer, make_harness: Make
) -> None:
    h = make_harness({"local": registry})
    h.policy(REPO, "prod/website", "%n", Rule("vulnerability_critical", "lte", ["0"]))
    h.engine.run_cycle()
    clean, risky = image_of(layer(("etc/clean", b"1"))), image_of(layer(("etc/risky", b"2")))
    push_image(registry.url, REPO, "1.0", clean)
    push_image(registry.url, REPO, "2.0", risky)
    assert h.engine.run_cycle().promoted == 0  # no scan yet: unknown blocks the promotion
    assert {u.tag for u in h.engine.undecided.due()} == {"1.0", "2.0"}

    high = [trivy_vuln("CVE-2026-0001", "openssl", "HIGH")]
    medium = [trivy_vuln("CVE-2026-0002", "zlib", "MEDIUM")]
    attach(
        registry,
        clean,
        artifact(
            clean,
            TRIVY_TYPE,
            json.dumps(trivy(medium)).encode(),
            "application/json",
            "2026-11-30T08:00:00Z",
        ),
    )
    attach(
        registry,
        risky,
        artifact(
            risky,
            TRIVY_TYPE,
            json.dumps(trivy(high)).encode(),
            "application/json",
            "2026-11-30T08:00:00Z",
        ),
    )
    h.clock.advance(60)
    assert h.engine.run_cycle().promoted == 1
    assert h.tags("prod/website") == ["1.0"]
    promoted = next(r for r in h.history() if r.outcome == "matched")
    assert promoted.source_tag == "1.0"
    assert h.engine.undecided.due() == []  # decided both ways: nothing left waiting


@pytest.mark.parametrize(
    ("rule", "promoted"),
    [
        (Rule("vulnerability_major", "lte", ["1"]), True),  # MEDIUM -> major: 1
        (Rule("vulnerability_major", "lt", ["1"]), False),
        (Rule("vulnerability_minor", "eq", ["2"]), True),  # LOW x2 -> minor: 2
        (Rule("vulnerability_all", "gte", ["4"]), True),  # 1 critical + 1 major + 2 minor
        (Rule("vulnerability_all", "lt", ["4"]), False),
        (Rule("vulnerability_critical", "eq", ["1"]), True),  # CVSS 9.8 with word MEDIUM
    ],
)
def test_each_vulnerability_bucket_decides(
    registry: RegistryServer, make_harness: Make, rule: Rule, promoted: bool
) -> None:
    h = make_harness({"local": registry})
    h.policy(REPO, "prod/website", "%n", rule)
    h.engine.run_cycle()
    image = image_of(layer(("etc/app", b"x")))
    push_image(registry.url, REPO, "1.0", image)
    findings = [
        trivy_vuln("CVE-1", "a", "MEDIUM", {"nvd": {"V3Score": 9.8}}),
        trivy_vuln("CVE-2", "b", "MEDIUM"),
        trivy_vuln("CVE-3", "c", "LOW"),
        trivy_vuln("CVE-4", "d", "LOW"),
    ]
    attach(
        registry,
        image,
        artifact(image, TRIVY_TYPE, json.dumps(trivy(findings)).encode(), "application/json", None),
    )
    assert h.engine.run_cycle().promoted == (1 if promoted else 0)


def test_an_attached_sbom_answers_components_and_licenses(
    registry: RegistryServer, make_harness: Make
) -> None:
    h = make_harness({"local": registry})
    h.policy(
        REPO,
        "qa/no-gpl",
        "%n",
        Rule("license.name", "noo", ["AGPL-3.0-only"]),
        Rule("component.name", "eq", ["zlib"]),
    )
    h.policy(REPO, "qa/gpl-free", "%n", Rule("license.name", "noo", ["GPL-2.0-only"]))
    h.engine.run_cycle()
    image = image_of(layer(("etc/app", b"y")))  # no package database: only the SBOM tells
    push_image(registry.url, REPO, "1.0", image)
    attach(
        registry,
        image,
        artifact(image, SPDX_TYPE, json.dumps(SPDX).encode(), SPDX_TYPE, "2026-11-30T08:00:00Z"),
    )
    h.engine.run_cycle()
    assert h.tags("qa/no-gpl") == ["1.0"]
    assert h.tags("qa/gpl-free") == []  # busybox is GPL-2.0-only


def test_the_platform_rule_chooses_which_image_of_an_index_is_read(
    registry: RegistryServer, make_harness: Make
) -> None:
    h = make_harness({"local": registry})
    h.policy(
        REPO,
        "qa/arm",
        "%n",
        Rule("platform", "eq", ["linux/arm64"]),
        Rule("component.name", "eq", ["musl"]),
    )
    h.engine.run_cycle()
    amd = image_of(layer(("var/lib/dpkg/status", DPKG)))
    arm = image_of(layer(("lib/apk/db/installed", APK)), architecture="arm64")
    push_image(registry.url, REPO, "1.0", build_index([amd, arm]))
    h.engine.run_cycle()
    assert h.tags("qa/arm") == ["1.0"]


def test_image_facts_are_cached_by_digest(registry: RegistryServer, make_harness: Make) -> None:
    h = make_harness({"local": registry})
    h.policy(REPO, "qa/web", "%n", Rule("label.team", "eq", ["web"]))
    h.engine.run_cycle()
    image = image_of(layer(("etc/app", b"z")), labels={"team": "web"})
    push_image(registry.url, REPO, "1.0", image)
    h.engine.run_cycle()
    assert h.tags("qa/web") == ["1.0"]
    cached = h.engine.facts_cache.get(image.digest, "image")
    assert cached is not None and cached[0]["labels"] == {"team": "web"}


def test_a_configured_scanner_answers_when_nothing_is_attached(
    registry: RegistryServer,
    make_harness: Make,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    """The admin's scanner command runs with the image's reference; its report decides."""
    seen = tmp_path / "scanned"
    scanner = tmp_path / "fake-trivy"
    report = json.dumps(trivy([trivy_vuln("CVE-9", "openssl", "CRITICAL")]))
    scanner.write_text(f"#!/bin/sh\necho \"$1\" >> {seen}\ncat <<'EOF'\n{report}\nEOF\n")
    scanner.chmod(0o755)
    h = make_harness({"local": registry})
    profile = h.profiles.get("local")
    h.profiles.update(replace(profile, scanner=f"{scanner} {{ref}}"))
    h.policy(REPO, "prod/website", "%n", Rule("vulnerability_critical", "gte", ["1"]))
    h.engine.run_cycle()
    image = image_of(layer(("etc/app", b"s")))
    push_image(registry.url, REPO, "1.0", image)
    h.engine.run_cycle()
    assert h.tags("prod/website") == ["1.0"]
    assert seen.read_text().strip() == f"{registry.host}/{REPO}@{image.digest}"
