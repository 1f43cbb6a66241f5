"""Colour composites of multi-band stamps (Lupton et al. 2004 asinh RGB).

Lupton, Blanton, Fekete et al. (2004, PASP 116, 133) map the *total* intensity with an asinh
stretch and keep the colour ratios, so faint blue arcs and red lens galaxies both stay
visible and keep their colours. The mapping is ``astropy.visualization.make_lupton_rgb``
(imported inside the functions: astropy's visualization subpackage loads matplotlib).

Bands are given blue first (as a Collection stores them); the reddest band goes to red.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from workbench.core.errors import InputError

__all__ = ["rgb_groups", "lupton_rgb"]


def rgb_groups(n_bands: int) -> list[list[int]]:
    """Which bands (indices, blue first) feed the blue, green and red channels.

    One band: all three (grey). Two: blue, their mean, red. Three: one each. More: the
    bands are split into three contiguous wavelength groups, averaged within each group.

    Returns
    -------
    list of three lists of int
        ``[blue_indices, green_indices, red_indices]``.
    """
    if n_bands < 1:
        raise InputError("a composite needs at least one band")
    if n_bands == 1:
        return [[0], [0], [0]]
    if n_bands == 2:
        return [[0], [0, 1], [1]]
    parts = np.array_split(np.arange(n_bands), 3)
    return [p.tolist() for p in parts]


def _scales(scales, bands, n):
    if scales is None:
        return np.ones(n)
    if isinstance(scales, Mapping):
        if bands is None:
            raise InputError("scales given by band name need bands=[...] naming the planes")
        missing = [b for b in bands if b not in scales]
        if missing:
            raise InputError(f"scales has no entry for band(s) {missing}",
                             hint=f"give a scale for each of {list(bands)}")
        return np.array([float(scales[b]) for b in bands])
    s = np.asarray(scales, dtype=np.float64).ravel()
    if len(s) != n:
        raise InputError(f"{len(s)} scales for {n} bands")
    return s


def lupton_rgb(images, *, bands: Sequence[str] | None = None, scales=None,
               Q: float = 8.0, stretch: float | None = None, minimum=None,
               percentile: float = 99.5) -> np.ndarray:
    """An asinh colour composite (Lupton et al. 2004) of one multi-band stamp.

    Parameters
    ----------
    images : array_like of shape (n_bands, ny, nx) (or (ny, nx) for one band)
        Pixel values (e.g. nanomaggies), bands ordered blue first.
    bands : sequence of str, optional
        Names of the planes; needed only when ``scales`` is a dict.
    scales : sequence of float or dict of band -> float, optional
        Multiplies each band before mixing (balances the colours; e.g. DECaLS-like
        ``{"g": 2.0, "r": 1.3, "i": 1.0}`` makes a sky-noise-dominated stamp grey).
    Q : float
        Asinh softening (larger: more contrast between faint and bright).
    stretch : float, optional
        Linear range of the stretch, in the images' (scaled) unit. By default the
        ``percentile`` of the mean of the background-subtracted channels.
    minimum : float or sequence of 3 floats, optional
        Value mapped to black, one for all or per (blue, green, red) channel. By default
        each channel's median (the sky level).
    percentile : float
        Used for the default ``stretch``.

    Returns
    -------
    ndarray of uint8, shape (ny, nx, 3)
        RGB, row 0 first (show with ``origin="lower"`` to put north up for our stamps).
        Non-finite pixels count as the channel's minimum (black).
    """
    from astropy.visualization import make_lupton_rgb

    arr = np.asarray(images, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise InputError(f"images must have shape (n_bands, ny, nx), got {arr.shape}")
    n = arr.shape[0]
    if bands is not None and len(bands) != n:
        raise InputError(f"{len(bands)} band names for {n} planes")
    arr = arr * _scales(scales, bands, n)[:, None, None]
    chans = []
    for idx in rgb_groups(n):  # blue, green, red
        block = arr[idx]
        ok = np.isfinite(block)
        count = ok.sum(axis=0)
        total = np.where(ok, block, 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            chans.append(np.where(count > 0, total / np.maximum(count, 1), np.nan))
    b, g, r = chans
    if minimum is None:
        mins = [float(np.nanmedian(c)) if np.isfinite(c).any() else 0.0 for c in (r, g, b)]
    else:
        m = np.broadcast_to(np.asarray(minimum, dtype=np.float64), (3,))
        mins = [float(m[2]), float(m[1]), float(m[0])]
    r, g, b = (np.where(np.isfinite(c), c, mn) for c, mn in zip((r, g, b), mins))
    if stretch is None:
        mean = (r - mins[0] + g - mins[1] + b - mins[2]) / 3.0
        stretch = float(np.percentile(mean, percentile)) if mean.size else 1.0
        if not np.isfinite(stretch) or stretch <= 0:
            stretch = float(np.max(mean)) if np.max(mean) > 0 else 1.0
    with np.errstate(invalid="ignore", divide="ignore"):  # astropy divides 0/0 where I = 0
        return make_lupton_rgb(r, g, b, minimum=mins, stretch=float(stretch), Q=float(Q))
