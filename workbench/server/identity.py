"""Who is labeling: invited annotators on a standalone campaign server, else the server's user.

:class:`InviteIdentityProvider` is the jupyter_server identity provider of
``workbench campaign serve``. A request is authenticated by a personal invite token
(``workbench campaign invite``), given as ``?token=...`` or as an ``Authorization: token ...``
header, exactly as Jupyter takes its own token. The token is looked up in the label store
(:meth:`LabelStore.annotator_for_token`, which keeps only its hash); the annotator it names
is the request's user. An unknown or revoked token, or a token of another campaign, is no
identity at all: jupyter_server answers 403. No login cookie is ever set, so every request
carries the token, there is no cookie session to forge a request with (XSRF), and a revoked
token stops working at once (lookups are reused for at most :attr:`cache_seconds`).

:class:`CampaignOnlyAuthorizer` refuses every resource of Jupyter's own REST API (contents,
kernels, sessions, terminals, ...) so an invited annotator can reach the campaign and
nothing else on that server.

:func:`annotator_of` names the annotator of a request anywhere the extension runs.
"""

from __future__ import annotations

import hashlib
import threading
import time

from jupyter_server.auth import Authorizer, IdentityProvider, User
from jupyter_server.auth.identity import LegacyIdentityProvider, PasswordIdentityProvider
from traitlets import Float, Unicode

__all__ = ["InviteIdentityProvider", "CampaignOnlyAuthorizer", "annotator_of"]

#: jupyter_server's own providers: one owner (token or password), browsers named "Anonymous".
_SINGLE_OWNER = (IdentityProvider, PasswordIdentityProvider, LegacyIdentityProvider)


class InviteIdentityProvider(IdentityProvider):
    """Identity from a personal invite token of one campaign (see the module docstring)."""

    store_url = Unicode("", config=True, help="The label store holding the invites.")
    campaign = Unicode("", config=True, help="The campaign invites must be for.")
    cache_seconds = Float(1.0, config=True,
                          help="Seconds a token lookup is reused (a revoked token stops "
                               "working after at most this long).")
    token = Unicode("")  # no server-wide token: only invites

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._store = None
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lookup
    def _open(self):
        if self._store is None:
            from workbench.server.registry import shared_store

            self._store = shared_store(self.store_url)
        return self._store

    def annotator_for(self, token: str) -> str | None:
        """The annotator ``token`` invites to this server's campaign, or None."""
        if not token or len(token) > 512:
            return None
        digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
            if hit is not None and now - hit[0] < self.cache_seconds:
                return hit[1]
        found = self._open().annotator_for_token(token)
        who = None
        if found is not None:
            annotator, campaign = found
            if str(campaign) == self.campaign:
                who = str(annotator)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now, who)
        return who

    # ------------------------------------------------------------------ IdentityProvider
    async def get_user_token(self, handler) -> User | None:
        who = self.annotator_for(self.get_token(handler) or "")
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
