"""Write Collection items as a Zooniverse subject set: PNG images and ``manifest.csv``.

The folder holds, per item, ``<name>_<k>.png`` for each panel (``<name>`` is the item id
with characters other than letters, digits and ``-_.+`` replaced by ``_``) and one
``manifest.csv`` in the layout the Panoptes uploaders read (the project builder's
drag-and-drop and ``panoptes subject-set upload-subjects``): one row per subject, the
image file names in ``image_1``, ``image_2``, ... and metadata columns. Column names that
begin with ``#`` are hidden from volunteers but kept in the classification export:
``#workbench_id`` carries the item id (what
:func:`~workbench.io.labels.zooniverse.import_zooniverse` maps classifications back by),
``#collection`` the Collection's folder name; ``ra`` and ``dec`` are shown when known.

The folder is built beside ``out`` and put in place only when complete; an existing
``out`` is replaced only with ``overwrite`` and only if it holds a ``manifest.csv``.
The drawing is passed in (``draw(item) -> list of PNG bytes``; the CLI uses
:func:`workbench.labeling.subject_images.subject_pngs`), which keeps this module free of
display code.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path

from workbench.core.errors import InputError, OutputError
from workbench.io import _replace
from workbench.io.file_names import item_file_name

__all__ = ["export_zooniverse", "MANIFEST", "ID_COLUMN", "MAX_SUBJECTS"]

MANIFEST = "manifest.csv"
ID_COLUMN = "#workbench_id"
#: Panoptes accepts at most 10,000 subjects per manifest upload.
MAX_SUBJECTS = 10_000


def _name(item_id, used: set) -> str:
    return item_file_name(item_id, used, max_len=100)


def _num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return ""
    return f"{f:.7f}" if math.isfinite(f) else ""


def export_zooniverse(coll, out, *, draw: Callable, query: str | None = None,
                      overwrite: bool = False, progress=False) -> dict:
    """Write the items of ``coll`` (``query`` selects) as a subject folder ``out``.

    Returns ``{"path", "n_subjects", "n_images", "manifest"}``.

    Raises
    ------
    InputError
        No item selected, or more than :data:`MAX_SUBJECTS` (split with ``query``).
    OutputError
        ``out`` exists and is not an earlier export (or ``overwrite`` is not set).
    """
    from workbench.io.collection import Collection
    from workbench.io.progress import progress_bar

    coll = coll if isinstance(coll, Collection) else Collection(coll)
    view = coll.select(query) if query else coll
    n = len(view)
    if n == 0:
        raise InputError("no item to export" + (f" (query {query!r} matches none)"
                                                 if query else ""), path=coll.path)
    if n > MAX_SUBJECTS:
        raise InputError(f"{n} items selected; a Zooniverse manifest takes at most "
                         f"{MAX_SUBJECTS}", path=coll.path,
                         hint="export in parts with --query")
    out = Path(out)
    try:
        build = _replace.Build(out, replace=overwrite, what="Zooniverse subject folder",
                               replaceable=lambda p: (p / MANIFEST).is_file())
    except OSError as exc:
        raise OutputError(f"cannot write here ({exc.strerror or exc})", path=out) from exc
    bar, close_bar = progress_bar(progress, n, unit="subject", desc="zooniverse")
    rows, used, n_images, width = [], set(), 0, 0
    try:
        for item in view:
            iid = str(item.id)
            name = _name(iid, used)
            pngs = draw(item)
            files = []
            for k, data in enumerate(pngs, start=1):
                fname = f"{name}_{k}.png"
                (build.path / fname).write_bytes(data)
                files.append(fname)
            n_images += len(files)
            width = max(width, len(files))
            rows.append((files, iid, item.meta))
            bar(1)
        header = [f"image_{k}" for k in range(1, width + 1)] + [ID_COLUMN, "#collection",
                                                                 "ra", "dec"]
        with open(build.path / MANIFEST, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            for files, iid, meta in rows:
                w.writerow(files + [""] * (width - len(files)) + [
                    iid, coll.path.name, _num(meta.get("ra")), _num(meta.get("dec"))])
    except BaseException:
        build.discard()
        raise
    finally:
        close_bar()
    build.install()
    return {"path": str(out), "n_subjects": len(rows), "n_images": n_images,
            "manifest": str(out / MANIFEST)}
