"""What the REST API sends: a labeling session's view as JSON, with the item's images as PNG.

:func:`render_item` draws an item of a campaign exactly as a labeling
:class:`~workbench.labeling.Session` of that campaign does (both go through
:func:`workbench.labeling.drawing.blind_panels`: the panels the widgets draw, from the
images and only the catalog columns the campaign shows, plus the pixel scale and beam;
and the component outlines for schemes with components), and turns it into JSON: each panel's pixels as a base64 PNG (``"png"``), its contour polylines
as base64 float32/int32 arrays (little-endian, as ``_draw.js`` reads them), the rest
(title, axes, beam, scale bar, sky transform, info lines) as it is. The page decodes them
back into exactly the specs ``_draw.js`` draws.

Images depend only on the item and the campaign, not on the annotator, so
:class:`ImageCache` keeps them per campaign and item, with their JSON text (encoded once
per item, spliced into every response that carries them: :func:`item_json`), reads the
items through the server's :class:`~workbench.server.items.ItemCache` (shared with the
labeling sessions), and renders the items that come next in the campaign's order in a
background thread while annotators label: the next item is usually drawn already when a
key asks for it.
"""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["render_item", "encode_panel", "ImageCache", "item_json"]


def _b64(b: bytes) -> str:
    return base64.b64encode(bytes(b)).decode("ascii")


def _packed(d: dict | None) -> dict | None:
    if not d or not d.get("n"):
        return None
    return {"xy": _b64(d["xy"]), "starts": _b64(d["starts"]), "tags": _b64(d["tags"]),
            "n": int(d["n"])}


def encode_panel(spec: dict) -> dict:
    """One panel spec (:func:`workbench.labeling.render.panel`) as JSON: RGBA -> PNG."""
    from workbench.labeling.render import encode_png

    w, h = int(spec["w"]), int(spec["h"])
    rgba = np.frombuffer(spec["rgba"], np.uint8)
    if rgba.size != w * h * 4:
        raise ValueError(f"panel {spec.get('title')!r}: {rgba.size} bytes for {w}x{h} RGBA")
    out = {k: v for k, v in spec.items() if k not in ("rgba", "contours")}
    out["png"] = _b64(encode_png(rgba.reshape(h, w, 4)))
    if spec.get("contours") is not None:
        out["contours"] = _packed(spec["contours"])
    return out


def render_item(coll, campaign, item_id: str, *, maps=None, item=None) -> dict:
    """``{"panels": [...], "outlines": packed or None}`` of ``item_id`` in ``campaign``:
    drawn through :func:`workbench.labeling.drawing.blind_panels` from the columns the
    campaign shows, as a :class:`~workbench.labeling.Session` of the campaign draws it.

    ``maps``: a :class:`workbench.labeling.components.ComponentMaps` of ``coll`` (for
    schemes with a components question; made if not given). ``item``: the item as
    :func:`~workbench.labeling.drawing.load_item` gives it (read if not given)."""
    from workbench.labeling.drawing import blind_panels, load_item
    from workbench.labeling.render import component_outlines, pack_lines

    if item is None:
        item = load_item(coll, item_id)
    shown = campaign.shown_columns(list(item.meta.index))
    panels = [encode_panel(p) for p in blind_panels(item, shown)]
    outlines = None
    if any(q.type == "components" for q in campaign.scheme.questions):
        if maps is None:
            from workbench.labeling.components import ComponentMaps

            maps = ComponentMaps(coll)
        outlines = _packed(pack_lines(component_outlines(maps.get(item))))
    return {"panels": panels, "outlines": outlines}


class ImageCache:
    """Rendered items by ``(campaign key, item id)``: bounded, thread-safe, prefetching.

    Parameters
    ----------
    size : int
        Items kept (least recently used go first).
    ahead : int
        Items after the one just shown, in the campaign's order, rendered in the
        background (0: none).
    items : ItemCache, optional
        Where items are read (:class:`workbench.server.items.ItemCache`, shared with the
        labeling sessions); default: a cache of this object's own.
    renderer : RenderPool, optional
        Draw in worker processes (:class:`workbench.server.render_pool.RenderPool`);
        default: in this process.
    """

    def __init__(self, size: int = 512, *, ahead: int = 16, items=None, renderer=None):
        from workbench.server.items import ItemCache, Memo

        self.size = int(size)
        self.ahead = int(ahead)
        self.items = items if items is not None else ItemCache(max(16, self.ahead * 2))
        self._memo = Memo(self.size)
        self._bg = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-prefetch")
        self._orders: dict = {}
        self.renderer = renderer

    def _render(self, key, coll, campaign, item_id) -> tuple[dict | None, str]:
        """Render once (the images, or None when a worker drew them, and their JSON
        text): a second caller waits for the first one's result."""
        def make():
            if self.renderer is not None:
                text = self.renderer.render_json(coll, campaign, item_id)
                if text is not None:
                    return None, text
            value = render_item(coll, campaign, item_id, maps=self.items.maps(coll),
                                item=self.items.get(coll, item_id))
            return value, json.dumps(value, allow_nan=False)

        return self._memo.get(key, make)

    def get(self, ref, coll, campaign, item_id: str) -> dict:
        """The images of ``item_id`` (rendered now if needed); the items after it in the
        campaign's order are rendered in the background."""
        value, text = self._get(ref, coll, campaign, item_id)
        return json.loads(text) if value is None else value

    def get_json(self, ref, coll, campaign, item_id: str) -> str:
        """:meth:`get` as JSON text (encoded once per item, not per response)."""
        return self._get(ref, coll, campaign, item_id)[1]

    def _get(self, ref, coll, campaign, item_id: str) -> tuple[dict, str]:
        value = self._render((ref.key, item_id), coll, campaign, item_id)
        if self.ahead > 0:
            self._bg.submit(self._prefetch, ref, coll, campaign, item_id)
        return value

    def _prefetch(self, ref, coll, campaign, item_id: str) -> None:
        order = self._orders.get(ref.key)
        if order is None or item_id not in order[1]:
            ids = campaign.item_ids
            order = self._orders[ref.key] = (ids, {i: k for k, i in enumerate(ids)})
        ids, pos = order
        k = pos.get(item_id)
        if k is None:
            return
        for nxt in ids[k + 1:k + 1 + self.ahead]:
            if (ref.key, nxt) not in self._memo:
                try:
                    self._render((ref.key, nxt), coll, campaign, nxt)
                except Exception:  # noqa: BLE001 - rendered (and reported) on request
                    return

    def shutdown(self) -> None:
        self._bg.shutdown(wait=False, cancel_futures=True)
        if self.renderer is not None:
            self.renderer.shutdown()


def item_json(view: dict, imgs: dict | str | None) -> str:
    """The API's item object as JSON text: the session's view (only shown columns in
    ``meta``) and, when given, the images (``images``: panels and outlines; a dict, or its
    JSON text from :meth:`ImageCache.get_json`, spliced in as it is)."""
    out = dict(view)
    out.pop("images", None)
    text = json.dumps(out, allow_nan=False)
    if imgs is None:
        return text
    raw = imgs if isinstance(imgs, str) else json.dumps(imgs, allow_nan=False)
    return ('{"images": ' + raw + "}") if text == "{}" else \
        (text[:-1] + ', "images": ' + raw + "}")
