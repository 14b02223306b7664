"""The tag details pane: a multi-platform index, its config and layers, pull commands."""

from __future__ import annotations

import json

from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from hoister.ui.browsing.tag_details import FAILED, PLACEHOLDER, SHOWN, TagDetails
from hoister.ui.browsing.tags_view import TagsView
from hoister.ui.shared.format import short_digest
from tests.support.images import (
    OCI_INDEX,
    Image,
    build_artifact,
    build_image,
    build_index,
    push_image,
)
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory

LABELS = {"org.opencontainers.image.source": "https://example.com/website", "team": "web"}


def push_multi_platform(registry: RegistryServer) -> tuple[str, list[str]]:
    amd = build_image(seed=11, labels=LABELS, platform=("linux", "amd64"), layers=2)
    arm = build_image(seed=12, labels=LABELS, platform=("linux", "arm64", "v8"), layers=3)
    index = build_index([amd, arm])
    push_image(registry.url, "dev/website", "1.4", index)
    sbom = build_artifact(index, "application/spdx+json", b'{"spdxVersion": "SPDX-2.3"}', "x/y")
    push_image(registry.url, "dev/website", index.digest.replace(":", "-"), _fallback(sbom))
    layers = [d["digest"] for d in amd.manifest_json["layers"]]
    return index.digest, layers


def _fallback(artifact: Image) -> Image:
    """The referrers fallback index a client writes where the registry has no API."""
    entry = {**artifact.descriptor(), "artifactType": "application/spdx+json"}
    document = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]}
    return Image(json.dumps(document).encode(), OCI_INDEX, [], {}, [artifact])


def test_a_multi_platform_index_in_the_tags_view(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    digest, layers = push_multi_platform(registry)
    view = TagsView(make_context(local=registry), "local", "dev/website")
    qtbot.addWidget(view)
    view.resize(1300, 800)
    view.show()
    qtbot.waitUntil(lambda: view.model.tags() == ["1.4"])
    pane = view.details
    assert pane.stack.currentIndex() == PLACEHOLDER
    view.table.selectRow(0)
    qtbot.waitUntil(lambda: pane.stack.currentIndex() == SHOWN)
    qtbot.waitUntil(lambda: pane.referrers is not None)

    assert [pane.platform_combo.itemText(i) for i in range(2)] == ["linux/amd64", "linux/arm64/v8"]
    assert pane.platform_row.isVisible()
    text = pane.browser.toPlainText()
    assert "Index of 2 platforms" in text
    assert "org.opencontainers.image.source" in text and "https://example.com/website" in text
    assert all(short_digest(layer) in text for layer in layers)
    assert "Layers (2," in text
    assert "hoister-test: add layer 1" in text  # a build step
    assert "SBOM" in text and "application/spdx+json" in text  # the referrer
    pane.platform_combo.setCurrentIndex(1)
    assert "Layers (3," in pane.browser.toPlainText()
    assert digest in pane.digest_label.text()
    assert "OCI index" in pane.summary.text()
    # The pane filled the row: the table knows the digest and the SBOM badge now.
    assert view.model.row(0).digest == digest
    qtbot.waitUntil(lambda: view.model.row(0).badges == ("SBOM",))

    pane.copy_button.click()
    assert QGuiApplication.clipboard().text() == f"docker pull {registry.host}/dev/website:1.4"
    pane.copy_by_digest_action.trigger()
    assert QGuiApplication.clipboard().text() == (
        f"docker pull {registry.host}/dev/website@{digest}"
    )
    pane.copy_by_tag_action.trigger()
    assert QGuiApplication.clipboard().text() == f"docker pull {registry.host}/dev/website:1.4"


def test_a_missing_tag_is_an_error_in_place_with_retry(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    pane = TagDetails(make_context(local=registry), "local", "dev/website")
    qtbot.addWidget(pane)
    pane.show()
    pane.show_tag("gone")
    qtbot.waitUntil(lambda: pane.stack.currentIndex() == FAILED)
    assert "gone" in pane.error_label.text()
    assert pane.open_delete_dialog() is None and pane.open_promote_dialog() is None

    push_image(registry.url, "dev/website", "gone", build_image(seed=13))
    with qtbot.waitSignal(pane.loaded):
        pane.retry_button.click()
    assert pane.stack.currentIndex() == SHOWN
    assert not pane.platform_row.isVisible()
    qtbot.waitUntil(lambda: pane.referrers is not None)
    assert "Referrers (signatures, SBOMs, attestations)\nnone" in pane.browser.toPlainText()
