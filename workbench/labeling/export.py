"""Export labels: consensus and raw annotations as tables, RGZ source lists as DS9 regions.

Tables carry each item's sky position (``ra``, ``dec`` in ICRS degrees, from the
Collection catalog; NaN where unknown) and are written by file suffix:

=================  ==========================================
``.parquet``       Parquet (pyarrow), types kept
``.csv``           CSV
``.fits``          FITS binary table (astropy)
``.vot``/``.xml``  VOTable (astropy)
``.ecsv``          astropy ECSV
``.reg``           DS9 region file (RGZ-style source lists)
=================  ==========================================

For FITS, VOTable and CSV, lists and dicts (answers, source details) are JSON strings and
missing strings are empty. For RGZ consensus, host pixel positions are converted to
``host_ra``/``host_dec`` with the item's WCS (or, lacking one, a tangent-plane
approximation from the catalog ``ra``, ``dec`` and ``pixscale_arcsec``, north up, east left).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.errors import OutputError
from workbench.io._atomic import replacing
from workbench.labeling.consensus import campaign_consensus

__all__ = ["annotations_table", "consensus_table", "write_table", "write_ds9_regions",
           "export_labels", "to_astropy", "TABLE_SUFFIXES"]

TABLE_SUFFIXES = (".parquet", ".csv", ".fits", ".vot", ".xml", ".ecsv")


def _positions(collection, item_ids) -> pd.DataFrame:
    ids = pd.Series([str(i) for i in item_ids], dtype="string")
    out = pd.DataFrame({"item_id": ids, "ra": np.nan, "dec": np.nan})
    if collection is None or len(ids) == 0:
        return out
    cat = collection.catalog[["id", "ra", "dec"]].copy()
    cat["id"] = cat["id"].astype(str)
    cat = cat.drop_duplicates("id").set_index("id")
    pos = cat.reindex(ids.astype(str).to_numpy())
    out["ra"] = pos["ra"].to_numpy(dtype=np.float64)
    out["dec"] = pos["dec"].to_numpy(dtype=np.float64)
    return out


def annotations_table(store, *, campaign: str | None = None, collection=None,
                      include_retracted: bool = True) -> pd.DataFrame:
    """Raw annotation records with the items' ``ra``/``dec`` (retracted ones flagged)."""
    df = store.annotations(campaign=campaign, include_retracted=include_retracted)
    pos = _positions(collection, df["item_id"])
    df.insert(2, "ra", pos["ra"].to_numpy())
    df.insert(3, "dec", pos["dec"].to_numpy())
    return df


def _item_reader(collection):
    """``get(item_id)`` -> the Collection's Item (None if absent), each read once."""
    cache: dict = {}

    def get(item_id):
        key = str(item_id)
        if key not in cache:
            try:
                cache[key] = None if collection is None else collection[key]
            except KeyError:
                cache[key] = None
        return cache[key]

    return get


def _pixel_to_sky(item, x, y):
    """Pixel (x=column, y=row) of an item's radio map -> (ra, dec) deg."""
    if item is None or not np.isfinite(x):
        return np.nan, np.nan
    for ax in item.axes.values():
        wcs = ax.get("wcs") if isinstance(ax, dict) else None
        if wcs is not None:
            ra, dec = wcs.pixel_to_world_values(x, y)
            return float(ra), float(dec)
    meta = item.meta
    ra0, dec0, pix = (float(meta.get(k, np.nan)) for k in ("ra", "dec", "pixscale_arcsec"))
    img = next(iter(item.images.values()))
    ny, nx = img.shape[-2:]
    if not np.isfinite([ra0, dec0, pix]).all():
        return np.nan, np.nan
    dec = dec0 + (y - (ny - 1) / 2) * pix / 3600
    ra = ra0 - (x - (nx - 1) / 2) * pix / 3600 / np.cos(np.radians(dec0))
    return float(ra % 360), float(dec)


