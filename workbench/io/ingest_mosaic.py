"""Cut stamps out of a large FITS mosaic around catalogue positions, into a Collection.

The mosaic is memory-mapped (``astropy.io.fits.open(memmap=True)``, raw data, scaling applied
per stamp), so a 20k x 20k map never sits whole in RAM; stamps are cut with astropy's
:class:`~astropy.nddata.Cutout2D` (``mode="partial"``, NaN fill). Sources whose stamp runs
over the mosaic's edge are NaN-padded and flagged (column ``edge``); sources whose position
is outside the mosaic are reported (``errors="raise"``: a :class:`CatalogError` naming them;
``"skip"``: listed in the report), never silently dropped.

Limits: the mosaic's header sizes are checked against the file before it is mapped, and a
compressed mosaic may decompress to at most 1 GiB (:mod:`workbench.io.fits_open`); stamps
are at most :data:`~workbench.io.fits_open.MAX_STAMP_SIDE` pixels per side.
"""

from __future__ import annotations

import contextlib
import mmap
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.errors import CatalogError, FITSError, InputError, WorkbenchError
from workbench.core.kinds import BASE_COLUMNS, RADIO
from workbench.io import _axes
from workbench.io._atomic import new_folder
from workbench.io.catalogs import ID_COLUMNS, find_radec, read_table, sky_positions
from workbench.io.fits import (
    beam_from_header,
    pick_image_hdu,
    sky_from_header,
    squeeze_to_2d,
)
from workbench.io.fits_open import (
    MAX_STAMP_SIDE,
    card_value,
    check_stamp_shape,
    open_fits_file,
    rows_per_batch,
    short_reason,
)
from workbench.io.progress import progress_bar

__all__ = ["MosaicImage", "MosaicIngestReport", "open_mosaic", "ingest_mosaic", "is_memmapped"]

_ID_COLUMNS = ID_COLUMNS  # PyBDSF/LoTSS, RGZ, Selavy and generic names (io.catalogs)


@dataclass
class MosaicIngestReport:
    """What a mosaic ingest did.

    Attributes
    ----------
    n_items : int
        Stamps written.
    n_edge : int
        Of those, stamps that run over the mosaic's edge (NaN-padded; column ``edge``).
    outside : list of dict
        Catalogue rows whose position lies outside the mosaic: ``{"row", "id", "ra", "dec"}``.
    invalid : list of dict
        Catalogue rows without a finite RA/Dec (or with ``|dec| > 90``): ``{"row", "id"}``.
    skipped : list of dict
        With ``errors="skip"``, rows whose stamp could not be cut:
        ``{"row", "id", "reason"}``.
    shape : (ny, nx)
        Stamp shape in pixels.
    """

    path: str
    image: str
    catalog: str
    n_items: int = 0
    n_edge: int = 0
    outside: list = field(default_factory=list)
    invalid: list = field(default_factory=list)
    shape: tuple | None = None
    pixscale_arcsec: float = float("nan")
    mosaic_shape: tuple | None = None
    notes: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {"path": self.path, "image": self.image, "catalog": self.catalog,
                "n_items": self.n_items, "n_edge": self.n_edge, "outside": self.outside,
                "invalid": self.invalid, "skipped": self.skipped, "shape": list(self.shape) if self.shape else None,
                "pixscale_arcsec": self.pixscale_arcsec,
                "mosaic_shape": list(self.mosaic_shape) if self.mosaic_shape else None,
                "notes": self.notes}


@dataclass
class MosaicImage:
    """A memory-mapped 2-D view of a FITS mosaic (see :func:`open_mosaic`).

    ``data`` is the raw (unscaled) 2-D array, memory-mapped where the HDU allows it;
    :meth:`physical` turns a block of it into float32 physical values with blanks as NaN.
    """

    data: np.ndarray
    header: object
    wcs: object
    pixscale_arcsec: float
    hdu: int
    path: str
    bscale: float = 1.0
    bzero: float = 0.0
    blank: int | None = None
    bunit: str = ""
    notes: list = field(default_factory=list)
    _hdul: object = None

    def physical(self, block: np.ndarray) -> np.ndarray:
        out = np.asarray(block, dtype=np.float32)
        if self.blank is not None and block.dtype.kind in "iu":
            out = np.where(block == self.blank, np.float32(np.nan), out)
        if self.bscale != 1.0 or self.bzero != 0.0:
            out = out * np.float32(self.bscale) + np.float32(self.bzero)
        return out

    def close(self) -> None:
        if self._hdul is not None:
            self._hdul.close()
            self._hdul = None


def is_memmapped(arr: np.ndarray) -> bool:
    """True if ``arr`` is (a view of) a memory-mapped file."""
    a = arr
    while a is not None:
        if isinstance(a, (np.memmap, mmap.mmap)):
            return True
        a = getattr(a, "base", None)
    return False


