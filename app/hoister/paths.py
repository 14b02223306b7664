"""Every file location Hoister uses, in one place.

Defaults come from platformdirs so the app behaves like a native citizen on each OS.
``HOISTER_HOME=DIR`` moves all of them under ``DIR`` so tests, demos and the headless
agent never touch a user's real configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "hoister"


@dataclass(frozen=True)
class Paths:
    """The four roots Hoister writes under; created on first use, not on import."""

    config: Path
    data: Path
    cache: Path
    logs: Path

    @property
    def profiles_file(self) -> Path:
        return self.config / "profiles.json"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    @property
    def database(self) -> Path:
        return self.data / "hoister.db"

    @property
    def log_file(self) -> Path:
        return self.logs / "hoister.log"

    def ensure(self) -> Paths:
        """Create the directories (private to the user) and return self."""
        for folder in (self.config, self.data, self.cache, self.logs):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self


def default_paths(environ: os._Environ[str] | dict[str, str] | None = None) -> Paths:
    """Resolve the locations, honouring ``HOISTER_HOME``."""
    env = os.environ if environ is None else environ
    home = env.get("HOISTER_HOME")
    if home:
        root = Path(home).expanduser()
        return Paths(root / "config", root / "data", root / "cache", root / "logs")
    return Paths(
        Path(platformdirs.user_config_dir(APP_NAME)),
        Path(platformdirs.user_data_dir(APP_NAME)),
        Path(platformdirs.user_cache_dir(APP_NAME)),
        Path(platformdirs.user_log_dir(APP_NAME)),
    )
