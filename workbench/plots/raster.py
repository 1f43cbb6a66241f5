"""Points binned in the kernel into an image of the visible window (big point views).

Above :data:`RASTERIZE_ABOVE` points a point view does not send its points to the browser:
a ``DynamicMap`` bins them with numpy (``np.bincount``) into the plot's pixels for the
visible x/y range each time the user zooms or pans (HoloViews' ``RangeXY`` stream) and
sends one RGBA image. This is what datashader's ``rasterize`` does, without datashader's
numba compile (~3.5 s in every new kernel here, measured on a busy 2-core machine; numpy's
binning needs no compile and draws a million points in ~0.1 s). Categories blend by their
counts per pixel, numbers are averaged per pixel, alpha follows log(count), and sparse
windows get a one-pixel spread so single points stay visible. On a log axis the bins are
uniform in log10 of the value, which is how Bokeh lays an image out on that axis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.plots._style import NOISE, PALETTE

__all__ = ["RASTERIZE_ABOVE", "bin_rgba", "is_categorical", "categories", "VIRIDIS"]

#: Point views with more points than this are binned into images (see the module doc).
#: Below it the points themselves go to the browser (hover per point, Bokeh's WebGL).
RASTERIZE_ABOVE = 50_000

#: Colour ramp of numeric colour columns (viridis, 5 stops).
VIRIDIS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]
_SINGLE = "#3a6fb0"


def _hex(colours) -> np.ndarray:
    return np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colours], np.float64)


def is_categorical(s: pd.Series) -> bool:
    """Whether a colour column is drawn as categories (strings, booleans, categoricals,
    integers with at most 64 distinct values) rather than on a colour ramp."""
    if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == bool:
        return True
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.nunique(dropna=True) <= 64
    return not pd.api.types.is_numeric_dtype(s.dtype)


def categories(s: pd.Series, max_categories: int = len(PALETTE)):
    """``(names, colours, code per row)`` of a categorical column: the most common
    ``max_categories`` values in order of count (ties: by name), the rest as ``(other)``;
    missing values and cluster ``-1`` are grey."""
    cat = pd.Categorical(s.astype("string").fillna("(none)"))
    counts = np.bincount(cat.codes, minlength=len(cat.categories))
    order = sorted(range(len(counts)), key=lambda j: (-counts[j], str(cat.categories[j])))
    keep = order[:max_categories]
    names = [str(cat.categories[j]) for j in keep]
    remap = np.full(len(cat.categories), len(names), np.int64)
    remap[keep] = np.arange(len(keep))
    colours = [NOISE if n in ("-1", "(none)") else PALETTE[k % len(PALETTE)]
               for k, n in enumerate(names)]
    if len(order) > len(keep):
        names, colours = names + ["(other)"], colours + ["#c0c0c0"]
    return names, colours, remap[cat.codes]


def _axis(v: np.ndarray, log: bool) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(v > 0, np.log10(v), np.nan) if log else v


def bin_rgba(x: np.ndarray, y: np.ndarray, x_range, y_range, width: int, height: int, *,
             codes: np.ndarray | None = None, colours=None, values: np.ndarray | None = None,
             value_range=None, logx: bool = False, logy: bool = False) -> np.ndarray:
    """An RGBA image ``(height, width, 4)`` uint8 of the points inside the ranges, row 0 at
    the top (``y_range[1]``).

    ``codes``/``colours``: a category per point (index into ``colours``), blended by counts;
    ``values``/``value_range``: a number per point, averaged per pixel on :data:`VIRIDIS`;
    neither: one colour. Ranges are in data units; with ``logx``/``logy`` the bins are
    uniform in log10 (points <= 0 are left out).
    """
    W, H = int(width), int(height)
    if W < 1 or H < 1 or W * H > 16_000_000:
        raise ValueError(f"an image of {W} x {H} pixels cannot be drawn")
    ax, ay = _axis(np.asarray(x, float), logx), _axis(np.asarray(y, float), logy)
    (x0, x1), (y0, y1) = (_axis(np.asarray(r, float), lg)
                          for r, lg in ((x_range, logx), (y_range, logy)))
    if not (np.isfinite([x0, x1, y0, y1]).all() and x1 > x0 and y1 > y0):
        return np.zeros((H, W, 4), np.uint8)
    ix = np.floor((ax - x0) / (x1 - x0) * W)
    iy = np.floor((y1 - ay) / (y1 - y0) * H)
    ok = (ix >= 0) & (ix < W) & (iy >= 0) & (iy < H)
    pix = (iy[ok] * W + ix[ok]).astype(np.int64)
    n = np.bincount(pix, minlength=W * H).astype(np.float64)
    if codes is not None:
        K = len(colours)
        cnt = np.bincount(pix * K + np.asarray(codes)[ok], minlength=W * H * K)
        rgb = cnt.reshape(W * H, K) @ _hex(colours) / np.maximum(n, 1)[:, None]
    elif values is not None:
        v = np.asarray(values, float)[ok]
        good = np.isfinite(v)
        tot = np.bincount(pix[good], weights=v[good], minlength=W * H)
        m = np.bincount(pix[good], minlength=W * H)
        lo, hi = value_range
        t = np.clip((np.where(m > 0, tot / np.maximum(m, 1), lo) - lo) / max(hi - lo, 1e-12),
                    0, 1)
        lut = _hex(VIRIDIS)
        p = t * (len(lut) - 1)
        i0 = np.minimum(p.astype(int), len(lut) - 2)
        f = (p - i0)[:, None]
        rgb = lut[i0] * (1 - f) + lut[i0 + 1] * f
    else:
        rgb = np.broadcast_to(_hex([_SINGLE])[0], (W * H, 3))
    alpha = np.where(n > 0, 120 + 135 * np.log1p(n) / np.log1p(max(n.max(), 1)), 0)
    img = np.concatenate([rgb, alpha[:, None]], 1).reshape(H, W, 4)
    if ok.sum() < W * H / 30:  # sparse: grow every drawn pixel into its empty neighbours
        pad = np.pad(img, ((1, 1), (1, 1), (0, 0)))
        out = img.copy()
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, -1), (1, -1), (-1, 1)):
            src = pad[1 + dy:1 + dy + H, 1 + dx:1 + dx + W]
            fill = (out[..., 3] == 0) & (src[..., 3] > 0)
            out[fill] = src[fill]
        img = out
    return np.clip(img, 0, 255).astype(np.uint8)
