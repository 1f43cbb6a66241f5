"""Torch datasets over a Collection product, with per-image robust normalisation.

Images are scaled per item and channel so the background median is 0 and the peak is 1,
NaN pixels become 0, and the grid is resized to ``size x size``
(area averaging when shrinking). Small surveys are read once into memory (the default when
they fit in ``max_memory`` bytes); bigger ones are read item by item from the Zarr store.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from workbench.core.errors import CollectionError

__all__ = ["robust_normalise", "stretch_images", "centre_crop", "resize", "CollectionImages",
           "pick_product", "make_loader", "STRETCHES"]

STRETCHES = ("linear", "asinh")


def robust_normalise(images: np.ndarray) -> np.ndarray:
    """Scale each image and channel: background median -> 0, peak -> 1, NaN -> 0.

    ``images``: (n, c, ny, nx) float; returns float32 of the same shape in [-1, 1]. The peak
    (not a high percentile) sets the scale, as is usual for radio cutouts: a percentile
    would blow compact sources (a few bright pixels) up far beyond extended ones and make
    every point source look anomalous.
    """
    x = np.asarray(images, dtype=np.float32)
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    import warnings

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(flat, axis=2)
        hi = np.nanmax(flat, axis=2)
    med = np.nan_to_num(med)
    scale = np.nan_to_num(hi - med)
    scale = np.where(scale > 0, scale, 1.0)
    out = (x - med[:, :, None, None]) / scale[:, :, None, None]
    return np.clip(np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0), -1, 1).astype(np.float32)


def stretch_images(x: np.ndarray, stretch: str | None = "linear", *, clip_sigma: float = 3.0,
                   softening: float = 0.05) -> np.ndarray:
    """Display stretch of peak-normalised images ``(n, c, ny, nx)`` (from
    :func:`robust_normalise`); returns float32 of the same shape in [0, 1] (linear: [-1, 1]).

    ``"asinh"``: pixels below ``clip_sigma`` times the image's noise (1.4826 x MAD, the usual
    sigma-clip of radio maps) become 0, then ``asinh(x / softening) / asinh(1 / softening)``
    lifts faint emission (lobes, jets at a few per cent of the peak) while the peak stays 1.
    ``"linear"`` / None: returned unchanged.
    """
    x = np.asarray(x, dtype=np.float32)
    if stretch in (None, "linear"):
        return x
    if stretch != "asinh":
        raise ValueError(f"unknown stretch {stretch!r}; choose one of {STRETCHES}")
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    med = np.median(flat, axis=2)
    sigma = 1.4826 * np.median(np.abs(flat - med[:, :, None]), axis=2)
    keep = x > (med + clip_sigma * sigma)[:, :, None, None]
    y = np.where(keep, x - med[:, :, None, None], 0.0)
    return (np.arcsinh(y / softening) / np.arcsinh(1.0 / softening)).astype(np.float32)


def centre_crop(x: np.ndarray, crop: float | None) -> np.ndarray:
    """The central ``crop`` fraction (0 < crop <= 1) of each image's side; None keeps all."""
    if crop is None or crop >= 1:
        return x
    if not 0 < crop:
        raise ValueError(f"crop must be in (0, 1], got {crop}")
    ny, nx = x.shape[-2:]
    cy, cx = max(1, round(ny * crop)), max(1, round(nx * crop))
    y0, x0 = (ny - cy) // 2, (nx - cx) // 2
    return x[..., y0:y0 + cy, x0:x0 + cx]


def resize(x: torch.Tensor, size: int | None) -> torch.Tensor:
    """Resize ``(n, c, ny, nx)`` to ``(n, c, size, size)``: area averaging when neither side
    grows (no aliasing), bilinear otherwise. Used by SSL training, embedding and the
    classifiers' input preparation alike."""
    if size is None or tuple(x.shape[-2:]) == (size, size) or not len(x):
        return x
    if min(x.shape[-2:]) >= size:
        return F.adaptive_avg_pool2d(x, (size, size))
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


def pick_product(coll, product: str | None = None) -> str:
    """The product to learn from: ``product`` if given, else the only one, else ``radio``."""
    names = list(coll.products)
    if product is not None:
        if product not in names:
            raise CollectionError(f"no product {product!r}; this Collection has {names}",
                                  path=coll.path, hint="pass --product with one of those")
        return product
    if len(names) == 1:
        return names[0]
    if "radio" in names:
        return "radio"
    raise CollectionError(f"the Collection has several products {names}", path=coll.path,
                          hint="pass --product to choose one")


