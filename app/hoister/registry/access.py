"""May these credentials push to a repository? Asked of the registry, writing nothing lasting.

The distribution API has no permission endpoint: a registry says what a user may do
only by doing it or refusing. Two answers are honest:

* On a token registry whose tokens are JWTs, the token server's grant is the answer. It
  answers a request for ``pull,push`` with a token for the part the user is allowed (it
  does not refuse), and lists that part in the token's ``access`` claim, so reading the
  grant needs no request to the registry itself.
* Otherwise (Basic auth, anonymous access, opaque tokens) the only test every registry
  honours is to start a blob upload (``POST /v2/<name>/blobs/uploads/``) and cancel it
  at once (``DELETE`` of the session's location). That opens and closes an upload
  session on the registry, so callers must ask once per target, not per keystroke.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from hoister.registry.auth import repository_scope
from hoister.registry.blobs import cancel_upload
from hoister.registry.errors import Denied, NotFound, Unauthorized, Unsupported

if TYPE_CHECKING:
    from hoister.registry.session import RegistrySession


class AccessOps:
    """Mixed into :class:`hoister.registry.client.RegistryClient`."""

    session: RegistrySession

    def granted_actions(self, repository: str) -> list[str] | None:
        """Actions the token server grants on ``repository`` (of pull and push), sorted.

        None when the registry cannot tell this way (see the module's docstring); the
        first call may send ``GET /v2/`` to learn how the registry authenticates.
        """
        auth = self.session.auth
        if auth.scheme is None:
            with contextlib.suppress(Unauthorized, Denied):
                self.session.send("GET", "/v2/", scopes=[], what="checking the registry API")
        granted = auth.granted([repository_scope(repository, "pull", "push")])
        if granted is None:
            return None
        prefix = f"repository:{repository}:"
        return sorted(s.removeprefix(prefix) for s in granted if s.startswith(prefix))

    def can_push(self, repository: str) -> bool | None:
        """Whether these credentials may push to ``repository`` (it need not exist yet).

        From the token's grant when the token server tells; otherwise by opening an
        upload session and cancelling it (the cancel runs whatever happens, so no
        half-open upload is left for the registry's purge). None when the registry's
        answer says neither (it has no upload endpoint there). Network and server
        failures raise :class:`hoister.registry.errors.RegistryError`.
        """
        actions = self.granted_actions(repository)
        if actions is not None:
            return "push" in actions
        scopes = [repository_scope(repository, "pull", "push")]
        try:
            response = self.session.send(
                "POST",
                f"/v2/{repository}/blobs/uploads/",
                scopes=scopes,
                what=f"checking whether {repository} accepts pushes",
                ok=(202,),
            )
        except (Unauthorized, Denied, Unsupported):
            return False  # refused, or a registry that takes no pushes (a read-only mirror)
        except NotFound:
            return None
        location = response.headers.get("location")
        if location:
            where = self.session.url(location)
            cancel_upload(
                self.session, repository, where, f"cancelling the access check on {repository}"
            )
        return True
