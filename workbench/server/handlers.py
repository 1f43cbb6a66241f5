"""The campaign REST API under ``/workbench/api/`` and the labeling page.

Every handler is a jupyter_server ``APIHandler`` / ``JupyterHandler`` with
``@tornado.web.authenticated``: the server's identity provider decides who the request is
from (an invited annotator on ``workbench campaign serve``, the JupyterLab or JupyterHub
user otherwise), cookie sessions must carry the XSRF token on POST, and the annotator is
always :func:`~workbench.server.identity.annotator_of` the request, never a name in its
body. Campaign keys and item ids are data: looked up among the campaigns found by the
:class:`~workbench.server.registry.Registry`, never used as paths.

Endpoints (``<c>``: a campaign key from ``GET campaigns``)::

    GET  /workbench/api/campaigns                  campaigns served, with progress
    GET  /workbench/api/campaigns/<c>/next         the item to label (200) or 204
    POST /workbench/api/campaigns/<c>/annotations  {"item_id", "answers"} -> 201 {"id"}
         .../annotations?next=1                    -> 201 {"id", "next": item or null}
    POST /workbench/api/campaigns/<c>/skip         {"item_id"} -> the next item
    POST /workbench/api/campaigns/<c>/undo         {} -> the item shown after undoing
    POST /workbench/api/campaigns/<c>/key          {"key", "visit"} -> the item shown
    POST /workbench/api/campaigns/<c>/click        {"x", "y", "visit"} -> the item shown
    GET  /workbench/api/campaigns/<c>/draft        the unfinished work on the item shown
    POST /workbench/api/campaigns/<c>/draft        store it now
    POST /workbench/api/campaigns/<c>/text         {"text", "visit"}: a text question
    GET  /workbench/campaigns/<c>/label            the labeling page

An item object is the session's view (:mod:`workbench.labeling`, ``meta`` with only the
columns the campaign shows) plus ``images`` (``panels`` as PNG and packed contours,
``outlines``; see :mod:`workbench.server.payload`). Responses to key, click, skip and
undo carry ``images`` only when the item shown changed (the request's ``visit`` differs).
``POST annotations?next=1`` answers and gets the next item in one request: ``next`` is what
``GET next`` would answer right after (the item with its images; null where ``GET next``
answers 204); the answer and the claim of that next item are one transaction. (The
labeling page needs no such flag: the response to the key that finishes an item is
already the next item.)
Errors are JSON ``{"message", "reason"}``: 400 for answers the scheme refuses (its
message), 404 for an unknown campaign, 409 for an item that is not the one shown.
"""

from __future__ import annotations

import json
import math
import secrets

from jupyter_server.base.handlers import APIHandler, JupyterHandler
from tornado import web

from workbench.core.errors import SchemeError, StoreError, WorkbenchError
from workbench.server.identity import annotator_of
from workbench.server.page import page_csp, page_html
from workbench.server.registry import UnknownCampaign

__all__ = ["handlers"]

_MAX_BODY = 256 * 1024  # a request body bigger than this is refused (answers are small)


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "reason", None) or exc)


class _Campaigns:
    """Shared by the handlers: the extension's state in the tornado settings."""

    @property
    def wb(self):
        return self.settings["workbench_campaigns"]

    def ref(self, key: str):
        try:
            return self.wb.registry.get(key)
        except UnknownCampaign as exc:
            raise web.HTTPError(404, _reason(exc)) from None


