"""Reading wanted files from a real registry's layers: overlay rules, damage, memory.

Layers are built byte by byte with tarfile and gzip (whiteouts, links and damage
included) and pushed to a real registry, then read back through Hoister's client the
way an image in the wild would be. The builders here serve test_packages too.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import tarfile
import tracemalloc
import zlib
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hoister.facts.layers import LayerError, LayerFiles, _Inflater, layer_files
from hoister.facts.packages import is_package_path
from hoister.registry import Descriptor, RegistryClient
from tests.support.images import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, Blob, Image, push_image
from tests.support.registry import RegistryServer

Member = tuple[str, bytes] | tarfile.TarInfo
MTIME = 1_704_067_200


def entry(
    name: str, kind: bytes = tarfile.REGTYPE, link: str = "", size: int = 0
) -> tarfile.TarInfo:
    """A header without data: directories, links, whiteouts, or a file whose data follows."""
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size, info.mtime = kind, link, size, MTIME
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info


def tar_of(*members: Member) -> bytes:
    """A tar holding ``(path, data)`` regular files and bare ``TarInfo`` entries, in order."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                name, data = member
                tar.addfile(entry(name, size=len(data)), io.BytesIO(data))
    return raw.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def layer(*members: Member) -> Blob:
    """A gzip'd tar layer as registries usually hold them."""
    return Blob(gz(tar_of(*members)), OCI_LAYER)


def zeros_layer(members: Sequence[tuple[str, int | bytes]]) -> Blob:
    """gzip'd tar where an int stands for that many zero bytes, never all in memory at once."""
    packer = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    out: list[bytes] = []
    for name, content in members:
        size = content if isinstance(content, int) else len(content)
        out.append(packer.compress(entry(name, size=size).tobuf(tarfile.PAX_FORMAT)))
        if isinstance(content, bytes):
            out.append(packer.compress(content))
        else:
            piece = bytes(1024 * 1024)
            for start in range(0, size, len(piece)):
                out.append(packer.compress(piece[: min(len(piece), size - start)]))
        out.append(packer.compress(bytes(-size % tarfile.BLOCKSIZE)))
    out.append(packer.compress(bytes(2 * tarfile.BLOCKSIZE)) + packer.flush())
    return Blob(b"".join(out), OCI_LAYER)


def image_of(
    *layers: Blob, labels: dict[str, str] | None = None, architecture: str = "amd64"
) -> Image:
    """An OCI image over ``layers``; its diff_ids are made up (nothing here reads them)."""
    config: dict[str, Any] = {
        "architecture": architecture,
        "os": "linux",
        "config": {"Labels": dict(labels or {})},
        "rootfs": {"type": "layers", "diff_ids": [b.digest for b in layers]},
    }
    config_blob = Blob(json.dumps(config).encode(), OCI_CONFIG)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config_blob.descriptor(),
        "layers": [b.descriptor() for b in layers],
    }
    return Image(json.dumps(manifest).encode(), OCI_MANIFEST, [config_blob, *layers], config)


def read_image(
    registry: RegistryServer, image: Image, repo: str = "facts/app", **options: Any
) -> LayerFiles:
    """Push ``image`` and read its package files back through Hoister's client."""
    push_image(registry.url, repo, "1.0", image)
    with RegistryClient(registry.url) as client:
        manifest = client.get_manifest(repo, "1.0")
        return layer_files(client, repo, manifest.layers, is_package_path, **options)


def descriptors(registry: RegistryServer, image: Image, repo: str = "facts/app") -> list[Any]:
    push_image(registry.url, repo, "1.0", image)
    with RegistryClient(registry.url) as client:
        return client.get_manifest(repo, "1.0").layers


STATUS = b"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n"
METADATA = b"Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n"
SITE = "usr/lib/python3/site-packages"


def meta(name: str) -> tuple[str, bytes]:
    return (f"{SITE}/{name}-1.0.dist-info/METADATA", METADATA % name.encode())


# -- overlay rules ---------------------------------------------------------------------


