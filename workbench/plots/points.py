"""Point views of a Collection: transient candidates, any two catalogue columns, the sky.

>>> import workbench, workbench.plots as p                              # doctest: +SKIP
>>> sel = p.Selection()
>>> p.candidates(coll, color_by="truth", selection=sel)                 # doctest: +SKIP
>>> p.catalog(coll, "flux_jy", "snr", by="truth", selection=sel)        # doctest: +SKIP
>>> p.sky(coll, selection=sel)                                          # doctest: +SKIP

Each view is built from a table (:func:`candidates_data`, :func:`catalog_data`,
:func:`sky_data`: one row per drawn item) and drawn either as Bokeh points (hover per point;
up to :data:`~workbench.plots.raster.RASTERIZE_ABOVE` points) or, above that, as an image
of the visible window binned in the kernel (:mod:`workbench.plots.raster`), so a million
candidates stay interactive. With ``selection=`` a box select or tap in the view sets the
shared :class:`~workbench.core.selection.Selection`, and its items are drawn ringed on top
(:mod:`workbench.plots.link`).

Colour columns: any catalog column (categories for strings/booleans/small integers, a
colour ramp for numbers), or ``"label"``: the majority answer of the scheme's class
question in ``store`` (:func:`workbench.labeling.consensus.majority_labels`).
"""

from __future__ import annotations

from pathlib import PurePath

import numpy as np
import pandas as pd

from workbench.core.errors import InputError
from workbench.plots import raster
from workbench.plots._style import bokeh_backend

__all__ = ["candidates", "catalog", "sky", "candidates_data", "catalog_data", "sky_data",
           "store_labels", "MARKERS"]

#: Markers of the groups (source files / beams) of a candidate view, in order.
MARKERS = ["circle", "square", "triangle", "diamond", "inverted_triangle", "hex", "star",
           "plus"]
_DEFAULT_COLOURS = ("label", "pred_label", "cluster", "truth")


# --------------------------------------------------------------------------- data
def store_labels(store, ids) -> pd.Series:
    """Majority label (the class question's answer) of each of ``ids`` in ``store``
    (missing: NA): :func:`workbench.labeling.consensus.majority_labels`, the rule of the
    Gallery's badges and the Explorer's colours."""
    from workbench.labeling.consensus import majority_labels

    ids = pd.Index(np.asarray(ids).astype(str))
    out = pd.Series(pd.NA, index=ids, dtype="object")
    got = {i: lab for i, (lab, _) in majority_labels(store, ids).items() if lab is not None}
    if got:
        out.loc[list(got)] = list(got.values())
    return out


def _colour_column(coll, cat: pd.DataFrame, color_by, store) -> tuple[str | None, pd.Series]:
    if color_by is None:
        for c in _DEFAULT_COLOURS:
            if c == "label" and store is not None:
                lab = store_labels(store, cat["id"])
                if lab.notna().any():
                    return "label", lab.reset_index(drop=True)
            elif c in cat.columns and c != "label":
                return c, cat[c].reset_index(drop=True)
        return None, pd.Series(dtype=float)
    if color_by == "label" and "label" not in cat.columns:
        if store is None:
            raise InputError("color_by='label' needs store= (the label store)")
        return "label", store_labels(store, cat["id"]).reset_index(drop=True)
    if color_by not in cat.columns:
        raise InputError(f"no catalog column {color_by!r} to colour by",
                         path=getattr(coll, "path", None),
                         hint=f"columns: {', '.join(map(str, cat.columns))}")
    return color_by, cat[color_by].reset_index(drop=True)


def _with_colour(df: pd.DataFrame, name, values: pd.Series) -> tuple[pd.DataFrame, dict]:
    """Adds the colour column (categories named as drawn, '(other)' for the rest) and
    returns the colour spec: {"kind": None|"cat"|"num", "column", "names", "colours",
    "codes" | "range"}."""
    if name is None:
        return df, {"kind": None}
    col = str(name)
    if raster.is_categorical(values):
        names, colours, codes = raster.categories(values)
        df[col] = pd.Categorical.from_codes(codes, names).astype(str)
        return df, {"kind": "cat", "column": col, "names": names, "colours": colours,
                    "codes": codes}
    v = pd.to_numeric(values, errors="coerce").to_numpy(float)
    df[col] = v
    fin = v[np.isfinite(v)]
    rng = tuple(np.percentile(fin, [1, 99])) if len(fin) else (0.0, 1.0)
    return df, {"kind": "num", "column": col, "range": (float(rng[0]), float(rng[1]))}


