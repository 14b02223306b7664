"""Package databases parsed from bytes, and read end to end from images in a registry.

RPM headers and rpmdb.sqlite files are built here by hand (the header layout, a
``Packages`` table of header blobs), so the parser is checked against the format, not
against itself; the end-to-end tests push Debian-, Alpine-, distroless-, Python- and
RPM-like images and read them back as Hoister will.
"""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hoister.facts.packages import (
    DPKG_NO_LICENSES,
    Package,
    packages_of,
    parse_apk_installed,
    parse_dpkg_status,
    parse_python_metadata,
    parse_rpm_header,
    parse_rpmdb_sqlite,
)
from tests.facts.test_layers import SITE, entry, image_of, layer, read_image
from tests.support.registry import RegistryServer

DPKG_STATUS = b"""\
Package: base-files
Essential: yes
Status: install ok installed
Priority: required
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files
 This package contains the basic filesystem hierarchy of a Debian system.
 .
 It also contains several important miscellaneous files.

Package: old-tool
Status: deinstall ok config-files
Version: 1.0-1

Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Version: 2.36-9+deb12u4
"""

APK_INSTALLED = b"""\
C:Q1abc=
P:musl
V:1.2.4-r2
A:x86_64
L:MIT
F:lib

C:Q1def=
P:busybox
V:1.36.1-r15
L:GPL-2.0-only
r:busybox-initscripts

P:alpine-baselayout-data
V:3.4.3-r1
"""

# -- RPM headers, built to the format ----------------------------------------------------

BIN, INT32, STRING, STRING_ARRAY, I18NSTRING = 7, 4, 6, 8, 9


def rpm_header(entries: list[tuple[int, int, object]]) -> bytes:
    """Entry count and data size, the 16-byte index entries, then the data store."""
    index, data = [], bytearray()
    for tag, kind, value in entries:
        if kind == INT32:
            data += bytes(-len(data) % 4)  # rpm aligns integers
        offset, count = len(data), 1
        if kind == INT32:
            assert isinstance(value, int)
            data += value.to_bytes(4, "big")
        elif kind == BIN:
            assert isinstance(value, bytes)
            data, count = data + value, len(value)
        elif isinstance(value, list):
            data += b"".join(item.encode() + b"\0" for item in value)
            count = len(value)
        else:
            data += str(value).encode() + b"\0"
        index.append(struct.pack(">iIiI", tag, kind, offset, count))
    return struct.pack(">ii", len(index), len(data)) + b"".join(index) + bytes(data)


def rpm_package(name: str, version: str, release: str, license_: str, epoch: int = 0) -> bytes:
    entries: list[tuple[int, int, object]] = [
        (63, BIN, bytes(16)),  # the immutable region, as real headers start
        (100, STRING_ARRAY, ["C"]),
        (1000, STRING, name),
        (1001, STRING, version),
        (1002, STRING, release),
        (1004, I18NSTRING, ["a summary"]),
        (1014, STRING, license_),
    ]
    if epoch:
        entries.append((1003, INT32, epoch))
    return rpm_header(entries)


RPMS = [
    rpm_package("bash", "5.1.8", "9.el9", "GPL-3.0-or-later"),
    rpm_package("openssl-libs", "3.0.7", "27.el9", "Apache-2.0", epoch=1),
    rpm_package("gpg-pubkey", "fd431d51", "4ae0493b", "pubkey"),
]
SCHEMA = "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)"


def rpmdb(blobs: list[bytes]) -> bytes:
    with sqlite3.connect(":memory:") as db:
        db.execute(SCHEMA)
        db.executemany("INSERT INTO Packages (blob) VALUES (?)", [(b,) for b in blobs])
        data = db.serialize()
    db.close()
    return data


def test_rpm_headers_give_name_version_and_license() -> None:
    assert parse_rpmdb_sqlite(rpmdb(RPMS)) == [
        Package("bash", "5.1.8-9.el9", ("GPL-3.0-or-later",), "rpm"),
        Package("openssl-libs", "1:3.0.7-27.el9", ("Apache-2.0",), "rpm"),
    ]