def consensus_table(campaign, *, collection=None, method: str | None = None,
                    **kwargs) -> pd.DataFrame:
    """The campaign's consensus with ``ra``/``dec`` per item (and ``host_ra``/``host_dec``
    for RGZ). Only items with at least one live annotation have rows."""
    df = campaign_consensus(campaign, method, **kwargs)
    attrs = dict(df.attrs)
    pos = _positions(collection, df["item_id"])
    df.insert(1, "ra", pos["ra"].to_numpy())
    df.insert(2, "dec", pos["dec"].to_numpy())
    if "host_x" in df.columns:
        get = _item_reader(collection)
        sky = [_pixel_to_sky(get(i), x, y)
               for i, x, y in zip(df["item_id"], df["host_x"], df["host_y"])]
        df["host_ra"] = np.array([s[0] for s in sky], dtype=np.float64)
        df["host_dec"] = np.array([s[1] for s in sky], dtype=np.float64)
    df.attrs.update(attrs)
    return df


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """Lists/dicts -> JSON text, times -> ISO text, missing strings -> '' (FITS/VOT/CSV)."""
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        col = df[c]
        if col.dtype == object:
            out[c] = [("" if v is None or (isinstance(v, float) and np.isnan(v)) else
                       v if isinstance(v, str) else json.dumps(v, default=str)) for v in col]
        elif isinstance(col.dtype, pd.DatetimeTZDtype) or str(col.dtype).startswith("datetime"):
            out[c] = [("" if pd.isna(v) else v.isoformat()) for v in col]
        elif isinstance(col.dtype, pd.StringDtype):
            out[c] = col.fillna("").astype(str).astype(object)
        elif str(col.dtype) in ("Int64", "Int32"):
            out[c] = col.fillna(-1).astype(np.int64)
        elif str(col.dtype) == "boolean":
            out[c] = col.fillna(False).astype(bool)
        else:
            out[c] = col
    return out


def to_astropy(df: pd.DataFrame):
    """An astropy Table of the (flattened) DataFrame, ``ra``/``dec`` in degrees."""
    import astropy.units as u
    from astropy.table import Table

    flat = _flat(df)
    t = Table()
    for c in flat.columns:
        vals = flat[c].to_numpy()
        if vals.dtype == object:
            vals = np.array([str(v) for v in vals], dtype=str) if len(vals) else \
                np.array([], dtype="U1")
        t[c] = vals
    for c in ("ra", "dec", "host_ra", "host_dec"):
        if c in t.colnames:
            t[c].unit = u.deg
    for k, v in df.attrs.items():
        try:
            t.meta[k] = json.dumps(v, default=str)
        except TypeError:
            pass
    return t


