"""A radio sky simulator with ground truth: cutout surveys and large mosaics.

Seven morphological classes (catalog column ``truth``): ``compact``, ``FRI``, ``FRII``,
``bent`` (wide/narrow-angle tail), ``ring`` (diffuse shell, supernova-remnant-like),
``multi`` (several separate islands) and ``artefact`` (sidelobe rings/stripes around a bright
source); see :mod:`workbench.sims._radio_shapes` for their geometry.

Imaging model (per cutout, Jy/beam):

- Gaussian source components are convolved analytically with the circular Gaussian
  restoring beam; shells are rendered on the grid and smoothed by the (normalised) beam,
  so ``sum(sky) * pixel_area / beam_area`` equals the source's integrated flux;
- artefacts are a zero-mean pattern scaled to the bright source's peak;
- noise is white noise convolved with the beam and rescaled to the requested rms.

Everything is deterministic per seed: item ``i`` draws from ``SeedSequence([seed, i])``.

>>> from workbench.sims.radio import simulate_radio_arrays
>>> sim = simulate_radio_arrays(14, seed=0, size=64)
>>> sim.radio.shape, sorted(set(sim.catalog["truth"])) == sorted(CLASSES)
((14, 64, 64), True)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.wcs import tan_wcs
from workbench.io._atomic import new_folder
from workbench.io.progress import progress_bar
from workbench.sims import _radio_render as _r
from workbench.sims._radio_shapes import CLASSES, GENERATORS, SNR_RANGE, SourceModel, fit_inside

__all__ = ["CLASSES", "RadioSim", "simulate_radio", "simulate_radio_arrays",
           "simulate_radio_mosaic", "measure_fr_ratio", "largest_angular_size", "MosaicSim"]

#: Lowest contour of the truth masks and of the measured sizes, in units of the noise rms.
MASK_SIGMA = 3.0


@dataclass
class RadioSim:
    """Simulated cutouts held in memory.

    Attributes
    ----------
    catalog : DataFrame
        One row per item (see :func:`simulate_radio` for the columns).
    radio : ndarray (n, ny, nx) float32
        Observed maps, Jy/beam: ``sky + artefacts + noise``.
    sky : ndarray (n, ny, nx) float32
        Noiseless, beam-convolved true sky, Jy/beam.
    artefacts : ndarray (n, ny, nx) float32
        Imaging-artefact pattern, Jy/beam (zero except for class ``artefact``).
    noise : ndarray (n, ny, nx) float32
        The correlated noise, Jy/beam.
    infrared : ndarray (n, ny, nx) float32 or None
        Host galaxy and field objects plus noise (rms 1), arbitrary units.
    components : ndarray (n, ny, nx) int8
        Truth labels (0 background; groups listed in :mod:`workbench.sims._radio_shapes`),
        where the noiseless emission exceeds ``MASK_SIGMA * rms``.
    axes : list of dict
        Per item, the sky axes descriptor (TAN WCS centred on ``ra``, ``dec``).
    """

    catalog: pd.DataFrame
    radio: np.ndarray
    sky: np.ndarray
    artefacts: np.ndarray
    noise: np.ndarray
    infrared: np.ndarray | None
    components: np.ndarray
    axes: list


def _class_list(n: int, seed: int, fractions: dict | None) -> list[str]:
    """Classes of items 0..n-1: exact proportions (largest remainder), shuffled by seed."""
    if fractions is None:
        fractions = {c: 1.0 for c in CLASSES}
    unknown = set(fractions) - set(CLASSES)
    if unknown:
        raise ValueError(f"unknown class(es) {sorted(unknown)}; known: {list(CLASSES)}")
    names = [c for c in CLASSES if fractions.get(c, 0) > 0]
    if not names:
        raise ValueError("class_fractions gives no class a positive fraction")
    f = np.array([float(fractions[c]) for c in names])
    f = f / f.sum() * n
    counts = np.floor(f).astype(int)
    order = np.argsort(-(f - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    labels = np.repeat(np.array(names, dtype=object), counts)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 2**31 - 1]))
    return list(labels[rng.permutation(n)])


def measure_fr_ratio(image: np.ndarray, host, *, threshold: float, core_radius: float,
                     axis: float | None = None) -> float:
    """Fanaroff-Riley ratio measured on a (noiseless) map.

    The separation, along the source axis, of the brightest pixels on either side of the
    host, divided by the total extent of the emission above ``threshold`` along that axis.
    Pixels within ``core_radius`` of the host are left out (FR 1974 ignore a compact
    component on the galaxy). Below 0.5: FRI (edge-darkened); above: FRII (edge-brightened).

    Parameters
    ----------
    image : ndarray (ny, nx)
        Map (Jy/beam), noiseless or source-only.
    host : (x, y)
        Host position in pixels.
    threshold : float
        Lowest contour (same units as ``image``).
    core_radius : float
        Radius (px) around the host left out when looking for the brightest regions.
    axis : float, optional
        Source axis (radians from +x); by default the principal axis of the emission.

    Returns
    -------
    float
        The ratio, or NaN where emission is missing on one side.
    """
    ys, xs = np.nonzero(image > threshold)
    if len(xs) < 3:
        return float("nan")
    vals = image[ys, xs].astype(np.float64)
    dx, dy = xs - float(host[0]), ys - float(host[1])
    if axis is None:
        cov = np.cov(np.vstack([dx, dy]), aweights=vals)
        evals, evecs = np.linalg.eigh(cov)
        ux, uy = evecs[:, np.argmax(evals)]
    else:
        ux, uy = np.cos(axis), np.sin(axis)
    s = dx * ux + dy * uy
    extent = s.max() - s.min()
    far = np.hypot(dx, dy) > core_radius
    a, b = far & (s > 0), far & (s < 0)
    if extent <= 0 or not a.any() or not b.any():
        return float("nan")
    sa = s[a][np.argmax(vals[a])]
    sb = s[b][np.argmax(vals[b])]
    return float((sa - sb) / extent)


def largest_angular_size(mask: np.ndarray) -> float:
    """Largest distance (px) between two pixel centres of ``mask`` (NaN if empty)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return float("nan")
    pts = np.column_stack([xs, ys]).astype(float)
    if len(pts) > 3:
        try:
            from scipy.spatial import ConvexHull

            pts = pts[ConvexHull(pts).vertices]
        except Exception:  # collinear points: use them all
            pass
    d = pts[:, None, :] - pts[None, :, :]
    return float(np.sqrt((d**2).sum(-1)).max())


