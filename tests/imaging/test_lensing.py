"""Lens physics: SIE deflection against its analytic form, rings, magnification, light."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.imaging import lensing as L

RNG = np.random.default_rng(0)
PTS = RNG.uniform(-3, 3, (2, 200))
PTS = PTS[:, np.hypot(*PTS) > 0.05]


def _num_grad(f, x, y, h=1e-5):
    return (f(x + h, y) - f(x - h, y)) / (2 * h), (f(x, y + h) - f(x, y - h)) / (2 * h)


def test_sis_limit_has_constant_deflection():
    x, y = PTS
    for q in (1.0, 1 - 1e-9):
        ax, ay = L.sie_deflection(x, y, theta_e=1.7, q=q, phi=0.4)
        np.testing.assert_allclose(np.hypot(ax, ay), 1.7, rtol=1e-9)
        np.testing.assert_allclose(np.arctan2(ay, ax), np.arctan2(y, x), atol=1e-9)
    # the SIE branch is continuous into the sphere
    ax, ay = L.sie_deflection(x, y, theta_e=1.7, q=1 - 1e-4)
    np.testing.assert_allclose(np.hypot(ax, ay), 1.7, rtol=1e-3)


@pytest.mark.parametrize("q, phi", [(0.3, 0.0), (0.6, 1.1), (0.85, -0.5)])
def test_sie_deflection_is_gradient_of_potential_and_divergence_is_twice_kappa(q, phi):
    x, y = PTS
    kw = dict(theta_e=1.3, q=q, phi=phi, center=(0.2, -0.1))
    ax, ay = L.sie_deflection(x, y, **kw)
    px, py = _num_grad(lambda a, b: L.sie_potential(a, b, **kw), x, y)
    np.testing.assert_allclose(px, ax, atol=1e-6)
    np.testing.assert_allclose(py, ay, atol=1e-6)
    dxx, _ = _num_grad(lambda a, b: L.sie_deflection(a, b, **kw)[0], x, y)
    _, dyy = _num_grad(lambda a, b: L.sie_deflection(a, b, **kw)[1], x, y)
    np.testing.assert_allclose(0.5 * (dxx + dyy), L.sie_convergence(x, y, **kw), rtol=1e-5)


def test_sie_on_its_axes_matches_closed_form():
    q, te = 0.5, 1.0
    e = np.sqrt(1 - q * q)
    ax, ay = L.sie_deflection(np.array([2.0]), np.array([0.0]), theta_e=te, q=q)
    assert ay[0] == pytest.approx(0.0, abs=1e-12)
    assert ax[0] == pytest.approx(te * np.sqrt(q) / e * np.arctan(e / q))
    # rotating the lens by 90 degrees swaps the axes
    bx, by = L.sie_deflection(np.array([0.0]), np.array([2.0]), theta_e=te, q=q, phi=np.pi / 2)
    assert by[0] == pytest.approx(ax[0]) and bx[0] == pytest.approx(0.0, abs=1e-12)


def test_shear_is_gradient_of_its_potential():
    x, y = PTS
    kw = dict(gamma1=0.05, gamma2=-0.03)
    sx, sy = L.shear_deflection(x, y, **kw)
    px, py = _num_grad(lambda a, b: L.shear_potential(a, b, **kw), x, y)
    np.testing.assert_allclose(px, sx, atol=1e-8)
    np.testing.assert_allclose(py, sy, atol=1e-8)


def test_point_source_on_axis_maps_to_einstein_ring():
    te = 1.5
    # along any direction, beta(theta) vanishes at |theta| = theta_E
    ang = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    r = np.linspace(0.2, 3.0, 2801)
    for a in ang:
        bx, by = L.ray_trace(r * np.cos(a), r * np.sin(a), theta_e=te)
        assert r[np.argmin(np.hypot(bx, by))] == pytest.approx(te, abs=2e-3)
    # an image of a tiny source at the origin is a ring of radius theta_E, even in azimuth
    x, y = L.pixel_grid((241, 241), 0.02)
    bx, by = L.ray_trace(x, y, theta_e=te)
    img = L.sersic(bx, by, r_eff=0.03, n=1.0)
    rr = np.hypot(x, y)
    assert np.sum(img * rr) / img.sum() == pytest.approx(te, abs=0.02)
    sector = (np.degrees(np.arctan2(y, x)) // 45).astype(int)
    flux = np.array([img[sector == k].sum() for k in range(-4, 4)])
    assert flux.std() / flux.mean() < 0.02


@pytest.mark.parametrize("beta0, mu", [(0.5, 4.0), (2.0, 1.5)])
def test_magnified_flux_matches_sis_point_source_magnification(beta0, mu):
    # SIS: total magnification 2 theta_E / beta inside the Einstein radius,
    # 1 + theta_E / beta outside it (point-source limit, small source)
    te = 1.0
    x, y = L.pixel_grid((700, 700), 0.01)
    bx, by = L.ray_trace(x, y, theta_e=te)
    img = L.sersic(bx, by, flux=1.0, r_eff=0.02, n=1.0, center=(beta0, 0.0))
    assert img.sum() * 0.01 ** 2 == pytest.approx(mu, rel=0.03)


def test_surface_brightness_is_conserved():
    kw = dict(theta_e=1.2, q=0.7, phi=0.3, gamma1=0.04, gamma2=0.02)
    src = dict(flux=3.0, r_eff=0.3, n=0.7, q=0.8, phi=0.2, center=(0.1, 0.05))
    x, y = L.pixel_grid((101, 101), 0.05)
    bx, by = L.ray_trace(x, y, **kw)
    lensed = L.sersic(bx, by, **src)
    # pixel by pixel, the lensed image is the source at the mapped positions
    np.testing.assert_allclose(lensed, L.sersic(bx, by, **src), rtol=0, atol=0)
    # so no lensed pixel is brighter than the source's peak, and the brightest ones reach it
    peak = L.sersic(np.array([src["center"][0]]), np.array([src["center"][1]]), **src)[0]
    assert lensed.max() <= peak * (1 + 1e-12)
    assert lensed.max() > 0.9 * peak
    # while the total flux is magnified
    ratio = lensed.sum() * 0.05 ** 2 / src["flux"]
    assert 2.0 < ratio < 30.0


def test_sersic_is_normalised_and_half_light():
    from scipy.integrate import quad

    for n in (0.5, 1.0, 4.0):  # radial integrals, cusp and wings included
        def ring(r, n=n):
            return 2 * np.pi * r * L.sersic(np.array([r]), np.array([0.0]), flux=2.5,
                                            r_eff=1.0, n=n)[0]
        assert quad(ring, 0, np.inf, limit=200)[0] == pytest.approx(2.5, rel=1e-4)
        assert quad(ring, 0, 1.0, limit=200)[0] == pytest.approx(1.25, rel=1e-4)
    x, y = L.pixel_grid((800, 800), 0.02)
    for n in (0.5, 1.0):  # elliptical, on a pixel grid
        sb = L.sersic(x, y, flux=2.5, r_eff=1.0, n=n, q=0.7, phi=0.5)
        assert sb.sum() * 0.02 ** 2 == pytest.approx(2.5, rel=0.005)
        c, s = np.cos(0.5), np.sin(0.5)
        xp, yp = c * x + s * y, -s * x + c * y
        inside = np.sqrt(0.7 * xp ** 2 + yp ** 2 / 0.7) < 1.0
        assert sb[inside].sum() * 0.02 ** 2 == pytest.approx(1.25, rel=0.03)


def test_moffat_kernel_sum_and_fwhm():
    k = L.moffat_kernel(1.0, 0.05, beta=3.0, size=81)
    assert k.sum() == pytest.approx(1.0)
    row = k[40]
    above = np.flatnonzero(row >= row.max() / 2)
    fwhm_px = above[-1] - above[0] + 1
    assert fwhm_px * 0.05 == pytest.approx(1.0, abs=0.1)
    img = np.zeros((161, 161))
    img[80, 80] = 5.0
    out = L.convolve(img, k)
    assert out.sum() == pytest.approx(5.0, rel=1e-6)
    assert np.unravel_index(out.argmax(), out.shape) == (80, 80)
