"""The tag details pane says what a policy would read: components, licenses, scan results."""

from __future__ import annotations

import json

from pytestqt.qtbot import QtBot

from hoister.ui.browsing.tag_details import TagDetails
from tests.engine.test_facts_promotion import DPKG
from tests.facts.test_attached import TRIVY_TYPE, artifact, attach
from tests.facts.test_layers import image_of, layer
from tests.facts.test_reports import trivy, trivy_vuln
from tests.support.images import push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory


def test_components_and_vulnerabilities_with_their_source(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    image = image_of(
        layer(("var/lib/dpkg/status", DPKG)),
        labels={"org.opencontainers.image.licenses": "Apache-2.0"},
    )
    push_image(registry.url, "dev/website", "1.0", image)
    report = trivy([trivy_vuln("CVE-2026-0001", "openssl", "CRITICAL")])
    attach(
        registry,
        image,
        artifact(
            image,
            TRIVY_TYPE,
            json.dumps(report).encode(),
            "application/json",
            "2026-11-30T08:00:00Z",
        ),
    )
    pane = TagDetails(make_context(local=registry), "local", "dev/website")
    qtbot.addWidget(pane)
    with qtbot.waitSignal(pane.referrers_loaded, timeout=20000):
        pane.show_tag("1.0")
    qtbot.waitUntil(lambda: "Contents and security" in pane.browser.toPlainText(), timeout=10000)
    text = pane.browser.toPlainText()
    assert "1 critical · 0 major · 0 minor · 1 in all" in text
    assert "Trivy report attached 2026-11-30" in text
    assert "busybox, openssl" in text and "dpkg status" in text
    assert "Apache-2.0" in text
