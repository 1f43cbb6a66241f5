"""Simulated strong-lens candidates: multi-band stamps with ground truth.

Stamps follow the Strong Gravitational Lens Finding Challenge (Metcalf et al. 2019,
arXiv:1802.03609): 101 x 101 pixels, ground-based-like g, r, i at 0.2"/px by default, or
space-like single band (Euclid VIS-like) at 0.1"/px.

Positives (``truth = 1``, ``truth_class = "lens"``): a red elliptical lens galaxy whose mass is
a singular isothermal ellipsoid with external shear, deflecting a blue Sersic source (with a
few star-forming clumps) into arcs, crosses and rings.

Negatives (``truth = 0``) are the look-alikes a lens finder must reject:
``"elliptical"`` (a lens-like red galaxy with nothing behind it), ``"spiral"`` (red bulge, bluer
disc with logarithmic arms), ``"merger"`` (two galaxies with curved tidal tails) and
``"ring"`` (red core inside a blue star-forming ring: the hardest negatives).

Every stamp also holds a few faint field galaxies and sometimes a star; each band is convolved
with a Moffat PSF (seeing varies per item, slightly broader in bluer bands) and gets sky noise
plus source Poisson noise. Pixel values are fluxes in nanomaggies (AB zero point 22.5).

Each item is made from its own random stream ``default_rng([seed, index])``: the same seed
gives the same items, whatever ``n`` is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.core.kinds import LENS
from workbench.core.wcs import tan_wcs
from workbench.imaging import lensing as L
from workbench.io.progress import progress_bar

__all__ = ["LensSimulator", "simulate_lenses", "TRUTH_CLASSES", "ZERO_POINT"]

#: AB magnitude of a flux of 1 in the stamps' unit (nanomaggies).
ZERO_POINT = 22.5
#: Classes of simulated items; only "lens" is a positive.
TRUTH_CLASSES = ("lens", "elliptical", "spiral", "merger", "ring")
_NEGATIVE_P = {"elliptical": 0.35, "spiral": 0.3, "merger": 0.15, "ring": 0.2}


@dataclass(frozen=True)
class _Survey:
    bands: tuple[str, ...]
    pixscale: float
    seeing: tuple[float, float]  # FWHM range (arcsec) in the reddest band
    seeing_slope: tuple[float, ...]  # FWHM factor per band
    sky_sigma: tuple[float, ...]  # nanomaggies per pixel, per band
    gain: float  # counts per nanomaggy, for source Poisson noise
    moffat_beta: tuple[float, float]


_GROUND = _Survey(bands=("g", "r", "i"), pixscale=0.2, seeing=(0.7, 1.2),
                  seeing_slope=(1.08, 1.03, 1.0), sky_sigma=(0.0035, 0.0045, 0.0075),
                  gain=400.0, moffat_beta=(2.8, 4.5))
_SPACE = _Survey(bands=("VIS",), pixscale=0.1, seeing=(0.16, 0.20), seeing_slope=(1.0,),
                 sky_sigma=(0.0020,), gain=2000.0, moffat_beta=(3.5, 5.0))


def _mag_to_flux(mag):
    return 10.0 ** (-0.4 * (np.asarray(mag, dtype=np.float64) - ZERO_POINT))


def _flux_to_mag(flux):
    with np.errstate(divide="ignore", invalid="ignore"):
        return ZERO_POINT - 2.5 * np.log10(flux)


class LensSimulator:
    """Makes multi-band lens-candidate stamps.

    Parameters
    ----------
    space : bool
        False (default): ground-based-like g, r, i at 0.2"/px with 0.7-1.2" seeing;
        True: space-like single VIS band at 0.1"/px with ~0.18" PSF.
    size : int
        Stamp width and height in pixels (101 as in the Lens Finding Challenge).
    lens_fraction : float
        Fraction of items that are lenses; the rest are split among the negative classes
        (elliptical 35 %, spiral 30 %, merger 15 %, ring 20 %).
    theta_e_range : (float, float)
        Einstein radius range in arcsec (drawn uniformly).
    oversample : int
        Sub-pixels per pixel when rendering the light (sharp centres and thin arcs).

    Examples
    --------
    >>> sim = LensSimulator()
    >>> cat, images, axes = sim.simulate(4, seed=0)
    >>> images.shape
    (4, 3, 101, 101)
    """

    def __init__(self, *, space: bool = False, size: int = 101, lens_fraction: float = 0.5,
                 theta_e_range: tuple[float, float] = (1.0, 3.0), oversample: int = 3):
        if not 0 <= lens_fraction <= 1:
            raise ValueError(f"lens_fraction must be in [0, 1], got {lens_fraction}")
        if size < 16:
            raise ValueError(f"stamp size must be at least 16 pixels, got {size}")
        self.space = bool(space)
        self.size = int(size)
        self.lens_fraction = float(lens_fraction)
        self.theta_e_range = tuple(float(t) for t in theta_e_range)
        self.oversample = int(oversample)

    # ------------------------------------------------------------------ properties
    @property
    def survey(self) -> _Survey:
        return _SPACE if self.space else _GROUND

    @property
    def bands(self) -> tuple[str, ...]:
        """Band names in wavelength order (the product's channels)."""
        return self.survey.bands

    @property
    def pixscale(self) -> float:
        """Pixel size in arcsec."""
        return self.survey.pixscale

    # ------------------------------------------------------------------ colours
    def _fluxes(self, r_mag: float, g_r: float, r_i: float) -> np.ndarray:
        """Per-band total flux (nanomaggies) from an r magnitude and g-r, r-i colours."""
        mags = {"g": r_mag + g_r, "r": r_mag, "i": r_mag - r_i}
        if self.space:  # VIS spans r+i
            return np.array([0.5 * (_mag_to_flux(mags["r"]) + _mag_to_flux(mags["i"]))])
        return _mag_to_flux([mags[b] for b in self.bands])

    # ------------------------------------------------------------------ components
    def _galaxy(self, x, y, rng, *, kind: str, center, r_mag, phi=None):
        """(list of (morphology image, band fluxes)) for one galaxy, and its parameters."""
        if phi is None:
            phi = rng.uniform(0, np.pi)
        comps = []
        if kind == "elliptical":
            reff = rng.uniform(0.5, 1.5)
            q = rng.uniform(0.55, 1.0)
            n = rng.uniform(3.0, 5.0)
            fl = self._fluxes(r_mag, rng.normal(1.45, 0.12), rng.normal(0.55, 0.08))
            comps.append((L.sersic(x, y, r_eff=reff, n=n, q=q, phi=phi, center=center), fl))
            return comps, {"reff_arcsec": reff, "q": q, "n": n, "phi_deg": np.degrees(phi)}
        if kind == "spiral":
            reff = rng.uniform(1.2, 3.0)
            q = rng.uniform(0.35, 1.0)
            bt = rng.uniform(0.15, 0.5)
            bulge = L.sersic(x, y, r_eff=0.25 * reff, n=4.0, q=min(1, q + 0.3), phi=phi,
                             center=center)
            disc = L.sersic(x, y, r_eff=reff, n=1.0, q=q, phi=phi, center=center)
            # logarithmic arms in the disc's own frame
            xp, yp, _, _ = L._to_frame(x, y, center, phi)
            rr = np.hypot(xp, yp / q) + 1e-3
            ang = np.arctan2(yp / q, xp)
            m = int(rng.choice([2, 2, 3]))
            pitch = np.radians(rng.uniform(12, 30))
            arms = 1.0 + rng.uniform(0.5, 0.9) * np.cos(m * (ang - np.log(rr) / np.tan(pitch))
                                                         + rng.uniform(0, 2 * np.pi))
            disc = disc * arms
            fb = self._fluxes(r_mag - 2.5 * np.log10(bt), rng.normal(1.1, 0.1), 0.45)
            fd = self._fluxes(r_mag - 2.5 * np.log10(1 - bt), rng.normal(0.45, 0.1), 0.25)
            comps += [(bulge, fb), (disc, fd)]
            return comps, {"reff_arcsec": reff, "q": q, "n": 1.0, "phi_deg": np.degrees(phi),
                           "bulge_fraction": bt}
        raise ValueError(kind)

    def _tail(self, x, y, rng, center, radius, r_mag):
        """A curved tidal tail: an arc segment around ``center``, fading outwards."""
        dx, dy = x - center[0], y - center[1]
        r = np.hypot(dx, dy)
        ang = np.arctan2(dy, dx)
        a0 = rng.uniform(-np.pi, np.pi)
        span = rng.uniform(0.5, 1.3)
        d = np.angle(np.exp(1j * (ang - a0)))
        curl = rng.uniform(0.2, 0.6) * d  # spiral-ish: radius grows along the tail
        width = rng.uniform(0.25, 0.6)
        prof = np.exp(-0.5 * ((r - radius * (1 + curl)) / width) ** 2) * np.exp(-0.5 * (d / span) ** 2)
        area = prof.sum() * (x[0, 1] - x[0, 0]) ** 2 + 1e-12
        fl = self._fluxes(r_mag, rng.normal(0.7, 0.2), 0.3)
        return prof / area, fl

    def _ring(self, x, y, rng, center, radius, q, phi, r_mag):
        xp, yp, _, _ = L._to_frame(x, y, center, phi)
        rr = np.sqrt(q * xp * xp + yp * yp / q)
        width = rng.uniform(0.15, 0.4) * radius
        ang = np.arctan2(yp, xp)
        clump = 1.0 + rng.uniform(0.2, 0.8) * np.cos(rng.integers(1, 4) * ang + rng.uniform(0, 6.3))
        prof = np.exp(-0.5 * ((rr - radius) / width) ** 2) * clump
        area = prof.sum() * (x[0, 1] - x[0, 0]) ** 2 + 1e-12
        fl = self._fluxes(r_mag, rng.normal(0.3, 0.12), rng.normal(0.15, 0.08))
        return prof / area, fl

    def _lensed_source(self, x, y, rng, lens):
        """The lensed source (image plane) and its parameters."""
        te = lens["theta_e_arcsec"]
        # source position: inside ~ the caustic for arcs, near the axis for rings
        rad = te * 0.6 * np.sqrt(rng.uniform(0, 1))
        ang = rng.uniform(0, 2 * np.pi)
        src = {
            "source_x_arcsec": rad * np.cos(ang) + lens["lens_x_arcsec"],
            "source_y_arcsec": rad * np.sin(ang) + lens["lens_y_arcsec"],
            "source_reff_arcsec": rng.uniform(0.15, 0.6),
            "source_n": rng.uniform(0.5, 2.0),
            "source_q": rng.uniform(0.4, 1.0),
            "source_phi_deg": rng.uniform(0, 180),
            "source_mag_r": rng.uniform(21.0, 23.5),
        }
        bx, by = L.ray_trace(x, y, theta_e=te, q=lens["lens_q"],
                             phi=np.radians(lens["lens_phi_deg"]),
                             center=(lens["lens_x_arcsec"], lens["lens_y_arcsec"]),
                             gamma1=lens["shear_gamma1"], gamma2=lens["shear_gamma2"])
        c0 = (src["source_x_arcsec"], src["source_y_arcsec"])
        morph = 0.8 * L.sersic(bx, by, r_eff=src["source_reff_arcsec"], n=src["source_n"],
                               q=src["source_q"], phi=np.radians(src["source_phi_deg"]), center=c0)
        n_clumps = int(rng.integers(0, 4))
        for _ in range(n_clumps):  # star-forming knots, 20 % of the light in all
            off = rng.normal(0, src["source_reff_arcsec"], 2)
            morph += 0.2 / n_clumps * L.sersic(bx, by, r_eff=0.06, n=0.5,
                                               center=(c0[0] + off[0], c0[1] + off[1]))
        if n_clumps == 0:
            morph /= 0.8
        g_r, r_i = rng.normal(0.25, 0.12), rng.normal(0.15, 0.08)
        src["source_g_r"], src["source_r_i"] = g_r, r_i
        fl = self._fluxes(src["source_mag_r"], g_r, r_i)
        return morph, fl, src

    # ------------------------------------------------------------------ one stamp
    def stamp(self, index: int, *, seed: int = 0):
        """One item: ``(row dict, image array (n_bands, size, size) float32)``."""
        rng = np.random.default_rng([int(seed), int(index)])
        sv = self.survey
        k = self.oversample
        shape = (self.size, self.size)
        x, y = L.pixel_grid(shape, sv.pixscale, oversample=k)
        half = self.size * sv.pixscale / 2.0
        pix_area = sv.pixscale ** 2

        is_lens = rng.uniform() < self.lens_fraction
        if is_lens:
            cls = "lens"
        else:
            names = list(_NEGATIVE_P)
            cls = str(rng.choice(names, p=[_NEGATIVE_P[c] for c in names]))
        row: dict = {"truth": int(is_lens), "truth_class": cls}
        sb_bands: list[tuple[np.ndarray, np.ndarray]] = []  # (surface brightness, fluxes)
        centre = tuple(rng.normal(0, 0.15, 2))
        main_mag = rng.uniform(18.5, 20.5)

        lens_cols = dict.fromkeys(
            ("theta_e_arcsec", "lens_q", "lens_phi_deg", "shear_gamma1", "shear_gamma2",
             "lens_x_arcsec", "lens_y_arcsec", "magnification", "source_snr"), np.nan)
        src_cols = dict.fromkeys(
            ("source_x_arcsec", "source_y_arcsec", "source_reff_arcsec", "source_n",
             "source_q", "source_phi_deg", "source_mag_r", "source_g_r", "source_r_i"), np.nan)
        lensed = None
        if cls in ("lens", "elliptical"):
            comps, gal = self._galaxy(x, y, rng, kind="elliptical", center=centre, r_mag=main_mag)
            sb_bands += comps
        elif cls == "spiral":
            comps, gal = self._galaxy(x, y, rng, kind="spiral", center=centre, r_mag=main_mag)
            sb_bands += comps
        elif cls == "merger":
            comps, gal = self._galaxy(x, y, rng, kind=str(rng.choice(["elliptical", "spiral"])),
                                      center=centre, r_mag=main_mag)
            sb_bands += comps
            sep = rng.uniform(1.0, 3.5)
            a = rng.uniform(0, 2 * np.pi)
            c2 = (centre[0] + sep * np.cos(a), centre[1] + sep * np.sin(a))
            comps2, _ = self._galaxy(x, y, rng, kind=str(rng.choice(["elliptical", "spiral"])),
                                     center=c2, r_mag=main_mag + rng.uniform(0.2, 1.5))
            sb_bands += comps2
            for _ in range(int(rng.integers(1, 3))):
                sb_bands.append(self._tail(x, y, rng, centre, rng.uniform(1.5, 4.0),
                                           main_mag + rng.uniform(1.0, 2.5)))
            gal["companion_sep_arcsec"] = sep
        else:  # ring galaxy
            comps, gal = self._galaxy(x, y, rng, kind="elliptical", center=centre,
                                      r_mag=main_mag + rng.uniform(0.3, 1.0))
            sb_bands += comps
            radius = rng.uniform(1.0, 3.0)
            sb_bands.append(self._ring(x, y, rng, centre, radius, rng.uniform(0.6, 1.0),
                                       rng.uniform(0, np.pi), main_mag + rng.uniform(0.3, 1.5)))
            gal["ring_radius_arcsec"] = radius
        row.update({f"galaxy_{key}": v for key, v in gal.items()})
        row["galaxy_mag_r"] = main_mag

        if is_lens:
            te = rng.uniform(*self.theta_e_range)
            gamma = rng.uniform(0, 0.08)
            gphi = rng.uniform(0, np.pi)
            lens_cols.update({
                "theta_e_arcsec": te,
                # mass roughly follows light
                "lens_q": float(np.clip(gal["q"] + rng.normal(0, 0.08), 0.45, 1.0)),
                "lens_phi_deg": gal["phi_deg"] + rng.normal(0, 10),
                "shear_gamma1": gamma * np.cos(2 * gphi),
                "shear_gamma2": gamma * np.sin(2 * gphi),
                "lens_x_arcsec": centre[0], "lens_y_arcsec": centre[1],
            })
            morph, fl, src = self._lensed_source(x, y, rng, lens_cols)
            src_cols.update(src)
            lens_cols["magnification"] = float(morph.sum() * (sv.pixscale / k) ** 2)
            lensed = (morph, fl)
            sb_bands.append(lensed)
        row.update(lens_cols)
        row.update(src_cols)

        # faint field galaxies away from the centre
        n_field = int(rng.integers(0, 4))
        for _ in range(n_field):
            pos = rng.uniform(-half * 0.9, half * 0.9, 2)
            if np.hypot(*pos) < 4.0:
                pos = pos / (np.hypot(*pos) + 1e-9) * 4.0
            fmorph = L.sersic(x, y, r_eff=rng.uniform(0.2, 0.8), n=rng.uniform(0.7, 3),
                              q=rng.uniform(0.3, 1), phi=rng.uniform(0, np.pi), center=tuple(pos))
            sb_bands.append((fmorph, self._fluxes(rng.uniform(20.5, 23.5),
                                                  rng.uniform(0.2, 1.5), rng.uniform(0.1, 0.6))))
        row["n_field_galaxies"] = n_field

        # per-band images: render, bin, convolve
        fwhm_red = rng.uniform(*sv.seeing)
        mbeta = rng.uniform(*sv.moffat_beta)
        out = np.empty((len(sv.bands), *shape), np.float32)
        star = None
        if rng.uniform() < 0.3:
            pos = rng.uniform(-half * 0.85, half * 0.85, 2)
            if np.hypot(*pos) < 5.0:
                pos = pos / (np.hypot(*pos) + 1e-9) * 5.0
            star = (pos, self._fluxes(rng.uniform(18.0, 22.0), rng.uniform(0.3, 1.4),
                                      rng.uniform(0.1, 0.5)))
        row["has_star"] = star is not None
        src_var = 0.0
        for b, band in enumerate(sv.bands):
            fwhm = fwhm_red * sv.seeing_slope[b]
            sb = np.zeros_like(x)
            for morph, fl in sb_bands:
                sb += morph * fl[b]
            img = L.block_mean(sb, k) * pix_area
            kernel = L.moffat_kernel(fwhm, sv.pixscale, beta=mbeta)
            img = L.convolve(img, kernel)
            if star is not None:
                img += star[1][b] * _moffat_stamp(shape, sv.pixscale, star[0], fwhm, mbeta)
            noise_sd = np.sqrt(sv.sky_sigma[b] ** 2 + np.clip(img, 0, None) / sv.gain)
            if lensed is not None:
                arc = L.convolve(L.block_mean(lensed[0] * lensed[1][b], k) * pix_area, kernel)
                src_var += float(np.sum(arc ** 2 / noise_sd ** 2))
            out[b] = img + rng.normal(0, 1, shape) * noise_sd
            row[f"psf_fwhm_{band}_arcsec"] = fwhm
            row[f"sky_sigma_{band}"] = sv.sky_sigma[b]
        row["moffat_beta"] = mbeta
        if lensed is not None:
            row["source_snr"] = float(np.sqrt(src_var))
        return row, out

    # ------------------------------------------------------------------ many stamps
    def simulate(self, n: int, *, seed: int = 0, start: int = 0, ra0: float = 150.0,
                 dec0: float = 2.0):
        """Make ``n`` items.

        Parameters
        ----------
        n : int
            Number of items.
        seed : int
            Random seed; item ``start + k`` always comes from ``default_rng([seed, start + k])``.
        start : int
            Index of the first item (to make a long run in chunks).
        ra0, dec0 : float
            Centre (deg) of the patch of sky the items are scattered over (1 deg square),
            used for their sky positions and WCS.

        Returns
        -------
        catalog : DataFrame
            One row per item: ``id``, ``ra``, ``dec``, ``pixscale_arcsec``, ``truth``,
            ``truth_class``, ``theta_e_arcsec`` (NaN for non-lenses), lens, source, galaxy
            and observing parameters.
        images : ndarray of shape (n, n_bands, size, size), float32
            Pixel values in nanomaggies, bands in :attr:`bands` order.
        axes : list of dict
            Per item, a sky (WCS) axes descriptor.
        """
        from workbench.io import _axes

        rows, imgs, axes = [], [], []
        for i in range(start, start + int(n)):
            row, img = self.stamp(i, seed=seed)
            prng = np.random.default_rng([int(seed), int(i), 1])
            ra = ra0 + prng.uniform(-0.5, 0.5) / np.cos(np.radians(dec0))
            dec = dec0 + prng.uniform(-0.5, 0.5)
            row = {"id": f"sim-lens-{seed}-{i:06d}", "ra": ra, "dec": dec,
                   "pixscale_arcsec": self.pixscale, **row}
            rows.append(row)
            imgs.append(img)
            axes.append(_axes.sky(tan_wcs((self.size, self.size), ra, dec, self.pixscale)))
        cat = pd.DataFrame(rows)
        shape = (0, len(self.bands), self.size, self.size)
        images = np.stack(imgs) if imgs else np.zeros(shape, np.float32)
        return cat, images, axes


def _moffat_stamp(shape, pixscale, pos, fwhm, beta):
    """A unit-flux Moffat point source at ``pos`` (arcsec from the centre), per pixel."""
    x, y = L.pixel_grid(shape, pixscale, oversample=3)
    a = L.moffat_alpha(fwhm, beta)
    prof = (beta - 1) / (np.pi * a * a) * (1 + ((x - pos[0]) ** 2 + (y - pos[1]) ** 2) / (a * a)) ** (-beta)
    return L.block_mean(prof, 3) * pixscale ** 2


def simulate_lenses(out, n: int, *, seed: int = 0, space: bool = False,
                    lens_fraction: float = 0.5, size: int = 101, batch_size: int = 200,
                    overwrite: bool = False, progress: bool | Callable = False):
    """Simulate ``n`` lens candidates into a new Collection at ``out``.

    The Collection has one product ``"bands"`` (channels = band names in wavelength order,
    units nanomaggies, sky axes) and items of kind ``"lens"``; truth is in the catalog
    (``truth``, ``truth_class``, ``theta_e_arcsec``, lens and source parameters). See
    :class:`LensSimulator` for the options.

    Returns
    -------
    Collection
        Open read-write.
    """
    from workbench.io._atomic import new_folder
    from workbench.io.collection import Collection, ProductSpec

    sim = LensSimulator(space=space, size=size, lens_fraction=lens_fraction)
    desc = (f"simulated strong-lens candidates ({'space VIS 0.1' if space else 'ground g,r,i 0.2'}"
            f"\"/px, seed {seed}, lens fraction {lens_fraction})")
    bar, close_bar = progress_bar(progress, n, unit="stamp", desc="simulate lenses")
    try:
        with new_folder(out):
            coll = Collection.create(out, {"bands": ProductSpec(
                sim.bands, (size, size), "nanomaggies", "sky")},
                overwrite=overwrite, description=desc)
            with coll.appender() as app:
                for start in range(0, int(n), batch_size):
                    m = min(batch_size, int(n) - start)
                    cat, imgs, axes = sim.simulate(m, seed=seed, start=start)
                    app.add(cat, {"bands": imgs}, {"bands": axes}, kind=LENS)
                    bar(m)
    finally:
        close_bar()
    return coll