def _render_source(src: SourceModel, host, shape, origin, sb):
    """Unit-flux group images (G, ny, nx) in Jy/beam per Jy, absolute positions."""
    g = src.gauss.copy()
    g[:, 1] += host[0]
    g[:, 2] += host[1]
    sh = src.shells.copy()
    if len(sh):
        sh[:, 1] += host[0]
        sh[:, 2] += host[1]
    return _r.group_images(g, sh, shape, origin, blur=sb, scale=2 * np.pi * sb * sb)


def _reference_peak(cls: str, groups: np.ndarray, unit: np.ndarray) -> float:
    """Peak the signal-to-noise is set on: the shell for rings (not a central compact
    source, which would leave the shell invisible), else the whole source."""
    return float(groups[0].max() if cls == "ring" else unit.max())


def _labels(groups: np.ndarray, art: np.ndarray | None, thr: float) -> np.ndarray:
    lab = (np.argmax(groups, axis=0) + 1).astype(np.int8)
    lab[groups.max(axis=0) <= thr] = 0
    if art is not None:
        lab[(lab == 0) & (np.abs(art) > thr)] = groups.shape[0] + 1
    return lab


def _infrared(rng, shape, host, has_host: bool) -> np.ndarray:
    """Host galaxy + field stars and galaxies + white noise (rms 1), arbitrary units."""
    ny, nx = shape
    psf = 1.0
    comps = []
    if has_host:
        smaj = rng.uniform(0.6, 2.5)
        peak = 10 ** rng.uniform(np.log10(6), np.log10(80))
        flux = peak * 2 * np.pi * (smaj * smaj + psf * psf)
        comps.append([flux, host[0], host[1], smaj, smaj * rng.uniform(0.4, 1.0),
                      rng.uniform(0, np.pi), 1])
    n_star, n_gal = rng.poisson(0.3e-3 * nx * ny), rng.poisson(0.5e-3 * nx * ny)
    for _ in range(n_star):
        peak = 10 ** rng.uniform(np.log10(4), np.log10(300))
        comps.append([peak * 2 * np.pi * psf * psf, rng.uniform(0, nx - 1), rng.uniform(0, ny - 1),
                      0.0, 0.0, 0.0, 1])
    for _ in range(n_gal):
        smaj = rng.uniform(0.5, 2.0)
        peak = 10 ** rng.uniform(np.log10(3), np.log10(30))
        comps.append([peak * 2 * np.pi * (smaj * smaj + psf * psf), rng.uniform(0, nx - 1),
                      rng.uniform(0, ny - 1), smaj, smaj * rng.uniform(0.3, 1.0),
                      rng.uniform(0, np.pi), 1])
    img = rng.standard_normal(shape).astype(np.float32)
    if comps:
        img += _r.gaussian_images(np.array(comps), shape, blur=psf, scale=1.0)[0]
    return img


