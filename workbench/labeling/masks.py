"""Instance masks out: COCO JSON and caesar-mrcnn training files from a campaign's consensus.

One **object** per consensus source of a components campaign (``rgz``: the components the
winning combination grouped into the source, its host and morphology), or per item of a
campaign whose scheme asks one item-level class question (``caesar-mrcnn``): the union of
the item's stored components, with the consensus class. The masks are the Collection's
component maps (``workbench components`` must have run): a pixel belongs to the object when
its component id is one of the object's.

Coordinates follow the Collection's image arrays: ``x`` = column, ``y`` = row index (row 0
is the array's first row, which our views draw at the **bottom**; flip ``y`` to
``height - y`` to pair with an image written top row first). In COCO's continuous
coordinates pixel ``(row r, column c)`` covers ``[c, c+1] x [r, r+1]``, so a host at pixel
centre ``(x, y)`` is the keypoint ``(x + 0.5, y + 0.5)``.

COCO (:func:`coco_dataset`, :func:`write_coco`)
    ``images`` (one per item with objects; ``file_name`` ``<item>.png``, ``width``,
    ``height``, ``workbench_id``), ``categories`` (the morphology / class answers of the
    scheme, ids from 1; keypoint ``host``), ``annotations`` (``segmentation`` as
    uncompressed RLE ``{"counts", "size": [h, w]}``, column-major runs starting with
    background, or polygons ``[[x0, y0, x1, y1, ...], ...]`` along pixel edges, outer
    boundaries only, holes filled; ``bbox`` ``[x, y, w, h]``; ``area`` in pixels;
    ``keypoints`` ``[x, y, v]`` with ``v = 2`` for a host and ``[0, 0, 0]`` without;
    ``attributes``: item id, source index, components, consensus level, votes).
caesar-mrcnn (:func:`write_caesar`)
    A folder: per item ``<name>.fits`` (the radio image with its WCS), ``<name>.json``
    (``img``, ``telescope``, ``bkg``, ``rms``, ``bmaj``, ``bmin``, ``dx``, ``dy``, ``nx``,
    ``ny``, ``objs``: ``mask``, ``class``, ``name``, ``nislands``, ``sidelobe-mixed``,
    ``sidelobe-near``, ``x``, ``y``, ``consensus_level``) and ``masks/<name>_obj<k>.fits``
    (uint8 0/1); ``datalist.txt`` lists the JSON files (absolute paths) as caesar-mrcnn's
    ``--datalist`` reads them. Classes are the ``caesar-mrcnn`` scheme's: for an RGZ
    campaign ``compact`` stays ``compact`` and every other morphology becomes ``extended``
    (one island) or ``extended-multisland`` (several).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.errors import CollectionError, OutputError, StoreError
from workbench.io.file_names import item_file_name
from workbench.labeling.consensus import campaign_consensus

__all__ = ["MaskObject", "mask_objects", "coco_dataset", "write_coco", "write_caesar",
           "mask_to_rle", "rle_to_mask", "mask_to_polygons", "CAESAR_CLASSES"]

#: caesar-mrcnn's object classes (see the ``caesar-mrcnn`` scheme).
CAESAR_CLASSES = ("spurious", "compact", "extended", "extended-multisland", "flagged")


@dataclass
class MaskObject:
    """One instance: its item, mask (bool, the item's image shape), class and host."""

    item_id: str
    mask: np.ndarray
    category: str
    components: list[int]
    source: int | None = None
    host: tuple[float, float] | None = None      # pixel centre (x = column, y = row)
    attributes: dict = field(default_factory=dict)


def _plain(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if v is pd.NA:
        return None
    return v


def mask_objects(campaign, collection, *, method: str | None = None) -> tuple[list, list, dict]:
    """``(objects, categories, counts)`` of a campaign's consensus (see the module docstring).

    ``categories``: the class names in scheme order; ``counts``: ``n_items``,
    ``n_objects``, ``n_no_class`` (sources left out: no morphology/class in the consensus)
    and ``n_no_contours``.

    Raises
    ------
    CollectionError
        No component maps are stored with the Collection.
    StoreError
        The scheme has neither a components question nor an item-level class question.
    """
    from workbench.io.components import ARRAY_NAME

    scheme = campaign.scheme
    kinds = tuple(getattr(scheme, "kinds", ()) or ())
    if kinds and "radio" not in kinds:
        raise StoreError(f"scheme {scheme.name!r} labels {'/'.join(kinds)} items; masks are "
                         f"made of radio components (rgz, caesar-mrcnn, ... schemes)")
    comp_q = next((q for q in scheme.item_questions if q.type == "components"), None)
    if comp_q is not None:
        morph = next((scheme.question(i) for i in comp_q.per_source
                      if scheme.question(i).type == "choice"), None)
        categories = [str(v) for v in morph.values] if morph is not None else ["source"]
        df = campaign_consensus(campaign, method or "rgz")
    else:
        qid = scheme.class_question
        q = None if qid is None else scheme.question(qid)
        if q is None or q.type != "choice" or q.scope != "item":
            raise StoreError(f"scheme {scheme.name!r} has no components question and no "
                             f"item-level class question: it has no objects to mask")
        categories = [str(v) for v in q.values]
        df = campaign_consensus(campaign, method or "majority")
    if ARRAY_NAME not in collection.derived:
        raise CollectionError("has no component maps to make masks from", path=collection.path,
                              hint="run `workbench components COLLECTION` first")
    counts = {"n_items": 0, "n_objects": 0, "n_no_class": 0, "n_no_contours": 0}
    if len(df) == 0:
        return [], categories, counts
    ids = [str(i) for i in pd.unique(df["item_id"].astype(str))]
    view = collection.select(ids=ids)
    maps = {str(i): np.nan_to_num(m, nan=0).astype(np.int32)
            for i, m in zip(view.ids, view.derived_array(ARRAY_NAME))}
    objects: list[MaskObject] = []
    for r in df.to_dict("records"):
        iid = str(r["item_id"])
        lab = maps.get(iid)
        if lab is None:
            continue
        if comp_q is not None:
            if r.get("no_contours"):
                counts["n_no_contours"] += 1
                continue
            comps = [int(c) for c in str(r.get("components") or "").split(",") if c]
            cat = r.get("morphology") if morph is not None else "source"
            hx, hy = r.get("host_x"), r.get("host_y")
            host = (float(hx), float(hy)) if hx is not None and np.isfinite(hx) else None
            src = None if pd.isna(r.get("source")) else int(r["source"])
            attrs = {"consensus_level": _plain(r.get("consensus_level")),
                     "n_votes": _plain(r.get("n_votes")),
                     "morphology_agreement": _plain(r.get("morphology_agreement"))}
        else:
            comps = [int(c) for c in np.unique(lab) if c > 0]
            cat = r.get(qid, r.get("label"))
            host, src = None, None
            attrs = {"agreement": _plain(r.get(f"{qid}_agreement", r.get("agreement"))),
                     "n_votes": _plain(r.get("n_votes"))}
        if cat is None or (isinstance(cat, float) and np.isnan(cat)) or str(cat) not in categories:
            counts["n_no_class"] += 1
            continue
        mask = np.isin(lab, comps) if comps else np.zeros(lab.shape, bool)
        if not mask.any():
            counts["n_no_class"] += 1
            continue
        objects.append(MaskObject(iid, mask, str(cat), comps, src, host, attrs))
    counts["n_objects"] = len(objects)
    counts["n_items"] = len({o.item_id for o in objects})
    return objects, categories, counts


# --------------------------------------------------------------------------- encodings
def mask_to_rle(mask: np.ndarray) -> dict:
    """COCO uncompressed RLE of a bool mask: runs over the column-major (Fortran) pixel
    order, alternating background/foreground, starting with background (maybe 0)."""
    flat = np.asarray(mask, bool).ravel(order="F")
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        runs = [0, *runs]
    return {"counts": [int(n) for n in runs], "size": [int(mask.shape[0]), int(mask.shape[1])]}


def rle_to_mask(rle: dict) -> np.ndarray:
    """The bool mask of an uncompressed COCO RLE (inverse of :func:`mask_to_rle`)."""
    h, w = (int(v) for v in rle["size"])
    counts = [int(n) for n in rle["counts"]]
    if sum(counts) != h * w or any(n < 0 for n in counts):
        raise ValueError(f"RLE counts sum to {sum(counts)}, not {h} x {w}")
    vals = np.zeros(len(counts), bool)
    vals[1::2] = True
    return np.repeat(vals, counts).reshape((h, w), order="F")


def mask_to_polygons(mask: np.ndarray) -> list[list[float]]:
    """Outer boundaries of a bool mask as COCO polygons ``[x0, y0, x1, y1, ...]`` along
    pixel edges (pixel ``(r, c)`` covers ``[c, c+1] x [r, r+1]``); holes are not kept."""
    m = np.pad(np.asarray(mask, bool), 1)
    rr, cc = np.nonzero(m)
    nxt: dict = {}
    # directed edges with the object on the right (clockwise with y down): top, right,
    # bottom, left edge of each object pixel that borders the background
    for r, c in zip(rr.tolist(), cc.tolist()):
        if not m[r - 1, c]:
            nxt.setdefault((c, r), []).append((c + 1, r))
        if not m[r, c + 1]:
            nxt.setdefault((c + 1, r), []).append((c + 1, r + 1))
        if not m[r + 1, c]:
            nxt.setdefault((c + 1, r + 1), []).append((c, r + 1))
        if not m[r, c - 1]:
            nxt.setdefault((c, r + 1), []).append((c, r))
    polys = []
    while nxt:
        start = next(iter(nxt))
        loop = [start]
        cur, came = start, None
        while True:
            outs = nxt[cur]
            k = len(outs) - 1
            if came is not None and len(outs) > 1:  # diagonal touch: turn right, so the
                right = (-came[1], came[0])          # two pixels' boundaries stay apart
                k = next((j for j, o in enumerate(outs)
                          if (o[0] - cur[0], o[1] - cur[1]) == right), k)
            step = outs.pop(k)
            if not outs:
                del nxt[cur]
            came = (step[0] - cur[0], step[1] - cur[1])
            if step == start:
                break
            loop.append(step)
            cur = step
        pts = np.array(loop, dtype=np.float64) - 1.0  # undo the padding
        # drop vertices in the middle of straight runs
        prev, after = np.roll(pts, 1, axis=0), np.roll(pts, -1, axis=0)
        cross = (pts[:, 0] - prev[:, 0]) * (after[:, 1] - pts[:, 1]) - \
            (pts[:, 1] - prev[:, 1]) * (after[:, 0] - pts[:, 0])
        pts = pts[cross != 0]
        area2 = float(np.sum(pts[:, 0] * np.roll(pts[:, 1], -1)
                             - np.roll(pts[:, 0], -1) * pts[:, 1]))
        if area2 > 0:  # clockwise in y-down coordinates: an outer boundary
            polys.append([float(v) for v in pts.ravel()])
    return polys


def _bbox(mask: np.ndarray) -> list[float]:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return [float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1),
            float(rows[-1] - rows[0] + 1)]


def _file_name(item_id, used: set) -> str:
    return item_file_name(item_id, used, max_len=120)


# --------------------------------------------------------------------------- COCO
def coco_dataset(objects: list, categories: list, *, segmentation: str = "rle",
                 description: str = "") -> dict:
    """The COCO instance-segmentation dict of ``objects`` (see the module docstring)."""
    if segmentation not in ("rle", "polygon"):
        raise ValueError("segmentation must be 'rle' or 'polygon'")
    cat_id = {name: k + 1 for k, name in enumerate(categories)}
    images, image_id, used = [], {}, set()
    anns = []
    for obj in objects:
        if obj.item_id not in image_id:
            image_id[obj.item_id] = len(images) + 1
            h, w = obj.mask.shape
            images.append({"id": image_id[obj.item_id], "width": int(w), "height": int(h),
                           "file_name": _file_name(obj.item_id, used) + ".png",
                           "workbench_id": obj.item_id})
        seg = mask_to_rle(obj.mask) if segmentation == "rle" else mask_to_polygons(obj.mask)
        kp = [obj.host[0] + 0.5, obj.host[1] + 0.5, 2] if obj.host is not None else [0, 0, 0]
        anns.append({"id": len(anns) + 1, "image_id": image_id[obj.item_id],
                     "category_id": cat_id[obj.category], "segmentation": seg,
                     "area": float(obj.mask.sum()), "bbox": _bbox(obj.mask), "iscrowd": 0,
                     "keypoints": kp, "num_keypoints": 1 if obj.host is not None else 0,
                     "attributes": {"item_id": obj.item_id, "source": obj.source,
                                    "components": obj.components, **obj.attributes}})
    return {"info": {"description": description or "workbench consensus masks",
                     "version": "1.0", "contributor": "workbench",
                     "date_created": pd.Timestamp.now("UTC").isoformat()},
            "licenses": [], "images": images,
            "categories": [{"id": cat_id[c], "name": c, "supercategory": "radio source",
                            "keypoints": ["host"], "skeleton": []} for c in categories],
            "annotations": anns}


def write_coco(campaign, collection, path, *, segmentation: str = "rle",
               method: str | None = None) -> dict:
    """Write the campaign's consensus masks as a COCO JSON file (atomically); returns a
    summary ``{"path", "kind", "rows", "n_items", "n_no_class", "n_no_contours"}``."""
    from workbench.io._atomic import replacing

    path = Path(path)
    if path.suffix.lower() != ".json":
        raise OutputError("a COCO file is JSON: name it *.json", path=path)
    objects, categories, counts = mask_objects(campaign, collection, method=method)
    data = coco_dataset(objects, categories, segmentation=segmentation,
                        description=f"workbench campaign {campaign.name!r} consensus")
    with replacing(path) as tmp:
        tmp.write_text(json.dumps(data))
    return {"path": str(path), "kind": "coco", "rows": counts["n_objects"],
            "n_items": counts["n_items"], "n_no_class": counts["n_no_class"],
            "n_no_contours": counts["n_no_contours"]}


# --------------------------------------------------------------------------- caesar-mrcnn
def _caesar_class(obj: MaskObject, from_rgz: bool) -> str:
    if not from_rgz:
        return obj.category
    if obj.category == "compact":
        return "compact"
    return "extended-multisland" if len(obj.components) > 1 else "extended"


def _radio_image(item):
    names = list(item.images)
    prod = "radio" if "radio" in names else names[0]
    arr = np.asarray(item.images[prod], np.float32)
    arr = arr if arr.ndim == 2 else arr[0]
    wcs = (item.axes.get(prod) or {}).get("wcs")
    return arr, wcs


def _meta_float(meta, *names, default=0.0) -> float:
    lower = {str(k).lower(): k for k in meta.index}
    for n in names:
        k = lower.get(n)
        if k is not None:
            try:
                v = float(meta[k])
            except (TypeError, ValueError):
                continue
            if np.isfinite(v):
                return v
    return default


def write_caesar(campaign, collection, out, *, method: str | None = None,
                 overwrite: bool = False, telescope: str | None = None) -> dict:
    """Write the campaign's consensus objects as a caesar-mrcnn training folder ``out``
    (made beside it and put in place when complete); see the module docstring."""
    from astropy.io import fits

    from workbench.io import _replace

    scheme = campaign.scheme
    from_rgz = any(q.type == "components" for q in scheme.item_questions)
    objects, _, counts = mask_objects(campaign, collection, method=method)
    if not from_rgz:
        bad = sorted({o.category for o in objects} - set(CAESAR_CLASSES))
        if bad:
            raise StoreError(f"classes {bad} of scheme {scheme.name!r} are not caesar-mrcnn "
                             f"classes {list(CAESAR_CLASSES)}")
    by_item: dict[str, list] = {}
    for o in objects:
        by_item.setdefault(o.item_id, []).append(o)
    out = Path(out)
    if out.suffix.lower() == ".json":
        raise OutputError("a caesar-mrcnn export is a folder (JSON, image and mask FITS per "
                          "item), not one .json file", path=out, hint="give -o a folder name")
    try:
        build = _replace.Build(out, replace=overwrite, what="caesar-mrcnn folder",
                               replaceable=lambda p: (p / "datalist.txt").is_file())
    except OSError as exc:
        raise OutputError(f"cannot write here ({exc.strerror or exc})", path=out) from exc
    final = out.resolve()
    used: set = set()
    lines = []
    try:
        (build.path / "masks").mkdir()
        for iid, objs in by_item.items():
            item = collection[iid]
            img, wcs = _radio_image(item)
            header = wcs.to_header() if wcs is not None else fits.Header()
            name = _file_name(iid, used)
            fits.PrimaryHDU(img, header=header).writeto(build.path / f"{name}.fits")
            finite = img[np.isfinite(img)]
            rms = _meta_float(item.meta, "noise_sigma", "rms", default=float(
                1.4826 * np.median(np.abs(finite - np.median(finite)))) if finite.size else 0.0)
            pix = _meta_float(item.meta, "pixscale_arcsec")
            entries = []
            for k, o in enumerate(objs, start=1):
                mpath = f"masks/{name}_obj{k}.fits"
                fits.PrimaryHDU(o.mask.astype(np.uint8), header=header).writeto(
                    build.path / mpath)
                rows, cols = np.nonzero(o.mask)
                entries.append({"mask": mpath, "class": _caesar_class(o, from_rgz),
                                "name": f"S{k}", "nislands": len(o.components),
                                "sidelobe-mixed": 0, "sidelobe-near": 0,
                                "x": float(cols.mean()), "y": float(rows.mean()),
                                "components": o.components, "workbench_id": iid,
                                **{k2: v for k2, v in o.attributes.items() if v is not None}})
            doc = {"img": f"{name}.fits",
                   "telescope": telescope or str(item.meta.get("telescope", "unknown")),
                   "bkg": float(np.median(finite)) if finite.size else 0.0, "rms": rms,
                   "bmaj": _meta_float(item.meta, "bmaj"), "bmin": _meta_float(item.meta, "bmin"),
                   "dx": pix, "dy": pix, "nx": int(img.shape[1]), "ny": int(img.shape[0]),
                   "objs": entries}
            (build.path / f"{name}.json").write_text(json.dumps(doc, indent=1))
            lines.append(str(final / f"{name}.json"))
        (build.path / "datalist.txt").write_text("".join(f"{ln}\n" for ln in lines))
    except BaseException:
        build.discard()
        raise
    build.install()
    return {"path": str(out), "kind": "caesar", "rows": counts["n_objects"],
            "n_items": len(by_item), "n_no_class": counts["n_no_class"],
            "n_no_contours": counts["n_no_contours"]}
