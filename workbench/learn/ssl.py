"""Self-supervised objectives: SimCLR (NT-Xent) and BYOL.

- SimCLR: Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual
  Representations", arXiv:2002.05709. Two views of each image are pulled together and pushed
  away from the other 2n-2 views with the normalised-temperature cross-entropy (NT-Xent).
- BYOL: Grill et al. 2020, "Bootstrap Your Own Latent", arXiv:2006.07733. An online network
  (encoder, projector, predictor) predicts the projection of the other view made by a target
  network whose weights are an exponential moving average of the online ones; no negatives.

Both wrap an encoder from :mod:`workbench.learn.encoders` (``.encoder``) and expose
``loss(view1, view2)`` and ``after_step(progress)`` (BYOL's target update); the training
loop in :mod:`workbench.learn.train` calls nothing else.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from workbench.core.errors import ModelError

__all__ = ["nt_xent", "SimCLR", "BYOL", "build_method", "METHODS"]


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """NT-Xent loss of SimCLR (Chen et al. 2020, eq. 1), averaged over all 2n anchors.

    Parameters
    ----------
    z1, z2 : tensor of shape (n, d)
        Projections of the two views; row i of ``z1`` and row i of ``z2`` are positives.
    temperature : float
        tau in the paper.
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ModelError(f"nt_xent needs two (n, d) tensors of one shape, got "
                         f"{tuple(z1.shape)} and {tuple(z2.shape)}")
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], 0).float(), dim=1)
    sim = z @ z.t() / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, target)


def _mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, d_out))


class SimCLR(nn.Module):
    """SimCLR: encoder + MLP projection head, trained with :func:`nt_xent`.

    ``temperature`` 0.2 (0.5 before) is the value of the MiraBest recipe measured in
    ``benchmarks/bench_discover.py`` (not tuned on its own; Chen et al. 2020 report
    0.1-0.5 as good, lower for small batches).
    """

    def __init__(self, encoder: nn.Module, *, proj_dim: int = 64, hidden: int = 256,
                 temperature: float = 0.2):
        super().__init__()
        self.encoder = encoder
        self.projector = _mlp(encoder.out_dim, hidden, proj_dim)
        self.temperature = float(temperature)
        self.config = {"method": "simclr", "proj_dim": proj_dim, "hidden": hidden,
                       "temperature": float(temperature)}

    def loss(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return nt_xent(self.projector(self.encoder(x1)), self.projector(self.encoder(x2)),
                       self.temperature)

    def after_step(self, progress: float) -> None:
        """Nothing to do after an optimiser step."""


class BYOL(nn.Module):
    """BYOL: online encoder + projector + predictor; target = EMA of encoder + projector.

    ``tau`` is the base EMA rate; it rises to 1 along a cosine over training
    (``tau_k = 1 - (1 - tau) (cos(pi k / K) + 1) / 2``, Grill et al. 2020, sec. 3.2).
    """

    def __init__(self, encoder: nn.Module, *, proj_dim: int = 64, hidden: int = 256,
                 tau: float = 0.99):
        super().__init__()
        self.encoder = encoder
        self.projector = _mlp(encoder.out_dim, hidden, proj_dim)
        self.predictor = _mlp(proj_dim, hidden, proj_dim)
        self.target_encoder = copy.deepcopy(encoder)
        self.target_projector = copy.deepcopy(self.projector)
        for p in self.target_parameters():
            p.requires_grad_(False)
        self.tau = float(tau)
        self.config = {"method": "byol", "proj_dim": proj_dim, "hidden": hidden, "tau": float(tau)}

    def online_parameters(self) -> list:
        """The online network's encoder and projector weights (what the target follows)."""
        return list(self.encoder.parameters()) + list(self.projector.parameters())

    def target_parameters(self) -> list:
        """The target network's weights, in the order of :meth:`online_parameters`; an EMA
        of them (:meth:`update_target`), never given gradients."""
        return list(self.target_encoder.parameters()) + list(self.target_projector.parameters())

    def trainable_parameters(self):
        return self.online_parameters() + list(self.predictor.parameters())

    @staticmethod
    def _regress(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return (2 - 2 * F.cosine_similarity(p.float(), z.float(), dim=-1)).mean()

    def loss(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        p1 = self.predictor(self.projector(self.encoder(x1)))
        p2 = self.predictor(self.projector(self.encoder(x2)))
        with torch.no_grad():
            self.target_encoder.train(self.training)
            self.target_projector.train(self.training)
            t1 = self.target_projector(self.target_encoder(x1))
            t2 = self.target_projector(self.target_encoder(x2))
        return 0.5 * (self._regress(p1, t2) + self._regress(p2, t1))

    def ema_rate(self, progress: float) -> float:
        """The EMA rate at ``progress`` in [0, 1] of training."""
        return 1 - (1 - self.tau) * (math.cos(math.pi * min(max(progress, 0.0), 1.0)) + 1) / 2

    @torch.no_grad()
    def update_target(self, rate: float) -> None:
        """target <- rate * target + (1 - rate) * online (weights; BN statistics copied)."""
        for t, o in zip(self.target_parameters(), self.online_parameters()):
            t.mul_(rate).add_(o.detach(), alpha=1 - rate)
        for tm, om in ((self.target_encoder, self.encoder),
                       (self.target_projector, self.projector)):
            for tb, ob in zip(tm.buffers(), om.buffers()):
                tb.copy_(ob)

    def after_step(self, progress: float) -> None:
        self.update_target(self.ema_rate(progress))


METHODS = {"simclr": SimCLR, "byol": BYOL}


def build_method(method: str, encoder: nn.Module, **kwargs) -> nn.Module:
    """``"simclr"`` or ``"byol"`` around ``encoder``."""
    try:
        cls = METHODS[method.lower()]
    except KeyError:
        raise ModelError(f"unknown SSL method {method!r}; choose one of {sorted(METHODS)}") from None
    return cls(encoder, **kwargs)