def _simulate_item(i: int, seed: int, cls: str, *, size: int, pixscale: float, sb: float,
                   rms: float, infrared: bool, wcs_template):
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(i)]))
    shape = (size, size)
    ra = float(rng.uniform(0.0, 360.0))
    dec = float(np.degrees(np.arcsin(rng.uniform(-1.0, 1.0))))
    centre = (size - 1) / 2.0
    jitter = size / (4.0 if cls == "artefact" else 10.0)
    hx, hy = centre + rng.uniform(-jitter, jitter, 2)
    margin = 2.5 * sb / _r.FWHM_TO_SIGMA  # 2.5 beam FWHM in px
    reach = max(min(hx, size - 1 - hx, hy, size - 1 - hy) - margin, 3 * sb)
    src = fit_inside(GENERATORS[cls](rng, sb, reach), reach)
    groups = _render_source(src, (hx, hy), shape, (0.0, 0.0), sb)
    unit = groups.sum(axis=0)
    peak_unit = _reference_peak(cls, groups, unit)
    lo, hi = SNR_RANGE[cls]
    snr = float(10 ** rng.uniform(lo, hi))
    flux = snr * rms / peak_unit
    groups *= np.float32(flux)
    sky = unit * np.float32(flux)
    art = None
    if src.artefact is not None:
        art = _r.artefact_pattern(src.artefact, (hx, hy), shape) * np.float32(flux * peak_unit)
    thr = MASK_SIGMA * rms
    labels = _labels(groups, art, thr)
    fr = float("nan")
    if cls in ("FRI", "FRII"):
        fr = measure_fr_ratio(sky, (hx, hy), threshold=thr, core_radius=sb / _r.FWHM_TO_SIGMA,
                              axis=src.axis)
    white = rng.standard_normal(shape).astype(np.float32)
    ir = _infrared(rng, shape, (hx, hy), cls != "ring") if infrared else None
    w = wcs_template.deepcopy()
    w.wcs.crval = [ra, dec]
    hra, hdec = (float(v) for v in w.all_pix2world([[hx, hy]], 0)[0])
    row = {"truth": cls, "flux_jy": flux, "peak_jy_beam": float(sky.max()), "snr": snr,
           "host_x": float(hx), "host_y": float(hy), "host_ra": hra % 360.0, "host_dec": hdec,
           "fr_ratio": fr, "size_arcsec": largest_angular_size(sky > thr) * pixscale,
           "axis_deg": float(np.degrees(src.axis) % 360.0) if np.isfinite(src.axis) else np.nan,
           "opening_angle_deg": src.extra.get("opening_angle_deg", np.nan),
           "n_islands": src.extra.get("n_islands", pd.NA),
           "artefact_kind": src.extra.get("artefact_kind", pd.NA),
           "has_ir_host": bool(infrared and cls != "ring"),
           "ra": ra, "dec": dec, "pixscale_arcsec": pixscale}
    from workbench.io import _axes

    return row, sky, art, white, ir, labels, _axes.sky(w)