def _group(cat: pd.DataFrame, by):
    if by is False:
        return None
    if by is not None:
        if by not in cat.columns:
            raise InputError(f"no catalog column {by!r} to group by")
        return by
    if "beam" in cat.columns and cat["beam"].nunique(dropna=True) > 1:
        return "beam"
    if "source_file" in cat.columns and cat["source_file"].nunique(dropna=True) > 1:
        return "source_file"
    return None


def candidates_data(coll, *, color_by=None, store=None, by=None) -> tuple[pd.DataFrame, dict]:
    """The candidate table drawn: ``id``, ``time_s``, ``dm``, ``snr``, ``width_ms``, the
    colour column, ``group`` (the file name or beam, when the Collection has several) and
    ``size`` (marker size in pixels, 3..16 growing with sqrt(S/N)); and the colour spec."""
    cat = coll.catalog
    need = [c for c in ("time_s", "dm", "snr") if c not in cat.columns]
    if need:
        raise InputError(f"not a transient Collection: no column(s) {need}",
                         path=getattr(coll, "path", None),
                         hint="candidates() draws time_s, dm and snr of candidate items")
    df = pd.DataFrame({"id": cat["id"].astype(str).to_numpy(),
                       "time_s": cat["time_s"].to_numpy(float),
                       "dm": cat["dm"].to_numpy(float),
                       "snr": cat["snr"].to_numpy(float),
                       "width_ms": (1000 * cat["width_s"].to_numpy(float)
                                    if "width_s" in cat.columns else np.nan)})
    s = np.sqrt(np.clip(np.nan_to_num(df["snr"].to_numpy(), nan=0.0), 0, None))
    lo, hi = (np.percentile(s, [1, 99]) if len(s) else (0.0, 1.0))
    df["size"] = 3 + 13 * np.clip((s - lo) / max(hi - lo, 1e-9), 0, 1)
    g = _group(cat, by)
    if g is not None:
        vals = cat[g].astype("string").fillna("(none)").to_numpy()
        df["group"] = [PurePath(v).name if g == "source_file" else str(v) for v in vals]
    name, values = _colour_column(coll, cat, color_by, store)
    return _with_colour(df, name, values)


def catalog_data(coll, x: str, y: str, *, by=None, store=None) -> tuple[pd.DataFrame, dict]:
    """``id``, ``x``, ``y`` columns (their own names) and ``by`` (colour), as drawn."""
    cat = coll.catalog
    missing = [c for c in (x, y) if c not in cat.columns]
    if missing:
        raise InputError(f"no catalog column(s) {missing}", path=getattr(coll, "path", None),
                         hint=f"columns: {', '.join(map(str, cat.columns))}")
    df = pd.DataFrame({"id": cat["id"].astype(str).to_numpy()})
    for c in dict.fromkeys((x, y)):
        v = pd.to_numeric(cat[c], errors="coerce")
        if not v.notna().any():
            raise InputError(f"catalog column {c!r} has no numbers to plot",
                             path=getattr(coll, "path", None))
        df[c] = v.to_numpy(float)
    if by is None:
        return df, {"kind": None}
    name, values = _colour_column(coll, cat, by, store)
    return _with_colour(df, name, values)


def sky_data(coll, *, color_by=None, store=None) -> tuple[pd.DataFrame, dict]:
    """``id``, ``ra``, ``dec`` (degrees) of the items with a sky position, and the colour."""
    cat = coll.catalog
    if "ra" not in cat.columns or "dec" not in cat.columns:
        raise InputError("the Collection has no ra/dec columns", path=getattr(coll, "path", None))
    ok = cat["ra"].notna().to_numpy() & cat["dec"].notna().to_numpy()
    if not ok.any():
        raise InputError("no item has a sky position (ra/dec are all missing)",
                         path=getattr(coll, "path", None))
    df = pd.DataFrame({"id": cat["id"].astype(str).to_numpy()[ok],
                       "ra": cat["ra"].to_numpy(float)[ok], "dec": cat["dec"].to_numpy(float)[ok]})
    name, values = _colour_column(coll, cat, color_by, store)
    if name is not None:
        values = values[ok].reset_index(drop=True)
    return _with_colour(df, name, values)


