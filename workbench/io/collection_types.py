"""The small value types of a Collection: product specs, items and batches."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["ProductSpec", "Item", "Batch"]


@dataclass(frozen=True)
class ProductSpec:
    """Shape of one image product: ``channels`` names, and the pixel grid ``(ny, nx)``.

    ``units`` is a free string (``"Jy/beam"``, ``"sigma"``) and ``axes`` a hint of what the
    pixel grid means (``"sky"`` for maps, ``"dm,time"`` for DM-time images, ...).
    """

    channels: tuple[str, ...]
    shape: tuple[int, int]
    units: str = ""
    axes: str = ""

    @property
    def full_shape(self) -> tuple[int, int, int]:
        return (len(self.channels), *self.shape)

    def to_json(self) -> dict:
        return {"channels": list(self.channels), "shape": list(self.shape),
                "units": self.units, "axes": self.axes}

    @classmethod
    def from_json(cls, d: Mapping) -> ProductSpec:
        return cls(tuple(d["channels"]), tuple(int(s) for s in d["shape"]),
                   d.get("units", ""), d.get("axes", ""))


@dataclass
class Item:
    """One item of a Collection.

    Attributes
    ----------
    images : dict of str -> ndarray
        Product name -> float32 array of shape ``(n_channels, ny, nx)``; a single-channel
        product is given as ``(ny, nx)``.
    meta : pandas.Series
        The item's catalog row (with derived columns).
    axes : dict of str -> dict
        Product name -> physical coordinates of its pixel grid, where known: for sky maps
        ``{"wcs", "ra", "dec", "pixscale_arcsec"}`` (deg, arrays of shape (ny, nx)); for
        linear grids one 1-D array per axis named by the axis (e.g. ``"dm"`` for the rows
        in pc cm^-3 and ``"time"`` for the columns in s) plus ``"units"``.
    """

    id: str
    index: int
    images: dict
    meta: pd.Series
    axes: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        shapes = {k: tuple(v.shape) for k, v in self.images.items()}
        return f"Item(id={self.id!r}, index={self.index}, kind={self.meta.get('kind')!r}, images={shapes})"


@dataclass
class Batch:
    """A block of items: ``ids``, ``indices`` (positions in the Collection), ``catalog``
    (rows) and ``images`` (product -> array of shape ``(n, n_channels, ny, nx)``)."""

    ids: list
    indices: np.ndarray
    catalog: pd.DataFrame
    images: dict

    def __len__(self) -> int:
        return len(self.ids)
