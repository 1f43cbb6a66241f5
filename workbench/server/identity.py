"""Who is labeling: invited annotators on a standalone campaign server, else the server's user.

:class:`InviteIdentityProvider` is the jupyter_server identity provider of
``workbench campaign serve``. A request is authenticated by a personal invite token
(``workbench campaign invite``), given as ``?token=...`` or as an ``Authorization: token ...``
header, exactly as Jupyter takes its own token. The token is looked up in the label store
(:meth:`LabelStore.annotator_for_token`, which keeps only its hash); the annotator it names
is the request's user. An unknown or revoked token, or a token of another campaign, is no
identity at all: jupyter_server answers 403. No login cookie is ever set, so every request
carries the token, there is no cookie session to forge a request with (XSRF), and a revoked
token stops working at once: the campaign's valid invites (their hashes) are read in one
query at most every :attr:`cache_seconds`, in a thread, never on the server's loop, and
requests in between are checked against that copy.

:class:`CampaignOnlyAuthorizer` refuses every resource of Jupyter's own REST API (contents,
kernels, sessions, terminals, ...) so an invited annotator can reach the campaign and
nothing else on that server.

:func:`annotator_of` names the annotator of a request anywhere the extension runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time

from jupyter_server.auth import Authorizer, IdentityProvider, User
from jupyter_server.auth.identity import LegacyIdentityProvider, PasswordIdentityProvider
from traitlets import Float, Unicode

__all__ = ["InviteIdentityProvider", "CampaignOnlyAuthorizer", "annotator_of"]

#: jupyter_server's own providers: one owner (token or password), browsers named "Anonymous".
_SINGLE_OWNER = (IdentityProvider, PasswordIdentityProvider, LegacyIdentityProvider)


def _digest(token: str) -> str:
    """A token's SHA-256 as the store keeps it (:func:`workbench.io.labels.invites.hash_token`)."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class InviteIdentityProvider(IdentityProvider):
    """Identity from a personal invite token of one campaign (see the module docstring)."""

    store_url = Unicode("", config=True, help="The label store holding the invites.")
    campaign = Unicode("", config=True, help="The campaign invites must be for.")
    cache_seconds = Float(1.0, config=True,
                          help="Seconds the campaign's valid invites are reused (a revoked "
                               "token stops working after at most this long).")
    token = Unicode("")  # no server-wide token: only invites

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._store = None
        self._valid: tuple[float, dict[str, str]] | None = None  # (read at, hash -> name)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lookup
    def _open(self):
        if self._store is None:
            from workbench.server.registry import shared_store

            self._store = shared_store(self.store_url)
        return self._store

    def _read_valid(self, *, older_than: float) -> dict[str, str]:
        """The campaign's valid invites (token hash -> annotator), read again (one query
        for every annotator) when the copy held is older than ``older_than`` seconds."""
        with self._lock:
            held = self._valid
            if held is None or time.monotonic() - held[0] >= older_than:
                tick = time.monotonic()
                held = self._valid = (tick, self._open().valid_invites(self.campaign))
            return held[1]

    def _lookup(self, digest: str, *, wait: bool):
        """``(True, annotator or None)``, or ``(False, None)`` when the answer needs the
        store and ``wait`` is False."""
        held = self._valid
        fresh = held is not None and time.monotonic() - held[0] < self.cache_seconds
        if fresh and digest in held[1]:
            return True, held[1][digest]
        if not wait:
            return False, None
        valid = self._read_valid(older_than=self.cache_seconds)
        if digest in valid:
            return True, valid[digest]
        return True, self._ask(digest)

    def _ask(self, digest: str) -> str | None:
        """A token not among the valid invites read last (invited since?): asked alone."""
        found = self._open().valid_invites(self.campaign, token_hash=digest).get(digest)
        if found is not None:
            with self._lock:
                if self._valid is not None:
                    self._valid = (self._valid[0], {**self._valid[1], digest: found})
        return found

    def annotator_for(self, token: str) -> str | None:
        """The annotator ``token`` invites to this server's campaign, or None. The
        campaign's valid invites are read at most every :attr:`cache_seconds` (a token
        not among them is looked up alone), so a revoked token stops working after at
        most that long."""
        if not token or len(token) > 512:
            return None
        return self._lookup(_digest(token), wait=True)[1]

    # ------------------------------------------------------------------ IdentityProvider
    async def get_user_token(self, handler) -> User | None:
        token = self.get_token(handler) or ""
        if not token or len(token) > 512:
            return None
        known, who = self._lookup(_digest(token), wait=False)
        if not known:  # the store is asked in a thread: the server's loop never waits on it
            who = await asyncio.get_running_loop().run_in_executor(
                None, self.annotator_for, token)
        if who is None:
            return None
        return User(username=who, name=who, display_name=who)

    def get_user_cookie(self, handler):
        return None  # invites only: no cookie sessions

    def set_login_cookie(self, handler, user) -> None:
        return None

    def clear_login_cookie(self, handler) -> None:
        return None

    @property
    def login_available(self) -> bool:
        return False

    @property
    def logout_available(self) -> bool:
        return False

    def validate_security(self, app, ssl_options=None) -> None:
        if ssl_options is None and app.ip not in ("127.0.0.1", "localhost", "::1"):
            app.log.warning("Invite tokens travel in clear text without TLS: put the campaign "
                            "server behind an HTTPS proxy when it is reachable from a network.")


class CampaignOnlyAuthorizer(Authorizer):
    """Refuses every resource of Jupyter's own API (the campaign handlers need none)."""

    def is_authorized(self, handler, user, action, resource) -> bool:
        return False


def annotator_of(handler) -> str:
    """The annotator of an authenticated request: the server's user.

    That is ``handler.current_user.username``, except on a single-user server authenticated
    by jupyter_server's own token or password (which calls each browser "Anonymous ..."
    with a random id): there the annotator is the server's owner
    (:func:`workbench.io.labels.default_annotator`, ``$JUPYTERHUB_USER`` or ``$USER``).
    Nothing in the request's body or URL is ever used.
    """
    if type(handler.identity_provider) in _SINGLE_OWNER:
        from workbench.io.labels.store import default_annotator

        return default_annotator()
    user = handler.current_user
    name = getattr(user, "username", None) or str(user)
    return str(name)
