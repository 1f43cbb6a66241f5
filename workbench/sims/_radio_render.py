"""Rendering simulated radio sources onto pixel grids (vectorised over components).

Conventions: pixel ``(x, y)`` is column ``x``, row ``y`` (0-based, pixel centres at integers);
a window of shape ``(ny, nx)`` whose pixel ``(0, 0)`` sits at ``origin = (x0, y0)`` of the
parent grid. Radio images are in Jy/beam: a source of 1 Jy rendered with a circular Gaussian
beam of ``sb`` pixels (sigma) sums to ``2 pi sb**2`` (the beam area in pixels).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["gaussian_images", "shell_images", "group_images", "artefact_pattern",
           "correlated_noise", "noise_gain", "beam_sigma_px"]

FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def beam_sigma_px(fwhm_arcsec: float, pixscale_arcsec: float) -> float:
    """Gaussian sigma (pixels) of a beam of FWHM ``fwhm_arcsec``."""
    return float(fwhm_arcsec) * FWHM_TO_SIGMA / float(pixscale_arcsec)


def _cov(gauss, blur):
    w, x, y, a, b, th = (gauss[:, i] for i in range(6))
    c, s = np.cos(th), np.sin(th)
    b2 = blur * blur
    sxx = a * a * c * c + b * b * s * s + b2
    syy = a * a * s * s + b * b * c * c + b2
    sxy = (a * a - b * b) * c * s
    return sxx, syy, sxy


def _eval(dx, dy, pxx, pyy, pxy, amp):
    """``amp * exp(-q/2)`` for offsets dx (K, nx), dy (K, ny): array (K, ny, nx) float32."""
    q = (-0.5 * pxx.astype(np.float32))[:, None, None] * (dx * dx)[:, None, :]
    q = q + ((-0.5 * pyy.astype(np.float32))[:, None] * dy * dy)[:, :, None]
    q -= (pxy.astype(np.float32)[:, None] * dy)[:, :, None] * dx[:, None, :]
    np.exp(q, out=q)
    q *= amp.astype(np.float32)[:, None, None]
    return q


def gaussian_images(gauss: np.ndarray, shape, origin=(0.0, 0.0), *, blur: float,
                    scale: float, n_groups: int | None = None) -> np.ndarray:
    """Gaussian components convolved analytically with a circular Gaussian, summed by group.

    Each component is evaluated only within 5 sigma of its centre (windows of a few fixed
    sizes, vectorised per size).

    Parameters
    ----------
    gauss : array (K, 7)
        ``[weight, x, y, sigma_major, sigma_minor, theta, group]`` in pixels of the parent
        grid (``group`` >= 1).
    shape : (ny, nx)
    origin : (x0, y0)
        Parent-grid position of the window's pixel (0, 0).
    blur : float
        Sigma (px) of the circular Gaussian convolved with every component (the restoring
        beam for radio maps, the PSF for infrared).
    scale : float
        Factor on the unit-integral density: ``2 pi sb**2`` gives Jy/beam per Jy, ``1`` gives
        flux per pixel.
    n_groups : int, optional
        Number of output planes (default: the largest group).

    Returns
    -------
    ndarray, float32, shape (G, ny, nx)
        Plane ``g - 1`` holds the sum of the components of group ``g``.
    """
    ny, nx = shape
    groups = gauss[:, 6].astype(int) if len(gauss) else np.zeros(0, int)
    out = np.zeros((int(n_groups or (groups.max() if len(groups) else 0)), ny, nx), np.float32)
    if len(gauss) == 0:
        return out
    sxx, syy, sxy = _cov(gauss, blur)
    det = sxx * syy - sxy * sxy
    pxx, pyy, pxy = syy / det, sxx / det, -sxy / det
    amp = gauss[:, 0] * scale / (2 * np.pi * np.sqrt(det))
    smax = np.sqrt(0.5 * (sxx + syy) + np.sqrt(0.25 * (sxx - syy) ** 2 + sxy * sxy))
    half = 2 ** np.ceil(np.log2(np.maximum(5 * smax, 2))).astype(int)
    cx, cy = gauss[:, 1] - origin[0], gauss[:, 2] - origin[1]
    full = 2 * half + 1 >= max(ny, nx)
    if full.any():
        k = np.nonzero(full)[0]
        dx = (np.arange(nx)[None, :] - cx[k, None]).astype(np.float32)
        dy = (np.arange(ny)[None, :] - cy[k, None]).astype(np.float32)
        imgs = _eval(dx, dy, pxx[k], pyy[k], pxy[k], amp[k])
        for g in np.unique(groups[k]):
            out[g - 1] += imgs[groups[k] == g].sum(axis=0)
    for h in np.unique(half[~full]):
        k = np.nonzero((half == h) & ~full)[0]
        ix, iy = np.rint(cx[k]).astype(int), np.rint(cy[k]).astype(int)
        off = np.arange(-h, h + 1)
        imgs = _eval((ix[:, None] - cx[k, None] + off).astype(np.float32),
                     (iy[:, None] - cy[k, None] + off).astype(np.float32),
                     pxx[k], pyy[k], pxy[k], amp[k])
        for j in range(len(k)):
            x0, y0 = ix[j] - h, iy[j] - h
            xa, ya = max(x0, 0), max(y0, 0)
            xb, yb = min(x0 + 2 * h + 1, nx), min(y0 + 2 * h + 1, ny)
            if xb > xa and yb > ya:
                out[groups[k[j]] - 1, ya:yb, xa:xb] += imgs[j, ya - y0:yb - y0, xa - x0:xb - x0]
    return out


def shell_images(shells: np.ndarray, shape, origin=(0.0, 0.0), *, blur: float,
                 scale: float) -> np.ndarray:
    """Images of projected shells (see :mod:`._radio_shapes`) convolved with the beam.

    The intrinsic profile of a shell with radii ``r_in < r_out`` is the projected emissivity
    of a uniform spherical shell, ``sqrt(r_out**2 - r**2) - sqrt(r_in**2 - r**2)`` (limb
    brightened); it is normalised to its weight on the grid, then smoothed by a Gaussian of
    ``blur`` pixels (normalised kernel, flux kept) and multiplied by ``scale``.

    Returns
    -------
    ndarray, float32, shape (M, ny, nx)
    """
    ny, nx = shape
    out = np.zeros((len(shells), ny, nx), np.float32)
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float64)
    xx += origin[0]
    yy += origin[1]
    for k, (w, x, y, ro, ri, asym, aang, q, qang, _g) in enumerate(shells):
        dx, dy = xx - x, yy - y
        cq, sq = np.cos(qang), np.sin(qang)
        u = dx * cq + dy * sq
        v = (-dx * sq + dy * cq) / q
        r2 = u * u + v * v
        prof = np.sqrt(np.clip(ro * ro - r2, 0, None)) - np.sqrt(np.clip(ri * ri - r2, 0, None))
        prof *= 1.0 + asym * np.cos(np.arctan2(dy, dx) - aang)
        total = prof.sum()
        if total > 0:
            prof *= w / total
        out[k] = ndimage.gaussian_filter(prof, blur, mode="constant", truncate=5.0) * scale
    return out


def group_images(gauss, shells, shape, origin=(0.0, 0.0), *, blur: float, scale: float,
                 n_groups: int | None = None) -> np.ndarray:
    """Sum of the Gaussian components and shells of each group: (G, ny, nx), float32."""
    groups = np.concatenate([gauss[:, 6], shells[:, 9]]).astype(int)
    g = int(n_groups or (groups.max() if len(groups) else 0))
    out = gaussian_images(gauss, shape, origin, blur=blur, scale=scale, n_groups=g)
    if len(shells):
        imgs = shell_images(shells, shape, origin, blur=blur, scale=scale)
        for k, grp in enumerate(shells[:, 9].astype(int)):
            out[grp - 1] += imgs[k]
    return out


def artefact_pattern(params: dict, centre, shape, origin=(0.0, 0.0)) -> np.ndarray:
    """Sidelobe rings (with spokes) and/or stripes around a source at ``centre`` (x, y).

    Returns the pattern relative to the source's peak (multiply by the peak in Jy/beam),
    float32 of shape ``(ny, nx)``; zero-mean-ish, suppressed within ``params["core"]`` px.
    """
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)
    dx = xx + np.float32(origin[0] - centre[0])
    dy = yy + np.float32(origin[1] - centre[1])
    r = np.hypot(dx, dy)
    env = np.exp(-r / params["r0"]) * (1.0 - np.exp(-(r / params["core"]) ** 2))
    pat = np.zeros(shape, np.float32)
    if params["kind"] in ("rings", "both"):
        rings = np.cos(2 * np.pi * r / params["wavelength"])
        if params["spokes"]:
            phi = np.arctan2(dy, dx)
            rings *= 0.5 + 0.5 * np.cos(params["spokes"] * phi + params["spoke_phase"])
        pat += rings
    if params["kind"] in ("stripes", "both"):
        a = params["stripe_angle"]
        pat += np.cos(2 * np.pi * (dx * np.cos(a) + dy * np.sin(a)) / params["stripe_wavelength"])
    return (params["amp"] * env * pat).astype(np.float32)


def _kernel1d(sigma: float, truncate: float = 4.0) -> np.ndarray:
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1)
    k = np.exp(-0.5 * x * x / (sigma * sigma))
    return k / k.sum()


def noise_gain(sigma: float) -> float:
    """Standard deviation of unit white noise after :func:`correlated_noise`'s smoothing."""
    return float(np.sum(_kernel1d(sigma) ** 2))


def correlated_noise(white: np.ndarray, sigma: float, rms: float) -> np.ndarray:
    """White noise (..., ny, nx) convolved with a Gaussian beam (sigma px, periodic edges) and
    rescaled so that its expected rms is ``rms``; float32, same shape."""
    sig = (0,) * (white.ndim - 2) + (sigma, sigma)
    out = ndimage.gaussian_filter(np.asarray(white, np.float32), sig, mode="wrap", truncate=4.0)
    out *= np.float32(rms / noise_gain(sigma))
    return out