def test_only_wanted_regular_files_are_kept_with_normalized_paths(
    registry: RegistryServer,
) -> None:
    image = image_of(
        layer(
            ("./var/lib/dpkg/status", STATUS),
            ("/lib/apk/db/installed", b"P:musl\n"),
            ("etc/passwd", b"root:x:0:0\n"),
            entry("usr/", tarfile.DIRTYPE),
        )
    )

    found = read_image(registry, image)

    assert found.files == {"var/lib/dpkg/status": STATUS, "lib/apk/db/installed": b"P:musl\n"}
    assert found.complete and found.notes == ()


def test_a_later_layer_overwrites_an_earlier_file(registry: RegistryServer) -> None:
    newer = STATUS + b"\nPackage: bash\nStatus: install ok installed\nVersion: 5.2\n"
    image = image_of(layer(("var/lib/dpkg/status", STATUS)), layer(("var/lib/dpkg/status", newer)))

    assert read_image(registry, image).files == {"var/lib/dpkg/status": newer}


def test_a_whiteout_deletes_the_file_below(registry: RegistryServer) -> None:
    image = image_of(
        layer(("var/lib/dpkg/status", STATUS), meta("keep")),
        layer(entry("var/lib/dpkg/.wh.status")),
    )

    found = read_image(registry, image)

    assert "var/lib/dpkg/status" not in found.files
    assert list(found.files) == [meta("keep")[0]]


def test_a_whiteout_of_a_directory_deletes_its_tree(registry: RegistryServer) -> None:
    image = image_of(
        layer(meta("gone"), meta("kept")),
        layer(entry(f"{SITE}/.wh.gone-1.0.dist-info")),
    )

    assert list(read_image(registry, image).files) == [meta("kept")[0]]


def test_a_file_in_the_same_layer_as_a_whiteout_survives_it(registry: RegistryServer) -> None:
    """Whiteouts hide lower layers only: a layer that deletes and re-adds keeps its own."""
    image = image_of(
        layer(("var/lib/dpkg/status", b"old")),
        layer(("var/lib/dpkg/status", STATUS), entry("var/lib/dpkg/.wh.status")),
    )

    assert read_image(registry, image).files == {"var/lib/dpkg/status": STATUS}


def test_an_opaque_directory_hides_lower_contents_only(registry: RegistryServer) -> None:
    image = image_of(
        layer(meta("old"), ("var/lib/dpkg/status", STATUS)),
        layer(entry(f"{SITE}/.wh..wh..opq"), meta("new"), entry(f"{SITE}/.wh..wh.plnk")),
    )

    found = read_image(registry, image)

    assert sorted(found.files) == sorted([meta("new")[0], "var/lib/dpkg/status"])


def test_a_file_replacing_a_directory_removes_what_was_below(registry: RegistryServer) -> None:
    image = image_of(layer(meta("pkg")), layer((SITE, b"not a directory any more")))

    assert read_image(registry, image).files == {}


def test_a_hard_link_to_a_wanted_file_is_followed(registry: RegistryServer) -> None:
    image = image_of(
        layer(
            ("var/lib/dpkg/status", STATUS),
            entry("lib/apk/db/installed", tarfile.LNKTYPE, link="./var/lib/dpkg/status"),
        )
    )

    found = read_image(registry, image)

    assert found.files["lib/apk/db/installed"] == STATUS
    assert found.complete


def test_a_symlink_at_a_wanted_path_is_noted_not_followed(registry: RegistryServer) -> None:
    image = image_of(
        layer(("var/lib/dpkg/status", STATUS)),
        layer(entry("var/lib/dpkg/status", tarfile.SYMTYPE, link="/elsewhere/status")),
    )

    found = read_image(registry, image)

    assert found.files == {}
    assert not found.complete
    assert "var/lib/dpkg/status" in found.notes[0] and "symbolic link" in found.notes[0]


# -- compression and media types -------------------------------------------------------


