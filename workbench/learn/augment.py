"""Batched, seeded augmentations for radio and transient images, on torch tensors.

Every function takes a batch ``x`` of shape ``(n, c, ny, nx)`` (already normalised per image,
background ~0, bright sources ~1; see :mod:`workbench.learn.data`) and a
:class:`torch.Generator`, and returns a new batch of the same shape, dtype and device. The
random parameters are drawn on the CPU from the generator (so the same seed gives the same
augmentation on any device) and the pixel work runs on ``x.device`` (the GPU when there is one).

:class:`Augment` chains them with probabilities, the recipe used by the SSL training.
Its defaults are the gentle recipe for centred radio sources (:meth:`Augment.radio`):
random 90-degree turns and flips and an arbitrary rotation (sky images have no preferred
orientation), a mild zoom (crop of 80-100% of the side, the source kept near the centre),
Gaussian blur (a different beam), a little noise and, for multi-band data, channel dropout.
:meth:`Augment.strong` is the earlier, harder recipe (crops down to 60% anywhere in the
stamp, noise up to 10% of the peak, contrast jitter saturating the brightest 3% of pixels,
percentile thresholding): on MiraBest it erased what tells FRI from FRII (where along the
source the brightness sits), and SimCLR's loss barely fell in a CPU budget.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

__all__ = ["Augment", "rot90_flip", "rotate_crop_resize", "gaussian_blur", "add_noise",
           "contrast_jitter", "percentile_threshold", "channel_dropout", "make_generator"]


def make_generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed`` (the augmentations draw their parameters from it)."""
    g = torch.Generator()
    g.manual_seed(int(seed))
    return g


def _u(g, n, lo, hi):
    return lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)


def _pick(g, n, p):
    return torch.rand(n, generator=g) < p


def _device_noise(x, g):
    dg = torch.Generator(device=x.device)
    dg.manual_seed(int(torch.randint(0, 2**62, (1,), generator=g)))
    return torch.randn(x.shape, generator=dg, device=x.device, dtype=torch.float32)


