"""The agent's service recipes: the systemd units and the Containerfile.

Neither can be started here (no systemd as PID 1, no container engine), so each is
checked for syntax and, above all, for the command it runs: that command is parsed with
Hoister's own argument parser, so a renamed option fails this test instead of a
production service at 3 a.m.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hoister.cli import build_parser
from hoister.cli.agent import _listen_address
from hoister.engine.listener import Listener
from hoister.engine.metrics import AgentMetrics

ROOT = Path(__file__).resolve().parents[1]
SYSTEMD = ROOT / "packaging" / "systemd"
SYSTEM_UNIT = SYSTEMD / "hoister-agent.service"
USER_UNIT = SYSTEMD / "hoister-agent.user.service"
TEMPLATE_UNIT = SYSTEMD / "hoister-agent@.service"
CONTAINERFILE = ROOT / "packaging" / "Containerfile"
AGENT_README = ROOT / "packaging" / "README-agent.md"
#: Where packaging/README-agent.md installs the command (a venv linked into /usr/local/bin,
#: or pip into the system prefix); the system units must run exactly this.
INSTALLED = "/usr/local/bin/hoister"

Unit = dict[str, dict[str, list[str]]]


# -- systemd ---------------------------------------------------------------------------


def parse_unit(text: str) -> Unit:
    """A systemd unit file as section -> key -> every value, in order.

    Follows systemd's syntax rather than configparser's: keys may repeat (each
    ``Environment=`` adds), ``#`` and ``;`` start comments, a trailing backslash
    continues a line, and anything else outside ``Key=Value`` is an error.
    """
    unit: Unit = {}
    section: dict[str, list[str]] | None = None
    pending = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if header := re.fullmatch(r"\[([A-Za-z][A-Za-z0-9-]*)\]", line):
            assert header.group(1) not in unit, f"line {number}: section repeated"
            section = unit.setdefault(header.group(1), {})
            continue
        match = re.fullmatch(r"([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*)", line)
        assert match, f"line {number}: not Key=Value: {raw!r}"
        assert section is not None, f"line {number}: a key outside any section"
        section.setdefault(match.group(1), []).append(match.group(2))
    assert not pending, "the file ends inside a continued line"
    return unit


def _one(unit: Unit, section: str, key: str) -> str:
    values = unit[section].get(key, [])
    assert len(values) == 1, f"{section}.{key} should be set once, is {values}"
    return values[0]


def _hoister_args(exec_start: str, program: tuple[str, ...]) -> list[str]:
    """The arguments after ``program``, with systemd's prefixes and specifiers checked."""
    argv = shlex.split(exec_start.lstrip("-@:+!"))
    assert tuple(argv[: len(program)]) == program, f"ExecStart runs {argv[:2]}, not {program}"
    args = argv[len(program) :]
    assert not any("%" in arg for arg in args), "a specifier would change the arguments"
    return args


def _check_run_command(args: list[str]) -> tuple[str, int]:
    """Parse like ``hoister`` would; returns the listen address the agent will bind."""
    parsed = build_parser().parse_args(args)
    assert parsed.command == "run" and not parsed.once
    assert parsed.interval > 0
    assert parsed.listen, "the service should serve /healthz and /metrics"
    return _listen_address(parsed.listen)


def test_system_unit() -> None:
    unit = parse_unit(SYSTEM_UNIT.read_text(encoding="utf-8"))
    service = unit["Service"]
    args = _hoister_args(_one(unit, "Service", "ExecStart"), (INSTALLED,))
    assert args == ["run", "--listen", "127.0.0.1:5001", "--interval", "60"]
    assert _check_run_command(args) == ("127.0.0.1", 5001)
    assert _one(unit, "Service", "User") == "hoister"
    assert "HOISTER_HOME=/var/lib/hoister" in service["Environment"]
    assert _one(unit, "Service", "EnvironmentFile") == "-/etc/hoister/agent.env"
    assert _one(unit, "Service", "Restart") == "on-failure"
    assert _one(unit, "Service", "KillSignal") == "SIGTERM"
    assert _one(unit, "Service", "TimeoutStopSec") == "60"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ReadWritePaths": "/var/lib/hoister",
    }.items():
        assert _one(unit, "Service", key) == value, key
    assert _one(unit, "Install", "WantedBy") == "multi-user.target"
    sysusers = (SYSTEMD / "hoister.sysusers").read_text(encoding="utf-8")
    assert re.search(r"^u hoister - .* /var/lib/hoister$", sysusers, re.MULTILINE)


def test_system_units_run_the_documented_install_path() -> None:
    """The install steps of the agent's README put the command where the units run it."""
    readme = AGENT_README.read_text(encoding="utf-8")
    assert f"sudo ln -sf /opt/hoister/bin/hoister {INSTALLED}" in readme
    assert f"The unit runs `{INSTALLED} run" in readme
    for unit in (SYSTEM_UNIT, TEMPLATE_UNIT):
        exec_start = _one(parse_unit(unit.read_text(encoding="utf-8")), "Service", "ExecStart")
        assert shlex.split(exec_start)[0] == INSTALLED, unit.name
    assert "/usr/bin/hoister" not in readme, "no step installs the command there"