def test_plain_tar_and_multi_member_gzip_layers_are_read(registry: RegistryServer) -> None:
    raw = tar_of(("var/lib/dpkg/status", STATUS), meta("a"))
    split = len(raw) // 2
    image = image_of(
        Blob(raw, "application/vnd.oci.image.layer.v1.tar"),
        Blob(gz(raw[:split]) + gz(raw[split:]) + bytes(10), OCI_LAYER),
    )

    found = read_image(registry, image)

    assert found.files == {"var/lib/dpkg/status": STATUS, meta("a")[0]: meta("a")[1]}


def test_an_empty_layer_has_no_files(registry: RegistryServer) -> None:
    image = image_of(layer(), Blob(gz(b""), OCI_LAYER), layer(("var/lib/dpkg/status", STATUS)))

    assert read_image(registry, image).files == {"var/lib/dpkg/status": STATUS}


@pytest.mark.parametrize(
    "media_type",
    ["application/vnd.oci.image.layer.v1.tar+zstd", OCI_LAYER],
    ids=["declared", "sniffed"],
)
def test_a_zstd_layer_is_noted_as_unread(registry: RegistryServer, media_type: str) -> None:
    zstd = Blob(b"\x28\xb5\x2f\xfd" + bytes(64), media_type)
    image = image_of(layer(("var/lib/dpkg/status", STATUS)), zstd)

    found = read_image(registry, image)

    assert found.files == {"var/lib/dpkg/status": STATUS}
    assert not found.complete
    assert zstd.digest in found.notes[0] and "zstd layers are not read" in found.notes[0]