def _check(n, size, pixscale_arcsec, beam_fwhm_arcsec, rms):
    if int(n) < 0:
        raise ValueError("n must be >= 0")
    if int(size) < 16:
        raise ValueError("size must be at least 16 pixels")
    if not (pixscale_arcsec > 0 and beam_fwhm_arcsec > 0 and rms > 0):
        raise ValueError("pixscale_arcsec, beam_fwhm_arcsec and rms must be positive")
    if beam_fwhm_arcsec / pixscale_arcsec < 1.5:
        warnings.warn(f"beam FWHM {beam_fwhm_arcsec}\" is under 1.5 pixels of {pixscale_arcsec}\": "
                      "the beam is undersampled", stacklevel=3)


def simulate_radio_arrays(n: int, *, seed: int, size: int = 128, pixscale_arcsec: float = 1.8,
                          beam_fwhm_arcsec: float = 5.0, rms: float = 1e-4,
                          infrared: bool = True, class_fractions: dict | None = None,
                          start: int = 0, classes: list | None = None) -> RadioSim:
    """Simulate ``n`` radio cutouts in memory (see :class:`RadioSim`).

    Parameters are those of :func:`simulate_radio`. ``start`` offsets the item numbers (item
    ``start + k`` is the same whatever the block it is made in); ``classes`` overrides the
    class of each item.
    """
    _check(n, size, pixscale_arcsec, beam_fwhm_arcsec, rms)
    sb = _r.beam_sigma_px(beam_fwhm_arcsec, pixscale_arcsec)
    if classes is None:
        classes = _class_list(n, seed, class_fractions)
    template = tan_wcs((size, size), 0.0, 0.0, pixscale_arcsec)
    rows, sky, art, white, ir, lab, axes = [], [], [], [], [], [], []
    zeros = np.zeros((size, size), np.float32)
    for k in range(n):
        r, s, a, w, i_r, lb, ax = _simulate_item(
            start + k, seed, classes[k], size=size, pixscale=pixscale_arcsec, sb=sb, rms=rms,
            infrared=infrared, wcs_template=template)
        rows.append(r)
        sky.append(s)
        art.append(zeros if a is None else a)
        white.append(w)
        ir.append(i_r)
        lab.append(lb)
        axes.append(ax)
    shape = (n, size, size)
    sky_a = np.stack(sky) if n else np.zeros(shape, np.float32)
    art_a = np.stack(art) if n else np.zeros(shape, np.float32)
    noise = _r.correlated_noise(np.stack(white), sb, rms) if n else np.zeros(shape, np.float32)
    cat = pd.DataFrame(rows)
    if n:
        cat.insert(0, "id", [f"sim-s{seed}-{start + k:06d}" for k in range(n)])
        cat["beam_fwhm_arcsec"] = float(beam_fwhm_arcsec)
        cat["rms_jy"] = float(rms)
        cat["n_islands"] = cat["n_islands"].astype("Int64")
    return RadioSim(catalog=cat, radio=sky_a + art_a + noise, sky=sky_a, artefacts=art_a,
                    noise=noise, infrared=np.stack(ir) if (infrared and n) else None,
                    components=np.stack(lab) if n else np.zeros(shape, np.int8), axes=axes)