def rot90_flip(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random multiple of 90 degrees (square images only) and random left-right flip."""
    n = x.shape[0]
    k = torch.randint(0, 4, (n,), generator=g)
    flip = _pick(g, n, 0.5)
    out = x.clone()
    if x.shape[-1] == x.shape[-2]:
        for kk in (1, 2, 3):
            idx = torch.nonzero(k == kk).flatten().to(x.device)
            if len(idx):
                out[idx] = torch.rot90(out[idx], kk, dims=(-2, -1))
    idx = torch.nonzero(flip).flatten().to(x.device)
    if len(idx):
        out[idx] = torch.flip(out[idx], dims=(-1,))
    return out


def rotate_crop_resize(x: torch.Tensor, g: torch.Generator, *, scale=(0.6, 1.0),
                       rotate: bool = True, shift: float = 1.0) -> torch.Tensor:
    """Rotate by an arbitrary angle and crop a random square of ``scale`` times the side,
    resized back to the full grid (bilinear; outside the image reads 0, the background)."""
    n = x.shape[0]
    s = _u(g, n, *scale)
    a = _u(g, n, 0.0, 2 * math.pi) if rotate else torch.zeros(n, dtype=torch.float64)
    room = (1 - s) * shift
    tx, ty = _u(g, n, -1, 1) * room, _u(g, n, -1, 1) * room
    theta = torch.stack([torch.stack([s * torch.cos(a), -s * torch.sin(a), tx], 1),
                         torch.stack([s * torch.sin(a), s * torch.cos(a), ty], 1)], 1)
    grid = F.affine_grid(theta.to(torch.float32).to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x.float(), grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False).to(x.dtype)


def gaussian_blur(x: torch.Tensor, g: torch.Generator, *, sigma=(0.1, 1.5)) -> torch.Tensor:
    """Blur each image with a Gaussian of random width ``sigma`` (pixels), separably."""
    n, c, ny, nx = x.shape
    sig = _u(g, n, *sigma).clamp_min(1e-3)
    half = max(1, int(math.ceil(3 * sigma[1])))
    half = min(half, (min(ny, nx) - 1) // 2) or 1
    t = torch.arange(-half, half + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t[None] / sig[:, None]) ** 2)
    k = (k / k.sum(1, keepdim=True)).to(torch.float32).to(x.device)  # (n, K)
    k = k.repeat_interleave(c, 0)  # (n*c, K)
    y = x.float().reshape(1, n * c, ny, nx)
    y = F.conv2d(F.pad(y, (half, half, 0, 0), mode="reflect"), k[:, None, None, :], groups=n * c)
    y = F.conv2d(F.pad(y, (0, 0, half, half), mode="reflect"), k[:, None, :, None], groups=n * c)
    return y.reshape(n, c, ny, nx).to(x.dtype)


def add_noise(x: torch.Tensor, g: torch.Generator, *, std=(0.0, 0.1)) -> torch.Tensor:
    """Add Gaussian noise of a random level ``std`` (in normalised units) per image."""
    s = _u(g, x.shape[0], *std).to(torch.float32).to(x.device)
    return (x.float() + s[:, None, None, None] * _device_noise(x, g)).to(x.dtype)


def _quantile(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Per-image quantile ``q`` (n,) of x (n, c, ny, nx) -> (n,)."""
    flat = x.float().reshape(x.shape[0], -1)
    srt = torch.sort(flat, dim=1).values
    pos = (q.to(x.device).float() * (flat.shape[1] - 1)).round().long()
    return srt.gather(1, pos[:, None])[:, 0]


def contrast_jitter(x: torch.Tensor, g: torch.Generator, *, gain=(0.6, 1.6),
                    offset=(-0.1, 0.1), saturate=(0.97, 1.0)) -> torch.Tensor:
    """zscale-like display jitter: random gain (log-uniform) and offset, then saturate
    the brightest pixels at a random upper percentile, as different display limits would."""
    n = x.shape[0]
    gn = torch.exp(_u(g, n, math.log(gain[0]), math.log(gain[1])))
    off = _u(g, n, *offset)
    q = _u(g, n, *saturate)
    y = x.float() * gn.float().to(x.device)[:, None, None, None] + \
        off.float().to(x.device)[:, None, None, None]
    top = _quantile(y, q)
    return torch.minimum(y, top[:, None, None, None]).to(x.dtype)


def percentile_threshold(x: torch.Tensor, g: torch.Generator, *, q=(0.5, 0.9)) -> torch.Tensor:
    """Clip the background: subtract a random per-image percentile and zero what is below."""
    t = _quantile(x, _u(g, x.shape[0], *q))
    return torch.relu(x.float() - t[:, None, None, None]).to(x.dtype)


def channel_dropout(x: torch.Tensor, g: torch.Generator, *, p: float = 0.2) -> torch.Tensor:
    """Zero one random channel of an image with probability ``p`` (multi-band only)."""
    n, c = x.shape[:2]
    if c < 2:
        return x.clone()
    drop = _pick(g, n, p)
    ch = torch.randint(0, c, (n,), generator=g)
    mask = torch.ones(n, c, dtype=x.dtype)
    mask[torch.arange(n)[drop], ch[drop]] = 0
    return x * mask.to(x.device)[:, :, None, None]


def _where(flags: torch.Tensor, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    return torch.where(flags.to(old.device)[:, None, None, None], new, old)


@dataclass
class Augment:
    """The SSL augmentation recipe; ``aug(x, g)`` returns an augmented copy of the batch.

    Each step is applied to a random subset of the images with its probability ``*_p``.
    The defaults are :meth:`radio` (gentle, for centred sources); :meth:`strong` is the
    earlier recipe. ``config()`` gives the JSON-safe settings stored with a checkpoint.
    """

    rot90_flip: bool = True
    rotate: bool = True
    crop_scale: tuple = (0.8, 1.0)
    crop_p: float = 1.0
    crop_shift: float = 1.0
    blur_p: float = 0.5
    blur_sigma: tuple = (0.1, 1.0)
    noise_p: float = 0.5
    noise_std: tuple = (0.0, 0.02)
    contrast_p: float = 0.0
    contrast_gain: tuple = (0.6, 1.6)
    contrast_saturate: tuple = (0.97, 1.0)
    threshold_p: float = 0.0
    threshold_q: tuple = (0.5, 0.9)
    channel_drop_p: float = 0.2

    @classmethod
    def radio(cls, **overrides) -> Augment:
        """Gentle recipe for catalogue cutouts centred on the source (the default): turns,
        flips, any rotation, zoom by a crop of 80-100% of the side (shifted by at most 10%
        of the side), blur up to 1 pixel, noise up to 2% of the peak. No saturation or
        thresholding: FR morphology is where the brightness sits along the source."""
        return cls(**overrides)

    @classmethod
    def strong(cls, **overrides) -> Augment:
        """The earlier, harder recipe (crops to 60%, noise to 10% of the peak, contrast
        jitter saturating up to the top 3% of pixels, percentile thresholding)."""
        opts = dict(crop_scale=(0.6, 1.0), blur_sigma=(0.1, 1.5), noise_std=(0.0, 0.1),
                    contrast_p=0.8, threshold_p=0.3)
        return cls(**{**opts, **overrides})

    def config(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def __call__(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        n = x.shape[0]
        if self.rot90_flip:
            x = rot90_flip(x, g)
        if self.crop_p > 0:
            x = _where(_pick(g, n, self.crop_p),
                       rotate_crop_resize(x, g, scale=self.crop_scale, rotate=self.rotate,
                                          shift=self.crop_shift), x)
        if self.blur_p > 0:
            x = _where(_pick(g, n, self.blur_p), gaussian_blur(x, g, sigma=self.blur_sigma), x)
        if self.contrast_p > 0:
            x = _where(_pick(g, n, self.contrast_p),
                       contrast_jitter(x, g, gain=self.contrast_gain,
                                       saturate=self.contrast_saturate), x)
        if self.threshold_p > 0:
            x = _where(_pick(g, n, self.threshold_p),
                       percentile_threshold(x, g, q=self.threshold_q), x)
        if self.noise_p > 0:
            x = _where(_pick(g, n, self.noise_p), add_noise(x, g, std=self.noise_std), x)
        if self.channel_drop_p > 0:
            x = channel_dropout(x, g, p=self.channel_drop_p)
        return x
