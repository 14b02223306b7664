"""Write Hoister's Python dependencies as pinned Flatpak modules.

``python3-deps.json`` holds the runtime dependencies; ``python3-build-deps.json`` the
build backend (setuptools, wheel), which is removed from the app once Hoister is built,
so the recipe does not depend on which setuptools the SDK happens to ship.

flatpak-builder builds without network, so every wheel must be listed up front with its
URL and SHA-256. This does what flatpak-pip-generator does, with nothing to install:
pip resolves the dependencies in ``pyproject.toml`` once per architecture Flathub builds
(``--dry-run --report`` downloads nothing but metadata) and the report names the exact
files and hashes. Binary-only (``--only-binary=:all:``) because the sandbox has no
compilers for cryptography's Rust or PySide6's C++; the wheels are abi3 or match the
runtime's Python. Run it again after changing dependencies::

    python packaging/flatpak/pin_wheels.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RUNTIME_OUTPUT = HERE / "python3-deps.json"
BUILD_OUTPUT = HERE / "python3-build-deps.json"
#: The Python of the runtime the manifest names (org.kde.Platform 6.9: freedesktop 24.08).
PYTHON_VERSION = "3.12"
#: Newest glibc tags first; the runtime's glibc (2.40) satisfies each of them.
GLIBC_TAGS = ("manylinux_2_39", "manylinux_2_34", "manylinux_2_28", "manylinux_2_17")
ARCHES = ("x86_64", "aarch64")


def requirements() -> tuple[list[str], list[str]]:
    """(runtime, build) dependencies, exactly as pyproject.toml states them."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(pyproject["project"]["dependencies"]), list(pyproject["build-system"]["requires"])


def resolve(arch: str, wanted: list[str]) -> list[dict[str, Any]]:
    """pip's installation report for ``arch``: one entry per wheel it would install."""
    platforms = [f"--platform={tag}_{arch}" for tag in GLIBC_TAGS]
    platforms.append(f"--platform=manylinux2014_{arch}")
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--isolated",  # PyPI itself: no local mirrors or constraints from pip.conf
                "--disable-pip-version-check",
                "install",
                "--quiet",
                "--dry-run",
                "--ignore-installed",
                "--only-binary=:all:",
                "--implementation=cp",
                f"--python-version={PYTHON_VERSION}",
                *platforms,
                f"--target={scratch}/target",
                f"--report={report}",
                *wanted,
            ],
            check=True,
        )
        return list(json.loads(report.read_text(encoding="utf-8"))["install"])


def module(name: str, reports: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A flatpak-builder module: every wheel as a file source, arch-specific ones marked."""
    arches_of: dict[str, list[str]] = {}
    hashes: dict[str, str] = {}
    pins: dict[str, str] = {}
    for arch, entries in reports.items():
        for entry in entries:
            info = entry["download_info"]
            url = info["url"]
            arches_of.setdefault(url, []).append(arch)
            hashes[url] = info["archive_info"]["hashes"]["sha256"]
            pins[entry["metadata"]["name"]] = entry["metadata"]["version"]
    sources: list[dict[str, Any]] = []
    for url, arches in arches_of.items():
        source: dict[str, Any] = {"type": "file", "url": url, "sha256": hashes[url]}
        if len(arches) < len(reports):
            source["only-arches"] = arches
        sources.append(source)
    requirements = " ".join(f'"{name}=={version}"' for name, version in sorted(pins.items()))
    return {
        "name": name,
        "buildsystem": "simple",
        "build-commands": [
            "pip3 install --verbose --exists-action=i --no-index --find-links=file://${PWD} "
            f"--prefix=${{FLATPAK_DEST}} --no-build-isolation {requirements}"
        ],
        "sources": sources,
    }


def main() -> int:
    runtime, build = requirements()
    runtime_module = module("python3-deps", {arch: resolve(arch, runtime) for arch in ARCHES})
    build_module = module("python3-build-deps", {arch: resolve(arch, build) for arch in ARCHES})
    build_module["cleanup"] = ["*"]  # needed to build Hoister, not to run it
    for path, content in ((RUNTIME_OUTPUT, runtime_module), (BUILD_OUTPUT, build_module)):
        path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
