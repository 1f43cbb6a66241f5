"""Strong-lensing physics as pure functions: SIE + external shear, Sersic light, Moffat PSF.

Coordinates are angles on the sky in arcsec, in the image frame (x along columns, y along
rows). Position angles ``phi`` are in radians, measured from +x towards +y.

Mass model: the singular isothermal ellipsoid (SIE; Kormann, Schneider & Bartelmann 1994,
A&A 284, 285) in the form of Keeton (2001, arXiv:astro-ph/0102341), normalised on the
intermediate axis, so that its convergence is

    kappa(x', y') = theta_E / (2 sqrt(q x'^2 + y'^2 / q))

in the frame (x', y') of its major axis, with axis ratio ``q`` (0 < q <= 1). Its deflection is

    alpha_x' = theta_E sqrt(q) / sqrt(1 - q^2) * arctan (sqrt(1 - q^2) x' / psi)
    alpha_y' = theta_E sqrt(q) / sqrt(1 - q^2) * arctanh(sqrt(1 - q^2) y' / psi),
    psi = sqrt(q^2 x'^2 + y'^2),

which tends to the singular isothermal sphere (``|alpha| = theta_E``) as q -> 1. External
shear (gamma1, gamma2) adds the potential ``(gamma1 (x^2 - y^2) + 2 gamma2 x y) / 2``.

The lens equation maps an image-plane position theta to the source plane:
``beta = theta - alpha(theta)``. Ray tracing conserves surface brightness, so a lensed image
is the source's surface brightness evaluated at ``beta(theta)``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "pixel_grid",
    "sie_deflection",
    "sie_potential",
    "sie_convergence",
    "shear_deflection",
    "shear_potential",
    "ray_trace",
    "sersic_bn",
    "sersic",
    "moffat_alpha",
    "moffat_kernel",
    "convolve",
    "block_mean",
]

_Q_SIS = 1e-6  # |1 - q| below this is treated as the sphere


def pixel_grid(shape: tuple[int, int], pixscale: float, *, oversample: int = 1):
    """Sky offsets (arcsec) of pixel centres relative to the stamp centre.

    Parameters
    ----------
    shape : (ny, nx)
        Stamp shape in pixels.
    pixscale : float
        Pixel size in arcsec.
    oversample : int
        Sub-pixels per pixel along each axis; the grid then has shape
        ``(ny * oversample, nx * oversample)`` at sub-pixel centres (average back with
        :func:`block_mean`).

    Returns
    -------
    x, y : ndarray of shape (ny * oversample, nx * oversample)
        Offsets along columns (x) and rows (y) in arcsec; the stamp centre (pixel
        ``((ny - 1) / 2, (nx - 1) / 2)``) is (0, 0).
    """
    ny, nx = shape
    k = int(oversample)
    sub = (np.arange(k) + 0.5) / k - 0.5
    ys = ((np.arange(ny)[:, None] + sub[None, :]).ravel() - (ny - 1) / 2.0) * pixscale
    xs = ((np.arange(nx)[:, None] + sub[None, :]).ravel() - (nx - 1) / 2.0) * pixscale
    y, x = np.meshgrid(ys, xs, indexing="ij")
    return x, y


def _to_frame(x, y, center, phi):
    dx = np.asarray(x, dtype=np.float64) - center[0]
    dy = np.asarray(y, dtype=np.float64) - center[1]
    c, s = np.cos(phi), np.sin(phi)
    return c * dx + s * dy, -s * dx + c * dy, c, s


def sie_deflection(x, y, *, theta_e: float, q: float = 1.0, phi: float = 0.0,
                   center: tuple[float, float] = (0.0, 0.0)):
    """Deflection of a singular isothermal ellipsoid.

    Parameters
    ----------
    x, y : array_like
        Image-plane positions in arcsec (any matching shapes).
    theta_e : float
        Einstein radius in arcsec (intermediate-axis normalisation; the SIS value as q -> 1).
    q : float
        Axis ratio of the isodensity contours, 0 < q <= 1.
    phi : float
        Position angle of the major axis, radians from +x towards +y.
    center : (float, float)
        Lens centre in arcsec.

    Returns
    -------
    alpha_x, alpha_y : ndarray
        Deflection in arcsec, same shape as ``x``. At the exact centre the (singular)
        deflection is set to 0.
    """
    if not 0 < q <= 1:
        raise ValueError(f"SIE axis ratio q must be in (0, 1], got {q}")
    xp, yp, c, s = _to_frame(x, y, center, phi)
    with np.errstate(invalid="ignore", divide="ignore"):
        if 1 - q < _Q_SIS:
            r = np.hypot(xp, yp)
            ax, ay = theta_e * xp / r, theta_e * yp / r
        else:
            e = np.sqrt(1.0 - q * q)
            psi = np.sqrt(q * q * xp * xp + yp * yp)
            f = theta_e * np.sqrt(q) / e
            ax = f * np.arctan(e * xp / psi)
            ay = f * np.arctanh(e * yp / psi)
    ax = np.where(np.isfinite(ax), ax, 0.0)
    ay = np.where(np.isfinite(ay), ay, 0.0)
    return c * ax - s * ay, s * ax + c * ay


def sie_potential(x, y, *, theta_e: float, q: float = 1.0, phi: float = 0.0,
                  center: tuple[float, float] = (0.0, 0.0)):
    """Lensing potential of the SIE (arcsec^2): ``x' alpha_x' + y' alpha_y'`` (degree-1
    homogeneous, so its gradient is the deflection of :func:`sie_deflection`)."""
    ax, ay = sie_deflection(x, y, theta_e=theta_e, q=q, phi=phi, center=center)
    dx = np.asarray(x, dtype=np.float64) - center[0]
    dy = np.asarray(y, dtype=np.float64) - center[1]
    return dx * ax + dy * ay


def sie_convergence(x, y, *, theta_e: float, q: float = 1.0, phi: float = 0.0,
                    center: tuple[float, float] = (0.0, 0.0)):
    """Convergence (dimensionless surface density) of the SIE: half the divergence of its
    deflection."""
    xp, yp, _, _ = _to_frame(x, y, center, phi)
    with np.errstate(divide="ignore"):
        return theta_e / (2.0 * np.sqrt(q * xp * xp + yp * yp / q))


def shear_deflection(x, y, *, gamma1: float = 0.0, gamma2: float = 0.0,
                     center: tuple[float, float] = (0.0, 0.0)):
    """Deflection (arcsec) of an external shear: ``(g1 x + g2 y, g2 x - g1 y)``."""
    dx = np.asarray(x, dtype=np.float64) - center[0]
    dy = np.asarray(y, dtype=np.float64) - center[1]
    return gamma1 * dx + gamma2 * dy, gamma2 * dx - gamma1 * dy


def shear_potential(x, y, *, gamma1: float = 0.0, gamma2: float = 0.0,
                    center: tuple[float, float] = (0.0, 0.0)):
    """Potential (arcsec^2) of an external shear: ``(g1 (x^2 - y^2) + 2 g2 x y) / 2``."""
    dx = np.asarray(x, dtype=np.float64) - center[0]
    dy = np.asarray(y, dtype=np.float64) - center[1]
    return 0.5 * gamma1 * (dx * dx - dy * dy) + gamma2 * dx * dy


def ray_trace(x, y, *, theta_e: float, q: float = 1.0, phi: float = 0.0,
              center: tuple[float, float] = (0.0, 0.0), gamma1: float = 0.0,
              gamma2: float = 0.0):
    """Source-plane positions ``beta = theta - alpha(theta)`` for SIE + external shear
    (the shear is centred on the lens). Returns ``(beta_x, beta_y)`` in arcsec."""
    ax, ay = sie_deflection(x, y, theta_e=theta_e, q=q, phi=phi, center=center)
    sx, sy = shear_deflection(x, y, gamma1=gamma1, gamma2=gamma2, center=center)
    return np.asarray(x) - ax - sx, np.asarray(y) - ay - sy


def sersic_bn(n: float) -> float:
    """The Sersic constant b_n for which R_e encloses half the light (Ciotti & Bertin 1999)."""
    from scipy.special import gammaincinv

    return float(gammaincinv(2.0 * n, 0.5))


def sersic(x, y, *, flux: float = 1.0, r_eff: float, n: float, q: float = 1.0,
           phi: float = 0.0, center: tuple[float, float] = (0.0, 0.0)):
    """Surface brightness of an elliptical Sersic profile (Sersic 1963).

    ``I(R) = I_e exp(-b_n ((R / r_eff)^(1/n) - 1))`` with the circularised radius
    ``R = sqrt(q x'^2 + y'^2 / q)``, normalised so the integral over the sky is ``flux``.

    Parameters
    ----------
    x, y : array_like
        Positions in arcsec.
    flux : float
        Total flux (any unit, e.g. nanomaggies).
    r_eff : float
        Half-light radius in arcsec (circularised).
    n : float
        Sersic index (0.5 Gaussian-like, 1 exponential disc, 4 de Vaucouleurs).
    q, phi, center
        Axis ratio, position angle (rad) and centre (arcsec).

    Returns
    -------
    ndarray
        Surface brightness in flux per arcsec^2 (multiply by the pixel area for pixel values).
    """
    from scipy.special import gamma as gamma_fn

    xp, yp, _, _ = _to_frame(x, y, center, phi)
    bn = sersic_bn(n)
    r = np.sqrt(q * xp * xp + yp * yp / q)
    norm = 2.0 * np.pi * n * r_eff * r_eff * np.exp(bn) * bn ** (-2.0 * n) * gamma_fn(2.0 * n)
    return (flux / norm) * np.exp(-bn * ((r / r_eff) ** (1.0 / n) - 1.0))


def moffat_alpha(fwhm: float, beta: float) -> float:
    """Core width alpha of a Moffat profile with the given FWHM (same unit) and beta."""
    return fwhm / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0))


def moffat_kernel(fwhm_arcsec: float, pixscale: float, *, beta: float = 3.5,
                  size: int | None = None, oversample: int = 5) -> np.ndarray:
    """A Moffat (1969) PSF on the pixel grid, normalised to sum 1.

    ``I(r) = (beta - 1) / (pi alpha^2) (1 + (r / alpha)^2)^(-beta)``.

    Parameters
    ----------
    fwhm_arcsec : float
        Full width at half maximum in arcsec.
    pixscale : float
        Pixel size in arcsec.
    beta : float
        Moffat index (2.5-4.5 for ground seeing; large beta tends to a Gaussian).
    size : int, optional
        Odd kernel width in pixels; by default about 4 FWHM (at least 7).
    oversample : int
        Sub-pixels per pixel used to integrate the profile over each pixel.

    Returns
    -------
    ndarray of shape (size, size)
    """
    fwhm_px = fwhm_arcsec / pixscale
    if size is None:
        size = max(7, int(np.ceil(4.0 * fwhm_px)) | 1)
    if size % 2 == 0:
        size += 1
    x, y = pixel_grid((size, size), 1.0, oversample=oversample)
    a = moffat_alpha(fwhm_px, beta)
    prof = (1.0 + (x * x + y * y) / (a * a)) ** (-beta)
    k = block_mean(prof, oversample)
    return k / k.sum()


def convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve a 2-D image with a kernel (FFT, same shape, zero outside the stamp)."""
    from scipy.signal import fftconvolve

    return fftconvolve(image, kernel, mode="same")


def block_mean(a: np.ndarray, k: int) -> np.ndarray:
    """Average ``k x k`` blocks of a 2-D array of shape ``(ny * k, nx * k)`` -> ``(ny, nx)``."""
    if k == 1:
        return a
    ny, nx = a.shape[0] // k, a.shape[1] // k
    return a.reshape(ny, k, nx, k).mean(axis=(1, 3))
