"""Input preparation shared by training and inference (one code path for both)."""

from __future__ import annotations

import numpy as np

__all__ = ["prepare_images", "standardise_features"]


def prepare_images(images: np.ndarray, *, size: int | None = None,
                   norm: str = "per_image") -> np.ndarray:
    """Images ``(n, c, ny, nx)`` (or ``(n, ny, nx)``) -> float32 ``(n, c, size, size)``.

    Non-finite pixels become 0. ``norm="per_image"`` subtracts each image's median and
    divides by its robust spread (1.4826 x MAD, or the std when the MAD is 0), which makes
    the classifier independent of the survey's flux scale. Resampling to ``size`` uses
    area averaging when shrinking and bilinear interpolation when growing.
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[:, None]
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    if norm == "per_image":
        flat = x.reshape(len(x), -1)
        med = np.median(flat, axis=1, keepdims=True)
        mad = 1.4826 * np.median(np.abs(flat - med), axis=1, keepdims=True)
        std = flat.std(axis=1, keepdims=True)
        scale = np.where(mad > 0, mad, np.where(std > 0, std, 1.0))
        x = ((flat - med) / scale).reshape(x.shape).astype(np.float32)
        x = np.clip(x, -20, 50)
    if size is not None and x.shape[-2:] != (size, size) and len(x):
        import torch
        import torch.nn.functional as F

        t = torch.from_numpy(np.ascontiguousarray(x))
        if x.shape[-1] >= size and x.shape[-2] >= size:
            t = F.adaptive_avg_pool2d(t, (size, size))
        else:
            t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)
        x = t.numpy()
    return np.ascontiguousarray(x, dtype=np.float32)


def standardise_features(x: np.ndarray, *, mean=None, std=None):
    """Feature vectors ``(n, d)`` -> ``(z, mean, std)`` with z = (x - mean) / std."""
    x = np.nan_to_num(np.asarray(x, dtype=np.float32))
    if mean is None:
        mean = x.mean(axis=0)
        std = x.std(axis=0)
    mean = np.asarray(mean, dtype=np.float32)
    std = np.where(np.asarray(std, dtype=np.float32) > 1e-8, std, 1.0).astype(np.float32)
    return (x - mean) / std, mean, std