@pytest.mark.parametrize(
    ("media_type", "words"),
    [
        ("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "foreign"),
        ("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "non-distributable"),
        ("application/vnd.example.weights", "application/vnd.example.weights"),
    ],
)
def test_layers_that_are_not_read_are_noted_without_being_fetched(
    registry: RegistryServer, media_type: str, words: str
) -> None:
    layers = descriptors(registry, image_of(layer(("var/lib/dpkg/status", STATUS))))
    absent = Descriptor(media_type, "sha256:" + "0" * 64, 1234)  # a fetch would be a 404

    with RegistryClient(registry.url) as client:
        found = layer_files(client, "facts/app", [*layers, absent], is_package_path)

    assert found.files == {"var/lib/dpkg/status": STATUS}
    assert len(found.notes) == 1 and absent.digest in found.notes[0] and words in found.notes[0]


# -- damage ----------------------------------------------------------------------------


def _damaged_cases() -> dict[str, bytes]:
    raw = tar_of(("etc/os-release", b"ID=debian\n" * 200), ("var/lib/dpkg/status", STATUS))
    good = gz(raw)
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    end = len(raw) - 2 * tarfile.BLOCKSIZE
    while raw[end - tarfile.BLOCKSIZE : end] == bytes(tarfile.BLOCKSIZE):
        end -= tarfile.BLOCKSIZE
    return {
        "corrupt gzip": bytes(flipped),
        "truncated gzip": good[: len(good) - 20],
        "tar cut inside a file": gz(raw[: tarfile.BLOCKSIZE + 1000]),
        "tar without its end": gz(raw[:end]),
        "tar cut inside a header": gz(raw[: tarfile.BLOCKSIZE * 6 + 100]),
        "garbage": gz(b"this is not a tar archive at all, " * 40),
        "garbage after the gzip stream": good + b"trailing junk",
    }


@pytest.mark.parametrize("case", sorted(_damaged_cases()))
def test_a_damaged_layer_raises_layer_error_with_its_digest(
    registry: RegistryServer, case: str
) -> None:
    broken = Blob(_damaged_cases()[case], OCI_LAYER)
    image = image_of(layer(("var/lib/dpkg/status", STATUS)), broken)

    with pytest.raises(LayerError) as caught:
        read_image(registry, image)

    assert caught.value.digest == broken.digest
    assert broken.digest in str(caught.value) and caught.value.reason


def test_a_blob_that_fails_its_digest_raises_layer_error(registry: RegistryServer) -> None:
    """Bytes changed in the registry's storage: served as they are, caught by the digest."""
    good = layer(("var/lib/dpkg/status", STATUS))
    layers = descriptors(registry, image_of(good))
    hexdigest = good.digest.removeprefix("sha256:")
    data = next(registry.storage.rglob(f"blobs/sha256/{hexdigest[:2]}/{hexdigest}/data"))
    data.write_bytes(layer(("var/lib/dpkg/status", STATUS.upper())).data)

    with RegistryClient(registry.url) as client, pytest.raises(LayerError) as caught:
        layer_files(client, "facts/app", layers, is_package_path)

    assert caught.value.digest == good.digest and "hashes to" in caught.value.reason


def test_a_missing_blob_raises_layer_error(registry: RegistryServer) -> None:
    layers = descriptors(registry, image_of(layer(("var/lib/dpkg/status", STATUS))))
    missing = Descriptor(OCI_LAYER, "sha256:" + "1" * 64, 10)

    with RegistryClient(registry.url) as client, pytest.raises(LayerError) as caught:
        layer_files(client, "facts/app", [*layers, missing], is_package_path)

    assert caught.value.digest == missing.digest


def test_a_gigantic_extension_header_is_refused_before_it_is_read(
    registry: RegistryServer,
) -> None:
    header = entry("././@PaxHeader", tarfile.XHDTYPE, size=1 << 32).tobuf(tarfile.USTAR_FORMAT)
    broken = Blob(gz(header + bytes(4096)), OCI_LAYER)

    with pytest.raises(LayerError, match="extension header"):
        read_image(registry, image_of(broken))


def test_too_much_wanted_data_raises_layer_error(registry: RegistryServer) -> None:
    image = image_of(layer(meta("a"), meta("b"), ("var/lib/dpkg/status", STATUS)))

    with pytest.raises(LayerError, match="pass 100 bytes"):
        read_image(registry, image, max_total=100)


# -- memory ----------------------------------------------------------------------------


def test_a_100_mb_file_is_skipped_without_being_held(registry: RegistryServer) -> None:
    big = f"{SITE}/huge-1.0.dist-info/METADATA"
    image = image_of(
        zeros_layer(
            [("data/blob.bin", 100_000_000), (big, 100_000_000), ("var/lib/dpkg/status", STATUS)]
        )
    )
    layers = descriptors(registry, image)

    with RegistryClient(registry.url) as client:
        client.ping()
        tracemalloc.start()
        try:
            found = layer_files(client, "facts/app", layers, is_package_path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert found.files == {"var/lib/dpkg/status": STATUS}
    assert len(found.notes) == 1 and big in found.notes[0] and "100000000 bytes" in found.notes[0]
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while reading"


@settings(max_examples=60, deadline=None)
@example(data=random.Random(7).randbytes(5000), cuts=[100], reads=[300], members=1)
@given(
    data=st.binary(min_size=0, max_size=2000) | st.randoms().map(lambda r: r.randbytes(9000)),
    cuts=st.lists(st.integers(1, 700), min_size=1, max_size=8),
    reads=st.lists(st.integers(1, 900), min_size=1, max_size=8),
    members=st.integers(1, 3),
)
def test_the_inflater_returns_the_same_bytes_however_they_are_cut(
    data: bytes, cuts: list[int], reads: list[int], members: int
) -> None:
    """Chunk and read boundaries fall anywhere; reads are whole until the end of the data."""
    step = max(1, len(data) // members)
    packed = b"".join(gz(data[i : i + step]) for i in range(0, len(data), step)) or gz(b"")
    chunks, at = [], 0
    while at < len(packed):
        size = cuts[len(chunks) % len(cuts)]
        chunks.append(packed[at : at + size])
        at += size
    stream = _Inflater(chunks)
    out = bytearray()
    while len(out) < len(data):
        wanted = reads[len(out) % len(reads)]
        piece = stream.read(wanted)
        assert len(piece) == min(wanted, len(data) - len(out)), "a short read before the end"
        out += piece
    assert bytes(out) == data and stream.read(10) == b"" and stream.gzip