class CollectionImages(Dataset):
    """Normalised images of one product: ``ds[i]`` is a float32 tensor ``(c, size, size)``.

    Parameters
    ----------
    coll : Collection
        The items (a view from ``coll.select`` works too).
    product : str, optional
        Image product; see :func:`pick_product`.
    size : int or None
        Side of the square grid the images are resized to; None keeps the product's grid.
    crop : float or None
        Keep the central ``crop`` fraction of each side before resizing (catalogue cutouts
        are centred on the source, which often fills a small part of the stamp); None: all.
    stretch : {"linear", "asinh"} or None
        Display stretch after the peak normalisation (see :func:`stretch_images`).
    max_memory : int
        Read everything into memory when it needs fewer bytes than this.
    """

    def __init__(self, coll, product: str | None = None, *, size: int | None = 64,
                 crop: float | None = None, stretch: str | None = None,
                 max_memory: int = 2 * 1024**3, read_batch: int = 256):
        self.coll = coll
        self.product = pick_product(coll, product)
        self.size = size
        self.crop = None if crop is None or crop >= 1 else float(crop)
        self.stretch = None if stretch in (None, "linear") else stretch
        if self.stretch is not None and self.stretch not in STRETCHES:
            raise CollectionError(f"unknown stretch {stretch!r}; choose one of {STRETCHES}")
        if self.crop is not None and not self.crop > 0:
            raise CollectionError(f"crop must be in (0, 1], got {crop}")
        self.ids = list(coll.ids)
        rows = getattr(coll, "rows", None)  # a Collection's absolute rows (for read())
        self.rows = np.arange(len(coll)) if rows is None else np.asarray(rows)
        spec = coll.products[self.product]
        self.n_channels = len(spec.channels)
        side = spec.shape if size is None else (size, size)
        need = len(self.ids) * self.n_channels * side[0] * side[1] * 4
        self.tensor = None
        if need <= max_memory:
            parts = [self._prepare(b.images[self.product])
                     for b in coll.batches(read_batch, products=[self.product])]
            self.tensor = torch.cat(parts) if parts else torch.zeros(
                (0, self.n_channels, *side), dtype=torch.float32)

    def _prepare(self, arr: np.ndarray) -> torch.Tensor:
        x = stretch_images(robust_normalise(centre_crop(arr, self.crop)), self.stretch)
        return resize(torch.from_numpy(np.ascontiguousarray(x)), self.size)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> torch.Tensor:
        if self.tensor is not None:
            return self.tensor[i]
        arr = self.coll.read([int(self.rows[i])], [self.product])[self.product]
        return self._prepare(arr)[0]

    def content_hash(self) -> str:
        """SHA-256 of what a model sees: ids, product, size and (in memory) the pixels."""
        h = hashlib.sha256()
        h.update(f"{self.product}|{self.size}|{len(self.ids)}|".encode())
        if self.crop is not None or self.stretch is not None:
            h.update(f"crop={self.crop}|stretch={self.stretch}|".encode())
        h.update("\n".join(self.ids).encode())
        if self.tensor is not None:
            h.update(self.tensor.contiguous().numpy().tobytes())
        return h.hexdigest()

    def describe(self) -> dict:
        return {"collection": str(self.coll.path), "product": self.product, "size": self.size,
                "n_items": len(self), "n_channels": self.n_channels, "hash": self.content_hash(),
                "crop": self.crop, "stretch": self.stretch or "linear",
                "normalisation": "median->0, peak->1, clip [-1, 1]" + (
                    ", 3-sigma clip + asinh (softening 0.05)" if self.stretch == "asinh" else "")}


def make_loader(dataset: Dataset, *, batch_size: int = 256, shuffle: bool = False,
                seed: int = 0, drop_last: bool = False, num_workers: int = 0) -> DataLoader:
    """A DataLoader over ``dataset`` (seeded shuffling)."""
    g = torch.Generator()
    g.manual_seed(int(seed))
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=g,
                      drop_last=drop_last, num_workers=num_workers)
