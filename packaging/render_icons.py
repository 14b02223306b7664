"""Render the app icon into the hicolor PNG sizes desktops and Flathub expect.

The PNGs are committed (they are small) so a package build needs no SVG renderer; run
this again only after ``resources/icons/hoister.svg`` changes::

    QT_QPA_PLATFORM=offscreen python packaging/render_icons.py

Qt's own SVG renderer is used because PySide6 is already a dependency, so no extra
system package (librsvg, Inkscape) is needed. It lives in ``packaging/``, not in
``hoister``: only ``hoister.ui`` may import Qt, and this is a build step, not the app.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

APP_ID = "io.github.hoister.Hoister"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "resources" / "icons" / "hoister.svg"
HICOLOR = ROOT / "resources" / "icons" / "hicolor"


def render(renderer: QSvgRenderer, size: int, target: Path) -> None:
    """Draw the whole SVG into a transparent square; Qt antialiases at every size."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    target.parent.mkdir(parents=True, exist_ok=True)
    # Converting drops premultiplication so the file holds plain RGBA, as PNG expects.
    if not image.convertToFormat(QImage.Format.Format_ARGB32).save(str(target), "PNG"):
        raise OSError(f"could not write {target}")


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        print(f"render_icons: {SOURCE} is not a valid SVG", file=sys.stderr)
        return 1
    for size in SIZES:
        target = HICOLOR / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        render(renderer, size, target)
        print(target.relative_to(ROOT))
    scalable = HICOLOR / "scalable" / "apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOURCE, scalable)
    print(scalable.relative_to(ROOT))
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
