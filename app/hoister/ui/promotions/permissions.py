"""Can the credentials a policy will promote with read its source and push to its target?

MSR required admin rights on both repositories before a policy could be saved. Hoister
talks to registries whose permission models it cannot read, so it asks the registry
itself through :meth:`RegistryClient.can_push` (the token server's grant, else an upload
opened and cancelled at once) and by listing tags for a read. A push check writes to the
target registry (an upload session), so it runs once per target and only on demand: when
the target repository is committed (the field is left, Enter, a completion chosen, another
registry picked), never as one types; each answer is kept for the session per (registry
client, repository), and a client built anew (new credentials) asks again.

:func:`check_permissions` is plain Python run in a worker (it talks to registries);
:class:`PermissionsNote` runs it and shows its answer in the policy editor.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QWidget

from hoister.errors import HoisterError
from hoister.registry import RegistryClient
from hoister.registry.errors import Denied, NotFound, RegistryError, Unauthorized
from hoister.ui.context import AppContext
from hoister.ui.promotions.message_label import MessageLabel
from hoister.ui.shared.workers import Requester

WARNING_STYLE = "background: #fff4ce; color: #5c4400; border: 1px solid #e0c060; padding: 6px"
FINE_STYLE = "color: palette(placeholder-text)"

#: client -> {(verb, repository): the warning, or None when allowed}; conclusive answers
#: only, so a registry that was unreachable is asked again next time.
_answers: weakref.WeakKeyDictionary[RegistryClient, dict[tuple[str, str], str | None]] = (
    weakref.WeakKeyDictionary()
)
_answers_lock = threading.Lock()


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
    checks: tuple[tuple[str, str, str, Callable[[RegistryClient, str], str | None]], ...] = (
        (source_profile, source_repository, "read", _check_read),
        (target_profile, target_repository, "push to", _check_push),
    )
    warnings: list[str] = []
    for profile, repository, verb, check in checks:
        try:
            client = ctx.client(profile)
            warning = _remembered(client, verb, repository, check)
        except HoisterError as exc:
            warnings.append(f"could not check whether Hoister may {verb} {repository}: {exc}")
            continue
        if warning:
            warnings.append(warning)
    return warnings


def _remembered(
    client: RegistryClient,
    verb: str,
    repository: str,
    check: Callable[[RegistryClient, str], str | None],
) -> str | None:
    with _answers_lock:
        known = _answers.setdefault(client, {})
        if (verb, repository) in known:
            return known[(verb, repository)]
    warning = check(client, repository)  # raises when inconclusive: nothing remembered
    with _answers_lock:
        _answers.setdefault(client, {})[(verb, repository)] = warning
    return warning


def _check_read(client: RegistryClient, repository: str) -> str | None:
    """List one page of tags; a repository that does not exist yet is readable enough."""
    try:
        with contextlib.suppress(NotFound):
            client.tags_page(repository)
    except (Unauthorized, Denied) as exc:
        return _refused(client, repository, "read", f"the registry answered {exc.status}")
    return None


def _check_push(client: RegistryClient, repository: str) -> str | None:
    allowed = client.can_push(repository)
    if allowed is None:
        return (
            f"could not tell whether {_who(client)} may push to {repository} on "
            f"{client.host}: it has no upload endpoint there"
        )
    if allowed:
        return None
    return _refused(client, repository, "push to", "the registry refused an upload")


def _who(client: RegistryClient) -> str:
    user = client.session.auth.user
    return "anonymous access" if user == "anonymous" else f"user {user}"


def _refused(client: RegistryClient, repository: str, verb: str, otherwise: str) -> str:
    """The sentence for a refusal, with what the token server granted when it tells."""
    try:
        granted = client.granted_actions(repository)
    except RegistryError:
        granted = None
    if granted is not None:
        why = (
            f"the token server granted {' and '.join(granted)} only"
            if granted
            else "the token server granted no access to it"
        )
    else:
        why = otherwise
    return f"{_who(client)} may not {verb} {repository} on {client.host} ({why})"


class PermissionsNote(MessageLabel):
    """The editor's permission line: checks (in a worker) and shows the result.

    Warnings are yellow and never block saving: the registry may grant the right later,
    or the engine may run with other credentials than this desktop's. A route that was
    checked (or is being checked) is not asked again.
    """

    checked = Signal(list)  # the warnings, [] when the credentials suffice

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(reserve=0, parent=parent)  # last of the fields: none below it
        self.ctx = ctx
        self._route: tuple[str, str, str, str] | None = None
        #: How many checks were started (a test can see a route is asked once).
        self.checks_started = 0
        self._requester = Requester(ctx.pool, self)
        self._requester.ready.connect(self._done)
        self._requester.error.connect(self._failed)

    def check(self, source: tuple[str, str], target: tuple[str, str] | None) -> None:
        """Check the (profile, repository) pairs now; ``target`` None clears the note."""
        if target is None:
            self._route = None
            self._requester.cancel()
            self.setText("")
            return
        route = (*source, *target)
        if route == self._route:
            return  # asked already: its answer is shown, or on its way
        self._route = route
        self.checks_started += 1
        self.setStyleSheet(FINE_STYLE)
        self.setText(f"Checking access to {target[1]}…")
        self._requester.submit(check_permissions, self.ctx, *route)

    def target_edited(self, target: tuple[str, str]) -> None:
        """The name is being typed: an answer about another name no longer applies."""
        if self._route is not None and self._route[2:] != target:
            self._route = None
            self._requester.cancel()
            self.setStyleSheet(FINE_STYLE)
            self.setText("Access to the target is checked when you leave the field.")

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
        self._route = None  # nothing was learnt: the next commit asks again
