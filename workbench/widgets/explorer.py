"""The Explorer: a 2-D map of a Collection's embeddings that scales to millions of points.

>>> ex = Explorer(coll, x="umap_x", y="umap_y", color_by="cluster", store=store,
...               scheme="fr-morphology")                                  # doctest: +SKIP
>>> ex.panel()          # map + cluster list + Gallery of the selection   # doctest: +SKIP

The map is aggregated server-side (numpy binning into the window's pixels, the datashader
approach without its per-kernel numba compile) into one PNG of the visible window (so a
million points cost the browser one image) and crosses to the browser through the widget's own comm:
no extra server, port or websocket, so it works on Binder. Zoom and pan change the synced
``view`` and the kernel redraws; hover sends the cursor position and gets back the nearest
item's thumbnail; box and lasso selections are resolved in the kernel (``selected_ids``;
a drag that leaves the map keeps going, and selects only what lies inside the window) and
shown in a :class:`~workbench.widgets.gallery.Gallery` below the map. One action labels a whole
selection or cluster in the label store (bulk annotations, ``source="bulk"``); "more like
this" selects an item's nearest neighbours in embedding space.

With ``selection=`` the map shares a :class:`~workbench.core.selection.Selection` with the
plots (:mod:`workbench.plots`) and any Gallery: a selection made here sets it, one made
there is drawn here.

The same operations are plain methods (``select_box``, ``select_polygon``,
``select_cluster``, ``more_like_this``, ``label_selection``, ``render``) for scripts and tests.
"""

from __future__ import annotations

import time

import anywidget
import numpy as np
import pandas as pd
import traitlets

from workbench.core.errors import InputError, StoreError
from workbench.widgets import _panels, render
from workbench.widgets._common import esm, majority_labels

__all__ = ["Explorer", "explore", "points_in_polygon", "PALETTE"]

#: Colours of categories (cluster ids, labels), in order; noise (-1 / missing) is grey.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
           "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5", "#393b79", "#637939"]
_NOISE = "#5a5a5a"
_CONT_CMAP = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]


def _hex(colours) -> np.ndarray:
    return np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colours], np.float64)


def points_in_polygon(xy: np.ndarray, polygon) -> np.ndarray:
    """Boolean mask of the points ``xy`` (n, 2) inside ``polygon`` ((m, 2) vertices)."""
    from matplotlib.path import Path as MplPath

    poly = np.asarray(polygon, dtype=np.float64)
    if poly.ndim != 2 or poly.shape[0] < 3 or poly.shape[1] != 2:
        raise InputError("a lasso selection needs at least 3 (x, y) vertices")
    lo, hi = poly.min(0), poly.max(0)
    cand = np.flatnonzero((xy[:, 0] >= lo[0]) & (xy[:, 0] <= hi[0]) &
                          (xy[:, 1] >= lo[1]) & (xy[:, 1] <= hi[1]))
    mask = np.zeros(len(xy), bool)
    if len(cand):
        mask[cand] = MplPath(poly).contains_points(xy[cand])
    return mask


def _is_categorical(s: pd.Series) -> bool:
    if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == bool:
        return True
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.nunique(dropna=True) <= 64
    return not pd.api.types.is_numeric_dtype(s.dtype)


