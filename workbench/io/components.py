"""Compute radio components once and store them with the Collection.

:func:`compute_components` runs :func:`workbench.imaging.islands.find_components` on every
item and stores

* the label maps as the derived array ``"components"``: int32, shape ``(n, ny, nx)``,
  0 outside components, component ids 1..k (brightest first); read it with
  ``coll.derived_array("components")`` (float there, since missing rows are NaN) or
  :func:`component_map`;
* derived columns ``n_components`` and ``noise_sigma`` (set name ``"components_meta"``).

An annotation that names component ids (the ``rgz`` scheme) refers to these maps, so
the ids mean the same thing to every annotator and to consensus.
"""

from __future__ import annotations

import numpy as np

from workbench.core.errors import CollectionError
from workbench.core.provenance import made_by

__all__ = ["compute_components", "component_map", "component_table", "ARRAY_NAME",
           "COLUMNS_NAME"]

ARRAY_NAME = "components"
COLUMNS_NAME = "components_meta"


def compute_components(coll, product: str = "radio", *, channel: int = 0, levels=None,
                       nsigma: float = 3.0, min_npix: int = 1, batch_size: int = 256,
                       overwrite: bool = True) -> dict:
    """Find and store the components of every item of ``coll``.

    Parameters
    ----------
    coll : Collection
        Opened read-write (``workbench.open(path, mode="r+")``).
    product : str
        The image product holding the radio map.
    channel : int
        Which channel of a multi-channel product.
    levels, nsigma, min_npix
        Passed to :func:`~workbench.imaging.islands.find_components` (fixed ``levels`` in
        image units apply to every item; by default each item's own noise sets them).
    overwrite : bool
        If False and components are stored already, do nothing.

    Returns
    -------
    dict
        ``{"n_items": n, "n_components": total, "made_by": record}``.
    """
    from workbench.imaging.islands import find_components

    if product not in coll.products:
        raise CollectionError(f"no image product {product!r}; this Collection has "
                              f"{sorted(coll.products)}", path=coll.path)
    if not overwrite and ARRAY_NAME in coll.derived:
        cat = coll.catalog
        return {"n_items": len(coll), "n_components": int(cat["n_components"].sum()),
                "made_by": coll.derived[ARRAY_NAME]["made_by"]}
    ny, nx = coll.products[product].shape
    maps = np.zeros((len(coll), ny, nx), dtype=np.int32)
    ncomp = np.zeros(len(coll), dtype=np.int64)
    sig = np.full(len(coll), np.nan)
    start = 0
    for batch in coll.batches(batch_size, products=[product]):
        imgs = batch.images[product][:, channel]
        for k in range(len(batch)):
            lab, tab = find_components(imgs[k], levels=levels, nsigma=nsigma, min_npix=min_npix)
            maps[start + k] = lab
            ncomp[start + k] = len(tab)
            sig[start + k] = np.nan if tab.attrs.get("sigma") is None else tab.attrs["sigma"]
        start += len(batch)
    record = made_by("workbench.imaging.islands.find_components", product=product,
                     channel=channel, levels=None if levels is None else list(levels),
                     nsigma=nsigma, min_npix=min_npix)
    coll.add_array(ARRAY_NAME, maps, made=record)
    coll.add_columns(COLUMNS_NAME, {"n_components": ncomp, "noise_sigma": sig}, made=record)
    return {"n_items": len(coll), "n_components": int(ncomp.sum()), "made_by": record}


def component_map(coll, item) -> np.ndarray:
    """The stored component label map of one item (int32, shape (ny, nx))."""
    view = coll.select(ids=[item if isinstance(item, str) else coll.ids[int(item)]])
    try:
        arr = view.derived_array(ARRAY_NAME)[0]
    except KeyError as exc:
        raise CollectionError("no components stored", path=coll.path,
                              hint="run `workbench components COLLECTION` first") from exc
    return np.nan_to_num(arr, nan=0).astype(np.int32)


def component_table(coll, item, product: str = "radio", *, channel: int = 0, labels=None):
    """Per stored component of one item: id, npix, peak, x_peak, y_peak, flux (DataFrame).

    ``labels``: the item's stored label map when the caller has it already (many items
    read at once); by default it is read with :func:`component_map`.
    """
    import pandas as pd
    from scipy import ndimage

    lab = component_map(coll, item) if labels is None else \
        np.nan_to_num(np.asarray(labels), nan=0).astype(np.int32)
    img = np.asarray(coll[item].images[product], dtype=np.float64)
    img = img if img.ndim == 2 else img[channel]
    idx = np.arange(1, int(lab.max()) + 1)
    safe = np.where(lab > 0, np.nan_to_num(img, nan=0.0), 0.0)
    pos = ndimage.maximum_position(safe, lab, idx) if len(idx) else []
    return pd.DataFrame({
        "id": idx.astype(np.int64),
        "npix": ndimage.sum_labels(lab > 0, lab, idx).astype(np.int64),
        "peak": np.asarray(ndimage.maximum(safe, lab, idx), dtype=np.float64),
        "x_peak": np.array([p[1] for p in pos], dtype=np.int64),
        "y_peak": np.array([p[0] for p in pos], dtype=np.int64),
        "flux": np.asarray(ndimage.sum_labels(safe, lab, idx), dtype=np.float64),
    })
