"""Can the credentials a policy will promote with read its source and push to its target?

MSR required admin rights on both repositories before a policy could be saved. Hoister
talks to registries whose permission models it cannot read, so it asks the registry
itself: a read is tried by listing tags, a push by opening an upload session and
cancelling it at once (the registry, not Hoister, decides whether that is allowed). On a
token registry the token server is also asked which actions it grants, so the warning
can say "granted pull only" instead of a bare 401.

:func:`check_permissions` is plain Python run in a worker (it talks to registries);
:class:`PermissionsNote` runs it, debounced, and shows its answer in the policy editor.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QLabel, QWidget

from hoister.errors import HoisterError
from hoister.registry import RegistryClient
from hoister.registry.auth import merge_scopes, repository_scope
from hoister.registry.errors import Denied, NotFound, RegistryError, Unauthorized
from hoister.ui.context import AppContext
from hoister.ui.shared.workers import Requester

#: Only named in the message a registry writes into its log for the probe upload.
_PROBE_DIGEST = "sha256:" + "0" * 64
#: Wait for typing to pause: each check opens (and cancels) an upload on the target.
DELAY_MS = 400
WARNING_STYLE = "background: #fff4ce; color: #5c4400; border: 1px solid #e0c060; padding: 6px"
FINE_STYLE = "color: palette(placeholder-text)"


def check_permissions(
    ctx: AppContext,
    source_profile: str,
    source_repository: str,
    target_profile: str,
    target_repository: str,
) -> list[str]:
    """Warnings in words about what the promoting credentials may not do; [] when all is fine.

    A source repository that does not exist yet is not a problem (its first push will
    create it), so nothing is said about it.
    """
    checks = (
        (source_profile, source_repository, "read", _probe_read),
        (target_profile, target_repository, "push to", _probe_push),
    )
    warnings: list[str] = []
    for profile, repository, verb, probe in checks:
        try:
            client = ctx.client(profile)
        except HoisterError as exc:
            warnings.append(f"could not check whether Hoister may {verb} {repository}: {exc}")
            continue
        try:
            probe(client, repository)
        except (Unauthorized, Denied) as exc:
            warnings.append(_refused(client, repository, verb, exc))
        except HoisterError as exc:
            warnings.append(f"could not check whether Hoister may {verb} {repository}: {exc}")
    return warnings


def _probe_read(client: RegistryClient, repository: str) -> None:
    """List one page of tags; a repository that does not exist yet is readable enough."""
    with contextlib.suppress(NotFound):
        client.tags_page(repository)


def _probe_push(client: RegistryClient, repository: str) -> None:
    """Open an upload session and cancel it: the one push-right test every registry honours.

    The cancel runs whatever happens after the session opened, so no half-open upload
    is ever left behind (distribution would keep it until its upload purge runs).
    """
    location = client._start_upload(repository, _PROBE_DIGEST)
    client._cancel_upload(repository, location)


def _who(client: RegistryClient) -> str:
    user = client.session.auth.user
    return "anonymous access" if user == "anonymous" else f"user {user}"


def _refused(client: RegistryClient, repository: str, verb: str, exc: RegistryError) -> str:
    """The sentence for a refusal, with what the token server granted when it tells."""
    granted = _granted_actions(client, repository)
    if granted is not None:
        why = (
            f"the token server granted {' and '.join(granted)} only"
            if granted
            else ("the token server granted no access to it")
        )
    else:
        why = f"the registry answered {exc.status or 'a refusal'}"
    return f"{_who(client)} may not {verb} {repository} on {client.host} ({why})"


def _granted_actions(client: RegistryClient, repository: str) -> list[str] | None:
    """Actions a fresh token for pull and push on ``repository`` carries; None if unknown.

    Only token registries can tell (a JWT lists its access); Basic registries and opaque
    tokens cannot, and then the registry's status code has to do.
    """
    auth = client.session.auth
    if auth.scheme != "bearer":
        return None
    scopes = merge_scopes([repository_scope(repository, "pull", "push")])
    try:
        token = auth._fetch(scopes)  # the only way to see the grant without a request
    except RegistryError:
        return None
    if token.granted is None:
        return None
    prefix = f"repository:{repository}:"
    return sorted(s.removeprefix(prefix) for s in token.granted if s.startswith(prefix))


class PermissionsNote(QLabel):
    """The editor's permission line: checks (debounced, in a worker) and shows the result.

    Warnings are yellow and never block saving: the registry may grant the right later,
    or the engine may run with other credentials than this desktop's.
    """

    checked = Signal(list)  # the warnings, [] when the credentials suffice

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._route: tuple[str, str, str, str] | None = None
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DELAY_MS)
        self._timer.timeout.connect(self._start)
        self._requester = Requester(ctx.pool, self)
        self._requester.ready.connect(self._done)
        self._requester.error.connect(self._failed)

    def check(self, source: tuple[str, str], target: tuple[str, str] | None) -> None:
        """Check (profile, repository) pairs after a pause; ``target`` None clears the note."""
        if target is None:
            self._route = None
            self._timer.stop()
            self._requester.cancel()
            self.clear()
            return
        self._route = (*source, *target)
        self._timer.start()

    def check_now(self) -> None:
        self._timer.stop()
        self._start()

    @Slot()
    def _start(self) -> None:
        if self._route is None:
            return
        self.setStyleSheet(FINE_STYLE)
        self.setText("Checking permissions…")
        self._requester.submit(check_permissions, self.ctx, *self._route)

    @Slot(object)
    def _done(self, warnings: object) -> None:
        found = [str(w) for w in warnings]  # type: ignore[attr-defined]
        if found:
            self.setStyleSheet(WARNING_STYLE)
            self.setText("\n".join(f"⚠ {w}" for w in found))
        elif self._route is not None:
            self.setStyleSheet(FINE_STYLE)
            _, source, _, target = self._route
            self.setText(f"✓ The saved credentials may read {source} and push to {target}.")
        self.checked.emit(found)

    @Slot(object)
    def _failed(self, error: object) -> None:
        self._done([f"could not check permissions: {error}"])