class Explorer(anywidget.AnyWidget):
    """An interactive map of ``coll`` on two catalog columns (a stored 2-D map).

    Parameters
    ----------
    coll : Collection
        With the map columns (``workbench map`` / :func:`workbench.embed.records.map_and_store`).
    x, y : str
        Catalog columns of the map (default ``umap_x``, ``umap_y``, else the first
        ``*_x``/``*_y`` pair found).
    color_by : str
        Initial colouring: ``cluster``, ``outlier_glosh``, ``label`` (majority label in the
        store), or any catalog column; change it in the widget.
    store : LabelStore, optional
        Where bulk labels go (and where ``label`` colours come from).
    scheme : str, optional
        Label scheme of bulk labels (its class question's answers are offered).
    default_answers : dict, optional
        Answers added to a one-value bulk label for the scheme's other required questions
        (e.g. ``{"confidence": "confident"}`` for ``fr-morphology``).
    embedding : str, optional
        Derived array used for "more like this" (default: the newest ``embedding-*``; without
        one, neighbours on the map are used).
    gallery : bool
        Show the selection in a Gallery (in :meth:`panel`).
    selection : Selection, optional
        A shared :class:`~workbench.core.selection.Selection`: a box, lasso, cluster or "more
        like this" on the map sets it, and a selection made elsewhere (a plot, a Gallery) is
        drawn on the map (its items that this map holds).
    width, height : int
        Map size in pixels.
    """

    _esm = esm("explorer.js")
    image = traitlets.Bytes(b"").tag(sync=True)
    view = traitlets.List([0.0, 1.0, 0.0, 1.0]).tag(sync=True)
    width = traitlets.Int(640).tag(sync=True)
    height = traitlets.Int(480).tag(sync=True)
    color_by = traitlets.Unicode("").tag(sync=True)
    color_options = traitlets.List([]).tag(sync=True)
    legend = traitlets.List([]).tag(sync=True)
    hover = traitlets.Dict({}).tag(sync=True)
    hover_png = traitlets.Bytes(b"").tag(sync=True)
    n_points = traitlets.Int(0).tag(sync=True)
    n_selected = traitlets.Int(0).tag(sync=True)
    selection_kind = traitlets.Unicode("").tag(sync=True)
    clusters = traitlets.List([]).tag(sync=True)
    cluster_sprite = traitlets.Bytes(b"").tag(sync=True)
    label_choices = traitlets.List([]).tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    render_ms = traitlets.Float(0.0).tag(sync=True)

    def __init__(self, coll, *, x: str | None = None, y: str | None = None,
                 color_by: str = "cluster", store=None, scheme: str | None = None,
                 annotator: str | None = None, default_answers: dict | None = None,
                 embedding: str | None = None,
                 gallery: bool = True, width: int = 640, height: int = 480,
                 thumb: int = 96, examples_per_cluster: int = 4, max_clusters: int = 30,
                 selection=None):
        super().__init__(width=width, height=height)
        self.coll = coll
        self.store = store
        self.scheme = scheme
        self.annotator = annotator
        self.default_answers = dict(default_answers or {})
        self.thumb = thumb
        self._cat = coll.catalog
        x, y = self._pick_axes(x, y)
        self.x_col, self.y_col = x, y
        self.xy = self._cat[[x, y]].to_numpy(np.float64)
        ok = np.isfinite(self.xy).all(1)
        if not ok.any():
            raise InputError(f"columns {x!r}, {y!r} have no finite values",
                             hint="run `workbench map` first")
        self.xy[~ok] = np.nan
        self.ids = np.asarray(self._cat["id"].astype(str))
        self._rows = np.asarray(coll.rows)
        self._product = next(iter(coll.products))
        self._embedding_name = embedding
        self._index = None
        self._tree = None
        self._selected = np.zeros(0, np.int64)
        self._listeners = []
        self.selection = selection
        self.gallery_widget = None
        self._gallery_box = None
        self._want_gallery = gallery
        lo, hi = np.nanmin(self.xy, 0), np.nanmax(self.xy, 0)
        pad = 0.03 * np.maximum(hi - lo, 1e-9)
        self._full_view = [float(lo[0] - pad[0]), float(hi[0] + pad[0]),
                           float(lo[1] - pad[1]), float(hi[1] + pad[1])]
        self.n_points = int(ok.sum())
        self._labels = self._store_labels()
        self._cat_cache: dict = {}
        opts = [c for c in ("cluster", "outlier_glosh", "label") if c in self._columns()]
        opts += [c for c in self._columns() if c not in opts and c not in ("id", x, y)]
        self.color_options = opts
        self.label_choices = self._choices()
        self.color_by = color_by if color_by in self._columns() else (opts[0] if opts else "")
        self.view = list(self._full_view)
        self._cluster_summary(examples_per_cluster, max_clusters)
        self.observe(lambda _c: self.redraw(), names=["view", "color_by", "width", "height"])
        self.on_msg(self._on_msg)
        if selection is not None:
            selection.observe(self._follow, "ids")
            if len(selection):
                self._follow(selection.ids)
                return
        self.redraw()

    # ------------------------------------------------------------------ data
    def _pick_axes(self, x, y):
        cols = list(self._cat.columns)
        if x and y:
            missing = [c for c in (x, y) if c not in cols]
            if missing:
                raise InputError(f"no catalog column(s) {missing}",
                                 hint="run `workbench map COLLECTION` to make a 2-D map")
            return x, y
        for a, b in (("umap_x", "umap_y"), ("tsne_x", "tsne_y"), ("pca_x", "pca_y")):
            if a in cols and b in cols:
                return a, b
        for c in cols:
            if str(c).endswith("_x") and str(c)[:-2] + "_y" in cols:
                return c, str(c)[:-2] + "_y"
        raise InputError("the Collection has no 2-D map columns",
                         hint="run `workbench map COLLECTION --method umap` first")

    def _columns(self) -> list:
        cols = [str(c) for c in self._cat.columns]
        return cols + (["label"] if self._labels is not None and "label" not in cols else [])

    def _store_labels(self):
        if self.store is None:
            return None
        maj = majority_labels(self.store, self.ids)
        return pd.Series([maj[i][0] if i in maj and maj[i][0] is not None else pd.NA
                          for i in map(str, self.ids)], index=self.ids, dtype="object")

    def _choices(self) -> list:
        if self.scheme is None:
            return []
        from workbench.core.schemes import get_scheme

        sch = get_scheme(self.scheme)
        q = sch.question(sch.class_question) if sch.class_question else None
        return [str(v) for v in q.values] if q is not None else []

    def _values(self, col: str) -> pd.Series:
        if col == "label" and self._labels is not None and "label" not in self._cat.columns:
            return self._labels.reset_index(drop=True)
        return self._cat[col].reset_index(drop=True)

    def _value_at(self, col: str, pos: int):
        """One item's value of ``col`` (what :meth:`_values` holds at ``pos``, uncopied)."""
        if col == "label" and self._labels is not None and "label" not in self._cat.columns:
            return self._labels.iat[pos]
        return self._cat[col].iat[pos]

    # ------------------------------------------------------------------ drawing
    def render(self) -> bytes:
        """The PNG of the current ``view`` (also sets ``legend``).

        Points are binned into the ``width x height`` pixels of the window with numpy
        (``np.bincount``: ~0.1 s for a million points, no per-kernel compile); categories blend
        by their counts, numbers are averaged per pixel, alpha follows log(count), and sparse
        windows get a one-pixel spread so single points stay visible.
        """
        x0, x1, y0, y1 = (float(v) for v in self.view)
        W, H = int(self.width), int(self.height)
        ix = np.floor((self.xy[:, 0] - x0) / (x1 - x0) * W)
        iy = np.floor((y1 - self.xy[:, 1]) / (y1 - y0) * H)
        ok = (ix >= 0) & (ix < W) & (iy >= 0) & (iy < H)
        pix = (iy[ok] * W + ix[ok]).astype(np.int64)
        n = np.bincount(pix, minlength=W * H).astype(np.float64)
        rgb = np.zeros((W * H, 3))
        legend = []
        col = self.color_by
        s = self._values(col) if col else None
        if s is None:
            rgb[:] = _hex(["#9ecae1"])[0]
        elif _is_categorical(s):
            cats, counts, k = self._categories(col, s)
            colours = [_NOISE if c in ("-1", "(none)", "<NA>") else PALETTE[j % len(PALETTE)]
                       for j, c in enumerate(cats)] + ["#b0b0b0"]
            K = len(cats) + 1
            cnt = np.bincount(pix * K + k[ok], minlength=W * H * K).reshape(W * H, K)
            rgb = cnt @ _hex(colours) / np.maximum(n, 1)[:, None]
            legend = [{"label": c, "color": colours[i], "count": int(counts[c])}
                      for i, c in enumerate(cats)]
        else:
            v = pd.to_numeric(s, errors="coerce").to_numpy(np.float64)
            good = np.isfinite(v[ok])
            tot = np.bincount(pix[good], weights=v[ok][good], minlength=W * H)
            m = np.bincount(pix[good], minlength=W * H)
            lo, hi = np.nanpercentile(v, [1, 99]) if np.isfinite(v).any() else (0.0, 1.0)
            mean = np.where(m > 0, tot / np.maximum(m, 1), lo)
            t = np.clip((mean - lo) / max(hi - lo, 1e-12), 0, 1)
            lut = _hex(_CONT_CMAP)
            pos = t * (len(lut) - 1)
            i0 = np.minimum(pos.astype(int), len(lut) - 2)
            f = (pos - i0)[:, None]
            rgb = lut[i0] * (1 - f) + lut[i0 + 1] * f
            legend = [{"label": f"{col} {lo:.3g}", "color": _CONT_CMAP[0], "count": 0},
                      {"label": f"{col} {hi:.3g}", "color": _CONT_CMAP[-1], "count": 0}]
        alpha = np.where(n > 0, 110 + 145 * np.log1p(n) / np.log1p(max(n.max(), 1)), 0)
        img = np.concatenate([rgb, alpha[:, None]], 1).reshape(H, W, 4)
        if len(self._selected):
            sx, sy = ix[self._selected], iy[self._selected]
            sok = (sx >= 0) & (sx < W) & (sy >= 0) & (sy < H)
            img[sy[sok].astype(int), sx[sok].astype(int)] = (255, 255, 255, 255)
        if ok.sum() < W * H / 30:  # sparse: spread each point to 3x3 pixels
            from scipy.ndimage import maximum_filter

            a = img[..., 3]
            grown = maximum_filter(a, size=3)
            src = np.argmax(np.stack([np.roll(np.roll(a, dy, 0), dx, 1)
                                      for dy in (-1, 0, 1) for dx in (-1, 0, 1)]), 0)
            empty = (a == 0) & (grown > 0)
            shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
            for j, (dy, dx) in enumerate(shifts):
                sel = empty & (src == j)
                if sel.any():
                    img[sel] = np.roll(np.roll(img, dy, 0), dx, 1)[sel]
        self.legend = legend
        return render.encode_png(np.clip(img, 0, 255).astype(np.uint8))

    def _categories(self, col: str, s: pd.Series):
        """(categories shown, their counts, code per item) of a categorical column, cached
        (a million-row string conversion costs more than the drawing itself)."""
        key = (col, id(self._labels) if col == "label" else None)
        hit = self._cat_cache.get(key)
        if hit is None:
            cat = pd.Categorical(s.astype("string").fillna("(none)"))
            counts = pd.Series(np.bincount(cat.codes, minlength=len(cat.categories)),
                               index=cat.categories).sort_values(ascending=False, kind="stable")
            cats = [str(c) for c in counts.index[:len(PALETTE)]]
            remap = np.full(len(cat.categories), len(cats), np.int64)
            pos = {str(c): j for j, c in enumerate(cat.categories)}
            for j, c in enumerate(cats):
                remap[pos[c]] = j
            hit = (cats, counts, remap[cat.codes])
            self._cat_cache = {k: v for k, v in self._cat_cache.items() if k[0] != col}
            self._cat_cache[key] = hit
        return hit

    def redraw(self) -> None:
        t = time.perf_counter()
        self.image = self.render()
        self.render_ms = 1000 * (time.perf_counter() - t)

    def reset_view(self) -> None:
        self.view = list(self._full_view)

    def to_data(self, px: float, py: float) -> tuple[float, float]:
        """Widget pixel (from the top-left) -> map coordinates."""
        x0, x1, y0, y1 = (float(v) for v in self.view)
        return (x0 + (x1 - x0) * px / self.width, y1 - (y1 - y0) * py / self.height)

    def _on_map(self, px: float, py: float) -> tuple[float, float]:
        """A widget pixel moved to the nearest pixel of the map (clamped to its edges)."""
        return (min(max(float(px), 0.0), float(self.width)),
                min(max(float(py), 0.0), float(self.height)))

    # ------------------------------------------------------------------ selection
    @property
    def selected_ids(self) -> list[str]:
        """Ids of the current selection (in selection order)."""
        return list(self.ids[self._selected])

    def on_select(self, callback) -> None:
        """Call ``callback(ids)`` after every selection change."""
        self._listeners.append(callback)

    def _set_selection(self, positions, kind: str, *, share: bool = True) -> list[str]:
        self._selected = np.asarray(positions, dtype=np.int64)
        self.n_selected = len(self._selected)
        self.selection_kind = kind
        ids = self.selected_ids
        self._update_gallery(ids)
        for cb in self._listeners:
            cb(ids)
        if share and self.selection is not None:
            self.selection.set(ids, source=self)
        self.redraw()
        return ids

    def _follow(self, ids) -> None:
        """The shared selection changed elsewhere: draw its items that this map holds."""
        if self.selection is not None and self.selection.source is self:
            return
        pos = pd.Index(self.ids).get_indexer([str(i) for i in ids])
        self._set_selection(pos[pos >= 0], "shared", share=False)

    def select_box(self, x0: float, x1: float, y0: float, y1: float) -> list[str]:
        """Select the items whose map position is inside the box (map coordinates)."""
        xa, xb = sorted((x0, x1))
        ya, yb = sorted((y0, y1))
        m = ((self.xy[:, 0] >= xa) & (self.xy[:, 0] <= xb) &
             (self.xy[:, 1] >= ya) & (self.xy[:, 1] <= yb))
        return self._set_selection(np.flatnonzero(m), "box")

    def select_polygon(self, polygon, *, in_view: bool = False) -> list[str]:
        """Select the items inside a lasso ``polygon`` ((m, 2) map coordinates).

        ``in_view``: only items inside the visible window too (a lasso drawn in the browser
        may leave the map and come back; what it selects is the polygon cut to the map).
        """
        mask = points_in_polygon(self.xy, polygon)
        if in_view:
            x0, x1, y0, y1 = (float(v) for v in self.view)
            mask &= ((self.xy[:, 0] >= x0) & (self.xy[:, 0] <= x1) &
                     (self.xy[:, 1] >= y0) & (self.xy[:, 1] <= y1))
        return self._set_selection(np.flatnonzero(mask), "lasso")

    def select_cluster(self, cluster) -> list[str]:
        """Select every item of one cluster (column ``cluster``)."""
        if "cluster" not in self._cat.columns:
            raise InputError("no cluster column", hint="run `workbench map --cluster hdbscan`")
        col = self._cat["cluster"].to_numpy()
        return self._set_selection(np.flatnonzero(col == int(cluster)), f"cluster {cluster}")

    def select_ids(self, ids) -> list[str]:
        pos = pd.Index(self.ids).get_indexer([str(i) for i in ids])
        return self._set_selection(pos[pos >= 0], "ids")

    def clear_selection(self) -> None:
        self._set_selection([], "")

    def more_like_this(self, item_id: str, k: int = 20) -> list[str]:
        """Select ``item_id`` and its ``k`` nearest neighbours in embedding space."""
        pos = pd.Index(self.ids).get_indexer([str(item_id)])[0]
        if pos < 0:
            raise KeyError(f"no item {item_id!r}")
        if self._index is None:
            from workbench.embed.neighbors import SimilarityIndex

            try:
                from workbench.embed.records import load_embedding

                _, X = load_embedding(self.coll, self._embedding_name)
                self._index = SimilarityIndex(metric="cosine").fit(X)
            except Exception:  # noqa: BLE001 - no embeddings: use the map itself
                self._index = SimilarityIndex(metric="euclidean").fit(
                    np.nan_to_num(self.xy).astype(np.float32))
        nn, _ = self._index.more_like_this(int(pos), k)
        return self._set_selection(np.r_[pos, nn], f"like {item_id}")

    def nearest(self, x: float, y: float, *, max_px: float = 8.0) -> int | None:
        """Position of the item nearest to map point (x, y) within ``max_px`` pixels."""
        from scipy.spatial import cKDTree

        x0, x1, y0, y1 = (float(v) for v in self.view)
        sx, sy = self.width / (x1 - x0), self.height / (y1 - y0)
        if self._tree is None:
            ok = np.isfinite(self.xy).all(1)
            self._tree_pos = np.flatnonzero(ok)
            fx = self._full_view
            self._tree_scale = np.array([1 / (fx[1] - fx[0]), 1 / (fx[3] - fx[2])])
            self._tree = cKDTree(self.xy[ok] * self._tree_scale)
        _, cand = self._tree.query(np.array([x, y]) * self._tree_scale, k=8)
        cand = self._tree_pos[np.atleast_1d(cand)[np.atleast_1d(cand) < len(self._tree_pos)]]
        if not len(cand):
            return None
        d = np.hypot((self.xy[cand, 0] - x) * sx, (self.xy[cand, 1] - y) * sy)
        j = int(np.argmin(d))
        return int(cand[j]) if d[j] <= max_px else None

    def thumbnail_png(self, pos: int, size: int | None = None) -> bytes:
        row = int(self._rows[pos])
        img = self.coll.read([row], [self._product])[self._product][0]
        return render.encode_png(_panels.thumbnail(img, str(self._cat["kind"].iloc[pos]),
                                                   size or self.thumb))

    # ------------------------------------------------------------------ labelling
    def label_selection(self, answer, *, annotator: str | None = None) -> list[int]:
        """Give every selected item the same answer, as bulk annotations in the store.

        ``answer`` is a dict ``{question: value}`` or a value of the scheme's class question.
        Returns the annotation ids.
        """
        if self.store is None:
            raise StoreError("the Explorer has no label store", hint="pass store=open_store(coll)")
        if not len(self._selected):
            raise InputError("nothing is selected")
        if not isinstance(answer, dict):
            if self.scheme is None:
                raise StoreError("give scheme= to label with a single value")
            from workbench.core.schemes import get_scheme

            answer = {**self.default_answers, get_scheme(self.scheme).class_question: answer}
        out = self.store.annotate_many(
            self.selected_ids, answer, annotator=annotator or self.annotator,
            scheme=self.scheme, source="bulk", bulk=True,
            source_detail={"via": "explorer", "selection": self.selection_kind,
                           "map": [self.x_col, self.y_col], "n": int(len(self._selected))})
        self._labels = self._store_labels()
        self.status = f"labelled {len(out)} items {answer}"
        if self.color_by == "label":
            self.redraw()
        return out

    # ------------------------------------------------------------------ clusters
    def _cluster_summary(self, per: int, max_clusters: int) -> None:
        if "cluster" not in self._cat.columns:
            return
        cl = self._cat["cluster"].to_numpy()
        prob = (self._cat["cluster_prob"].to_numpy() if "cluster_prob" in self._cat.columns
                else np.ones(len(cl)))
        ids, sizes = np.unique(cl[cl >= 0], return_counts=True)
        order = np.argsort(-sizes)[:max_clusters]
        t = 48
        sheet = np.zeros((max(1, len(order)) * t, per * t, 4), np.uint8)
        out = []
        for r, j in enumerate(order):
            members = np.flatnonzero(cl == ids[j])
            ex = members[np.argsort(-prob[members], kind="stable")[:per]]
            rows = self._rows[ex]
            srt = np.argsort(rows)
            imgs = self.coll.read(rows[srt], [self._product])[self._product]
            for k, e in enumerate(ex[srt]):
                sheet[r * t:(r + 1) * t, k * t:(k + 1) * t] = _panels.thumbnail(
                    imgs[k], str(self._cat["kind"].iloc[e]), t)
            out.append({"id": int(ids[j]), "size": int(sizes[j]),
                        "color": PALETTE[r % len(PALETTE)], "n_examples": int(len(ex))})
        self.clusters = out
        self.cluster_sprite = render.encode_png(sheet)

    # ------------------------------------------------------------------ gallery + events
    def _update_gallery(self, ids) -> None:
        if not self._want_gallery or self._gallery_box is None:
            return
        from workbench.widgets.gallery import Gallery

        if not ids:
            self._gallery_box.children = []
            self.gallery_widget = None
            return
        if len(ids) <= 5000:  # keeps the selection's order (e.g. "more like this")
            view = self.coll.select(ids=ids)
        else:  # a big lasso: a mask is ~10x cheaper than matching a million ids
            mask = np.zeros(len(self.ids), bool)
            mask[self._selected] = True
            view = self.coll.select(mask=mask)
        self.gallery_widget = Gallery(view, store=self.store,
                                      badges=[c for c in ("cluster", "outlier_glosh")
                                              if c in self._cat.columns])
        self._gallery_box.children = [self.gallery_widget]

    def panel(self):
        """The map with the Gallery of the selection below it (an ipywidgets VBox)."""
        import ipywidgets as w

        if self._gallery_box is None:
            self._gallery_box = w.VBox([])
        return w.VBox([self, self._gallery_box])

    def _on_msg(self, _w, content, _buffers) -> None:
        kind = content.get("type")
        try:
            if kind == "hover":
                x, y = self.to_data(content["px"], content["py"])
                pos = self.nearest(x, y)
                if pos is None:
                    self.hover = {}
                    return
                self.hover_png = self.thumbnail_png(pos)
                col = self.color_by
                val = self._value_at(col, pos) if col else None
                self.hover = {"id": str(self.ids[pos]), "px": content["px"], "py": content["py"],
                              "value": None if val is None or pd.isna(val) else str(val),
                              "column": col}
            elif kind == "box":  # a corner dragged off the map: the box stops at its edge
                ax, ay = self.to_data(*self._on_map(content["px0"], content["py0"]))
                bx, by = self.to_data(*self._on_map(content["px1"], content["py1"]))
                self.select_box(ax, bx, ay, by)
            elif kind == "lasso":
                self.select_polygon([self.to_data(px, py) for px, py in content["points"]],
                                    in_view=True)
            elif kind == "cluster":
                self.select_cluster(content["id"])
            elif kind == "more":
                self.more_like_this(content["id"], int(content.get("k", 20)))
            elif kind == "label":
                self.label_selection(content["value"])
            elif kind == "clear":
                self.clear_selection()
            elif kind == "reset":
                self.reset_view()
        except Exception as exc:  # noqa: BLE001 - report in the widget, keep it alive
            self.status = f"error: {exc}"


def explore(coll, **options):
    """Make an :class:`Explorer` and return ``(explorer, panel)``; display the panel."""
    ex = Explorer(coll, **options)
    return ex, ex.panel()
