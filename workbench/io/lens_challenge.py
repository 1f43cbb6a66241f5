"""The Bologna strong-lens finding challenge layout (Metcalf et al. 2019, A&A 625, A119).

File names
    ``imageSDSS_<BAND>-<ID>.fits`` (challenge 1, ground-based: KiDS-like U, G, R, I at
    0.2"/px, usually in ``Band1/`` (R), ``Band2/`` (I), ``Band3/`` (G), ``Band4/`` (U)) and
    ``imageEUC_<BAND>-<ID>.fits`` (space-based: Euclid ``VIS``; challenge 2.0 adds NISP
    ``J``, ``Y``, ``H`` at 0.3"/px beside VIS at 0.1"/px, in ``EUC_VIS/``, ``EUC_J/``, ...
    folders). The band comes from the name (``SDSS_R`` is r, ``EUC_J`` is Euclid's J_E, ...),
    the object from the ID: one item per ID with its bands in wavelength order
    (:func:`challenge_name`, used by :func:`workbench.io.ingest_stamps.band_from_filename`).
``classifications.csv``
    One row per ID (``ID``, ``is_lens``, and whatever else the release has, e.g.
    ``Einstein_area``, ``numb_pix_lensed_image``, ``n_source_im``, ``mag_eff``): joined to
    the items as catalog columns by :func:`read_classifications`.
Pixel scales
    The NISP bands of challenge 2.0 have a third of VIS's resolution on the same field.
    With ``resample`` every band is put on the finest band's pixel grid
    (:func:`resample_to`): through the WCS when both bands have one, else centre on centre
    with the pixel scales from ``CDELT1``/``CD1_1`` or, lacking those, the challenge's known
    scales (:data:`KNOWN_SCALES`). Interpolation is bilinear and flux-conserving (values are
    multiplied by the pixel-area ratio); target pixels outside a band are NaN.
Submissions
    :func:`write_submission` writes the challenge's two-column CSV, ``ID,score`` (one row per
    item, the score any numeric column such as a model's ``pred_lens``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.bands import band_or_none
from workbench.core.errors import CatalogError, InputError

__all__ = ["challenge_name", "read_classifications", "pixel_scale", "resample_to",
           "write_submission", "stamp_inputs", "labels_table", "resample_object",
           "join_labels", "KNOWN_SCALES", "CLASSIFICATIONS"]

_NAME = re.compile(r"^image(SDSS|EUC)_([A-Za-z]+)-([A-Za-z0-9_.+-]+)$")
#: The challenge's file of answers, looked for in each folder given to ``ingest stamps``.
CLASSIFICATIONS = "classifications.csv"
#: Pixel scales (arcsec) of the challenge's bands, used only where a file has no WCS/CDELT.
KNOWN_SCALES = {"u": 0.2, "g": 0.2, "r": 0.2, "i": 0.2, "VIS": 0.1, "Y_E": 0.3, "J_E": 0.3,
                "H_E": 0.3}


def challenge_name(stem: str) -> tuple[str, str] | None:
    """``(canonical band, ID)`` of a challenge file stem (``imageEUC_VIS-200013``), else None."""
    m = _NAME.match(stem)
    if m is None:
        return None
    survey, band, ident = m.groups()
    alias = f"{'sdss' if survey == 'SDSS' else 'euclid'}_{band.lower()}"
    b = band_or_none(alias)
    if b is None:
        return None
    return b.name, ident


def _norm_id(v) -> str:
    text = str(v).strip()
    try:
        f = float(text)
    except ValueError:
        return text
    return str(int(f)) if math.isfinite(f) and f == int(f) else text


def read_classifications(path) -> pd.DataFrame:
    """The classifications table indexed by ID (text, ``100002``); its columns as they are.

    Raises
    ------
    CatalogError
        No ``ID`` column, an empty or duplicated ID (one line naming the file).
    """
    from workbench.io.catalogs import read_table

    df = read_table(path)
    lower = {str(c).strip().lower(): c for c in df.columns}
    col = lower.get("id")
    if col is None:
        raise CatalogError(f"has no ID column (columns: {[str(c) for c in df.columns[:12]]})",
                           path=path, hint="the challenge's classifications.csv starts with ID")
    ids = df[col].map(_norm_id)
    if (ids == "").any() or df[col].isna().any():
        raise CatalogError("has a row without an ID", path=path)
    if ids.duplicated().any():
        raise CatalogError(f"gives ID {ids[ids.duplicated()].iloc[0]} more than once", path=path)
    out = df.drop(columns=[col]).copy()
    out.index = pd.Index(ids, name="ID")
    return out


def pixel_scale(header, band: str, shape) -> tuple[float | None, object]:
    """``(arcsec per pixel or None, celestial WCS or None)`` of one band's plane."""
    from workbench.io.fits import sky_from_header
    from workbench.io.fits_open import card_value

    wcs, _, _, scale = sky_from_header(header, shape, [])
    if wcs is not None:
        return float(scale), wcs
    for key in ("CDELT1", "CD1_1"):
        v = card_value(header, key)
        try:
            f = abs(float(v)) * 3600.0
        except (TypeError, ValueError):
            continue
        if math.isfinite(f) and f > 0:
            return f, None
    return KNOWN_SCALES.get(band), None