def simulate_radio(out, *, n: int, seed: int, size: int = 128, pixscale_arcsec: float = 1.8,
                   beam_fwhm_arcsec: float = 5.0, rms: float = 1e-4, infrared: bool = True,
                   class_fractions: dict | None = None, batch_size: int = 256,
                   overwrite: bool = False, progress: bool | Callable = False):
    """Simulate a survey of radio cutouts with ground truth and write it as a Collection.

    Parameters
    ----------
    out : path-like
        Collection folder to create.
    n : int
        Number of items.
    seed : int
        Seed; the same seed gives the same pixels.
    size : int
        Cutout side in pixels.
    pixscale_arcsec : float
        Pixel size (arcsec).
    beam_fwhm_arcsec : float
        FWHM of the circular Gaussian restoring beam (arcsec).
    rms : float
        Noise rms in Jy/beam.
    infrared : bool
        Also write product ``"infrared"`` (host galaxy + field objects, arbitrary units).
    class_fractions : dict of class -> float, optional
        Relative frequency of each class (default: equal); classes left out are not made.
    progress : bool or callable
        Show a progress bar (or call ``progress(k)`` after ``k`` more items).

    Returns
    -------
    Collection
        Open read-write. Products ``"radio"`` (channel ``"I"``, Jy/beam, per-item TAN WCS)
        and ``"infrared"``; catalog columns ``truth`` (class), ``flux_jy`` (integrated, Jy),
        ``peak_jy_beam``, ``snr`` (noiseless peak / rms; of the shell for rings), ``host_x``,
        ``host_y`` (pixels),
        ``host_ra``, ``host_dec`` (deg), ``fr_ratio`` (FRI/FRII, measured on the noiseless
        map), ``size_arcsec`` (largest angular size above 3 rms), ``axis_deg``,
        ``opening_angle_deg`` (bent), ``n_islands`` (multi), ``artefact_kind``,
        ``has_ir_host``, ``beam_fwhm_arcsec``, ``rms_jy``; derived array
        ``truth_components`` (n, ny, nx) int8 labels.
    """
    from workbench.core.kinds import RADIO
    from workbench.io.collection import Collection, ProductSpec

    _check(n, size, pixscale_arcsec, beam_fwhm_arcsec, rms)
    products = {"radio": ProductSpec(("I",), (size, size), "Jy/beam", "sky")}
    if infrared:
        products["infrared"] = ProductSpec(("ir",), (size, size), "arbitrary", "sky")
    desc = (f"simulated radio survey: n={n} seed={seed} size={size} pixscale={pixscale_arcsec}\" "
            f"beam={beam_fwhm_arcsec}\" rms={rms} Jy/beam")
    classes = _class_list(n, seed, class_fractions)
    update, close = progress_bar(progress, n, unit="item", desc="simulate")
    labels = []
    ids = []
    try:
        with new_folder(out):
            coll = Collection.create(out, products, overwrite=overwrite, description=desc)
            with coll.appender() as app:
                for start in range(0, n, batch_size):
                    stop = min(n, start + batch_size)
                    sim = simulate_radio_arrays(stop - start, seed=seed, size=size,
                                                pixscale_arcsec=pixscale_arcsec,
                                                beam_fwhm_arcsec=beam_fwhm_arcsec, rms=rms,
                                                infrared=infrared, start=start,
                                                classes=classes[start:stop])
                    images = {"radio": sim.radio}
                    axes = {"radio": sim.axes}
                    if infrared:
                        images["infrared"] = sim.infrared
                        axes["infrared"] = sim.axes
                    app.add(sim.catalog, images, axes, kind=RADIO)
                    labels.append(sim.components)
                    ids += list(sim.catalog["id"])
                    update(stop - start)
            if n:
                coll.add_array("truth_components", np.concatenate(labels), ids=ids,
                               tool="workbench.sims.radio.simulate_radio",
                               params={"seed": seed, "mask_sigma": MASK_SIGMA, "rms": rms})
    finally:
        close()
    return coll


