"""Turn multi-band stamps (lens candidates) into a Collection with one multi-channel product.

Three layouts are understood, and may be mixed in one call:

one file per band per object
    The band is named in the file name (``obj12_g.fits``, ``obj12-r.fits``, ``obj12.i.fits``,
    or ``obj12/g.fits`` where the folder names the object) or in the header (``FILTER``,
    ``BAND``, ...; the object is then the header's ``OBJECT`` or the file name).
multi-extension FITS
    One band per image HDU, named by ``EXTNAME`` or a ``FILTER``/``BAND`` key of that HDU;
    the object is the primary header's ``OBJECT`` or the file name. A file holding one
    band's science image with its companions (HSC/LSST ``IMAGE`` + ``MASK`` + ``VARIANCE``,
    or ``SCI`` + ``WHT``/``ERR``/``DQ``) counts as one file per band: the science plane is
    read, the band comes from the file name or a ``FILTER`` key.
3-D cube with a band axis
    Band names from ``BAND1..BANDn`` or ``FILTER1..FILTERn`` (FITS plane order), 0-based
    ``BAND0..BAND(n-1)``, or a ``BANDS`` key (comma/space separated, or one letter per
    plane as in Legacy Survey cutouts: ``BANDS = 'grz'``).
the Bologna lens-finding challenge
    ``imageSDSS_<BAND>-<ID>.fits`` / ``imageEUC_<BAND>-<ID>.fits``, often in ``Band1/`` ...
    or ``EUC_VIS/`` ... subfolders: the band from the name, one object per ID. A folder's
    ``classifications.csv`` (``ID``, ``is_lens``, ...) is joined as catalog columns, and
    ``resample`` puts bands of different pixel scales (challenge 2.0: VIS 0.1", NISP J/Y/H
    0.3") on the finest band's grid (see :mod:`workbench.io.lens_challenge`).

A folder given as input contributes its FITS files, or, when it holds none itself, those
of its immediate subfolders (``Band1/``, ``Band2/``, ...); glob patterns may use ``**``.

Bands are resolved to canonical names (:mod:`workbench.core.bands`), ordered by wavelength
and recorded as the product's channels. Each object must have every band (``bands=``, or by
default every band seen); its bands must share one shape and agree on the sky (WCS centre
within half a pixel, pixel scales within 1 %), and no band may be all NaN. A bad object
raises :class:`~workbench.errors.InputError` naming the object and band, or with
``errors="skip"`` is left out and reported.

Limits: every file's header sizes are checked before its data is read
(:mod:`workbench.io.fits_open`); stamps are at most
:data:`~workbench.io.fits_open.MAX_STAMP_SIDE` pixels per side.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from workbench.core.bands import resolve_band, sort_bands
from workbench.core.errors import BatchError, FITSError, InputError, WorkbenchError
from workbench.core.kinds import LENS
from workbench.io import _axes
from workbench.io._atomic import new_folder
from workbench.io.batching import BatchBuffer
from workbench.io.fits import fit_to_shape, sky_from_header
from workbench.io.fits_open import (
    MAX_STAMP_SIDE,
    card_value,
    check_stamp_shape,
    rows_per_batch,
    short_reason,
)
from workbench.io.ingest_fits import FITS_SUFFIXES
from workbench.io.lens_challenge import (
    join_labels,
    labels_table,
    resample_object,
    stamp_inputs,
)
from workbench.io.progress import progress_bar
from workbench.io.stamp_planes import _Plane, band_from_filename, read_band_planes

__all__ = ["StampsReport", "ingest_stamps", "read_band_planes", "band_from_filename"]


@dataclass
class StampsReport:
    """What a stamps ingest did."""

    path: str
    n_items: int = 0
    bands: list = field(default_factory=list)
    shape: tuple | None = None
    skipped: list = field(default_factory=list)  # (object or file, reason)
    notes: dict = field(default_factory=dict)  # note -> count
    layouts: dict = field(default_factory=dict)  # layout -> count of files
    resized: dict = field(default_factory=dict)  # action -> count of objects
    resampled: dict = field(default_factory=dict)  # band -> objects resampled onto the grid

    def to_json(self) -> dict:
        return {"path": self.path, "n_items": self.n_items, "bands": list(self.bands),
                "shape": list(self.shape) if self.shape else None,
                "skipped": [{"input": str(a), "reason": b} for a, b in self.skipped],
                "notes": self.notes, "layouts": self.layouts, "resized": self.resized,
                "resampled": self.resampled}


def _check_object(obj: str, planes: dict, bands: list[str]) -> None:
    """Raise InputError if the object's bands are missing, mismatched, empty or misaligned."""
    missing = [b for b in bands if b not in planes]
    if missing:
        have = sorted(planes, key=lambda b: resolve_band(b).wavelength_nm)
        raise InputError(f"object {obj!r} has no {', '.join(missing)} band "
                         f"(it has {', '.join(have) or 'none'})",
                         path=next(iter(planes.values())).path if planes else None,
                         hint="add the missing file, choose --bands, or pass errors='skip'")
    shapes = {b: planes[b].data.shape for b in bands}
    if len(set(shapes.values())) > 1:
        desc = ", ".join(f"{b} {s[0]}x{s[1]}" for b, s in shapes.items())
        raise InputError(f"object {obj!r} has bands of different shapes ({desc})",
                         path=planes[bands[0]].path,
                         hint="pass resample (CLI: --resample) to put them on the finest "
                              "band's grid, or cut every band to the same pixel grid")
    for b in bands:
        if not np.isfinite(planes[b].data).any():
            raise InputError(f"band {b} of object {obj!r} is all NaN/blank",
                             path=planes[b].where, hint="nothing to show in that band")


