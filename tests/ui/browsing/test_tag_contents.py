"""The tag details pane says what a policy would read: components, licenses, scan results."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pytestqt.qtbot import QtBot

from hoister.engine.promoter import Promoter, PromotionRequest
from hoister.engine.provenance import ProvenanceRecord, attach_provenance
from hoister.facts.contents import LICENSE_LABEL
from hoister.registry import Descriptor, RegistryClient
from hoister.ui.browsing.tag_details import TagDetails
from hoister.ui.browsing.tags_model import TAG
from hoister.ui.browsing.tags_view import TagsView
from hoister.ui.main_window import MainWindow
from tests.engine.test_facts_promotion import DPKG
from tests.facts.test_attached import SPDX_TYPE, TRIVY_TYPE, artifact, attach
from tests.facts.test_layers import image_of, layer
from tests.facts.test_reports import trivy, trivy_vuln
from tests.facts.test_sbom import SPDX
from tests.support.images import build_image, push_image
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


def promote(registry: RegistryServer, tag: str, target_tag: str) -> None:
    """As the engine does: copy with the referrers (an SBOM goes along), then the record."""
    with RegistryClient(registry.url) as client:
        outcome = Promoter().promote(
            PromotionRequest(client, "dev/website", tag, client, "qa/website", target_tag)
        )
        assert outcome.status == "promoted"
        record = ProvenanceRecord(
            policy_id=1,
            policy_name="Stable builds to QA",
            source_registry=client.host,
            source_repository="dev/website",
            source_tag=tag,
            source_digest=outcome.digest,
            target_repository="qa/website",
            target_tag=target_tag,
            promoted_at=datetime(2026, 11, 30, 9, 5, tzinfo=UTC),
            promoted_by="engine@qa-box",
        )
        manifest = client.get_manifest("qa/website", target_tag)
        subject = Descriptor(manifest.media_type, manifest.digest, manifest.size)
        attach_provenance(client, "qa/website", subject, record)


def contents_of(qtbot: QtBot, view: TagsView, tag: str) -> str:
    """The pane's text once its contents section is in, for ``tag`` selected in the table."""
    number = view.model.row_of(tag)
    assert number is not None
    with qtbot.waitSignal(view.details.referrers_loaded, timeout=20000):
        view.table.selectRow(view.proxy.mapFromSource(view.model.index(number, TAG)).row())
    qtbot.waitUntil(lambda: "Contents and security" in view.details.browser.toPlainText())
    return view.details.browser.toPlainText()


def test_the_pane_agrees_with_itself_on_licenses_and_sboms(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    """The licenses label counts where Labels shows it; a provenance record is no SBOM."""
    labelled = build_image(seed=90, labels={LICENSE_LABEL: "Apache-2.0"})
    push_image(registry.url, "dev/website", "1.9-stable", labelled)
    with_sbom = build_image(seed=91, labels={LICENSE_LABEL: "BSD-3-Clause"})
    push_image(registry.url, "dev/website", "2.0-stable", with_sbom)
    sbom = artifact(
        with_sbom, SPDX_TYPE, json.dumps(SPDX).encode(), SPDX_TYPE, "2026-11-29T08:00:00Z"
    )
    attach(registry, with_sbom, sbom)
    promote(registry, "1.9-stable", "20261130-090503")
    promote(registry, "2.0-stable", "20261130-100000")

    window = MainWindow(make_context(local=registry))
    qtbot.addWidget(window)
    window.show()
    window.resize(1024, 700)
    window.sidebar.load("local")
    qtbot.waitUntil(lambda: window.sidebar.model.repository_count("local") == 2, timeout=15000)
    window.sidebar.select_repository("local", "qa/website")
    assert window.page is not None
    view = window.page.tags
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=15000)

    text = contents_of(qtbot, view, "20261130-090503")
    assert "Where this image came from" in text  # its provenance record is attached
    assert f"Licenses (1)\nApache-2.0\nthe {LICENSE_LABEL} label" in text
    assert f"{LICENSE_LABEL}\nApache-2.0" in text  # the Labels section, saying the same
    assert "SBOM attached" not in text

    text = contents_of(qtbot, view, "20261130-100000")
    assert "Where this image came from" in text
    assert "SPDX SBOM attached 2026-11-29" in text and "SBOM attached\n" in text
    licenses = text.split("Licenses (", 1)[1].splitlines()[1]
    assert "BSD-3-Clause" in licenses and "GPL-2.0-only" in licenses
    assert "no SBOM is attached" not in text