# ---------------------------------------------------------------------------- mosaic mode
@dataclass
class MosaicSim:
    """Paths written by :func:`simulate_radio_mosaic`."""

    image: Path
    catalog: Path
    n_sources: int
    shape: tuple


def mosaic_header(shape, ra0: float, dec0: float, pixscale_arcsec: float,
                  beam_fwhm_arcsec: float, freq_hz: float = 1.4e9):
    """FITS header of a radio mosaic: 4 axes (RA---TAN, DEC--TAN, FREQ, STOKES; the last two
    of length 1), BUNIT JY/BEAM and the restoring beam BMAJ/BMIN/BPA (deg)."""
    from astropy.io import fits

    ny, nx = shape
    h = fits.Header()
    h["BUNIT"] = ("JY/BEAM", "surface brightness")
    h["BMAJ"] = (beam_fwhm_arcsec / 3600.0, "restoring beam FWHM major axis (deg)")
    h["BMIN"] = (beam_fwhm_arcsec / 3600.0, "restoring beam FWHM minor axis (deg)")
    h["BPA"] = (0.0, "restoring beam position angle (deg)")
    for i, (ct, _n, crpix, crval, cdelt, cu) in enumerate([
            ("RA---TAN", nx, (nx + 1) / 2.0, ra0, -pixscale_arcsec / 3600.0, "deg"),
            ("DEC--TAN", ny, (ny + 1) / 2.0, dec0, pixscale_arcsec / 3600.0, "deg"),
            ("FREQ", 1, 1.0, freq_hz, 1e6, "Hz"), ("STOKES", 1, 1.0, 1.0, 1.0, "")], start=1):
        h[f"CTYPE{i}"] = ct
        h[f"CRPIX{i}"] = crpix
        h[f"CRVAL{i}"] = crval
        h[f"CDELT{i}"] = cdelt
        if cu:
            h[f"CUNIT{i}"] = cu
    h["RADESYS"] = "ICRS"
    h["EQUINOX"] = 2000.0
    h["TELESCOP"] = "workbench-sim"
    return h


