"""Installed packages read from an image's own package databases.

Where no SBOM says what an image contains, the databases its package managers keep do:
dpkg's status (or distroless ``status.d/``), apk's ``installed``, RPM's ``rpmdb.sqlite``
and Python's ``*.dist-info/METADATA``. They are parsed from bytes (see
:mod:`hoister.facts.layers` for reading them) with the standard library only. What the
databases cannot tell is said, not guessed: dpkg records no licenses, and a database in
a format Hoister does not read (RPM's Berkeley DB) is a problem that makes the
component list unknown rather than short.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from email.parser import HeaderParser

DPKG_STATUS = "var/lib/dpkg/status"
DPKG_STATUS_D = "var/lib/dpkg/status.d/"
APK_INSTALLED = "lib/apk/db/installed"
RPM_SQLITE = ("var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite")
#: Older RPM databases (Berkeley DB, ndb): wanted only to know they are there.
RPM_OTHER = tuple(
    f"{folder}/{name}"
    for folder in ("var/lib/rpm", "usr/lib/sysimage/rpm")
    for name in ("Packages", "Packages.db")
)
PYTHON_METADATA = ".dist-info/METADATA"
_EXACT = frozenset({DPKG_STATUS, APK_INSTALLED, *RPM_SQLITE, *RPM_OTHER})

#: dpkg states in which a package's files are on disk (the third word of ``Status``).
DPKG_PRESENT = frozenset(
    {"installed", "unpacked", "half-configured", "triggers-awaited", "triggers-pending"}
)
DPKG_NO_LICENSES = "dpkg records no licenses, so Debian and Ubuntu packages add none"

RPMTAG_NAME, RPMTAG_VERSION, RPMTAG_RELEASE, RPMTAG_EPOCH = 1000, 1001, 1002, 1003
RPMTAG_LICENSE = 1014
_RPM_TAGS = frozenset({RPMTAG_NAME, RPMTAG_VERSION, RPMTAG_RELEASE, RPMTAG_EPOCH, RPMTAG_LICENSE})
_INT32, _STRING, _STRING_ARRAY, _I18NSTRING = 4, 6, 8, 9
#: rpm's own limits on a header (headerImport): 64 Ki entries, 256 MiB of data.
_RPM_MAX_ENTRIES, _RPM_MAX_DATA = 0xFFFF, 256 * 1024 * 1024
_SQLITE_MAGIC = b"SQLite format 3\x00"
_MAX_LICENSE_TEXT = 200


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    licenses: tuple[str, ...]
    ecosystem: str  # "deb", "apk", "rpm", "pypi"


@dataclass(frozen=True)
class PackageReport:
    """Packages of one image with where they came from and what they cannot tell.

    ``problems`` are databases found but not read: with any, the package list may be
    short and components should be unknown. ``licenses_complete`` is False when some
    packages came without license information (dpkg, a Python package declaring none).
    """

    packages: tuple[Package, ...]
    sources: tuple[str, ...]
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    licenses_complete: bool = True

    @property
    def components(self) -> tuple[str, ...]:
        return tuple(sorted({p.name for p in self.packages}))

    @property
    def licenses(self) -> tuple[str, ...]:
        return tuple(sorted({name for p in self.packages for name in p.licenses}))


def is_package_path(path: str) -> bool:
    """Whether :func:`packages_of` needs the file at ``path`` (normalized, no leading /)."""
    if path in _EXACT or path.endswith(PYTHON_METADATA):
        return True
    if path.startswith(DPKG_STATUS_D):
        name = path[len(DPKG_STATUS_D) :]
        return "/" not in name and not name.endswith(".md5sums")
    return False


#: The ``wanted`` predicate to give :func:`hoister.facts.layers.layer_files`.
PACKAGE_PATHS = is_package_path


def _stanzas(text: str) -> Iterator[dict[str, str]]:
    """Paragraphs of ``Field: value`` lines (deb822, apk); continuation lines start blank."""
    fields: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, ""
        elif line[0] in " \t":
            if key:
                fields[key] += "\n" + line.strip()
        else:
            name, colon, value = line.partition(":")
            if colon:
                key = name.strip().lower()
                fields[key] = value.strip()
    if fields:
        yield fields


def parse_dpkg_status(text: str, *, assume_installed: bool = False) -> list[Package]:
    """Packages whose files are on disk; ``assume_installed`` for ``status.d`` entries.

    The first word of ``Status`` is what was asked (``deinstall`` may still be on
    disk), the third is what is: that one decides. Distroless ``status.d`` files list
    only installed packages and may carry no ``Status`` at all.
    """
    packages = []
    for fields in _stanzas(text):
        words = fields.get("status", "").split()
        present = words[2] in DPKG_PRESENT if len(words) == 3 else assume_installed
        if present and fields.get("package"):
            packages.append(Package(fields["package"], fields.get("version", ""), (), "deb"))
    return packages


def parse_apk_installed(text: str) -> list[Package]:
    """apk's database: ``P:`` name, ``V:`` version, ``L:`` license (kept as written)."""
    return [
        Package(fields["p"], fields.get("v", ""), (fields["l"],) if fields.get("l") else (), "apk")
        for fields in _stanzas(text)
        if fields.get("p")
    ]