# --------------------------------------------------------------------------- drawing
def _points(df, x, y, spec, *, hover, selection, logx, logy, width, height, size=None,
            marker=None, rasterize=None, title="", xlabel=None, ylabel=None,
            invert_x=False, tools=("box_select", "lasso_select", "tap"),
            legend_position="right"):
    hv = bokeh_backend()
    from workbench.plots.link import LinkedPoints

    big = len(df) > raster.RASTERIZE_ABOVE if rasterize is None else bool(rasterize)
    link = (LinkedPoints(df["id"], df[x], df[y], selection, x_name=x, y_name=y, logx=logx,
                         logy=logy) if selection is not None else None)
    common = dict(width=width, height=height, logx=logx, logy=logy, title=title,
                  xlabel=xlabel or x, ylabel=ylabel or y, invert_xaxis=invert_x)
    if selection is not None:  # linked: a drag selects (pan stays one click away)
        common["active_tools"] = ["box_select", "wheel_zoom"]
    if link is not None:  # the end of a box/lasso select reaches the kernel at once
        common["hooks"] = [send_selection_now]
    if big:
        common["hooks"] = [*common.get("hooks", ()), canvas_backend]
        main = _raster_view(hv, df, x, y, spec, logx=logx, logy=logy, width=width,
                            height=height, link=link).opts(**common, tools=["box_select",
                                                                            "tap"])
    else:
        vd = [c for c in hover if c not in (x, y)]
        vd += [c for c in (size, spec.get("column"), marker) if c and c not in vd + [x, y]]
        main = hv.Points(df, [x, y], vd, label="items")
        style = dict(tools=["hover", *tools], line_alpha=0.6, fill_alpha=0.7,
                     selection_alpha=0.7, nonselection_alpha=0.7, muted_alpha=0.1,
                     size=hv.dim(size) if size else 5,
                     hover_tooltips=[(c, f"@{{{c}}}") for c in (x, y, *hover)])
        if spec["kind"] == "cat":
            style.update(color=hv.dim(spec["column"]),
                         cmap=dict(zip(spec["names"], spec["colours"])), show_legend=True,
                         legend_position=legend_position)
        elif spec["kind"] == "num":
            style.update(color=hv.dim(spec["column"]), cmap="viridis", colorbar=True,
                         clim=spec["range"])
        if marker:
            groups = list(dict.fromkeys(df[marker]))
            style["marker"] = hv.dim(marker).categorize(
                {gname: MARKERS[k % len(MARKERS)] for k, gname in enumerate(groups)},
                default="circle")
        main = main.opts(**common, **style)
        if link is not None:
            sel1d = hv.streams.Selection1D(source=main)
            sel1d.add_subscriber(lambda index: link.from_indices(index))
    if link is None:
        return main
    return main * link.overlay()


#: Browser side of :func:`send_selection_now` (BokehJS ``CustomJS`` body; ``cb_obj`` is the
#: ``selectiongeometry`` event): the comm manager's buffered events are sent at once, not
#: from its debounce timer, which a busy page can hold back (a timer due 50 ms after the
#: event fired ~140 ms after it in JupyterLab here: the page is busy right after a select).
#: ``window.__wbSelectionEnds`` collects when each selection ended (epoch ms; read by
#: ``benchmarks/bench_plots_browser.py``) and whether a comm manager was found to flush.
FLUSH_JS = """
if (!cb_obj.final) return;
const ends = (window.__wbSelectionEnds = window.__wbSelectionEnds || []);
const mark = {at: performance.timeOrigin + performance.now(), flushed: 0};
ends.push(mark);
if (ends.length > 1000) ends.splice(0, ends.length - 1000);
const doc = cb_obj.origin && cb_obj.origin.document;
if (!doc) return;
for (const m of doc.all_models) {
  if (typeof m.process_events === "function" && Array.isArray(m._event_buffer)) {
    const flush = () => {
      if (m._event_buffer.length) { m.process_events(); mark.flushed += 1; }
    };
    flush();                // BokehJS has normally handed the event to the comm already
    queueMicrotask(flush);  // else: once this event's handlers are done
  }
}
"""