def simulate_radio_mosaic(out_dir, *, n_sources: int, seed: int, size: int = 4096,
                          pixscale_arcsec: float = 1.8, beam_fwhm_arcsec: float = 5.0,
                          rms: float = 1e-4, class_fractions: dict | None = None,
                          max_extent_arcsec: float = 150.0, centre: tuple | None = None,
                          progress: bool | Callable = False) -> MosaicSim:
    """Simulate one large radio map and its source catalogue (to test mosaic ingest).

    Writes ``OUT_DIR/mosaic.fits`` (float32, shape (1, 1, size, size): RA, Dec, and
    degenerate FREQ and STOKES axes; TAN WCS, BUNIT, BMAJ/BMIN/BPA) and
    ``OUT_DIR/catalog.csv`` (``id, ra, dec, x, y, truth, flux_jy, peak_jy_beam, snr,
    fr_ratio, size_arcsec``; ra/dec and x/y are the host position). Sources are placed
    uniformly over the map, so some run over its edge.

    Parameters
    ----------
    n_sources : int
    seed : int
    size : int
        Side of the square map in pixels.
    max_extent_arcsec : float
        Largest angular size a source may reach.
    centre : (ra, dec), optional
        Map centre in deg (default: drawn from the seed).
    Other parameters as in :func:`simulate_radio`.
    """
    from astropy.io import fits
    from astropy.wcs import WCS

    from workbench.core.errors import OutputError

    _check(n_sources, size, pixscale_arcsec, beam_fwhm_arcsec, rms)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder ({exc.strerror})", path=out_dir) from exc
    sb = _r.beam_sigma_px(beam_fwhm_arcsec, pixscale_arcsec)
    base = np.random.default_rng(np.random.SeedSequence([int(seed), 2**31 - 2]))
    if centre is None:
        centre = (float(base.uniform(0, 360)), float(base.uniform(-60, 60)))
    header = mosaic_header((size, size), centre[0], centre[1], pixscale_arcsec, beam_fwhm_arcsec)
    wcs = WCS(header).celestial
    image = np.zeros((size, size), np.float32)
    classes = _class_list(n_sources, seed, class_fractions)
    reach0 = max_extent_arcsec / 2.0 / pixscale_arcsec
    thr = MASK_SIGMA * rms
    rows = []
    update, close = progress_bar(progress, n_sources, unit="source", desc="mosaic")
    try:
        for j, cls in enumerate(classes):
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), 2**31 - 3, j]))
            hx, hy = rng.uniform(-0.5, size - 0.5, 2)
            src = fit_inside(GENERATORS[cls](rng, sb, reach0), reach0)
            h = int(np.ceil(src.radius() + 5 * sb + 2))
            if src.artefact is not None:
                h = max(h, int(min(np.ceil(4 * src.artefact["r0"]), 400)))
            ox, oy = int(round(hx)) - h, int(round(hy)) - h
            shape = (2 * h + 1, 2 * h + 1)
            local = (hx - ox, hy - oy)
            groups = _render_source(src, local, shape, (0.0, 0.0), sb)
            unit = groups.sum(axis=0)
            peak_unit = _reference_peak(cls, groups, unit)
            lo, hi = SNR_RANGE[cls]
            snr = float(10 ** rng.uniform(lo, hi))
            flux = snr * rms / peak_unit
            sky = unit * np.float32(flux)
            stamp = sky
            if src.artefact is not None:
                stamp = sky + _r.artefact_pattern(src.artefact, local, shape) * np.float32(
                    flux * peak_unit)
            y0, y1 = max(oy, 0), min(oy + shape[0], size)
            x0, x1 = max(ox, 0), min(ox + shape[1], size)
            if y1 > y0 and x1 > x0:
                image[y0:y1, x0:x1] += stamp[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
            fr = float("nan")
            if cls in ("FRI", "FRII"):
                fr = measure_fr_ratio(sky, local, threshold=thr,
                                      core_radius=sb / _r.FWHM_TO_SIGMA, axis=src.axis)
            rows.append({"id": f"msim-s{seed}-{j:06d}", "x": float(hx), "y": float(hy),
                         "truth": cls, "flux_jy": flux, "peak_jy_beam": float(sky.max()),
                         "snr": snr, "fr_ratio": fr,
                         "size_arcsec": largest_angular_size(sky > thr) * pixscale_arcsec})
            update(1)
        white = np.random.default_rng(np.random.SeedSequence([int(seed), 2**31 - 4])) \
            .standard_normal((size, size), dtype=np.float32)
        image += _r.correlated_noise(white, sb, rms)
        del white
    finally:
        close()
    cat = pd.DataFrame(rows, columns=["id", "x", "y", "truth", "flux_jy", "peak_jy_beam", "snr",
                                      "fr_ratio", "size_arcsec"])
    if len(cat):
        ra, dec = wcs.all_pix2world(cat["x"].to_numpy(), cat["y"].to_numpy(), 0)
    else:
        ra = dec = np.zeros(0)
    cat.insert(1, "ra", np.asarray(ra) % 360.0)
    cat.insert(2, "dec", np.asarray(dec))
    img_path, cat_path = out_dir / "mosaic.fits", out_dir / "catalog.csv"
    fits.PrimaryHDU(image[None, None], header=header).writeto(img_path, overwrite=True)
    cat.to_csv(cat_path, index=False)
    return MosaicSim(image=img_path, catalog=cat_path, n_sources=len(cat), shape=(size, size))
