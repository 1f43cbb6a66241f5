"""Classifier modules: a head on frozen embeddings, a fine-tuned encoder, and a registry
that rebuilds any of them (plus the ML-PPA CNN) from the config stored in a checkpoint.

Every module carries a JSON-safe ``config`` dict; :func:`build_model` turns it back into
the module, so a checkpoint (weights + config) is all that is needed to predict.
"""

from __future__ import annotations

import torch
from torch import nn

from workbench.core.errors import ModelError
from workbench.learn.encoders import build_encoder
from workbench.learn.mlppa import MLPPA

__all__ = ["EmbeddingHead", "FineTuneClassifier", "build_model", "ARCHITECTURES"]


class EmbeddingHead(nn.Module):
    """A linear or small MLP classifier on (frozen) embedding vectors.

    Parameters
    ----------
    in_dim : int
        Length of the embedding vectors (input ``(n, in_dim)``).
    n_classes : int
        Number of output logits.
    hidden : tuple of int
        Hidden layer widths; ``()`` gives a linear (logistic) head.
    dropout : float
        Dropout before every linear layer (used for Monte-Carlo dropout / BALD).
    """

    def __init__(self, in_dim: int, n_classes: int, *, hidden: tuple[int, ...] = (128,),
                 dropout: float = 0.2):
        super().__init__()
        if n_classes < 2:
            raise ModelError("a classifier needs at least 2 classes")
        self.config = {"arch": "head", "in_dim": int(in_dim), "n_classes": int(n_classes),
                       "hidden": [int(h) for h in hidden], "dropout": float(dropout)}
        layers: list[nn.Module] = []
        d = in_dim
        for h in hidden:
            layers += [nn.Dropout(dropout), nn.Linear(d, h), nn.ReLU()]
            d = h
        layers += [nn.Dropout(dropout), nn.Linear(d, n_classes)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(n, n_classes)`` for embeddings ``(n, in_dim)``."""
        return self.net(x)


class FineTuneClassifier(nn.Module):
    """A whole encoder trained end to end with a linear head on its output.

    Parameters
    ----------
    encoder : nn.Module
        Maps images ``(n, c, ny, nx)`` to embeddings ``(n, embed_dim)``; typically an
        encoder from :mod:`workbench.learn.encoders` loaded from an SSL checkpoint.
    embed_dim : int
        Length of the encoder's output vectors.
    n_classes : int
        Number of output logits.
    encoder_config : dict, optional
        How to rebuild the encoder (stored in the checkpoint; see :func:`build_model`).
    dropout : float
        Dropout before the head.
    """

    def __init__(self, encoder: nn.Module, embed_dim: int, n_classes: int, *,
                 encoder_config: dict | None = None, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(embed_dim, n_classes))
        self.config = {"arch": "finetune", "embed_dim": int(embed_dim),
                       "n_classes": int(n_classes), "dropout": float(dropout),
                       "encoder": dict(encoder_config or getattr(encoder, "config", {}) or {})}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x)
        if z.ndim > 2:
            z = torch.flatten(z, 1)
        return self.head(z)


def build_model(config: dict) -> nn.Module:
    """Rebuild a classifier module from its ``config`` (as stored in a checkpoint)."""
    arch = config.get("arch")
    if arch == "mlppa":
        return MLPPA(config["input_size"], depth=config["depth"],
                     in_channels=config.get("in_channels", 1), n_classes=config["n_classes"],
                     hidden=config.get("hidden", 256), dropout=config.get("dropout", 0.0))
    if arch == "head":
        return EmbeddingHead(config["in_dim"], config["n_classes"],
                             hidden=tuple(config.get("hidden", ())),
                             dropout=config.get("dropout", 0.0))
    if arch == "finetune":
        enc = build_encoder(config.get("encoder", {}))
        return FineTuneClassifier(enc, config["embed_dim"], config["n_classes"],
                                  encoder_config=config.get("encoder"),
                                  dropout=config.get("dropout", 0.0))
    raise ModelError(f"unknown model architecture {arch!r}",
                     hint=f"known: {sorted(ARCHITECTURES)}")


ARCHITECTURES = {"mlppa": MLPPA, "head": EmbeddingHead, "finetune": FineTuneClassifier}