def send_selection_now(plot, _element=None) -> None:
    """HoloViews hook of linked views: when a box or lasso select ends, the browser sends
    the pending Bokeh events to the kernel at once instead of from the comm's debounce
    timer (panel's ``CommManager`` waits 50 ms after an event to batch more; the selection
    is over, so there is nothing more to batch), and marks the time in
    ``window.__wbSelectionEnds``. Measured in JupyterLab (100k candidates, binned view): the
    page is busy right after a select, so that timer fired ~140-180 ms after the event; with
    the flush the box reaches the WebSocket within 1 ms of the event."""
    from bokeh.models import CustomJS

    fig = plot.state
    if not any(getattr(c, "code", None) == FLUSH_JS
               for c in fig.js_event_callbacks.get("selectiongeometry", [])):
        fig.js_on_event("selectiongeometry", CustomJS(code=FLUSH_JS))


def canvas_backend(plot, _element=None) -> None:
    """HoloViews hook of binned views: draw on a plain 2-D canvas, not WebGL (HoloViews'
    default). A binned view is one image and a few overlays, which WebGL does not draw
    faster, while every WebGL frame is copied back into the 2-D canvas (BokehJS
    ``blit_webgl``): measured in JupyterLab in headless Chromium (software GL, as on a
    machine without a GPU), that copy took ~370 ms of the ~640 ms from a box select's
    mouse-up to the Gallery drawn (``bench_plots_browser.py --profile``)."""
    plot.state.output_backend = "canvas"


def _raster_view(hv, df, x, y, spec, *, logx, logy, width, height, link):
    xs, ys = df[x].to_numpy(float), df[y].to_numpy(float)

    def full(v, log):
        v = v[np.isfinite(v) & ((v > 0) if log else True)]
        if not len(v):
            return (1.0, 10.0) if log else (0.0, 1.0)
        lo, hi = float(v.min()), float(v.max())
        if log:
            f = (hi / lo) ** 0.03 if hi > lo else 1.5
            return lo / f, hi * f
        pad = 0.03 * (hi - lo) if hi > lo else 0.5
        return lo - pad, hi + pad

    x_full, y_full = full(xs, logx), full(ys, logy)
    kw = {}
    if spec["kind"] == "cat":
        kw = {"codes": spec["codes"], "colours": spec["colours"]}
    elif spec["kind"] == "num":
        kw = {"values": df[spec["column"]].to_numpy(float), "value_range": spec["range"]}

    # about the plot's frame (its size less axes, labels and toolbar), one bin per pixel
    bw, bh = max(width - 110, 50), max(height - 90, 50)

    def draw(x_range, y_range):
        xr = tuple(x_range) if x_range else x_full
        yr = tuple(y_range) if y_range else y_full
        img = raster.bin_rgba(xs, ys, xr, yr, bw, bh, logx=logx, logy=logy, **kw)
        # like bin_rgba's, hv.RGB's first row is the top of the window
        return hv.RGB(img, kdims=[x, y], bounds=(xr[0], yr[0], xr[1], yr[1]))

    rng = hv.streams.RangeXY(x_range=x_full, y_range=y_full)
    dmap = hv.DynamicMap(draw, streams=[rng])
    if link is not None:
        box = hv.streams.BoundsXY(source=dmap)
        box.add_subscriber(lambda bounds: link.from_bounds(bounds))
        tap = hv.streams.Tap(source=dmap)
        tap.add_subscriber(lambda x, y: link.from_tap(
            x, y, rng.x_range, rng.y_range, width=bw, height=bh))
    return dmap


def candidates(coll, *, color_by=None, store=None, by=None, dm_scale: str = "log",
               selection=None, rasterize: bool | None = None, width: int = 720,
               height: int = 420):
    """Single-pulse candidates: arrival time against DM, one point per candidate.

    Parameters
    ----------
    coll : Collection (or a view)
        Transient candidates (columns ``time_s``, ``dm``, ``snr``; ``width_s`` optional).
    color_by : str, optional
        Any catalog column (``truth``, ``pred_label``, ``cluster``, ...) or ``"label"``
        (consensus in ``store``). Default: the first of label (if ``store`` has labels),
        ``pred_label``, ``cluster``, ``truth``; else one colour.
    store : LabelStore, optional
    by : str or False, optional
        Column whose values get their own marker (default: ``beam``, else the source
        file, when there are several; False: none).
    dm_scale : {"log", "linear"}
    selection : Selection, optional
        Box select / lasso / tap set it; its items (and focus) are drawn ringed.
    rasterize : bool, optional
        Force (True) or forbid (False) binning into an image; default above
        :data:`~workbench.plots.raster.RASTERIZE_ABOVE` candidates.

    Marker size grows with sqrt(S/N); hover shows id, time, DM, width (ms), S/N, the colour
    column and the group. Returns a HoloViews element or overlay (compose with ``+``/``*``,
    restyle with ``.opts``).
    """
    if dm_scale not in ("log", "linear"):
        raise InputError(f"dm_scale must be 'log' or 'linear', not {dm_scale!r}")
    df, spec = candidates_data(coll, color_by=color_by, store=store, by=by)
    logy = dm_scale == "log"
    if logy and (df["dm"] <= 0).any():  # DM 0 (RFI) has no place on a log axis
        keep = df["dm"].to_numpy() > 0
        df = df[keep].reset_index(drop=True)
        if spec["kind"] == "cat":
            spec = {**spec, "codes": spec["codes"][keep]}
    hover = ["id", "width_ms", "snr"] + [c for c in (spec.get("column"),) if c]
    marker = "group" if "group" in df.columns else None
    if marker:
        hover.append("group")
    return _points(df, "time_s", "dm", spec, hover=hover, selection=selection, logx=False,
                   logy=logy, width=width, height=height, size="size", marker=marker,
                   rasterize=rasterize, title=f"{len(df):,} candidates",
                   xlabel="time (s)", ylabel="DM (pc cm⁻³)")