def test_user_unit() -> None:
    unit = parse_unit(USER_UNIT.read_text(encoding="utf-8"))
    args = _hoister_args(_one(unit, "Service", "ExecStart"), ("/usr/bin/env", "hoister"))
    assert _check_run_command(args) == ("127.0.0.1", 5001)
    assert "User" not in unit["Service"], "a user unit runs as its user"
    assert "HOISTER_HOME" not in " ".join(unit["Service"].get("Environment", []))
    assert _one(unit, "Service", "KillSignal") == "SIGTERM"
    assert _one(unit, "Install", "WantedBy") == "default.target"


def test_template_unit_runs_one_agent_per_port() -> None:
    """N agents of a team on one machine: the instance is the port, each its own home."""
    unit = parse_unit(TEMPLATE_UNIT.read_text(encoding="utf-8"))
    service = unit["Service"]
    exec_start = _one(unit, "Service", "ExecStart")
    assert exec_start.endswith("--listen 127.0.0.1:%i --interval 60")
    args = _hoister_args(exec_start.replace("%i", "5002"), (INSTALLED,))
    assert _check_run_command(args) == ("127.0.0.1", 5002)
    assert "HOISTER_HOME=/var/lib/hoister/%i" in service["Environment"]
    assert service["EnvironmentFile"] == ["-/etc/hoister/agent.env", "-/etc/hoister/agent-%i.env"]
    assert _one(unit, "Service", "StateDirectory") == "hoister/%i"
    assert _one(unit, "Service", "ReadWritePaths") == "/var/lib/hoister/%i"
    system = parse_unit(SYSTEM_UNIT.read_text(encoding="utf-8"))["Service"]
    differs = {"ExecStart", "Environment", "EnvironmentFile", "StateDirectory", "ReadWritePaths"}
    for key, values in system.items():
        if key not in differs:  # the same hardening, restart and stop behaviour
            assert service.get(key) == values, key


def test_parse_unit_refuses_what_systemd_would_not_read() -> None:
    with pytest.raises(AssertionError, match="not Key=Value"):
        parse_unit("[Service]\nExecStart /usr/bin/hoister\n")
    with pytest.raises(AssertionError, match="outside any section"):
        parse_unit("ExecStart=/usr/bin/hoister\n")
    continued = parse_unit("[Service]\nExecStart=/usr/bin/hoister run \\\n  --once\n")
    assert continued["Service"]["ExecStart"] == ["/usr/bin/hoister run  --once"]