def write_table(df: pd.DataFrame, path) -> Path:
    """Write ``df`` by suffix (see the module docstring); returns the path."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise OutputError(f"unknown table format {suffix!r}; use one of {TABLE_SUFFIXES} "
                          f"(or .reg for DS9 regions)", path=path)
    with replacing(path) as tmp:
        if suffix == ".parquet":
            out = df.copy()
            for c in out.columns:
                if out[c].dtype == object:
                    out[c] = [None if v is None else json.dumps(v, default=str)
                              if not isinstance(v, str) else v for v in out[c]]
                    out[c] = out[c].astype("string")
            out.attrs = {}
            out.to_parquet(tmp, index=False)
        elif suffix == ".csv":
            _flat(df).to_csv(tmp, index=False)
        else:
            fmt = {".fits": "fits", ".vot": "votable", ".xml": "votable",
                   ".ecsv": "ascii.ecsv"}[suffix]
            to_astropy(df).write(tmp, format=fmt, overwrite=True)
    return path


def write_ds9_regions(consensus: pd.DataFrame, path, *, collection=None,
                      components=None) -> Path:
    """RGZ-style source list as a DS9 region file.

    Per consensus source: a ``point`` (x shape) at the host (fk5 when ``host_ra`` is known,
    else image pixels) with a text tag ``item_id source k: components c (level)``; sources
    without a host get a circle at the item centre. ``components``, if given, maps
    item_id -> component table (:func:`workbench.io.components.component_table`) and adds a
    small circle at each component's peak.
    """
    path = Path(path)
    lines = ["# Region file format: DS9 version 4.1",
             "# workbench RGZ consensus: host (x point) and components (circles) per source",
             'global color=green width=1 font="helvetica 10 normal"']
    has_sky = "host_ra" in consensus.columns
    get = _item_reader(collection)
    for r in consensus.itertuples(index=False):
        if getattr(r, "no_contours", False):
            continue
        tag = f"{r.item_id} source {r.source}: components {r.components} " \
              f"({r.consensus_level:.2f})"
        if has_sky and np.isfinite(r.host_ra):
            lines.append(f"fk5;point({r.host_ra:.7f},{r.host_dec:.7f}) # point=x "
                         f"text={{{tag}}}")
        elif np.isfinite(r.host_x):
            lines.append(f"image;point({r.host_x + 1:.2f},{r.host_y + 1:.2f}) # point=x "
                         f"text={{{tag}}}")
        elif np.isfinite(getattr(r, "ra", np.nan)):
            lines.append(f"fk5;circle({r.ra:.7f},{r.dec:.7f},5\") # color=yellow "
                         f"text={{{tag} no host}}")
        if components is not None and r.item_id in components:
            tab = components[r.item_id]
            want = {int(c) for c in str(r.components).split(",") if c}
            for c in tab.itertuples():
                if int(c.id) not in want:
                    continue
                ra, dec = _pixel_to_sky(get(r.item_id), float(c.x_peak), float(c.y_peak))
                if np.isfinite(ra):
                    lines.append(f"fk5;circle({ra:.7f},{dec:.7f},3\") # color=cyan "
                                 f"text={{{c.id}}}")
                else:
                    lines.append(f"image;circle({c.x_peak + 1},{c.y_peak + 1},2) # color=cyan "
                                 f"text={{{c.id}}}")
    with replacing(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return path


def export_labels(store, campaign: str, path, *, collection=None, raw: bool = False,
                  method: str | None = None, format: str = "table",  # noqa: A002
                  segmentation: str = "rle", overwrite: bool = False, **kwargs) -> dict:
    """Export a campaign's consensus (or ``raw`` annotations) to ``path`` by suffix.

    Returns a JSON-safe summary: ``{"path", "rows", "columns", "kind"}``. A ``.reg`` file
    needs an RGZ-style (components) scheme. ``format="coco"`` (a ``.json`` file, with
    ``segmentation`` ``"rle"`` or ``"polygon"``) and ``format="caesar"`` (a new folder;
    ``overwrite`` replaces an earlier one) write instance masks of the consensus sources
    instead (see :mod:`workbench.labeling.masks`); both need the Collection with its
    component maps.
    """
    path = Path(path)
    camp = store.campaign(campaign)
    if format not in ("table", "coco", "caesar"):
        raise OutputError(f"unknown export format {format!r}; use table, coco or caesar",
                          path=path)
    if format != "table":
        from workbench.labeling import masks

        if raw:
            raise OutputError("raw annotations have no masks; leave out --raw", path=path)
        if collection is None:
            raise OutputError("mask export needs the Collection (its component maps)",
                              path=path)
        if format == "coco":
            out = masks.write_coco(camp, collection, path, segmentation=segmentation,
                                   method=method)
        else:
            out = masks.write_caesar(camp, collection, path, method=method,
                                     overwrite=overwrite)
        out["columns"] = []
        return out
    if path.suffix.lower() == ".reg":
        if raw:
            raise OutputError("raw annotations cannot be written as DS9 regions; use a table "
                              "format", path=path)
        df = consensus_table(camp, collection=collection, method="rgz", **kwargs)
        comps = None
        if collection is not None and "components" in collection.derived:
            from workbench.io.components import component_table

            view = collection.select(ids=list(pd.unique(df["item_id"])))
            maps = view.derived_array("components")  # one read for all items, view order
            comps = {i: component_table(collection, i, labels=m)
                     for i, m in zip(map(str, view.ids), maps)}
        write_ds9_regions(df, path, collection=collection, components=comps)
        kind = "regions"
    elif raw:
        df = annotations_table(store, campaign=campaign, collection=collection)
        write_table(df, path)
        kind = "annotations"
    else:
        df = consensus_table(camp, collection=collection, method=method, **kwargs)
        write_table(df, path)
        kind = "consensus"
    return {"path": str(path), "rows": int(len(df)), "columns": list(map(str, df.columns)),
            "kind": kind}