def _sky(obj: str, planes: dict, bands: list[str], notes: dict):
    """Reference (wcs, ra, dec, scale) of the object; checks the bands agree on the sky.
    Why a band has no WCS (e.g. an invalid card) is counted in ``notes``."""
    ref = None
    no_wcs = []
    for b in bands:
        p = planes[b]
        why: list[str] = []
        w, ra, dec, scale = sky_from_header(p.header, p.data.shape, why)
        for n in dict.fromkeys(n.split(" (")[0] for n in why):
            notes[n] = notes.get(n, 0) + 1
        if w is None:
            no_wcs.append(b)
            continue
        if ref is None:
            ref = (b, w, ra, dec, scale)
            continue
        _, _, ra0, dec0, s0 = ref
        sep = np.degrees(np.arccos(np.clip(
            np.sin(np.radians(dec)) * np.sin(np.radians(dec0))
            + np.cos(np.radians(dec)) * np.cos(np.radians(dec0)) * np.cos(np.radians(ra - ra0)),
            -1, 1))) * 3600.0
        if sep > 0.5 * s0 or abs(scale / s0 - 1) > 0.01:
            raise InputError(
                f"the WCS of band {b} of object {obj!r} disagrees with band {ref[0]}: centres "
                f"{sep:.2f}\" apart, pixel scales {scale:.4f}\" and {s0:.4f}\"",
                path=p.where, hint="resample the bands onto one pixel grid before ingesting")
    if ref is not None and no_wcs:
        notes["some bands have no WCS (the others' is used)"] = \
            notes.get("some bands have no WCS (the others' is used)", 0) + 1
    if ref is None:
        notes["no WCS: no sky position"] = notes.get("no WCS: no sky position", 0) + 1
        return None, float("nan"), float("nan"), float("nan")
    return ref[1:]