def parse_rpm_header(blob: bytes) -> dict[int, str | int]:
    """NAME, VERSION, RELEASE, EPOCH and LICENSE of one header as rpmdb.sqlite stores it.

    The blob is a header without its magic: entry count and data length (big-endian
    int32), 16-byte entries (tag, type, offset, count), then the data. Every offset is
    checked, so a damaged blob raises ValueError instead of reading past its end.
    """
    if len(blob) < 8:
        raise ValueError("an RPM header is shorter than 8 bytes")
    entries, size = struct.unpack_from(">ii", blob)
    start = 8 + 16 * entries
    if not 0 < entries <= _RPM_MAX_ENTRIES or not 0 <= size <= _RPM_MAX_DATA:
        raise ValueError(f"an RPM header claims {entries} entries and {size} bytes")
    if len(blob) < start + size:
        raise ValueError("an RPM header is cut short")
    data = blob[start : start + size]
    values: dict[int, str | int] = {}
    for index in range(entries):
        tag, kind, offset, count = struct.unpack_from(">iIiI", blob, 8 + 16 * index)
        if tag not in _RPM_TAGS:
            continue
        if kind == _INT32 and count >= 1 and 0 <= offset <= size - 4:
            values[tag] = int.from_bytes(data[offset : offset + 4], "big")
        elif kind in (_STRING, _STRING_ARRAY, _I18NSTRING) and 0 <= offset < size:
            end = data.find(b"\0", offset)
            if end < 0:
                raise ValueError(f"RPM header tag {tag} runs past the end of its data")
            values[tag] = data[offset:end].decode("utf-8", "replace")  # first of an array
        else:
            raise ValueError(f"RPM header tag {tag} has type {kind} or offset {offset}")
    return values


def parse_rpmdb_sqlite(data: bytes) -> list[Package]:
    """Packages in an rpmdb.sqlite, read in memory (``deserialize``), never from disk.

    An in-memory database cannot be in WAL mode, which rpm sets; the two header bytes
    that say so are turned back to rollback-journal mode on a copy before loading.
    Raises ValueError or sqlite3.Error for a file that is not such a database.
    """
    if not data.startswith(_SQLITE_MAGIC):
        raise ValueError("it is not an SQLite database")
    if data[18:20] == b"\x02\x02":
        data = data[:18] + b"\x01\x01" + data[20:]
    packages = []
    with closing(sqlite3.connect(":memory:")) as db:
        db.deserialize(data)
        for (blob,) in db.execute("SELECT blob FROM Packages ORDER BY hnum"):
            tags = parse_rpm_header(bytes(blob))
            name = str(tags.get(RPMTAG_NAME, ""))
            if not name or name == "gpg-pubkey":  # imported signing keys, not packages
                continue
            version = str(tags.get(RPMTAG_VERSION, ""))
            if tags.get(RPMTAG_RELEASE):
                version += f"-{tags[RPMTAG_RELEASE]}"
            if tags.get(RPMTAG_EPOCH):
                version = f"{tags[RPMTAG_EPOCH]}:{version}"
            license_ = str(tags.get(RPMTAG_LICENSE, ""))
            packages.append(Package(name, version, (license_,) if license_ else (), "rpm"))
    return packages


