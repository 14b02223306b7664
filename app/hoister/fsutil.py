"""Files written whole or not at all.

A crash, a full disk or a kill in the middle of saving must leave the previous file in
place, so every write goes to a temporary sibling that is fsynced and renamed over the
target (rename is atomic on POSIX and on NTFS within one volume).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically, creating parent folders as needed."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json_atomic(path: Path, value: Any) -> None:
    """Serialise ``value`` as indented JSON and write it atomically."""
    text = json.dumps(value, indent=2, sort_keys=True) + "\n"
    write_atomic(path, text.encode("utf-8"))
