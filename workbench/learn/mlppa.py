"""The ML-PPA DM-time CNN: a small convolutional classifier of dispersed-pulse candidates.

For a 256 x 256 single-channel DM-time image the network is::

    Conv 5x5, 4 filters (valid) + ReLU      -> (4, 252, 252)
    MaxPool 2                               -> (4, 126, 126)
    Conv 5x5, 8 filters (valid) + ReLU      -> (8, 122, 122)
    MaxPool 2                               -> (8, 61, 61)
    Conv 5x5, 12 filters (valid) + ReLU     -> (12, 57, 57)
    Flatten                                 -> 38988
    Dense 256 + ReLU                        -> 256
    Dense 2 (logits)                        -> 2

which has exactly 9,985,022 trainable parameters (104 + 808 + 2412 + 9,981,184 + 514):
"valid" (unpadded) convolutions, ReLU activations, no pooling after the last convolution.
Variants change the input size (32, 64, 128 or 256 pixels square) and the depth (2 or 3
convolutions; the pooling sits between convolutions).

The design follows the ML-PPA (Machine Learning for Pulsar and transient Pulse Analysis)
DM-time classifiers; the exact layer list is the one given in the workbench issue.
"""

from __future__ import annotations

import torch
from torch import nn

from workbench.core.errors import ModelError

__all__ = ["MLPPA", "mlppa_output_shapes", "SIZES", "DEPTHS"]

SIZES = (32, 64, 128, 256)
DEPTHS = (2, 3)
_FILTERS = (4, 8, 12)
_KERNEL = 5


def _spatial_sizes(input_size: int, depth: int) -> list[int]:
    """Side length after each conv (and pool) stage."""
    sizes, s = [], input_size
    for i in range(depth):
        s = s - (_KERNEL - 1)
        sizes.append(s)
        if i < depth - 1:
            s = s // 2
            sizes.append(s)
    return sizes


class MLPPA(nn.Module):
    """ML-PPA CNN for DM-time candidate images.

    Parameters
    ----------
    input_size : {32, 64, 128, 256}
        Side of the square input image (pixels). Inputs are ``(n, in_channels, s, s)``:
        rows are trial DM (pc cm^-3), columns time (s).
    depth : {2, 3}
        Number of convolutions (4, 8[, 12] filters).
    in_channels : int
        Input channels (1 for a DM-time image).
    n_classes : int
        Output logits (2: RFI/noise vs astrophysical pulse).
    hidden : int
        Width of the dense layer (256).
    dropout : float
        Dropout before each dense layer (0 = the published network; > 0 enables
        Monte-Carlo dropout for BALD). Adds no parameters.
    """

    def __init__(self, input_size: int = 256, *, depth: int = 3, in_channels: int = 1,
                 n_classes: int = 2, hidden: int = 256, dropout: float = 0.0):
        super().__init__()
        if input_size not in SIZES:
            raise ModelError(f"ML-PPA input size must be one of {SIZES}, not {input_size}",
                             hint="resample the DM-time images to one of these sizes")
        if depth not in DEPTHS:
            raise ModelError(f"ML-PPA depth must be 2 or 3 convolutions, not {depth}")
        if n_classes < 2:
            raise ModelError("a classifier needs at least 2 classes")
        self.config = {"arch": "mlppa", "input_size": int(input_size), "depth": int(depth),
                       "in_channels": int(in_channels), "n_classes": int(n_classes),
                       "hidden": int(hidden), "dropout": float(dropout)}
        layers: list[nn.Module] = []
        c_in = in_channels
        for i in range(depth):
            layers += [nn.Conv2d(c_in, _FILTERS[i], _KERNEL), nn.ReLU()]
            if i < depth - 1:
                layers.append(nn.MaxPool2d(2))
            c_in = _FILTERS[i]
        self.features = nn.Sequential(*layers)
        side = _spatial_sizes(input_size, depth)[-1]
        self.n_flat = c_in * side * side
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(self.n_flat, hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(n, n_classes)`` for images ``(n, in_channels, s, s)``."""
        return self.classifier(self.features(x))


def mlppa_output_shapes(input_size: int = 256, *, depth: int = 3,
                        n_classes: int = 2) -> list[tuple[str, tuple[int, ...]]]:
    """Per-layer ``(name, output shape without batch)`` of an ML-PPA variant (computed by
    running a dummy image through it)."""
    model = MLPPA(input_size, depth=depth, n_classes=n_classes).eval()
    out = []
    x = torch.zeros(1, 1, input_size, input_size)
    with torch.no_grad():
        for layer in [*model.features, *model.classifier]:
            x = layer(x)
            if not isinstance(layer, (nn.ReLU, nn.Dropout)):
                out.append((type(layer).__name__, tuple(x.shape[1:])))
    return out
