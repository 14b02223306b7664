"""The desktop bundle's recipe and the GUI's smoke test (the bundle itself: make package).

The spec is run here with stand-ins for PyInstaller's build steps, once per platform, so
a typo or a missing keyring backend shows up in the suite rather than in a 3-minute build;
``make package-check`` then runs the real bundle.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from hoister.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "hoister.spec"
SHOWN = "hoister gui: main window shown"


class _Step:
    """Records how the spec called a PyInstaller build step (Analysis, EXE, ...)."""

    calls: list[_Step]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs
        self.calls.append(self)
        # what the spec reads from an Analysis
        self.scripts: list[Any] = []
        self.pure: list[Any] = []
        self.binaries: list[Any] = []
        self.datas: list[Any] = []


def _run_spec(
    platform: str, monkeypatch: pytest.MonkeyPatch, root: Path = ROOT
) -> dict[str, list[_Step]]:
    steps: dict[str, list[_Step]] = {}

    def step(name: str) -> type[_Step]:
        steps[name] = []
        return type(name, (_Step,), {"calls": steps[name]})

    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.__dict__.update(
        collect_submodules=lambda package, filter=None: [
            name
            for name in (f"{package}.kwallet", f"{package}.macOS.api", f"{package}.testing")
            if filter is None or filter(name)
        ],
        copy_metadata=lambda name: [(f"/site/{name}-25.dist-info", f"{name}-25.dist-info")],
    )
    monkeypatch.setitem(sys.modules, "PyInstaller", types.ModuleType("PyInstaller"))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils", types.ModuleType("PyInstaller.utils"))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    monkeypatch.setattr(sys, "platform", platform)
    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "__file__": str(SPEC),
        "SPECPATH": str(root / "packaging"),
        **{name: step(name) for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")},
    }
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    return steps


@pytest.mark.parametrize("platform", ["linux", "win32", "darwin"])
def test_spec_builds_one_folder_app(platform: str, monkeypatch: pytest.MonkeyPatch) -> None:
    steps = _run_spec(platform, monkeypatch)
    [analysis] = steps["Analysis"]
    [entry] = analysis.args[0]
    assert Path(entry) == ROOT / "packaging" / "entry.py"
    assert [Path(p) for p in analysis.kwargs["pathex"]] == [ROOT / "app"]

    datas = analysis.kwargs["datas"]
    assert (str(ROOT / "resources"), "resources") in datas  # hoister.resources: _MEIPASS
    assert ("/site/keyring-25.dist-info", "keyring-25.dist-info") in datas  # entry points

    hidden = set(analysis.kwargs["hiddenimports"])
    assert {"keyring.backends.chainer", "keyring.backends.fail", "keyring.backends.null"} <= hidden
    assert "keyring.backends.kwallet" in hidden  # from collect_submodules("keyring.backends")
    native = {
        "linux": {"keyring.backends.SecretService", "secretstorage", "jeepney"},
        "win32": {"keyring.backends.Windows", "win32ctypes.core"},
        "darwin": {"keyring.backends.macOS"},
    }[platform]
    assert native <= hidden
    assert "PySide6.QtWebEngineCore" in analysis.kwargs["excludes"]
    # the store: both dialects, psycopg's binary libpq, alembic's proxies, YAML
    assert {
        "sqlalchemy.dialects.sqlite.pysqlite",
        "sqlalchemy.dialects.postgresql.psycopg",
        "psycopg_binary.pq",
        "psycopg_binary._psycopg",
        "yaml",
    } <= hidden
    assert "alembic.kwallet" in hidden  # from collect_submodules("alembic")
    assert "alembic.testing" not in hidden  # it would drag pytest in

    exes = steps["EXE"]
    assert exes[0].kwargs["name"] == "hoister"
    assert all(exe.kwargs["exclude_binaries"] for exe in exes)  # one folder, not one file
    [collect] = steps["COLLECT"]
    assert collect.kwargs["name"] == "hoister"
    assert [b.kwargs["name"] for b in steps["BUNDLE"]] == (
        ["Hoister.app"] if platform == "darwin" else []
    )


def test_spec_collects_the_alembic_revisions_as_source_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Alembic loads env.py and versions/*.py by path: sources, not bytecode, next to hoister.store
    revisions = tmp_path / "app" / "hoister" / "store" / "revisions"
    for name in ("env.py", "script.py.mako", "versions/0001_first.py", "__pycache__/env.pyc"):
        (revisions / name).parent.mkdir(parents=True, exist_ok=True)
        (revisions / name).write_text("# revision\n")
    [analysis] = _run_spec("linux", monkeypatch, root=tmp_path)["Analysis"]
    collected = {
        (Path(src).relative_to(revisions).as_posix(), Path(dest).as_posix())
        for src, dest in analysis.kwargs["datas"]
        if Path(src).is_relative_to(revisions)
    }
    assert collected == {
        ("env.py", "hoister/store/revisions"),
        ("script.py.mako", "hoister/store/revisions"),
        ("versions/0001_first.py", "hoister/store/revisions/versions"),
    }


def test_spec_builds_without_a_revisions_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [analysis] = _run_spec("linux", monkeypatch, root=tmp_path)["Analysis"]
    assert not any("revisions" in dest for _, dest in analysis.kwargs["datas"])


def test_entry_script_runs_the_cli() -> None:
    text = (ROOT / "packaging" / "entry.py").read_text(encoding="utf-8")
    assert "from hoister.cli import main" in text
    assert "sys.exit(main())" in text


def test_smoke_test_option_is_hidden() -> None:
    parser = build_parser()
    assert parser.parse_args(["gui", "--smoke-test"]).smoke_test is True
    assert parser.parse_args(["gui"]).smoke_test is False
    gui = parser._subparsers._group_actions[0].choices["gui"]  # type: ignore[union-attr]
    assert "smoke" not in gui.format_help()


def _gui_smoke_test(home: Path, code: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        HOISTER_HOME=str(home),
        PYTHONPATH=os.pathsep.join([str(ROOT / "app"), env.get("PYTHONPATH", "")]),
        # never ask the developer's own keyring (design: tests use a test backend)
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    command = ["-m", "hoister", "gui", "--smoke-test"] if code is None else ["-c", code]
    return subprocess.run(
        [sys.executable, *command],
        capture_output=True,
        text=True,
        env=env,
        cwd=home.parent,
        timeout=120,
    )


def test_gui_smoke_test_opens_and_closes_the_window(tmp_path: Path) -> None:
    result = _gui_smoke_test(tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    assert SHOWN in result.stdout
    assert "keyring: memory (this session only)" in result.stdout
    # closed the normal way: the window's state was saved on close
    assert (tmp_path / "home" / "config" / "settings.json").exists()


def test_gui_smoke_test_fails_on_an_uncaught_exception(tmp_path: Path) -> None:
    # A slot that raises once the loop runs: the crash reporter logs it (and opens its
    # dialog, which the smoke test's exit also ends).
    code = (
        "import hoister.ui.main_window as m\n"
        "def broken(self): raise RuntimeError('broken on purpose')\n"
        "m.MainWindow._update_activity = broken\n"
        "from hoister.cli import main\n"
        "raise SystemExit(main(['gui', '--smoke-test']))\n"
    )
    result = _gui_smoke_test(tmp_path / "home", code)
    assert result.returncode == 1, result.stdout + result.stderr
    assert SHOWN not in result.stdout
    assert "smoke test failed" in result.stderr
    assert "broken on purpose" in result.stderr
