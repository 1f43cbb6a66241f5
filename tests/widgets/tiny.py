"""Tiny seeded Collections for the widget tests, the browser tests and the benchmarks.

Radio items: two or three Gaussian components on noise (with an infrared channel and a sky
WCS); transient items: a DM-time bow-tie and a dispersed sweep in frequency-time with
physical axes; lens items: three-band stamps with an arc.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import workbench
from workbench.io import _axes
from workbench.io.collection import ProductSpec

__all__ = ["radio_collection", "transient_collection", "lens_collection", "blob_centres"]


def _gauss(ny, nx, y0, x0, s):
    yy, xx = np.mgrid[0:ny, 0:nx]
    return np.exp(-((yy - y0) ** 2 + (xx - x0) ** 2) / (2 * s * s))


def blob_centres(i: int, size: int) -> list[tuple[float, float]]:
    """(row, col) centres of the components of radio item ``i`` (deterministic)."""
    c = size / 2
    d = size * 0.28
    out = [(c, c - d), (c, c + d)]
    if i % 2 == 1:
        out.append((c + d, c))
    return out


def radio_collection(path, *, n: int = 6, size: int = 48, seed: int = 0, extra=None):
    """Radio items ``(radio, ir)`` of ``size x size`` pixels with 2-3 separate components.

    ``extra`` is a dict of additional catalog columns (lists of length ``n``).
    """
    rng = np.random.default_rng(seed)
    from astropy.wcs import WCS

    imgs = np.zeros((n, 2, size, size), np.float32)
    axes, rows = [], []
    for i in range(n):
        img = rng.normal(0, 1e-4, (size, size))
        for (y, x) in blob_centres(i, size):
            img += 3e-3 * _gauss(size, size, y, x, size / 24)
        ir = rng.normal(0, 1, (size, size)) + 20 * _gauss(size, size, size / 2, size / 2, 1.5)
        imgs[i, 0], imgs[i, 1] = img, ir
        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        w.wcs.crval = [150.0 + i, 2.0]
        w.wcs.crpix = [size / 2 + 1, size / 2 + 1]
        w.wcs.cdelt = [-1.8 / 3600, 1.8 / 3600]
        axes.append(_axes.sky(w))
        rows.append({"id": f"rg{i:03d}", "ra": 150.0 + i, "dec": 2.0, "pixscale_arcsec": 1.8,
                     "bmaj": 5.4, "bmin": 5.4, "bpa": 0.0, "flux_mjy": float(10 + i)})
    cat = pd.DataFrame(rows)
    for k, v in (extra or {}).items():
        cat[k] = v
    coll = workbench.create(path, {"radio": ProductSpec(("1.4GHz", "ir"), (size, size),
                                                         "Jy/beam", "sky")})
    coll.append(cat, {"radio": imgs}, axes={"radio": axes}, kind="radio")
    return coll


def transient_collection(path, *, n: int = 6, size: int = 64, seed: int = 0):
    """Transient candidates with ``dmtime`` (DM x time) and ``freqtime`` (freq x time)."""
    rng = np.random.default_rng(seed)
    dm = np.zeros((n, size, size), np.float32)
    ft = np.zeros((n, size, size), np.float32)
    dms = np.linspace(0, 200, size)
    times = np.linspace(-0.1, 0.1, size)
    freqs = np.linspace(1200, 1500, size)
    axes_dm, axes_ft, rows = [], [], []
    for i in range(n):
        true_dm = 60 + 10 * i
        yy, xx = np.mgrid[0:size, 0:size]
        bow = np.exp(-((xx - size / 2) ** 2) / (2 * (1 + 0.15 * abs(yy - true_dm / 200 * size)) ** 2))
        dm[i] = bow * 5 + rng.normal(0, 0.3, (size, size))
        delay = 4.15e3 * true_dm * (freqs ** -2 - freqs.max() ** -2)
        cols = size / 2 + delay / (times[1] - times[0])
        ft[i] = rng.normal(0, 1, (size, size))
        for r, c in enumerate(cols):
            if 0 <= c < size:
                ft[i, r, int(c)] += 4
        axes_dm.append(_axes.linear({"name": "dm", "unit": "pc cm^-3", "start": 0.0,
                                     "step": float(dms[1] - dms[0])},
                                    {"name": "time", "unit": "s", "start": -0.1,
                                     "step": float(times[1] - times[0])}))
        axes_ft.append(_axes.linear({"name": "freq", "unit": "MHz", "start": 1200.0,
                                     "step": float(freqs[1] - freqs[0])},
                                    {"name": "time", "unit": "s", "start": -0.1,
                                     "step": float(times[1] - times[0])}))
        rows.append({"id": f"tr{i:03d}", "snr": 8.0 + i, "dm": float(true_dm), "width_ms": 2.0})
    coll = workbench.create(path, {"dmtime": ProductSpec(("dm",), (size, size), "sigma", "dm,time"),
                                   "freqtime": ProductSpec(("ft",), (size, size), "sigma",
                                                           "freq,time")})
    coll.append(pd.DataFrame(rows), {"dmtime": dm, "freqtime": ft},
                axes={"dmtime": axes_dm, "freqtime": axes_ft}, kind="transient")
    return coll


def lens_collection(path, *, n: int = 6, size: int = 40, seed: int = 0):
    """Three-band (g, r, i) stamps: a red elliptical with a blue arc on half of them."""
    rng = np.random.default_rng(seed)
    imgs = np.zeros((n, 3, size, size), np.float32)
    yy, xx = np.mgrid[0:size, 0:size]
    r = np.hypot(yy - size / 2, xx - size / 2)
    for i in range(n):
        gal = np.exp(-r / 3)
        arc = np.exp(-((r - size / 4) ** 2) / 2) * (xx > size / 2) * (i % 2 == 0)
        imgs[i, 0] = 0.3 * gal + 1.0 * arc
        imgs[i, 1] = 0.7 * gal + 0.6 * arc
        imgs[i, 2] = 1.0 * gal + 0.3 * arc
        imgs[i] += rng.normal(0, 0.02, (3, size, size))
    cat = pd.DataFrame({"id": [f"ln{i:03d}" for i in range(n)], "z_lens": np.linspace(0.2, 0.6, n)})
    coll = workbench.create(path, {"stamp": ProductSpec(("g", "r", "i"), (size, size), "nmgy",
                                                        "sky")})
    coll.append(cat, {"stamp": imgs}, kind="lens")
    return coll
