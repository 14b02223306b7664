"""TagsModel: a valid Qt model at every stage, real sort keys, badges instead of tags."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester

from hoister.engine.provenance import PROVENANCE_ARTIFACT_TYPE
from hoister.facts.details import ImageDetails, PlatformImage, parse_config
from hoister.registry import Descriptor, Manifest
from hoister.ui.browsing.tags_model import (
    CREATED,
    DIGEST,
    PLATFORMS,
    PROVENANCE,
    SIZE,
    TAG,
    RowRole,
    SortRole,
    TagRow,
    TagsModel,
)
from hoister.ui.browsing.tags_proxy import TagsProxy
from tests.support.images import Image, build_image, build_index


def details_of(image: Image) -> ImageDetails:
    """What the details cache would hold for ``image``, built from its exact bytes."""
    manifest = Manifest.parse(image.manifest, image.digest, image.media_type)
    children = image.children or [image]
    images = [
        PlatformImage(
            parse_config(child.config).platform,
            Manifest.parse(child.manifest, child.digest, child.media_type),
            parse_config(child.config),
        )
        for child in children
    ]
    return ImageDetails("dev/website", image.digest, manifest, images)


def image_at(day: int, seed: int) -> Image:
    return build_image(created=f"2024-03-{day:02d}T12:00:00Z", seed=seed, layers=1)


def test_empty_model_is_valid(qtmodeltester: ModelTester) -> None:
    model = TagsModel()
    qtmodeltester.check(model)
    proxy = TagsProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)


def test_loaded_then_detailed_model_is_valid(qtmodeltester: ModelTester) -> None:
    model = TagsModel()
    model.append_tags([f"1.{n}" for n in range(25)])
    model.append_tags([f"2.{n}" for n in range(25)] + ["1.0"])  # a repeat is not a second row
    assert model.rowCount() == 50
    qtmodeltester.check(model)
    details = details_of(image_at(5, seed=1))
    model.update_many((f"1.{n}", details) for n in range(10))
    model.set_error("2.0", "401 UNAUTHORIZED from example while checking manifest")
    qtmodeltester.check(model)
    proxy = TagsProxy()
    proxy.setSourceModel(model)
    proxy.sort(CREATED, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(proxy)
    row = model.index(model.row_of("1.3") or 0, DIGEST)
    assert row.data() == details.digest[:19]
    assert row.data(Qt.ItemDataRole.ToolTipRole) == details.digest
    assert isinstance(row.data(RowRole), TagRow)
    assert model.index(0, SIZE).data(Qt.ItemDataRole.TextAlignmentRole) is not None
    assert model.details_count() == 11
    assert model.known_digests() == {f"1.{n}": details.digest for n in range(10)}


def test_sort_keys_are_real_values() -> None:
    model = TagsModel()
    model.append_tags(["a", "b"])
    image = image_at(7, seed=2)
    model.update_details("a", details_of(image))
    a, b = model.index(0, CREATED), model.index(1, CREATED)
    assert a.data(SortRole) == datetime(2024, 3, 7, 12, tzinfo=UTC).timestamp()
    assert b.data(SortRole) is None
    assert model.index(0, SIZE).data(SortRole) == len(image.manifest) + sum(
        blob.size for blob in image.blobs
    )
    assert model.index(0, PLATFORMS).data(SortRole) == "linux/amd64"
    assert model.index(0, PLATFORMS).data() == "amd64"


def test_created_sort_puts_unknown_last_both_ways_and_breaks_ties_by_name() -> None:
    model = TagsModel()
    model.append_tags(["old", "new", "unknown", "new-too", "1.10", "1.9"])
    old, new = details_of(image_at(1, seed=3)), details_of(image_at(20, seed=4))
    model.update_many([("old", old), ("new", new), ("new-too", new)])
    proxy = TagsProxy()
    proxy.setSourceModel(model)

    def order() -> list[str]:
        return [proxy.index(r, TAG).data() for r in range(proxy.rowCount())]

    proxy.sort(CREATED, Qt.SortOrder.DescendingOrder)
    assert order() == ["new", "new-too", "old", "1.9", "1.10", "unknown"]
    proxy.sort(CREATED, Qt.SortOrder.AscendingOrder)
    assert order() == ["old", "new", "new-too", "1.9", "1.10", "unknown"]
    proxy.sort(TAG, Qt.SortOrder.AscendingOrder)
    assert order()[:2] == ["1.9", "1.10"]  # versions in the order people read them


def test_filter_is_on_the_tag_and_case_insensitive() -> None:
    model = TagsModel()
    model.append_tags(["1.0", "1.0-Alpine", "2.0", "latest"])
    proxy = TagsProxy()
    proxy.setSourceModel(model)
    proxy.setFilterFixedString("1.0")
    assert proxy.rowCount() == 2
    proxy.setFilterFixedString("ALPINE")
    assert [proxy.index(0, TAG).data()] == ["1.0-Alpine"]


def test_referrer_tags_are_badges_not_rows(qtmodeltester: ModelTester) -> None:
    signed, plain = image_at(2, seed=5), image_at(3, seed=6)
    hex_signed = signed.digest.removeprefix("sha256:")
    hex_plain = plain.digest.removeprefix("sha256:")
    model = TagsModel()
    model.append_tags(["1.0", f"sha256-{hex_signed}.sig", f"sha256-{hex_signed}.sbom", "2.0"])
    model.append_tags([f"sha256-{hex_signed}.att", f"sha256-{hex_plain}", "1.0.hoister-backup-1"])
    assert model.tags() == ["1.0", "2.0"]
    assert model.hidden_count == 5
    model.update_details("1.0", details_of(signed))
    model.update_details("2.0", details_of(plain))
    badges = model.index(0, PROVENANCE).data()
    assert badges == "attestation · SBOM · signed"
    # A fallback index says "something refers to it"; reading it says what.
    assert model.index(1, PROVENANCE).data() == "referrers"
    assert model.indexed_digests() == {plain.digest}
    model.add_referrers(
        plain.digest,
        [
            Descriptor(
                "application/vnd.oci.image.manifest.v1+json",
                "sha256:" + "1" * 64,
                10,
                artifact_type=PROVENANCE_ARTIFACT_TYPE,
            )
        ],
    )
    assert model.index(1, PROVENANCE).data() == "provenance"
    assert model.indexed_digests() == frozenset()
    qtmodeltester.check(model)


def test_index_details_list_every_platform_and_rows_can_be_removed() -> None:
    index = build_index(
        [
            build_image(seed=7, platform=("linux", "amd64")),
            build_image(seed=8, platform=("linux", "arm64", "v8")),
        ]
    )
    model = TagsModel()
    model.append_tags(["a", "b", "c", "d"])
    model.update_details("b", details_of(index))
    assert model.index(1, PLATFORMS).data() == "amd64, arm64/v8"
    model.remove_tags(["a", "c", "d", "missing"])
    assert model.tags() == ["b"]
    assert model.row_of("b") == 0
    model.clear()
    assert model.rowCount() == 0