def catalog(coll, x: str, y: str, by=None, *, store=None, selection=None, logx: bool = False,
            logy: bool = False, bins: int = 40, rasterize: bool | None = None,
            width: int = 520, height: int = 420):
    """Any two catalogue columns against each other, with marginal histograms.

    ``by``: a colour column (as ``color_by`` of :func:`candidates`). With ``selection``, a
    box select / lasso sets it and the marginal histograms show the selected items' share
    (dark) over all items (light). Returns a HoloViews AdjointLayout (``+`` and ``*`` work:
    ``*`` overlays on the scatter).
    """
    hv = bokeh_backend()
    df, spec = catalog_data(coll, x, y, by=by, store=store)
    hover = ["id"] + [c for c in (spec.get("column"),) if c]
    main = _points(df, x, y, spec, hover=hover, selection=selection, logx=logx, logy=logy,
                   width=width, height=height, rasterize=rasterize,
                   title=f"{y} against {x}", legend_position="top_right")

    def edges(v, log):
        v = v[np.isfinite(v) & ((v > 0) if log else True)]
        if not len(v):
            return np.linspace(0, 1, bins + 1)
        lo, hi = float(v.min()), float(v.max())
        if hi <= lo:
            hi = lo + 1.0
        return np.geomspace(lo, hi, bins + 1) if log else np.linspace(lo, hi, bins + 1)

    ex, ey = edges(df[x].to_numpy(float), logx), edges(df[y].to_numpy(float), logy)

    def hist(col, e, ids=None):
        v = df[col].to_numpy(float) if ids is None else \
            df.set_index("id").reindex(ids)[col].to_numpy(float)
        return np.histogram(v[np.isfinite(v)], bins=e)[0]

    def marg(col, e, log):
        side = {"height": 130} if col == x else {"width": 130}
        allh = hv.Histogram((e, hist(col, e)), kdims=[col], vdims=["items"]).opts(
            color="#c6d4e8", line_alpha=0.3, tools=["hover"], logx=log if col == x else False,
            **side)
        if selection is None:
            return allh

        def sel_hist(counter):
            return hv.Histogram((e, hist(col, e, selection.ids)), kdims=[col],
                                vdims=["items"]).opts(color="#1f4e8c", line_alpha=0.3)

        from workbench.plots.link import deferred

        stream = hv.streams.Counter()
        selection.observe(deferred(stream.event), "ids")
        return allh * hv.DynamicMap(sel_hist, streams=[stream])

    return main << marg(y, ey, logy) << marg(x, ex, logx)


def sky(coll, *, color_by=None, store=None, selection=None, rasterize: bool | None = None,
        width: int = 560, height: int = 420):
    """RA/Dec of the items (degrees; RA grows to the left, as on the sky). Colour, selection
    and binning as in :func:`candidates`."""
    df, spec = sky_data(coll, color_by=color_by, store=store)
    hover = ["id"] + [c for c in (spec.get("column"),) if c]
    return _points(df, "ra", "dec", spec, hover=hover, selection=selection, logx=False,
                   logy=False, width=width, height=height, rasterize=rasterize,
                   title=f"{len(df):,} items on the sky", xlabel="RA (deg)",
                   ylabel="Dec (deg)", invert_x=True)
