"""Write a transient Collection as ``your``/FETCH candidate files (one ``.h5`` per item).

``workbench export fetch-h5 COLLECTION -o DIR [--query Q]``. Each item with ``dm_time``
and ``freq_time`` images (256 x 256: FETCH's models take nothing else) becomes
``DIR/<cand_id>.h5`` with ``cand_id`` as ``your`` makes it
(``cand_tstart_<MJD>_tcand_<s>_dm_<DM>_snr_<S/N>``; ``_2``, ``_3`` added where two items
would share a name). The layout and attributes are those of :mod:`workbench.io.fetch_h5`;
``label`` is the catalog's ``label`` column where it holds 0 or 1, else -1 (unknown).
The header attributes come from what filterbank ingest keeps per item (``tsamp``,
``tstart_mjd``, ``fch1``, ``foff``, ``nchans`` in the axes); for an older Collection without
them they are derived from the image axes (``nchans`` = image rows) and ``tstart`` is NaN.

The folder is built beside ``DIR`` and put in place when complete; ``overwrite`` replaces
only a folder holding nothing but ``.h5`` files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.errors import CollectionError, InputError
from workbench.io import _replace
from workbench.io.fetch_h5 import FETCH_SIDE, write_fetch_h5, your_cand_id
from workbench.io.ingest_fits import IngestReport
from workbench.io.progress import progress_bar

__all__ = ["export_fetch_h5", "item_attrs"]

_SET = {"id", "kind", "time_s", "dm", "snr", "width_s", "label", "ra", "dec", "source_file",
        "source_hdu", "pixscale_arcsec"}


def _only_h5(p: Path) -> bool:
    return p.is_dir() and all(f.is_file() and f.suffix == ".h5" for f in p.iterdir())


def _plain(v):
    if isinstance(v, (np.generic,)):
        v = v.item()
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v if isinstance(v, (str, int, float, bool)) else str(v)


def _start_step(values) -> tuple[float, float]:
    v = np.asarray(values, np.float64)
    return float(v[0]), float((v[-1] - v[0]) / (len(v) - 1)) if len(v) > 1 else 0.0


def item_attrs(item) -> dict:
    """The ``your``/FETCH attributes of one transient item (see the module docstring)."""
    meta, ax_dm, ax_ft = item.meta, item.axes.get("dm_time", {}), item.axes.get("freq_time", {})
    dm, t = float(meta.get("dm", math.nan)), float(meta.get("time_s", math.nan))
    snr = float(meta.get("snr", math.nan)) if _plain(meta.get("snr")) is not None else math.nan
    tx, dmx = _start_step(ax_dm["time"]), _start_step(ax_dm["dm"])
    fx = _start_step(ax_ft["freq"]) if "freq" in ax_ft else (0.0, 1.0)
    dec = int(ax_dm.get("decimation", 1) or 1)
    tsamp = float(ax_dm.get("tsamp", tx[1] / dec))
    tstart = float(ax_dm.get("tstart_mjd", math.nan))
    fch1, foff = float(ax_dm.get("fch1", math.nan)), float(ax_dm.get("foff", math.nan))
    nchans = int(ax_dm.get("nchans", -1))
    n_freq = len(ax_ft.get("freq", [])) or FETCH_SIDE
    if not (math.isfinite(fch1) and math.isfinite(foff) and foff != 0 and nchans > 0):
        fch1, foff, nchans = fx[0] + fx[1] * (n_freq - 1), -fx[1], n_freq
    elif foff > 0:  # written highest first: describe the same channels from the top
        fch1, foff = fch1 + foff * (nchans - 1), -foff
    w = float(meta.get("width_s", math.nan))
    width = int(round(w / tsamp)) if math.isfinite(w) and w > 0 else max(1, 2 * dec)
    lab = _plain(meta.get("label"))
    label = int(lab) if isinstance(lab, (int, float, bool)) and lab in (0, 1) else -1
    files = _plain(meta.get("filelist")) or _plain(meta.get("source_file")) or ""
    files = [s.strip() for s in str(files).split(";") if s.strip()] or [""]
    ra, dec_deg = _plain(meta.get("ra")), _plain(meta.get("dec"))
    extra = {k: _plain(meta[k]) for k in meta.index if k not in _SET}
    return {
        "cand_id": your_cand_id(tstart, t, dm, snr), "tcand": t, "dm": dm, "dm_opt": -1,
        "snr": snr, "snr_opt": -1, "width": width, "label": label,
        "rfi_mask": np.array([False]), "kill_mask": np.array([False]),
        "filelist": np.array(files, dtype=object), "filename": files[0],
        "basename": Path(files[0]).stem, "source_name": str(meta.get("source_name", "")),
        "ra_deg": float(ra) if ra is not None else math.nan,
        "dec_deg": float(dec_deg) if dec_deg is not None else math.nan,
        "fch1": fch1, "foff": foff, "nchans": nchans, "native_foff": foff,
        "native_nchans": nchans, "bw": foff * nchans, "center_freq": fch1 + foff * nchans / 2,
        "tsamp": tsamp, "native_tsamp": tsamp, "tstart": tstart, "nbits": 32,
        "npol": 1, "time_decimation_factor": 1, "frequency_decimation_factor": 1,
        "dtype": "float32",
        "wb_id": str(item.id), "wb_dm_axis": np.array(dmx), "wb_time_axis": np.array(tx),
        "wb_freq_axis": np.array(fx), "wb_catalog": json.dumps(extra, allow_nan=True),
    }


def export_fetch_h5(coll, out, *, query: str | None = None, overwrite: bool = False,
                    compression: str = "gzip", progress: bool | Callable = False
                    ) -> IngestReport:
    """Write the items of ``coll`` (a Collection or its folder; ``query`` selects) as
    FETCH candidate files in the new folder ``out``; returns a report with ``n_items``."""
    from workbench.io.collection import Collection

    coll = coll if isinstance(coll, Collection) else Collection(coll)
    missing = [p for p in ("dm_time", "freq_time") if p not in coll.products]
    if missing:
        raise CollectionError(f"has no {missing} image product(s); FETCH files need dm_time "
                              "and freq_time (a transient Collection)", path=coll.path)
    for p in ("dm_time", "freq_time"):
        shape = tuple(coll.products[p].shape)
        if shape != (FETCH_SIDE, FETCH_SIDE):
            raise CollectionError(f"its {p} images are {shape[0]} x {shape[1]}; FETCH takes "
                                  f"{FETCH_SIDE} x {FETCH_SIDE}", path=coll.path,
                                  hint="ingest the candidates again with --size 256")
    view = coll.select(query) if query else coll
    if len(view) == 0:
        raise InputError("no item to export" + (f" (query {query!r} matches none)"
                                                 if query else ""), path=coll.path)
    report = IngestReport(path=str(out), shape=(FETCH_SIDE, FETCH_SIDE))
    try:
        build = _replace.Build(Path(out), replace=overwrite, replaceable=_only_h5,
                               what="folder of .h5 files")
    except OSError as exc:
        raise InputError(f"cannot write here ({exc.strerror or exc})", path=out) from exc
    bar, close_bar = progress_bar(progress, len(view), unit="cand", desc="fetch-h5")
    names: set[str] = set()
    try:
        for item in view:
            attrs = item_attrs(item)
            name, k = attrs["cand_id"], 2
            while name in names:
                name, k = f"{attrs['cand_id']}_{k}", k + 1
            names.add(name)
            write_fetch_h5(build.path / f"{name}.h5", item.images["dm_time"],
                           item.images["freq_time"], attrs, compression=compression)
            if not math.isfinite(attrs["tstart"]):
                note = "no tstart known (an older Collection): written as NaN"
                report.notes[note] = report.notes.get(note, 0) + 1
            report.n_items += 1
            bar(1)
    except BaseException:
        build.discard()
        raise
    finally:
        close_bar()
    build.install()
    return report
