"""Small Collections of DM-time-like candidate images for the learn tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.io.collection import Collection, ProductSpec


def dm_time_collection(path, images: np.ndarray, truth) -> Collection:
    """A Collection at ``path`` with product ``dm_time`` holding ``images`` (n, 1, s, s)
    and a ``truth`` catalog column (one class name per image)."""
    n, _, ny, nx = images.shape
    cat = pd.DataFrame({"id": [f"c{i:03d}" for i in range(n)], "ra": 0.0, "dec": 0.0,
                        "pixscale_arcsec": np.nan, "source_file": "sim", "source_hdu": 0,
                        "truth": np.asarray(truth)})
    coll = Collection.create(path, {"dm_time": ProductSpec(("intensity",), (ny, nx),
                                                           axes="dm,time")})
    coll.append(cat, {"dm_time": images.astype(np.float32)}, kind="transient")
    return coll


@pytest.fixture(scope="session")
def make_dm_time():
    """:func:`dm_time_collection`, for tests and module-scoped fixtures."""
    return dm_time_collection
