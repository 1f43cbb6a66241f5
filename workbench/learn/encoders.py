"""ResNet-style image encoders in plain torch (no torchvision).

Residual blocks after He et al. 2016 (arXiv:1512.03385), sized for survey cutouts: a 3x3 stem
(no max-pool, so 32-64 pixel stamps keep their detail), ``len(depth)`` stages of basic blocks
that halve the grid and double the width, global average pooling (any input size) and a
linear layer to ``out_dim``. Any number of input channels (radio: 1, multi-band stamps: N).

Every encoder carries a JSON-safe ``config``; :func:`build_encoder` rebuilds it from that dict,
which is what a checkpoint stores beside the weights.
"""

from __future__ import annotations

import torch
from torch import nn

from workbench.core.errors import ModelError

__all__ = ["ResNetEncoder", "build_encoder", "encoder_config"]


class _BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a skip connection (1x1 conv when needed)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.skip = None
        if stride != 1 or c_in != c_out:
            self.skip = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                      nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + (x if self.skip is None else self.skip(x)))


def encoder_config(in_channels: int = 1, *, width: int = 16, depth=(1, 1, 1),
                   out_dim: int = 128, stem_stride: int = 2) -> dict:
    """The JSON-safe description of a :class:`ResNetEncoder` (validated)."""
    depth = [int(d) for d in depth]
    if int(in_channels) < 1:
        raise ModelError(f"in_channels must be >= 1, got {in_channels}")
    if int(width) < 1 or int(out_dim) < 1 or not depth or min(depth) < 1:
        raise ModelError(f"bad encoder size: width={width}, depth={depth}, out_dim={out_dim}",
                         hint="width and out_dim >= 1, depth a non-empty list of ints >= 1")
    if int(stem_stride) not in (1, 2, 4):
        raise ModelError(f"stem_stride must be 1, 2 or 4, got {stem_stride}")
    return {"arch": "resnet", "in_channels": int(in_channels), "width": int(width),
            "depth": depth, "out_dim": int(out_dim), "stem_stride": int(stem_stride)}


class ResNetEncoder(nn.Module):
    """A small ResNet mapping images to vectors.

    Parameters
    ----------
    in_channels : int
        Channels of the input images (1 for a single radio band, N for N bands).
    width : int
        Channels of the first stage; each later stage doubles it.
    depth : sequence of int
        Basic blocks per stage; stage ``k > 0`` halves the grid (stride 2).
    out_dim : int
        Length of the output vector (the embedding).
    stem_stride : int
        1 (full resolution), 2 (default) or 4: the stem shrinks the grid by this factor first (each
        factor 2 makes the network ~4x cheaper; 4 suits 64-128 px stamps on a CPU).

    The defaults (width 16, 3 stages, stem stride 2: ~0.2 M parameters) train on a laptop
    CPU in minutes at 64 x 64; use e.g. ``width=32, depth=(2, 2, 2, 2)`` on a GPU.

    Input ``(n, in_channels, ny, nx)`` float, any ``ny, nx >= 8``; output ``(n, out_dim)``.
    ``features(x)`` gives the pooled features before the last linear layer.
    """

    def __init__(self, in_channels: int = 1, *, width: int = 16, depth=(1, 1, 1),
                 out_dim: int = 128, stem_stride: int = 2):
        super().__init__()
        self.config = encoder_config(in_channels, width=width, depth=depth, out_dim=out_dim,
                                     stem_stride=stem_stride)
        cfg = self.config
        stem = [nn.Conv2d(cfg["in_channels"], cfg["width"], 3, stride=min(cfg["stem_stride"], 2),
                          padding=1, bias=False),
                nn.BatchNorm2d(cfg["width"]), nn.ReLU(inplace=True)]
        if cfg["stem_stride"] == 4:
            stem.append(nn.AvgPool2d(2))
        self.stem = nn.Sequential(*stem)
        stages, c = [], cfg["width"]
        for k, n_blocks in enumerate(cfg["depth"]):
            c_out = cfg["width"] * 2 ** k
            blocks = [_BasicBlock(c, c_out, 1 if k == 0 else 2)]
            blocks += [_BasicBlock(c_out, c_out, 1) for _ in range(n_blocks - 1)]
            stages.append(nn.Sequential(*blocks))
            c = c_out
        self.stages = nn.Sequential(*stages)
        self.feature_dim = c
        self.head = nn.Linear(c, cfg["out_dim"])
        self.out_dim = cfg["out_dim"]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``(n, feature_dim)``."""
        if x.ndim != 4 or x.shape[1] != self.config["in_channels"]:
            raise ModelError(f"encoder expects (n, {self.config['in_channels']}, ny, nx) "
                             f"images, got shape {tuple(x.shape)}",
                             hint="build the encoder with in_channels matching the product")
        return self.stages(self.stem(x)).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build_encoder(config: dict) -> nn.Module:
    """Rebuild an encoder from its ``config`` dict (as stored in a checkpoint)."""
    cfg = dict(config or {})
    arch = cfg.pop("arch", "resnet")
    if arch != "resnet":
        raise ModelError(f"unknown encoder architecture {arch!r}; known: ['resnet']")
    try:
        return ResNetEncoder(**cfg)
    except TypeError as exc:
        raise ModelError(f"encoder config {config} does not fit ResNetEncoder ({exc})") from exc