class _API(_Campaigns, APIHandler):
    def compute_etag(self):
        return None  # answers are no-store: no hash of every body

    def body(self) -> dict:
        if len(self.request.body or b"") > _MAX_BODY:
            raise web.HTTPError(413, "request body too large")
        if not self.request.body:
            return {}
        try:
            data = json.loads(self.request.body)
        except (ValueError, RecursionError):
            raise web.HTTPError(400, "the body is not JSON") from None
        if not isinstance(data, dict):
            raise web.HTTPError(400, "the body must be a JSON object")
        return data

    def send(self, obj, status: int = 200) -> None:
        """Answer ``obj`` (made JSON here) or JSON text (an item: :meth:`item`)."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(obj if isinstance(obj, str) else json.dumps(obj, allow_nan=False))

    async def call(self, key: str, work, *, status: int = 200, save: bool = True) -> None:
        """Answer with ``work(session, ref)`` (a JSON object; None: 204) for this request's
        annotator in campaign ``key``. ``work`` runs under the session's lock in the pool's
        threads; workbench errors become HTTP errors. The session's draft changes are
        stored after the response is sent, still under the lock (the annotator's next
        call waits for them; the next item is drawn first)."""
        ref = self.ref(key)
        who = annotator_of(self)
        pool = self.wb.sessions
        try:
            entry = await pool.entry(ref, who)
        except WorkbenchError as exc:
            raise web.HTTPError(409, _reason(exc)) from None
        async with entry.lock:
            try:
                try:
                    result = await pool.run(work, entry.session, ref)
                except SchemeError as exc:
                    raise web.HTTPError(400, _reason(exc)) from None
                except StoreError as exc:
                    raise web.HTTPError(409, _reason(exc)) from None
                if result is None:
                    self.set_status(204)
                    self.finish()
                else:
                    self.send(result, status)
            finally:
                if save and entry.session.unsaved:
                    await pool.run(entry.session.save)
                elif save:
                    entry.session.save()  # nothing for the store: no thread needed

    def item(self, session, ref, *, visit=None) -> str:
        """The item object of ``session`` as JSON text (images unless the client has this
        visit; their JSON is encoded once per item, by the image cache)."""
        from workbench.server.payload import item_json

        view = session.view()
        imgs = None
        if view["item_id"] and (visit is None or view["visit"] != visit):
            reg = self.wb.registry
            imgs = self.wb.images.get_json(ref, reg.collection(ref), reg.campaign(ref),
                                           view["item_id"])
        return item_json(view, imgs)


def _flag(value: str, name: str) -> bool:
    """A query flag: ``1``/``true``/``yes`` or ``0``/``false``/``no`` (400 otherwise)."""
    v = str(value).strip().lower()
    if v in ("1", "true", "yes"):
        return True
    if v in ("0", "false", "no", ""):
        return False
    raise web.HTTPError(400, f"?{name}= takes 1 or 0, not {value[:20]!r}")


def _visit(body) -> int | None:
    v = body.get("visit")
    return int(v) if isinstance(v, int) and not isinstance(v, bool) else None


class CampaignsHandler(_API):
    @web.authenticated
    async def get(self):
        who = annotator_of(self)
        reg = self.wb.registry

        def listing():
            out = []
            for ref in reg.scan().values():
                try:
                    camp = reg.campaign(ref)
                    prog = camp.progress(who)
                except WorkbenchError as exc:
                    self.log.warning("campaign %s: %s", ref.key, exc)
                    continue
                out.append({"key": ref.key, "name": ref.name, "collection": ref.label,
                            "scheme": camp.scheme_name, "scheme_version": camp.scheme_version,
                            "description": camp.description, "progress": prog,
                            "url": f"{self.base_url}workbench/campaigns/{_q(ref.key)}/label"})
            return out

        self.send({"annotator": who, "campaigns": await self.wb.sessions.run(listing)})


class NextHandler(_API):
    @web.authenticated
    async def get(self, key):
        want_images = self.get_argument("images", "1") != "0"

        def work(s, ref):
            if s.item_id is None:  # ask the campaign again: claims expire, skips return
                s.next()
            if s.item_id is None:
                return None
            return self.item(s, ref, visit=None if want_images else s.visit)

        await self.call(key, work)


class AnnotationsHandler(_API):
    @web.authenticated
    async def post(self, key):
        body = self.body()
        item_id, answers = body.get("item_id"), body.get("answers")
        if not isinstance(item_id, str) or not item_id:
            raise web.HTTPError(400, "give the item_id (a string) of the item answered")
        if not isinstance(answers, dict):
            raise web.HTTPError(400, "give the answers as an object of question -> answer")

        with_next = _flag(self.get_query_argument("next", "0"), "next")

        def work(s, ref):
            if s.item_id != item_id:
                raise StoreError(f"item {item_id!r} is not the item shown to you "
                                 f"({s.item_id!r}); GET next first")
            ann_id = int(s.submit(answers))  # claims the next item in the same transaction
            if not with_next:
                return {"id": ann_id}
            if s.item_id is None:  # as GET next: ask the campaign again before saying none
                s.next()
            nxt = "null" if s.item_id is None else self.item(s, ref)
            return f'{{"id": {ann_id}, "next": {nxt}}}'

        await self.call(key, work, status=201)


class SkipHandler(_API):
    @web.authenticated
    async def post(self, key):
        body = self.body()
        item_id = body.get("item_id")

        def work(s, ref):
            if item_id is not None and s.item_id != item_id:
                raise StoreError(f"item {item_id!r} is not the item shown to you")
            s.skip()
            return self.item(s, ref, visit=_visit(body))

        await self.call(key, work)


class UndoHandler(_API):
    @web.authenticated
    async def post(self, key):
        body = self.body()

        def work(s, ref):
            s.undo()
            return self.item(s, ref, visit=_visit(body))

        await self.call(key, work)


class KeyHandler(_API):
    @web.authenticated
    async def post(self, key):
        body = self.body()
        k = body.get("key")
        if not isinstance(k, str) or not 0 < len(k) <= 20:
            raise web.HTTPError(400, "give the key pressed (a key name as browsers give it)")

        def work(s, ref):
            s.key(k)
            return self.item(s, ref, visit=_visit(body))

        await self.call(key, work)


class ClickHandler(_API):
    @web.authenticated
    async def post(self, key):
        body = self.body()
        try:
            x, y = float(body["x"]), float(body["y"])
        except (KeyError, TypeError, ValueError):
            raise web.HTTPError(400, "give the click's x and y (display pixels)") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise web.HTTPError(400, "x and y must be finite numbers")

        def work(s, ref):
            s.click(x, y)
            return self.item(s, ref, visit=_visit(body))

        await self.call(key, work)


class TextHandler(_API):
    @web.authenticated
    async def post(self, key):
        body = self.body()
        text = body.get("text")
        if not isinstance(text, str) or len(text) > 10_000:
            raise web.HTTPError(400, "give the text answer (a string)")

        def work(s, ref):
            s.text(text)
            return self.item(s, ref, visit=_visit(body))

        await self.call(key, work)


class DraftHandler(_API):
    def _draft(self, s, ref) -> dict:
        if not s.item_id:
            return {"item_id": "", "draft": None}
        df = s.store.drafts(annotator=s.annotator, scheme=s.scheme, campaign=s.campaign,
                            item_id=s.item_id)
        return {"item_id": s.item_id, "draft": df["state"].iloc[0] if len(df) else None}

    @web.authenticated
    async def get(self, key):
        await self.call(key, self._draft)

    @web.authenticated
    async def post(self, key):
        def work(s, ref):
            failed = s.save()
            if failed:
                raise StoreError(s.message or "the draft could not be stored")
            return self._draft(s, ref)

        await self.call(key, work, save=False)


# ---------------------------------------------------------------------- the page
def _q(s: str) -> str:
    from urllib.parse import quote

    return quote(s, safe="")


class LabelPageHandler(_Campaigns, JupyterHandler):
    """``GET /workbench/campaigns/<c>/label``: the standalone labeling page."""

    def get_login_url(self):
        # a campaign server has no login page: no valid invite token is a plain 403
        if not self.identity_provider.login_available:
            raise web.HTTPError(403, "this page needs your personal invite link")
        return super().get_login_url()

    @property
    def nonce(self) -> str:
        """A fresh nonce per response (the only script the page may run)."""
        if getattr(self, "_wb_nonce", None) is None:
            self._wb_nonce = secrets.token_urlsafe(18)
        return self._wb_nonce

    @property
    def content_security_policy(self) -> str:
        return page_csp(self.nonce)

    @web.authenticated
    def get(self, key):
        ref = self.ref(key)
        self.xsrf_token  # noqa: B018 - sets the _xsrf cookie a cookie session posts with
        page = page_html({"campaign": ref.key, "name": ref.name, "collection": ref.label,
                          "api": f"{self.base_url}workbench/api/campaigns/{_q(ref.key)}/",
                          "annotator": annotator_of(self)}, self.nonce)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.finish(page)


def handlers(base_url: str) -> list:
    """The URL patterns and handlers, under the server's ``base_url``."""
    from jupyter_server.utils import url_path_join as j

    api = j(base_url, "workbench", "api", "campaigns")
    c = r"(?P<key>[^/]+)"
    return [
        (api + "/?", CampaignsHandler),
        (j(api, c, "next"), NextHandler),
        (j(api, c, "annotations"), AnnotationsHandler),
        (j(api, c, "skip"), SkipHandler),
        (j(api, c, "undo"), UndoHandler),
        (j(api, c, "key"), KeyHandler),
        (j(api, c, "click"), ClickHandler),
        (j(api, c, "text"), TextHandler),
        (j(api, c, "draft"), DraftHandler),
        (j(base_url, "workbench", "campaigns", c, "label"), LabelPageHandler),
    ]
