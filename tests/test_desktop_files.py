"""Desktop integration files: validated by the desktop's own tools, consistent with the app.

``desktop-file-validate`` and ``appstreamcli`` are what distributions and Flathub run, so
they are the judges here (installed by ``tools/system-packages.sh test``). The rest checks
what they cannot: that the ids, icon names, versions and screenshots agree with the app
and the repository.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import struct
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hoister import __version__
from hoister.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
APP_ID = "io.github.hoister.Hoister"
DESKTOP = PACKAGING / f"{APP_ID}.desktop"
METAINFO = PACKAGING / f"{APP_ID}.metainfo.xml"
ICONS = ROOT / "resources" / "icons"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
FLATPAK = PACKAGING / "flatpak"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not installed: apt-get install {package} (tools/system-packages.sh)"
        )
    return found


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(DESKTOP.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


def _metainfo() -> ET.Element:
    return ET.parse(METAINFO).getroot()


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which the PNG format puts first."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert head[12:16] == b"IHDR", f"{path} does not start with IHDR"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


# -- the validators --------------------------------------------------------------------


def test_desktop_file_passes_desktop_file_validate() -> None:
    result = _run(_tool("desktop-file-validate", "desktop-file-utils"), str(DESKTOP))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert not re.search(r"\b(error|warning):", output), output


def test_metainfo_passes_appstreamcli_validate() -> None:
    result = _run(_tool("appstreamcli", "appstream"), "validate", "--no-net", str(METAINFO))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert not re.search(r"^E:", output, re.MULTILINE), output


# -- agreement with the app ------------------------------------------------------------


def test_ids_agree() -> None:
    root = _metainfo()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == DESKTOP.name.removesuffix(".desktop") == APP_ID
    assert root.findtext("launchable[@type='desktop-id']") == DESKTOP.name
    assert _desktop_entry()["Icon"] == APP_ID
    # Wayland matches the window to the desktop file through this call (app id).
    app_source = (ROOT / "app" / "hoister" / "ui" / "app.py").read_text(encoding="utf-8")
    assert f'setDesktopFileName("{APP_ID}")' in app_source


def test_desktop_file_runs_the_gui() -> None:
    entry = _desktop_entry()
    argv = shlex.split(entry["Exec"])
    assert argv[0] == "hoister"
    assert build_parser().parse_args(argv[1:]).command == "gui"
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"
    assert "Development" in entry["Categories"].split(";")


def test_metainfo_matches_the_project() -> None:
    root = _metainfo()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert root.findtext("project_license") == pyproject["project"]["license"]["text"]
    assert root.findtext("metadata_license") == "CC0-1.0"
    releases = root.findall("releases/release")
    assert releases and releases[0].get("version") == __version__
    assert root.findtext("provides/binary") == "hoister"
    assert root.find("content_rating").get("type") == "oars-1.1"  # type: ignore[union-attr]


def test_screenshots_exist_in_the_repository_with_their_sizes() -> None:
    images = _metainfo().findall("screenshots/screenshot/image")
    assert images
    prefix = "https://raw.githubusercontent.com/hoister/hoister/main/"
    for image in images:
        url = image.text or ""
        assert url.startswith(prefix), url
        local = ROOT / url.removeprefix(prefix)
        assert local.is_file(), f"{url} points at {local}, which is missing"
        declared = (int(image.get("width", "0")), int(image.get("height", "0")))
        assert declared == _png_size(local), url


# -- icons -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", ICON_SIZES)
def test_png_icon_of_each_size(size: int) -> None:
    path = ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
    assert path.is_file(), f"missing {path.relative_to(ROOT)}; run packaging/render_icons.py"
    assert _png_size(path) == (size, size)


def test_scalable_icon_is_the_app_icon() -> None:
    scalable = ICONS / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    assert scalable.read_bytes() == (ICONS / "hoister.svg").read_bytes()


# -- Flatpak recipe --------------------------------------------------------------------


def test_flatpak_recipe_is_consistent() -> None:
    """It cannot be built here (no Flathub); at least its ids and pins must hold together."""
    manifest = (FLATPAK / f"{APP_ID}.yml").read_text(encoding="utf-8")
    assert re.search(rf"^id: {re.escape(APP_ID)}$", manifest, re.MULTILINE)
    for permission in ("--share=network", "--socket=wayland", "--socket=fallback-x11"):
        assert f"- {permission}" in manifest
    for name in ("org.freedesktop.secrets", "org.freedesktop.Notifications"):
        assert f"- --talk-name={name}" in manifest
    for module_file in re.findall(r"^  - (\S+\.json)$", manifest, re.MULTILINE):
        module = json.loads((FLATPAK / module_file).read_text(encoding="utf-8"))
        assert module["sources"], module_file
        for source in module["sources"]:
            assert source["url"].startswith("https://files.pythonhosted.org/"), source
            assert re.fullmatch(r"[0-9a-f]{64}", source["sha256"]), source
    for installed in re.findall(r"install -Dm644 (\S+)", manifest):
        if "${size}" not in installed:
            assert (ROOT / installed).is_file(), installed
