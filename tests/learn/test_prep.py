"""Input preparation (vectorised) and the prefetching collection reader."""

from __future__ import annotations

import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from workbench.learn._prep import prepare_images  # noqa: E402
from workbench.learn.infer import predict_logits, prefetched  # noqa: E402
from workbench.learn.mlppa import MLPPA  # noqa: E402


def _reference(x):
    """The definition: per image, (x - median) / (1.4826 MAD, else std, else 1), clipped."""
    x = np.nan_to_num(np.asarray(x, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    out = np.empty_like(x)
    for i, img in enumerate(x):
        med = np.median(img)
        mad = 1.4826 * np.median(np.abs(img - med))
        scale = mad if mad > 0 else (img.std() if img.std() > 0 else 1.0)
        out[i] = np.clip((img - med) / scale, -20, 50)
    return out


@pytest.mark.parametrize("shape", [(6, 1, 16, 16), (5, 2, 15, 15), (3, 1, 1, 7)])
def test_prepare_images_matches_the_per_image_definition(shape):
    rng = np.random.default_rng(0)
    x = rng.normal(3, 2, shape).astype(np.float32) * rng.uniform(0.1, 100, (shape[0], 1, 1, 1))
    x[0, 0, 0, 0] = np.nan
    x[1, 0, -1, -1] = np.inf
    x[2] = 5.0  # constant: MAD and std are 0 -> scale 1
    if shape[0] > 3:
        x[3] = 1.0
        x[3, 0, 0, :3] = [50.0, -40.0, 900.0]  # MAD 0 but std > 0
    before = x.copy()
    got = prepare_images(x)
    np.testing.assert_allclose(got, _reference(x), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.isnan(x), np.isnan(before))  # input left alone
    np.testing.assert_array_equal(x[np.isfinite(x)], before[np.isfinite(before)])
    assert got.dtype == np.float32 and np.isfinite(got).all()


def test_prepare_images_resamples_and_accepts_3d():
    x = np.random.default_rng(1).normal(size=(4, 32, 32)).astype(np.float32)
    small = prepare_images(x, size=16)
    big = prepare_images(x, size=64)
    assert small.shape == (4, 1, 16, 16) and big.shape == (4, 1, 64, 64)
    full = prepare_images(x)
    np.testing.assert_allclose(small[0, 0, 0, 0], full[0, 0, :2, :2].mean(), rtol=1e-5)


def test_prefetched_keeps_order_reraises_and_stops():
    assert list(prefetched(iter(range(50)), depth=3)) == list(range(50))

    def broken():
        yield 1
        raise ValueError("bad block")

    it = prefetched(broken())
    assert next(it) == 1
    with pytest.raises(ValueError, match="bad block"):
        next(it)
    produced = []

    def endless():
        k = 0
        while True:
            produced.append(k)
            yield k
            k += 1

    it = prefetched(endless(), depth=2)
    assert next(it) == 0
    it.close()  # abandoning the iterator ends the worker thread
    assert not any(t.name == "workbench-prefetch" and t.is_alive()
                   for t in threading.enumerate())
    assert len(produced) <= 5


def test_channels_last_inference_equals_plain_forward():
    torch.manual_seed(0)
    model = MLPPA(32, depth=3, in_channels=1, n_classes=3).eval()
    x = np.random.default_rng(2).normal(size=(10, 1, 32, 32)).astype(np.float32)
    with torch.inference_mode():
        ref = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(predict_logits(model, x, batch_size=4, device="cpu"), ref,
                               rtol=1e-4, atol=1e-5)
