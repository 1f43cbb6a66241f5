"""The Gallery's page: thumbnails made in one batch per kind equal the one-by-one ones."""

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import workbench
from workbench.io.collection import ProductSpec
from workbench.labeling.panels import thumbnail, thumbnails
from workbench.widgets import Gallery


def _images(n, seed, c=1):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, c, 6, 7)).astype(np.float32) * rng.uniform(0.5, 9, (n, 1, 1, 1))
    a[1, 0, 2, 3] = np.nan      # a non-finite pixel: transparent, limits from the rest
    a[2, 0] = 4.0               # flat
    a[3, 0, :2] = 1e5           # a bright stripe
    return a


@pytest.mark.parametrize("kind", ["transient", "radio", "image", "lens"])
@pytest.mark.parametrize("size", [5, 16])
def test_thumbnails_equal_thumbnail_per_item(kind, size):
    a = _images(9, 1, c=3)
    got = thumbnails(a, kind, size)
    assert got.shape == (9, size, size, 4) and got.dtype == np.uint8
    for k in range(len(a)):
        np.testing.assert_array_equal(got[k], thumbnail(a[k], kind, size))
    assert thumbnails(a[:0], kind, size).shape == (0, size, size, 4)
    with pytest.raises(ValueError, match="stack of shape"):
        thumbnails(a[0], kind, size)


def test_gallery_sprite_is_the_per_item_thumbnails(tmp_path):
    coll = workbench.create(tmp_path / "c", {"img": ProductSpec(("y",), (6, 7))})
    parts = [("transient", 7, 0), ("radio", 5, 1), ("image", 4, 2)]
    for kind, n, seed in parts:
        coll.append(pd.DataFrame({"id": [f"{kind}{j}" for j in range(n)],
                                  "snr": np.arange(n, dtype=float)[::-1]}),
                    {"img": _images(n, seed)}, kind=kind)
    coll = workbench.open(tmp_path / "c")
    # sorted by snr: kinds interleave on the page; 16 items, 5 columns, a short last row
    g = Gallery(coll, page_size=100, thumb=12, n_cols=5, sort_by="snr")
    sheet = np.asarray(Image.open(io.BytesIO(g.sprite)).convert("RGBA"))
    assert sheet.shape == (4 * 12, 5 * 12, 4)
    imgs = {it: coll.read([r], ["img"])["img"][0] for it, r in zip(coll.ids, coll.rows)}
    kinds = dict(zip(coll.catalog["id"], coll.catalog["kind"]))
    for k, tile in enumerate(g.tiles):
        r, c = divmod(k, 5)
        want = thumbnail(imgs[tile["id"]], kinds[tile["id"]], 12)
        np.testing.assert_array_equal(sheet[r * 12:(r + 1) * 12, c * 12:(c + 1) * 12], want)
    assert len(g.tiles) == 16
    assert not sheet[3 * 12:, 12:].any()  # the empty places of the last row stay blank