@contextlib.contextmanager
def open_mosaic(path, *, hdu=None, channel: int | None = None):
    """Open a FITS mosaic memory-mapped; yields a :class:`MosaicImage`.

    Degenerate FREQ/STOKES axes are dropped; a cube with a real third axis needs
    ``channel``. Raises :class:`FITSError` for unreadable files, a header claiming more
    data than the file holds (checked before the file is mapped), unusable BSCALE/BZERO,
    no image HDU or no celestial WCS.
    """
    from astropy.io import fits

    ff = open_fits_file(path, memmap=True, scale=False)
    path = ff.path
    try:
        with ff.reading():  # any failure of astropy's is a FITSError naming the file
            idx, h = pick_image_hdu(ff.hdul, path, hdu)
            header = h.header
            notes = []
            if isinstance(h, fits.CompImageHDU):
                notes.append("tile-compressed HDU: decompressed whole in memory (funpack it "
                             "to memory-map it)")
                warnings.warn(f"{path}: tile-compressed mosaic is decompressed whole in "
                              "memory; funpack it first to memory-map it", stacklevel=3)
            raw = ff.read_data(idx)
            if raw is None or raw.ndim < 2 or 0 in raw.shape:
                raise FITSError(f"HDU {idx} holds no 2-D image", path=path)
            data = squeeze_to_2d(raw, header, path, channel)
            wcs, _, _, scale = sky_from_header(header, data.shape, notes, path)
            if wcs is None:
                raise FITSError("has no usable celestial WCS: catalogue positions cannot be "
                                "placed", path=path,
                                hint=f"check CTYPE/CRVAL/CDELT ({'; '.join(notes)})")
            blank = card_value(header, "BLANK") if data.dtype.kind in "iu" else None
            if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)):
                blank = None  # BLANK must be a whole number; anything else is ignored
            img = MosaicImage(data=data, header=header, wcs=wcs, pixscale_arcsec=scale,
                              hdu=idx, path=str(path),
                              bscale=float(card_value(header, "BSCALE", 1.0)),
                              bzero=float(card_value(header, "BZERO", 0.0)),
                              blank=None if blank is None else int(blank),
                              bunit=str(card_value(header, "BUNIT", "")), notes=notes,
                              _hdul=ff.hdul)
        yield img
    finally:
        ff.close()




def _cut(Cutout2D, mos: MosaicImage, x: float, y: float, n: int, fill):
    """``(stamp, axes, edge)``: the n x n float32 stamp centred on pixel (x, y) of the
    memory-mapped mosaic (NaN beyond its edge), its sky axes, and whether it ran over."""
    cut = Cutout2D(mos.data, (x, y), (n, n), wcs=mos.wcs, mode="partial", fill_value=fill,
                   copy=False)
    stamp = np.full((n, n), np.nan, np.float32)
    stamp[cut.slices_cutout] = mos.physical(mos.data[cut.slices_original])
    edge = cut.data.shape != (n, n) or any((s.stop - s.start) != n for s in cut.slices_cutout)
    return stamp, _axes.sky(cut.wcs), bool(edge)


def _cut_rows(Cutout2D, mos: MosaicImage, image, rows_i, x, y, ra, dec, ids, n: int, fill,
              carry: dict, beam, errors: str):
    """Cut the stamps of catalogue rows ``rows_i``: ``(catalog rows, stamps, axes, skipped,
    n_edge)``. ``carry``: item column name -> the catalogue's column (indexed by row)."""
    stamps, axes, rows, skipped = [], [], [], []
    n_edge = 0
    for i in rows_i:
        try:
            stamp, ax, edge = _cut(Cutout2D, mos, x[i], y[i], n, fill)
        except Exception as exc:  # one row's failure is that row's
            reason = exc.reason if isinstance(exc, WorkbenchError) else short_reason(exc)
            if errors == "raise":
                raise InputError(f"catalogue row {i} ({ids[i]}): cannot cut a stamp "
                                 f"({reason})", path=image) from exc
            skipped.append({"row": int(i), "id": str(ids[i]), "reason": reason})
            continue
        row = {"id": str(ids[i]), "ra": float(ra[i]), "dec": float(dec[i]),
               "pixscale_arcsec": mos.pixscale_arcsec,
               "source_file": str(image), "source_hdu": mos.hdu,
               "catalog_row": int(i), "x_mosaic": float(x[i]),
               "y_mosaic": float(y[i]), "edge": bool(edge),
               "nan_fraction": float(np.isnan(stamp).mean()),
               "bmaj": beam[0], "bmin": beam[1], "bpa": beam[2]}
        for name, col in carry.items():
            if name not in row:
                row[name] = col[i]
        rows.append(row)
        stamps.append(stamp)
        axes.append(ax)
        n_edge += int(edge)
    return rows, stamps, axes, skipped, n_edge


