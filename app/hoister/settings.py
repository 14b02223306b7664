"""User settings of the desktop app: a small JSON file beside the profiles.

Kept as JSON (not QSettings) so the format is the same on every OS, readable in an
editor, and testable without Qt. Unknown keys are preserved; a damaged file is set
aside rather than crashing the app or being silently overwritten.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from hoister.fsutil import write_json_atomic

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "theme": "auto",  # auto, light, dark
    "close_to_tray": False,
    "window_geometry": None,  # base64 of QWidget.saveGeometry()
    "window_state": None,
    "splitters": {},  # name -> base64 of QSplitter.saveState()
    "repositories_by_name": {},  # profile -> [repository, ...] (catalog forbidden)
}


class Settings:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._values = dict(DEFAULTS)
        self._load()

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("settings %s unreadable (%s); using defaults", self.path, exc)
            return
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            aside = self.path.with_suffix(".damaged.json")
            log.warning("settings %s are damaged (%s); kept as %s", self.path, exc, aside)
            self.path.replace(aside)
            return
        self._values.update(data)

    def get(self, key: str) -> Any:
        return self._values.get(key, DEFAULTS.get(key))

    def set(self, key: str, value: Any) -> None:
        self._values[key] = value

    def save(self) -> None:
        write_json_atomic(self.path, self._values)