def _prepare_object(obj: str, planes: dict, want: list, size, resample: bool, errors: str,
                    report) -> tuple | None:
    """``(planes, sky)`` of an object fit to ingest (resampled if asked, checked); a bad
    object raises (``errors="raise"``) or is added to ``report.skipped`` (None)."""
    try:
        if resample and not [b for b in want if b not in planes]:
            planes = resample_object(obj, planes, want, report)
        _check_object(obj, planes, want)
        shape = planes[want[0]].data.shape
        if size is None and max(shape) > MAX_STAMP_SIDE:
            raise InputError(f"object {obj!r} is {shape[0]}x{shape[1]} px, larger than the "
                             f"{MAX_STAMP_SIDE} px per side a Collection's images may have",
                             path=planes[want[0]].path,
                             hint="pass size (CLI: --size NYxNX) to crop every object")
        sky = _sky(obj, planes, want, report.notes)
    except Exception as exc:  # any failure of one object is that object's failure
        err = exc if isinstance(exc, WorkbenchError) else InputError(
            f"object {obj!r} cannot be ingested ({short_reason(exc)})")
        if errors == "raise":
            if err is exc:
                raise
            raise err from exc
        report.skipped.append((obj, err.reason))
        return None
    return planes, sky


def _object_item(obj: str, planes: dict, sky: tuple, want: list, shape, product: str,
                 report) -> tuple[dict, dict, dict]:
    """An object's ``(catalog row, images, axes)``, its bands fit to ``shape``."""
    wcs, ra, dec, scale = sky
    stack, action, w2 = [], "none", None
    for b in want:
        arr, w2, action = fit_to_shape(planes[b].data, shape, wcs)
        stack.append(arr)
    report.resized[action] = report.resized.get(action, 0) + 1
    first = planes[want[0]]
    row = {"id": obj, "ra": ra, "dec": dec, "pixscale_arcsec": scale,
           "source_file": first.path, "source_hdu": first.hdu,
           "band_files": json.dumps({b: planes[b].where for b in want}),
           "layout": first.layout, "orig_ny": first.data.shape[0],
           "orig_nx": first.data.shape[1], "resize": action}
    return row, {product: np.stack(stack)}, {product: _axes.sky(w2) if w2 is not None else None}


def _read_all(files, errors, report, bar) -> dict:
    """object -> {band: plane} over all files; bad files raise or are reported."""
    objects: dict[str, dict[str, _Plane]] = {}
    for f in files:
        try:
            planes = read_band_planes(f)
            seen: dict = {}
            for p in planes:
                have = {**objects.get(p.obj, {}), **seen.get(p.obj, {})}
                seen.setdefault(p.obj, {})[p.band] = p
                if p.band in have:
                    raise InputError(f"band {p.band} of object {p.obj!r} is given twice "
                                     f"({have[p.band].where} and {p.where})", path=f,
                                     hint="keep one file per band per object")
        except Exception as exc:  # any failure of one file is that file's failure
            err = exc if isinstance(exc, WorkbenchError) else FITSError(
                f"cannot be ingested ({short_reason(exc)})", path=f)
            if errors == "raise":
                if err is exc:
                    raise
                raise err from exc
            report.skipped.append((str(f), str(err)))
            bar(1)
            continue
        for p in planes:
            objects.setdefault(p.obj, {})[p.band] = p
        report.layouts[planes[0].layout] = report.layouts.get(planes[0].layout, 0) + 1
        bar(1)
    return objects