def _first_line(value: object) -> str:
    for line in ("" if value is None else str(value)).splitlines():
        if line.strip():
            return line.strip()
    return ""


def parse_python_metadata(text: str) -> Package | None:
    """A ``*.dist-info/METADATA`` file; None when it names no package.

    ``License-Expression`` (PEP 639) wins when present; otherwise the ``License`` field
    (its first line: some projects paste the whole license text there) and the license
    classifiers, ``License :: OSI Approved :: MIT License`` giving ``MIT License``.
    """
    message = HeaderParser().parsestr(text)
    name = _first_line(message.get("Name"))
    if not name:
        return None
    expression = _first_line(message.get("License-Expression"))
    licenses: list[str] = [expression] if expression else []
    if not expression:
        declared = _first_line(message.get("License"))
        if declared and declared.upper() != "UNKNOWN" and len(declared) <= _MAX_LICENSE_TEXT:
            licenses.append(declared)
        for classifier in message.get_all("Classifier") or []:
            parts = [part.strip() for part in str(classifier).split("::")]
            if parts[0] == "License" and len(parts) > 1 and parts[1:] != ["OSI Approved"]:
                licenses.append(parts[-1])
    version = _first_line(message.get("Version"))
    return Package(name, version, tuple(dict.fromkeys(licenses)), "pypi")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def packages_of(files: Mapping[str, bytes]) -> PackageReport:
    """Every package the databases among ``files`` (path -> bytes) know of."""
    packages: list[Package] = []
    sources: list[str] = []
    notes: list[str] = []
    problems: list[str] = []
    if DPKG_STATUS in files:
        packages += parse_dpkg_status(_text(files[DPKG_STATUS]))
        sources.append("dpkg status")
    status_d = sorted(path for path in files if path.startswith(DPKG_STATUS_D))
    for path in status_d:
        packages += parse_dpkg_status(_text(files[path]), assume_installed=True)
    if status_d:
        sources.append("dpkg status.d")
    if DPKG_STATUS in files or status_d:
        notes.append(DPKG_NO_LICENSES)
    if APK_INSTALLED in files:
        packages += parse_apk_installed(_text(files[APK_INSTALLED]))
        sources.append("apk database")
    rpm = [path for path in RPM_SQLITE if path in files]
    for path in rpm:
        try:
            packages += parse_rpmdb_sqlite(files[path])
        except (ValueError, sqlite3.Error) as exc:
            problems.append(f"/{path} could not be read: {exc}")
    if rpm:
        sources.append("rpm database")
    else:  # rpm --rebuilddb may leave an old database behind next to the sqlite one
        problems += [
            f"/{p} is an RPM database format Hoister does not read" for p in RPM_OTHER if p in files
        ]
    unlicensed = 0
    for path in sorted(path for path in files if path.endswith(PYTHON_METADATA)):
        package = parse_python_metadata(_text(files[path]))
        if package is None:
            notes.append(f"/{path} names no package")
            continue
        packages.append(package)
        unlicensed += not package.licenses
    if unlicensed:
        notes.append(f"{unlicensed} Python package(s) declare no license")
    if any(path.endswith(PYTHON_METADATA) for path in files):
        sources.append("python metadata")
    return PackageReport(
        tuple(packages),
        tuple(sources),
        tuple(notes),
        tuple(problems),
        licenses_complete=not unlicensed and DPKG_NO_LICENSES not in notes,
    )
