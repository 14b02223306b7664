"""The first-run page: its buttons say what they need and emit what the window wires."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hoister import sandbox
from hoister.credentials import DockerConfig
from hoister.ui.connections.welcome import WelcomePage


def _docker_config(auths: dict[str, object]) -> Path:
    """Write config.json into the suite's per-test DOCKER_CONFIG folder."""
    path = Path(os.environ["DOCKER_CONFIG"]) / "config.json"
    path.write_text(json.dumps(auths))
    return path


@pytest.fixture
def with_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "find_binary", lambda: "/usr/bin/docker-registry")


@pytest.fixture
def without_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "find_binary", lambda: None)


def _page(qtbot: QtBot) -> WelcomePage:
    page = WelcomePage(DockerConfig())
    qtbot.addWidget(page)
    page.show()
    return page


@pytest.mark.usefixtures("with_binary")
def test_buttons_emit_their_signals(qtbot: QtBot) -> None:
    _docker_config({"auths": {"ghcr.io": {}, "https://index.docker.io/v1/": {}}})
    page = _page(qtbot)
    assert page.load_samples

    with qtbot.waitSignal(page.connect_requested):
        qtbot.mouseClick(page.connect_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(page.sandbox_requested):
        qtbot.mouseClick(page.sandbox_button, Qt.MouseButton.LeftButton)
    page.docker_hosts.setCurrentText("ghcr.io")
    with qtbot.waitSignal(page.docker_login_chosen) as chosen:
        qtbot.mouseClick(page.docker_button, Qt.MouseButton.LeftButton)
    assert chosen.args == ["ghcr.io"]

    page.samples.setChecked(False)
    assert not page.load_samples


@pytest.mark.usefixtures("with_binary")
def test_docker_logins_are_listed_from_the_config_file(qtbot: QtBot) -> None:
    _docker_config(
        {
            "auths": {"https://index.docker.io/v1/": {}, "registry.example.com:5000": {}},
            "credHelpers": {"123.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"},
        }
    )
    page = _page(qtbot)
    hosts = [page.docker_hosts.itemText(i) for i in range(page.docker_hosts.count())]
    assert hosts == [
        "123.dkr.ecr.eu-west-1.amazonaws.com",
        "docker.io",
        "registry.example.com:5000",
    ]
    assert page.docker_button.isEnabled()
    assert page.docker_hosts.isVisible()


@pytest.mark.usefixtures("with_binary")
def test_a_single_login_is_named_and_a_login_made_later_appears(qtbot: QtBot) -> None:
    page = _page(qtbot)
    assert not page.docker_button.isEnabled()
    assert "docker login" in page.docker_note.text()
    assert not page.docker_hosts.isVisible()

    _docker_config({"auths": {"quay.io": {"auth": "c2VjcmV0OnNlY3JldA=="}}})
    page.refresh()
    assert page.docker_button.isEnabled()
    assert "quay.io" in page.docker_note.text()
    assert not page.docker_hosts.isVisible()  # one login: named in the note, no list
    assert "c2Vj" not in page.docker_note.text()
    with qtbot.waitSignal(page.docker_login_chosen) as chosen:
        qtbot.mouseClick(page.docker_button, Qt.MouseButton.LeftButton)
    assert chosen.args == ["quay.io"]


@pytest.mark.usefixtures("with_binary")
def test_a_broken_docker_config_is_explained_not_raised(qtbot: QtBot) -> None:
    path = Path(os.environ["DOCKER_CONFIG"]) / "config.json"
    path.write_text("{not json")
    page = _page(qtbot)
    assert not page.docker_button.isEnabled()
    assert "not valid JSON" in page.docker_note.text()


@pytest.mark.usefixtures("without_binary")
def test_sandbox_is_disabled_with_the_install_hint(qtbot: QtBot) -> None:
    page = _page(qtbot)
    assert not page.sandbox_button.isEnabled()
    assert page.sandbox_hint.isVisible()
    assert "sudo apt-get install docker-registry" in page.sandbox_hint.text()
    assert not page.samples.isVisible()
    assert page.connect_button.isEnabled()


@pytest.mark.usefixtures("with_binary")
def test_sandbox_available_offers_sample_content(qtbot: QtBot) -> None:
    page = _page(qtbot)
    assert page.sandbox_button.isEnabled()
    assert not page.sandbox_hint.isVisible()
    assert page.samples.isVisible() and page.samples.isChecked()
    assert page.samples.text() == "Load sample content (dev/website with a few tags)"


@pytest.mark.usefixtures("with_binary")
def test_busy_turns_the_actions_off_and_an_error_turns_them_back_on(qtbot: QtBot) -> None:
    _docker_config({"auths": {"ghcr.io": {}}})
    page = _page(qtbot)
    page.set_busy("Starting the sandbox registry…")
    assert page.status.isVisible() and page.status.text() == "Starting the sandbox registry…"
    buttons = (page.connect_button, page.docker_button, page.sandbox_button)
    assert not any(button.isEnabled() for button in buttons)

    page.show_error("the sandbox registry stopped at once <exit status 1>")
    assert all(button.isEnabled() for button in buttons)
    assert page.status.text() == "the sandbox registry stopped at once <exit status 1>"

    page.set_busy(None)
    assert not page.status.isVisible()


def test_screenshot(qtbot: QtBot, tmp_path: Path) -> None:
    """Renders offscreen; a person looks at the PNG (kept in the test's tmp dir)."""
    _docker_config({"auths": {"ghcr.io": {}, "https://index.docker.io/v1/": {}}})
    page = _page(qtbot)
    page.resize(900, 620)
    image = page.grab()
    assert image.save(str(tmp_path / "welcome.png"))
    assert image.width() == 900