def ingest_stamps(paths, out, *, bands=None, product: str = "bands", kind: str = LENS,
                  size: tuple[int, int] | None = None, errors: str = "raise",
                  batch_size: int = 256, overwrite: bool = False,
                  progress: bool | Callable = False, resample: bool = False,
                  labels=None, client=None, task_size: int = 64) -> StampsReport:
    """Ingest multi-band stamps into a new Collection at ``out``.

    Parameters
    ----------
    paths : list of path-like
        Files, folders (all their FITS files) or glob patterns.
    out : path-like
        Collection folder to create.
    bands : sequence of str, optional
        Bands every object must have (any spelling, e.g. ``["g", "r", "i"]``); other bands
        found are ignored. By default every band found in any file.
    product : str
        Name of the image product; its channels are the bands, blue first.
    kind : str
        The items' kind (``"lens"``).
    size : (ny, nx), optional
        Common shape, at most :data:`~workbench.io.fits_open.MAX_STAMP_SIDE` (4096) pixels
        per side; by default the first object's (an object larger than that cannot set it:
        pass ``size`` to crop). Other objects are centre-cropped or NaN-padded to it
        (column ``resize``).
    errors : {"raise", "skip"}
        On a bad file or object (any failure while reading or checking it), stop (nothing
        is written) or leave it out and report it with its reason.
    resample : bool
        Put bands of different pixel scales on the finest band's grid (see
        :mod:`workbench.io.lens_challenge`); the report's ``resampled`` counts them per band.
    labels : path, None or False
        A classifications table (``ID`` column, e.g. the challenge's ``classifications.csv``)
        joined to the objects by ID as catalog columns; None (default): the
        ``classifications.csv`` of any folder given, if there is one; False: none. Objects
        without a row get missing values and are counted in the report's notes.
    client : distributed.Client, optional
        Run on this Dask cluster: tasks of ``task_size`` files find the objects and bands,
        then tasks of ``task_size`` objects each stage a segment beside ``out``, committed
        together at the end in one transaction; ids, pixels and catalog are the serial
        ingest's, and a rerun after an interruption skips the tasks already staged (see
        :mod:`workbench.io._stamp_tasks`). Default: this process, no staging.

    Returns
    -------
    StampsReport

    Raises
    ------
    InputError
        Unknown band name; a missing band (names the object and band); bands of different
        shapes; WCS that disagree between bands; an all-NaN band.
    FITSError
        An unreadable file.
    """
    if errors not in ("raise", "skip"):
        raise ValueError("errors must be 'raise' or 'skip'")
    if size is not None:
        size = check_stamp_shape(size, "size")
    want = sort_bands(bands) if bands else None
    files, folders = stamp_inputs(paths)
    if not files:
        raise InputError(f"no FITS files found in {[str(p) for p in paths]}",
                         hint=f"give files or folders holding {', '.join(FITS_SUFFIXES)}")
    report = StampsReport(path=str(out))
    table = labels_table(labels, folders, report)
    if client is not None:
        from workbench.io._stamp_tasks import ingest_stamps_tasks

        ingest_stamps_tasks(files, out, want=want, size=size, resample=resample,
                            product=product, kind=kind, errors=errors, overwrite=overwrite,
                            progress=progress, client=client, task_size=task_size,
                            report=report, table=table)
        return report
    bar, close_bar = progress_bar(progress, len(files), unit="file", desc="stamps")
    try:
        objects = _read_all(files, errors, report, bar)
    finally:
        close_bar()
    if want is None:
        found = {b for planes in objects.values() for b in planes}
        want = sort_bands(found) if found else []
    report.bands = list(want)

    good = []
    for obj, planes in objects.items():
        got = _prepare_object(obj, planes, want, size, resample, errors, report)
        if got is not None:
            good.append((obj, *got))
    if not good:
        raise BatchError(f"none of the {len(objects)} object(s) in {len(files)} file(s) could "
                         "be ingested", report.skipped, path=out)

    from workbench.io.collection import Collection, ProductSpec

    shape = tuple(size) if size else good[0][1][want[0]].data.shape
    report.shape = shape
    joined = join_labels(table, [g[0] for g in good], report)
    unit = str(card_value(good[0][1][want[0]].header, "BUNIT", ""))
    with new_folder(out, inputs=files):
        coll = Collection.create(out, {product: ProductSpec(tuple(want), shape, unit, "sky")},
                                 overwrite=overwrite,
                                 description=f"multi-band stamps ({','.join(want)})")
        with coll.appender() as app:
            buf = BatchBuffer(app, kind=kind, size=rows_per_batch(
                batch_size, 4 * len(want) * shape[0] * shape[1]))
            for obj, planes, sky in good:
                row, images, axes = _object_item(obj, planes, sky, want, shape, product, report)
                buf.add({**row, **(joined.get(obj, {}) if joined else {})}, images, axes)
            buf.flush()
    report.n_items = app.n_added
    return report