def test_an_rpmdb_in_wal_mode_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rpmdb.sqlite"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(SCHEMA)
    db.execute("INSERT INTO Packages (blob) VALUES (?)", (RPMS[0],))
    db.commit()
    db.close()
    data = path.read_bytes()
    assert data[18:20] == b"\x02\x02"

    assert [p.name for p in parse_rpmdb_sqlite(data)] == ["bash"]


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        struct.pack(">ii", 0, 0),
        struct.pack(">ii", 1 << 20, 4),
        struct.pack(">ii", 1, 100) + struct.pack(">iIiI", 1000, STRING, 0, 1),  # cut short
        struct.pack(">ii", 1, 4) + struct.pack(">iIiI", 1000, STRING, 0, 1) + b"bash",  # no NUL
        struct.pack(">ii", 1, 4) + struct.pack(">iIiI", 1000, STRING, 99, 1) + b"ba\0\0",
        struct.pack(">ii", 1, 2) + struct.pack(">iIiI", 1003, INT32, 0, 1) + b"\0\0",
    ],
    ids=["empty", "no entries", "too many", "short", "unterminated", "offset", "int"],
)
def test_a_damaged_rpm_header_raises_value_error(blob: bytes) -> None:
    with pytest.raises(ValueError, match="RPM header"):
        parse_rpm_header(blob)


@given(st.binary(max_size=300))
def test_no_bytes_crash_the_rpm_header_parser(blob: bytes) -> None:
    try:
        values = parse_rpm_header(blob)
    except ValueError:
        return
    assert all(isinstance(v, str | int) for v in values.values())


def test_what_is_not_an_rpmdb_raises() -> None:
    with pytest.raises(ValueError, match="not an SQLite"):
        parse_rpmdb_sqlite(b"Berkeley DB, or anything else")
    with sqlite3.connect(":memory:") as db:
        db.execute("CREATE TABLE Other (x)")
        other = db.serialize()
    db.close()
    with pytest.raises(sqlite3.OperationalError, match="Packages"):
        parse_rpmdb_sqlite(other)


# -- dpkg, apk, Python -------------------------------------------------------------------


def test_dpkg_status_lists_installed_packages_only() -> None:
    assert parse_dpkg_status(DPKG_STATUS.decode()) == [
        Package("base-files", "12.4+deb12u5", (), "deb"),
        Package("libc6", "2.36-9+deb12u4", (), "deb"),
    ]


def test_dpkg_status_trusts_the_state_not_the_wish() -> None:
    text = (
        "Package: held\nStatus: hold ok installed\nVersion: 1\n\n"
        "Package: leaving\nStatus: deinstall ok installed\nVersion: 1\n\n"
        "Package: gone\nStatus: purge ok not-installed\n\n"
        "Package: nostatus\nVersion: 1\n"
    )
    assert [p.name for p in parse_dpkg_status(text)] == ["held", "leaving"]
    assert "nostatus" in [p.name for p in parse_dpkg_status(text, assume_installed=True)]


def test_apk_database_gives_licenses() -> None:
    assert parse_apk_installed(APK_INSTALLED.decode()) == [
        Package("musl", "1.2.4-r2", ("MIT",), "apk"),
        Package("busybox", "1.36.1-r15", ("GPL-2.0-only",), "apk"),
        Package("alpine-baselayout-data", "3.4.3-r1", (), "apk"),
    ]


@pytest.mark.parametrize(
    ("headers", "licenses"),
    [
        ("License-Expression: MIT OR Apache-2.0\nLicense: ignored\n", ("MIT OR Apache-2.0",)),
        ("License: BSD-3-Clause\n", ("BSD-3-Clause",)),
        (
            "Classifier: License :: OSI Approved :: MIT License\n"
            "Classifier: License :: OSI Approved\n"
            "Classifier: Programming Language :: Python\n"
            "Classifier: License :: Public Domain\n",
            ("MIT License", "Public Domain"),
        ),
        ("License: UNKNOWN\n", ()),
        (
            "License: BSD 3-Clause License\n        \n        Copyright (c) 2024\n",
            ("BSD 3-Clause License",),
        ),
        ("", ()),
    ],
    ids=["expression", "license", "classifiers", "unknown", "pasted text", "none"],
)
def test_python_metadata_licenses(headers: str, licenses: tuple[str, ...]) -> None:
    text = f"Metadata-Version: 2.1\nName: sample\nVersion: 2.0\n{headers}\nLong description.\n"
    assert parse_python_metadata(text) == Package("sample", "2.0", licenses, "pypi")


def test_python_metadata_without_a_name_is_no_package() -> None:
    assert parse_python_metadata("Metadata-Version: 2.1\nVersion: 1\n") is None


