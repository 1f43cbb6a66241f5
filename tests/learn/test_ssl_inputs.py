"""SSL input preparation: centre crop and asinh stretch, stored with the checkpoint (issue 7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

import workbench  # noqa: E402
from workbench.core.errors import CollectionError, ModelError  # noqa: E402
from workbench.io.collection import ProductSpec  # noqa: E402
from workbench.learn.data import (  # noqa: E402
    CollectionImages,
    centre_crop,
    robust_normalise,
    stretch_images,
)
from workbench.learn.encode import embed_collection, embed_images, load_encoder  # noqa: E402
from workbench.learn.train import train_ssl  # noqa: E402

TINY = {"width": 4, "depth": (1, 1), "out_dim": 8}
OPTS = {"method_options": {"proj_dim": 4, "hidden": 8}}


def _double_sources(n, rng, side=40):
    """A bright core at the centre and a faint lobe (2% of the peak) 6 px away, plus noise."""
    yy, xx = np.mgrid[:side, :side]
    c = side / 2
    out = np.empty((n, 1, side, side), np.float32)
    for i in range(n):
        ang = rng.uniform(0, 2 * np.pi)
        lx, ly = c + 6 * np.cos(ang), c + 6 * np.sin(ang)
        core = np.exp(-((xx - c) ** 2 + (yy - c) ** 2) / 2.0)
        lobe = 0.02 * np.exp(-((xx - lx) ** 2 + (yy - ly) ** 2) / 4.0)
        out[i, 0] = core + lobe
    return out + rng.normal(0, 0.002, out.shape).astype(np.float32)


def test_asinh_stretch_lifts_faint_emission_and_zeroes_the_noise():
    rng = np.random.default_rng(0)
    x = robust_normalise(_double_sources(4, rng))
    s = stretch_images(x, "asinh")
    assert s.shape == x.shape and s.dtype == np.float32
    assert np.allclose(s.max(axis=(1, 2, 3)), 1.0, atol=1e-5)  # the peak stays 1
    corner = s[:, 0, :5, :5]  # pure noise, far from the source
    assert (corner == 0).mean() > 0.95  # below 3 sigma -> 0
    # A lobe at 2% of the peak is lifted well above 2% of the peak (asinh ~ log there).
    lobe = (x > 0.015) & (x < 0.03)
    assert lobe.any() and s[lobe].mean() > 5 * x[lobe].mean()
    assert stretch_images(x, "linear") is x and stretch_images(x, None) is x
    with pytest.raises(ValueError, match="unknown stretch"):
        stretch_images(x, "log")


def test_centre_crop_keeps_the_central_fraction():
    x = np.arange(2 * 1 * 10 * 10, dtype=np.float32).reshape(2, 1, 10, 10)
    c = centre_crop(x, 0.6)
    assert c.shape == (2, 1, 6, 6)
    assert np.array_equal(c, x[..., 2:8, 2:8])
    assert centre_crop(x, None) is x and centre_crop(x, 1.0) is x


@pytest.fixture()
def doubles(tmp_path):
    rng = np.random.default_rng(1)
    coll = workbench.create(tmp_path / "c", {"radio": ProductSpec(("1.4GHz",), (40, 40))})
    coll.append(pd.DataFrame({"id": [f"s{i:03d}" for i in range(16)]}),
                {"radio": _double_sources(16, rng)}, kind="radio")
    return coll


def test_checkpoint_records_crop_and_stretch_and_embed_prepares_images_the_same_way(
        doubles, tmp_path):
    ck = tmp_path / "e.safetensors"
    train_ssl(doubles, out=ck, method="simclr", epochs=1, batch_size=8, size=16, crop=0.5,
              stretch="asinh", encoder=TINY, **OPTS)
    enc, meta = load_encoder(ck)
    assert meta["train"]["crop"] == 0.5 and meta["train"]["stretch"] == "asinh"
    assert meta["data"]["stretch"] == "asinh" and meta["data"]["crop"] == 0.5
    emb = embed_collection(doubles, ck).embeddings
    same = embed_images(CollectionImages(doubles, size=16, crop=0.5, stretch="asinh"), enc)
    other = embed_images(CollectionImages(doubles, size=16), enc)
    assert np.allclose(emb, same, atol=1e-5)
    assert not np.allclose(emb, other, atol=1e-3)
    # The same data prepared differently is different data for resume.
    with pytest.raises(ModelError, match="cannot resume"):
        train_ssl(doubles, out=ck, method="simclr", epochs=2, batch_size=8, size=16,
                  crop=0.5, stretch="linear", encoder=TINY, resume=True, **OPTS)


def test_bad_crop_or_stretch_is_refused(doubles):
    with pytest.raises(CollectionError, match="stretch"):
        CollectionImages(doubles, size=16, stretch="log")
    with pytest.raises(CollectionError, match="crop"):
        CollectionImages(doubles, size=16, crop=-0.5)


def _centroid_offset(x):
    """Distance (pixels) of each image's flux-weighted centroid from the grid centre."""
    n, _, ny, nx = x.shape
    yy, xx = torch.meshgrid(torch.arange(ny, dtype=torch.float32),
                            torch.arange(nx, dtype=torch.float32), indexing="ij")
    w = x[:, 0].clamp_min(0)
    tot = w.sum(dim=(1, 2))
    cy = (w * yy).sum(dim=(1, 2)) / tot
    cx = (w * xx).sum(dim=(1, 2)) / tot
    return torch.hypot(cy - (ny - 1) / 2, cx - (nx - 1) / 2)


def test_default_augment_keeps_a_centred_source_centred_and_its_peak_distinct():
    from workbench.learn.augment import Augment, make_generator

    side = 32
    yy, xx = np.mgrid[:side, :side]
    c = (side - 1) / 2
    # A core (peak 1) and a fainter hotspot 8 px away: where the brightness sits matters.
    img = np.exp(-((xx - c) ** 2 + (yy - c) ** 2) / 4.0) + \
        0.6 * np.exp(-((xx - c - 8) ** 2 + (yy - c) ** 2) / 2.0)
    x = torch.from_numpy(np.repeat(img[None, None], 256, 0).astype(np.float32))
    gentle = Augment()(x, make_generator(0))
    strong = Augment.strong()(x, make_generator(0))
    base = _centroid_offset(x)
    # Zoom to >= 80% with a shift of at most 10% of the side: the centroid moves little.
    assert (_centroid_offset(gentle) - base).abs().max() < 0.15 * side
    assert (_centroid_offset(strong) - base).abs().max() > (
        _centroid_offset(gentle) - base).abs().max()

    # No saturation: the brightest pixel stays a single peak, not a flat plateau, and the
    # core stays brighter than the hotspot.
    def plateau(a):
        flat = a.flatten(1)
        return (flat >= 0.995 * flat.max(1, keepdim=True).values).sum(1)

    assert plateau(gentle).max() <= 4
    assert plateau(strong).max() > 4
    peak = gentle.flatten(1).argmax(1)
    dist = torch.hypot(peak // side - c, peak % side - c)
    assert dist.max() < 6  # the core (not the hotspot, 8-10 px out) is still the peak
    assert Augment.radio() == Augment()
    assert Augment.strong().config()["threshold_p"] > 0 == Augment().config()["threshold_p"]