def _id_column(df: pd.DataFrame) -> str | None:
    lower = {c.lower(): c for c in df.columns}
    for name in _ID_COLUMNS:
        c = lower.get(name)
        if c is not None and df[c].notna().all() and not df[c].astype(str).duplicated().any():
            return c
    return None


def _describe(rows: list, limit: int = 10) -> str:
    shown = ", ".join(f"row {r['row']} ({r['id']})" for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def ingest_mosaic(image, out, *, catalog, size_arcsec: float, product: str = "radio",
                  kind: str = RADIO, hdu=None, channel: int | None = None,
                  errors: str = "raise", batch_size: int = 256, overwrite: bool = False,
                  progress: bool | Callable = False, client=None,
                  task_size: int = 1024) -> MosaicIngestReport:
    """Cut a stamp around every catalogue position of a FITS mosaic into a new Collection.

    Parameters
    ----------
    image : path-like
        The mosaic (2-D, or a cube with length-1 FREQ/STOKES axes), with a celestial WCS.
    out : path-like
        Collection folder to create.
    catalog : path-like or DataFrame
        CSV, FITS table, VOTable or Parquet with RA/Dec (degrees or sexagesimal); its columns
        are carried over to the items. An ``id``/``name`` column with unique values names the
        items (else ``<image stem>-<row>``).
    size_arcsec : float
        Side of the square stamps in arcsec (rounded to whole pixels of the mosaic; at most
        :data:`~workbench.io.fits_open.MAX_STAMP_SIDE` pixels).
    product, kind : str
        Image product name and item kind.
    hdu, channel
        Which HDU, and which plane of a cube with a real third axis.
    errors : {"raise", "skip"}
        Catalogue rows outside the mosaic (or without a position): raise a
        :class:`CatalogError` naming them before anything is written, or leave them out and
        list them in the report. A row whose stamp cannot be cut (any failure) stops the
        ingest with an :class:`InputError` naming the row (nothing is written), or is left
        out and listed in ``report.skipped`` with its reason.
    client : distributed.Client, optional
        Cut on this Dask cluster: tasks of ``task_size`` catalogue rows each open the mosaic
        (memory-mapped) on their worker and stage a segment beside ``out``; the segments are
        committed together, in catalogue order, so the Collection equals a serial ingest's
        (see :mod:`workbench.io._mosaic_tasks`). The mosaic must be readable by the workers.

    Returns
    -------
    MosaicIngestReport
        Items get columns ``ra``, ``dec`` (catalogue position), ``pixscale_arcsec``,
        ``source_file``, ``source_hdu``, ``catalog_row``, ``x_mosaic``, ``y_mosaic`` (pixel,
        0-based), ``edge`` (stamp NaN-padded over the mosaic edge), ``nan_fraction``, the
        mosaic's restoring beam ``bmaj``, ``bmin`` (arcsec), ``bpa`` (deg; NaN where the
        header has none; see :func:`~workbench.io.fits.beam_from_header`) and the
        catalogue's own columns; each stamp's sky axes are its Cutout2D WCS.
    """
    from astropy.nddata import Cutout2D

    from workbench.io.collection import Collection, ProductSpec

    if errors not in ("raise", "skip"):
        raise ValueError("errors must be 'raise' or 'skip'")
    try:
        size_ok = bool(np.isfinite(size_arcsec) and size_arcsec > 0)
    except TypeError:
        size_ok = False
    if not size_ok:
        raise InputError(f"stamp size must be a positive number of arcsec (got {size_arcsec!r})")
    cat_path = None if isinstance(catalog, pd.DataFrame) else Path(catalog)
    cat = catalog.reset_index(drop=True) if cat_path is None else read_table(cat_path)  # text decoded there
    ra, dec = sky_positions(cat, cat_path)
    id_col = _id_column(cat)
    stem = Path(image).name.split(".")[0]
    ids = (cat[id_col].astype(str).to_numpy() if id_col is not None
           else np.array([f"{stem}-{i:06d}" for i in range(len(cat))]))
    report = MosaicIngestReport(path=str(out), image=str(image),
                                catalog="<DataFrame>" if cat_path is None else str(cat_path))
    with open_mosaic(image, hdu=hdu, channel=channel) as mos:
        ny, nx = mos.data.shape
        report.mosaic_shape = (ny, nx)
        report.notes = list(mos.notes)
        report.pixscale_arcsec = mos.pixscale_arcsec
        n_px = size_arcsec / mos.pixscale_arcsec
        if not n_px <= MAX_STAMP_SIDE + 0.5:
            raise InputError(f"stamp size {size_arcsec:g} arcsec is {n_px:.0f} px of the mosaic "
                             f"({mos.pixscale_arcsec:.3g} arcsec/px), more than the "
                             f"{MAX_STAMP_SIDE} px per side allowed",
                             hint=f"choose --size <= {MAX_STAMP_SIDE * mos.pixscale_arcsec:.0f}")
        n = max(2, int(round(n_px)))
        report.shape = check_stamp_shape((n, n), "stamp size")
        finite = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)
        x = np.full(len(cat), np.nan)
        y = np.full(len(cat), np.nan)
        if finite.any():
            try:
                x[finite], y[finite] = mos.wcs.all_world2pix(ra[finite], dec[finite], 0,
                                                             quiet=True)
            except Exception as exc:
                raise CatalogError(f"positions cannot be placed on the mosaic {image} "
                                   f"({short_reason(exc)})", path=cat_path) from exc
        inside = finite & (x >= -0.5) & (x < nx - 0.5) & (y >= -0.5) & (y < ny - 0.5)
        report.invalid = [{"row": int(i), "id": str(ids[i])} for i in np.nonzero(~finite)[0]]
        report.outside = [{"row": int(i), "id": str(ids[i]), "ra": float(ra[i]),
                           "dec": float(dec[i])} for i in np.nonzero(finite & ~inside)[0]]
        if errors == "raise" and (report.outside or report.invalid):
            parts = []
            if report.outside:
                parts.append(f"{len(report.outside)} of {len(cat)} positions lie outside the "
                             f"mosaic {image} ({ny}x{nx} px): {_describe(report.outside)}")
            if report.invalid:
                parts.append(f"{len(report.invalid)} rows have no valid RA/Dec (non-finite, "
                             f"or |dec| > 90): {_describe(report.invalid)}")
            raise CatalogError("; ".join(parts), path=cat_path,
                               hint="pass errors='skip' (CLI: --errors skip) to cut the others "
                                    "and list these")
        keep = np.nonzero(inside)[0]
        if len(keep) == 0:
            raise CatalogError(f"no catalogue position lies inside the mosaic {image}",
                               path=cat_path, hint="do the catalogue and the image cover the "
                                                    "same sky?")
        base = set(BASE_COLUMNS)
        carry = {}
        ra_c, dec_c = find_radec(cat, cat_path)
        for c in cat.columns:
            if id_col == "id" and c == "id":
                continue
            if c in ("ra", "dec") and c in (ra_c, dec_c) and cat[c].dtype.kind in "fi":
                continue  # the same numbers as the item's ra/dec
            name = str(c)
            if name in base or name in ("catalog_row", "x_mosaic", "y_mosaic", "edge",
                                        "nan_fraction", "bmaj", "bmin", "bpa"):
                name = f"{name}_catalog"
            carry[c] = name
        spec = ProductSpec((product,), (n, n), mos.bunit, "sky")
        beam = beam_from_header(mos.header)
        fill = np.nan if mos.data.dtype.kind == "f" else 0
        carried = {carry[c]: cat[c] for c in carry}
        if client is not None:
            from workbench.io._mosaic_tasks import ingest_mosaic_tasks

            ingest_mosaic_tasks(image, out, catalog=catalog, cat_path=cat_path, keep=keep,
                                x=x, y=y, ra=ra, dec=dec, ids=ids, n=n, carry=carried,
                                beam=beam, spec=spec, product=product, kind=kind, hdu=hdu,
                                channel=channel, errors=errors, overwrite=overwrite,
                                progress=progress, client=client, task_size=task_size,
                                report=report)
        else:
            bar, close = progress_bar(progress, len(keep), unit="stamp", desc="mosaic")
            try:
                with new_folder(out, inputs=[image, catalog]):
                    coll = Collection.create(out, {product: spec}, overwrite=overwrite,
                                             description=f"stamps of {Path(image).name}")
                    with coll.appender() as app:
                        step = rows_per_batch(batch_size, 4 * n * n)  # bounded bytes per batch
                        for start in range(0, len(keep), step):
                            rows_i = keep[start:start + step]
                            rows, stamps, axes, skipped, n_edge = _cut_rows(
                                Cutout2D, mos, image, rows_i, x, y, ra, dec, ids, n, fill,
                                carried, beam, errors)
                            report.skipped += skipped
                            report.n_edge += n_edge
                            if rows:
                                app.add(pd.DataFrame(rows), {product: np.stack(stamps)},
                                        {product: axes}, kind=kind)
                            bar(len(rows_i))
                        if app.n_added == 0:
                            raise CatalogError(f"no stamp could be cut from the mosaic {image}: "
                                               f"{report.skipped[0]['reason'] if report.skipped else ''}",
                                               path=cat_path)
                    report.n_items = app.n_added
            finally:
                close()
    if report.outside or report.invalid:
        warnings.warn(f"{len(report.outside)} catalogue position(s) outside the mosaic and "
                      f"{len(report.invalid)} without RA/Dec were not cut (see the report)",
                      stacklevel=2)
    return report