def resample_to(data: np.ndarray, scale: float, wcs, target_shape, target_scale: float,
                target_wcs) -> np.ndarray:
    """``data`` (pixel scale ``scale``) on the target grid, bilinear and flux-conserving."""
    from scipy.ndimage import map_coordinates

    ny, nx = target_shape
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float64)
    if wcs is not None and target_wcs is not None:
        ra, dec = target_wcs.all_pix2world(xx.ravel(), yy.ravel(), 0)
        sx, sy = wcs.all_world2pix(ra, dec, 0)
        sx, sy = sx.reshape(ny, nx), sy.reshape(ny, nx)
    else:
        my, mx = data.shape
        f = target_scale / scale
        sy = (yy - (ny - 1) / 2.0) * f + (my - 1) / 2.0
        sx = (xx - (nx - 1) / 2.0) * f + (mx - 1) / 2.0
    out = map_coordinates(np.asarray(data, np.float64), [sy, sx], order=1, mode="constant",
                          cval=np.nan, prefilter=False)
    return (out * (target_scale / scale) ** 2).astype(np.float32)


def write_submission(coll, path, *, score: str | None = None, query: str | None = None,
                     header: bool = True) -> dict:
    """Write the challenge's submission file: one ``ID,score`` line per item (``query``
    selects), the score from the numeric catalog/derived column ``score`` (default:
    ``pred_lens``, else the only ``pred_*`` column besides ``pred_label``).

    Raises
    ------
    InputError
        No such column, a non-numeric one, or an item without a finite score.
    """
    from workbench.io._atomic import replacing

    view = coll.select(query) if query else coll
    cat = view.catalog
    if score is None:
        preds = [c for c in cat.columns if str(c).startswith("pred_") and c != "pred_label"]
        score = "pred_lens" if "pred_lens" in cat.columns else (preds[0] if len(preds) == 1
                                                                else None)
        if score is None:
            raise InputError(f"say which column is the score (pred_* columns: {preds})",
                             path=coll.path, hint="--score COLUMN, e.g. pred_lens")
    if score not in cat.columns:
        raise InputError(f"has no column {score!r} to score with", path=coll.path,
                         hint="run `workbench predict` first, or name another column")
    vals = pd.to_numeric(cat[score], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(vals)
    if bad.any():
        first = str(cat["id"].iloc[int(np.flatnonzero(bad)[0])])
        raise InputError(f"column {score!r} has no finite score for {int(bad.sum())} item(s) "
                         f"(first: {first})", path=coll.path)
    lines = (["ID,score"] if header else []) + [
        f"{_norm_id(i)},{v:.8g}" for i, v in zip(cat["id"].astype(str), vals)]
    path = Path(path)
    with replacing(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return {"path": str(path), "rows": int(len(vals)), "score": score}


# ------------------------------------------------------------------ used by ingest_stamps
def stamp_inputs(paths) -> tuple[list, list]:
    """(FITS files, folders given): a folder without FITS files of its own gives those of
    its immediate subfolders (the challenge's Band1/ ... Band4/)."""
    import os

    from workbench.io.ingest_fits import expand_paths

    expanded, folders = [], []
    for p in paths:
        text = str(p)
        if os.path.isdir(text):
            folders.append(Path(text))
            own = expand_paths([text])
            if not own:
                subs = sorted(e.path for e in os.scandir(text)
                              if e.is_dir(follow_symlinks=False) and not e.name.startswith("."))
                own = expand_paths(subs)
            expanded += own
        else:
            expanded.append(text)
    return expand_paths(expanded), folders


def labels_table(labels, folders, report):
    """The classifications table to join (None: none), from ``labels`` or the folders."""
    if labels is False:
        return None
    if labels is None:
        found = [f / CLASSIFICATIONS for f in folders if (f / CLASSIFICATIONS).is_file()]
        if not found:
            return None
        tables = [read_classifications(f) for f in found]
        table = pd.concat(tables) if len(tables) > 1 else tables[0]
        if table.index.duplicated().any():
            raise InputError(f"ID {table.index[table.index.duplicated()][0]} is in more than one "
                             f"{CLASSIFICATIONS}", path=found[0])
        report.notes[f"joined {CLASSIFICATIONS}"] = len(found)
        return table
    return read_classifications(labels)


def resample_object(obj: str, planes: dict, bands: list, report) -> dict:
    """The object's planes on the finest band's pixel grid (same planes when all agree)."""
    from dataclasses import replace

    scales = {}
    for b in bands:
        p = planes[b]
        s, w = pixel_scale(p.header, b, p.data.shape)
        if s is None:
            raise InputError(f"band {b} of object {obj!r} has no pixel scale to resample by "
                             f"(no WCS, CDELT1 or CD1_1)", path=p.where)
        scales[b] = (s, w)
    ref = min(bands, key=lambda b: (scales[b][0], -planes[b].data.size))
    s0, w0 = scales[ref]
    shape0 = planes[ref].data.shape
    out = dict(planes)
    for b in bands:
        s, w = scales[b]
        if planes[b].data.shape == shape0 and abs(s / s0 - 1) <= 0.01:
            continue
        data = resample_to(planes[b].data, s, w, shape0, s0, w0)
        out[b] = replace(planes[b], data=data, header=planes[ref].header)
        report.resampled[b] = report.resampled.get(b, 0) + 1
    return out


_ROW_COLUMNS = ("id", "ra", "dec", "pixscale_arcsec", "source_file", "source_hdu", "band_files",
                "layout", "orig_ny", "orig_nx", "resize", "kind")


def join_labels(table, objects: list, report) -> dict | None:
    """object -> its classifications columns (one dtype per column over all objects)."""
    if table is None:
        return None
    keys = [_norm_id(o) for o in objects]
    sub = table.reindex(keys)
    missing = int(sub.isna().all(axis=1).sum()) if len(sub.columns) else 0
    if missing:
        report.notes["objects without a classifications row"] = missing
    unused = len(set(table.index) - set(keys))
    if unused:
        report.notes["classifications rows without an object"] = unused
    names = {c: (f"{c}_catalog" if str(c).lower() in _ROW_COLUMNS else str(c))
             for c in sub.columns}
    sub = sub.rename(columns=names)
    return {o: {c: v for c, v in row.items()} for o, row in zip(objects, sub.to_dict("records"))}