# -- end to end, from a registry -----------------------------------------------------------


def test_a_debian_image(registry: RegistryServer) -> None:
    image = image_of(layer(("var/lib/dpkg/status", DPKG_STATUS), ("usr/bin/true", b"\x7fELF")))

    report = packages_of(read_image(registry, image).files)

    assert report.components == ("base-files", "libc6")
    assert report.sources == ("dpkg status",) and report.licenses == ()
    assert not report.licenses_complete and DPKG_NO_LICENSES in report.notes


def test_an_alpine_image(registry: RegistryServer) -> None:
    image = image_of(layer(("lib/apk/db/installed", APK_INSTALLED)))

    report = packages_of(read_image(registry, image).files)

    assert report.components == ("alpine-baselayout-data", "busybox", "musl")
    assert report.licenses == ("GPL-2.0-only", "MIT") and report.licenses_complete
    assert report.sources == ("apk database",) and report.problems == ()


def test_a_whiteout_of_the_dpkg_status_leaves_no_dpkg_packages(registry: RegistryServer) -> None:
    image = image_of(
        layer(("var/lib/dpkg/status", DPKG_STATUS)), layer(entry("var/lib/dpkg/.wh.status"))
    )

    report = packages_of(read_image(registry, image).files)

    assert report.packages == () and report.sources == ()


def test_a_distroless_image(registry: RegistryServer) -> None:
    image = image_of(
        layer(
            ("var/lib/dpkg/status.d/base", b"Package: base-files\nVersion: 12.4\n"),
            ("var/lib/dpkg/status.d/libc6", b"Package: libc6\nVersion: 2.36-9\n"),
            ("var/lib/dpkg/status.d/libc6.md5sums", b"0123456789abcdef  lib/libc.so.6\n"),
            ("var/lib/dpkg/status.d/tzdata", b"Package: tzdata\nVersion: 2024a\n"),
        ),
        layer(entry("var/lib/dpkg/status.d/.wh.tzdata")),
    )

    files = read_image(registry, image).files
    report = packages_of(files)

    assert "var/lib/dpkg/status.d/libc6.md5sums" not in files
    assert report.components == ("base-files", "libc6")
    assert report.sources == ("dpkg status.d",)


def test_python_packages_in_site_packages(registry: RegistryServer) -> None:
    requests = b"Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n"
    mystery = b"Metadata-Version: 2.1\nName: mystery\nVersion: 0.1\n"
    image = image_of(
        layer(
            (f"{SITE}/requests-2.31.0.dist-info/METADATA", requests),
            (f"{SITE}/requests-2.31.0.dist-info/RECORD", b"requests/__init__.py,,\n"),
            ("opt/venv/lib/python3.12/site-packages/mystery-0.1.dist-info/METADATA", mystery),
        )
    )

    report = packages_of(read_image(registry, image).files)

    assert report.packages == (
        Package("mystery", "0.1", (), "pypi"),
        Package("requests", "2.31.0", ("Apache 2.0",), "pypi"),
    )
    assert report.sources == ("python metadata",) and not report.licenses_complete


def test_an_rpm_image(registry: RegistryServer) -> None:
    image = image_of(layer(("usr/lib/sysimage/rpm/rpmdb.sqlite", rpmdb(RPMS))))

    report = packages_of(read_image(registry, image).files)

    assert report.components == ("bash", "openssl-libs")
    assert report.licenses == ("Apache-2.0", "GPL-3.0-or-later")
    assert report.sources == ("rpm database",) and report.problems == ()


def test_an_rpm_database_that_cannot_be_read_is_a_problem(registry: RegistryServer) -> None:
    image = image_of(
        layer(
            ("var/lib/rpm/Packages", b"\x00\x06\x15\x61 Berkeley DB"),
            ("usr/lib/sysimage/rpm/rpmdb.sqlite", b"SQLite format 3\x00" + bytes(100)),
        )
    )

    report = packages_of(read_image(registry, image).files)

    assert report.packages == ()
    assert len(report.problems) == 1 and "rpmdb.sqlite could not be read" in report.problems[0]


def test_a_berkeley_db_alone_is_a_problem() -> None:
    report = packages_of({"var/lib/rpm/Packages": b"\x00\x06\x15\x61"})

    assert report.problems == (
        "/var/lib/rpm/Packages is an RPM database format Hoister does not read",
    )