def _analyze(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("systemd-analyze")
    if binary is None:
        pytest.fail("systemd-analyze is not installed: apt-get install systemd")
    return subprocess.run(
        [binary, *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def _own_lines(output: str, unit: Path) -> list[str]:
    """Lines about our unit; systemd may also talk about units it pulled in."""
    return [line for line in output.splitlines() if unit.name in line]


@pytest.mark.parametrize("variant", ["system", "user", "template"])
def test_systemd_analyze_verify(variant: str, tmp_path: Path) -> None:
    """systemd's own parser: unknown keys and bad values are warnings it prints.

    ``verify`` also insists the program exists, so the system unit is checked with
    ``/usr/local/bin/hoister`` replaced by a stand-in (its arguments are checked above).
    """
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path), "HOME": str(tmp_path)}
    scope = ["--user"] if variant == "user" else []
    control = tmp_path / "control" / "hoister-control.service"
    control.parent.mkdir()
    control.write_text("[Service]\nExecStart=/bin/true\n", encoding="utf-8")
    probe = _analyze(*scope, "--man=no", "verify", str(control), env=env)
    if probe.returncode != 0:
        pytest.skip(f"systemd-analyze verify cannot run here: {probe.stdout}{probe.stderr}")

    stand_in = tmp_path / "bin" / "hoister"
    stand_in.parent.mkdir()
    stand_in.write_text("#!/bin/sh\n", encoding="utf-8")
    stand_in.chmod(0o755)
    source = {"system": SYSTEM_UNIT, "user": USER_UNIT, "template": TEMPLATE_UNIT}[variant]
    text = source.read_text(encoding="utf-8").replace(f"={INSTALLED} ", f"={stand_in} ")
    # the name it is installed under (a template is verified as one of its instances)
    name = "hoister-agent@5002.service" if variant == "template" else "hoister-agent.service"
    unit = tmp_path / name
    unit.write_text(text, encoding="utf-8")
    result = _analyze(*scope, "--man=no", "verify", str(unit), env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert _own_lines(output, unit) == [], output


# -- Containerfile ---------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int

    def exec_form(self) -> list[str]:
        value = json.loads(self.arguments)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), self
        return value


def parse_containerfile(text: str) -> list[list[Instruction]]:
    """Instructions grouped by build stage (one list per FROM), continuations joined."""
    stages: list[list[Instruction]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction is dropped
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        line, pending = pending + stripped, ""
        keyword, _, arguments = line.partition(" ")
        assert keyword.isalpha() and keyword.isupper(), f"line {start}: {line!r}"
        instruction = Instruction(keyword, arguments.strip(), start)
        if keyword == "FROM":
            stages.append([])
        assert stages, f"line {start}: {keyword} before FROM"
        stages[-1].append(instruction)
    assert not pending, "the file ends inside a continued instruction"
    return stages


def _all(stage: list[Instruction], keyword: str) -> list[Instruction]:
    return [i for i in stage if i.keyword == keyword]


def _last(stage: list[Instruction], keyword: str) -> Instruction:
    found = _all(stage, keyword)
    assert found, f"no {keyword} in the final stage"
    return found[-1]


@pytest.fixture(scope="module")
def stages() -> list[list[Instruction]]:
    return parse_containerfile(CONTAINERFILE.read_text(encoding="utf-8"))


def test_container_runs_the_agent(stages: list[list[Instruction]]) -> None:
    final = stages[-1]
    assert all(stage[0].arguments.split()[0] == "python:3.11-slim" for stage in stages)
    command = _last(final, "ENTRYPOINT").exec_form() + _last(final, "CMD").exec_form()
    assert command[:2] == ["hoister", "run"]
    host, port = _check_run_command(command[1:])
    assert host == "0.0.0.0"
    assert _last(final, "EXPOSE").arguments.split() == [str(port)]
    assert _last(final, "STOPSIGNAL").arguments == "SIGTERM"


def test_container_runs_as_an_unprivileged_user(stages: list[list[Instruction]]) -> None:
    final = stages[-1]
    user = _last(final, "USER").arguments
    name, _, group = user.partition(":")
    assert name not in ("", "root", "0") and group not in ("root", "0")
    created = " ".join(i.arguments for i in _all(final, "RUN"))
    assert f"--uid {name}" in created, "USER should be the account the image creates"


def test_container_keeps_state_on_a_volume(stages: list[list[Instruction]]) -> None:
    final = stages[-1]
    env = " ".join(i.arguments for i in _all(final, "ENV"))
    home = re.search(r"HOISTER_HOME=(\S+)", env)
    assert home and home.group(1) == "/var/lib/hoister"
    assert _last(final, "VOLUME").arguments == home.group(1)


def test_container_copies_files_that_exist(stages: list[list[Instruction]]) -> None:
    for instruction in _all(stages[0], "COPY"):
        *sources, _ = instruction.arguments.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_container_installs_the_core_dependencies(stages: list[list[Instruction]]) -> None:
    """Qt is left out on purpose; everything else pyproject.toml requires goes in."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = {d for d in pyproject["project"]["dependencies"] if not d.startswith("PySide6")}
    words = shlex.split(" ".join(i.arguments for i in _all(stages[-1], "RUN")))
    requirement = re.compile(r"[A-Za-z0-9_.-]+(\[[A-Za-z0-9_,.-]+\])?\s*[<>=!~]")  # extras too
    installed = {w for w in words if requirement.match(w)}
    assert installed == wanted
    assert "--no-deps" in words


class Clock:
    """Unix seconds that a test can move forward."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def health_server() -> Iterator[tuple[int, Clock]]:
    clock = Clock()
    metrics = AgentMetrics(60, clock=clock)
    routes = {"/healthz": metrics.healthz}
    with Listener(token=None, on_notice=lambda notice: None, extra_routes=routes) as listener:
        yield listener.address[1], clock


def test_container_healthcheck_asks_healthz(
    stages: list[list[Instruction]], health_server: tuple[int, Clock]
) -> None:
    """Run the HEALTHCHECK's own command against a live /healthz: 0 when up, else not."""
    final = stages[-1]
    options, _, command = _last(final, "HEALTHCHECK").arguments.partition("CMD ")
    assert re.search(r"--interval=\d+s", options)
    argv = json.loads(command)
    assert argv[0] == "python"
    port = _check_run_command(["run", *_last(final, "CMD").exec_form()])[1]
    url = f"http://127.0.0.1:{port}/healthz"
    assert url in argv[-1]
    live_port, clock = health_server
    argv[-1] = argv[-1].replace(url, f"http://127.0.0.1:{live_port}/healthz")
    healthy = subprocess.run([sys.executable, *argv[1:]], capture_output=True, timeout=60)
    assert healthy.returncode == 0, healthy.stderr
    clock.now += 10_000  # no poll cycle finished in all that time: 503
    unhealthy = subprocess.run([sys.executable, *argv[1:]], capture_output=True, timeout=60)
    assert unhealthy.returncode != 0
    assert b"503" in unhealthy.stderr
