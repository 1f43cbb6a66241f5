"""Rotation-averaged embeddings and a last-block fine-tuning head for active learning.

Radio-galaxy morphology (FRI / FRII) does not change when a stamp is flipped or turned by
90 degrees, so two things here use the eight dihedral transforms of a square image:

* :func:`dihedral_embedding` embeds each image in all eight orientations with a frozen
  encoder and averages the vectors: an embedding that is exactly invariant to those
  transforms, with no retraining.
* :class:`FinetuneHead` is an active-learning head (for
  :func:`workbench.active.oracle.simulate_strategies`) that, every round, fine-tunes the
  encoder's *last* stage plus a new linear layer on the labelled items only, starting from
  the self-supervised weights each time. The earlier stages are frozen, so their output for
  every item in each of the eight orientations is computed once (:func:`stage_inputs`) and a
  round only runs the last stage: feasible on a CPU. Training draws a random orientation per
  item per step (augmentation); prediction averages the eight orientations; BALD gets its
  samples from Monte-Carlo dropout on the pooled features.

Batch-norm layers keep their self-supervised statistics (eval mode) while fine-tuning: with
10-250 labelled items, batch statistics would be noise.
"""

from __future__ import annotations

import copy

import numpy as np

from workbench.core.errors import InputError

__all__ = ["dihedral_views", "dihedral_embedding", "dihedral_features", "collection_images",
           "stage_inputs", "FinetuneHead"]


def dihedral_views(x):
    """The eight dihedral transforms (4 rotations x optional flip) of images
    ``(n, c, h, w)`` (torch tensor, square): a list of 8 tensors, the identity first."""
    import torch

    if x.ndim != 4 or x.shape[-1] != x.shape[-2]:
        raise InputError(f"dihedral views need square images (n, c, h, h), got {tuple(x.shape)}")
    out = []
    for flip in (False, True):
        y = torch.flip(x, dims=(-1,)) if flip else x
        for k in range(4):
            out.append(torch.rot90(y, k, dims=(-2, -1)))
    return out


def collection_images(coll, checkpoint):
    """Every item of ``coll`` prepared as the encoder in ``checkpoint`` was trained on
    (product, size, crop, stretch from its metadata): ``(encoder, images (n, c, s, s))``."""
    import torch

    from workbench.learn.data import CollectionImages
    from workbench.learn.encode import load_encoder

    enc, meta = load_encoder(checkpoint, device="cpu")
    train = meta.get("train", {})
    ds = CollectionImages(coll, train.get("product"), size=train.get("size"),
                          crop=train.get("crop"), stretch=train.get("stretch"))
    return enc, torch.stack([ds[i] for i in range(len(ds))])


def dihedral_embedding(encoder, images, *, pooled: bool = False,
                       batch_size: int = 256) -> np.ndarray:
    """Mean of ``encoder``'s vectors over the eight dihedral transforms of each image.

    ``images`` ``(n, c, s, s)``; ``pooled`` uses the pooled features before the encoder's
    last linear layer (``encoder.features``) instead of its output. Returns float32
    ``(n, d)``, identical (to rounding) for an image and any flip/90-degree rotation of it.
    """
    import torch

    fn = encoder.features if pooled else encoder
    encoder = encoder.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            xb = torch.as_tensor(images[i:i + batch_size], dtype=torch.float32)
            out.append(torch.stack([fn(v) for v in dihedral_views(xb)]).mean(0))
    return torch.cat(out).numpy().astype(np.float32)


def dihedral_features(coll, checkpoint, *, pooled: bool = True) -> np.ndarray:
    """:func:`dihedral_embedding` of every item of ``coll`` with the encoder in
    ``checkpoint`` (a ``workbench train-ssl`` safetensors file), images prepared as it was
    trained; by default its pooled features (``pooled=False``: its output vectors)."""
    enc, imgs = collection_images(coll, checkpoint)
    return dihedral_embedding(enc, imgs, pooled=pooled)


def stage_inputs(encoder, images, *, batch_size: int = 128):
    """Output of the frozen stem and all stages but the last, for each of the eight
    orientations: float32 tensor ``(n, 8, c, h, w)`` (the input of the last stage)."""
    import torch

    encoder = encoder.eval()
    body = torch.nn.Sequential(encoder.stem, *list(encoder.stages)[:-1])
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            xb = torch.as_tensor(images[i:i + batch_size], dtype=torch.float32)
            out.append(torch.stack([body(v) for v in dihedral_views(xb)], dim=1))
    return torch.cat(out)


class FinetuneHead:
    """An active-learning head that fine-tunes the encoder's last stage on the labels.

    Called as ``head(idx_train, y_train, idx_eval, n_classes, seed, need_samples)`` with
    *item indices* into ``inputs`` (``by_index`` tells the simulation so); returns
    ``(probs, samples, features)`` like :mod:`workbench.active.heads`: probabilities
    averaged over the eight orientations, ``mc_samples`` Monte-Carlo dropout draws when
    asked, and the pooled features (BADGE's space).

    Parameters
    ----------
    encoder : ResNetEncoder
        The self-supervised encoder; its last stage is copied (never modified) each round.
    inputs : tensor (n, 8, c, h, w)
        :func:`stage_inputs` of every item.
    steps, batch_size, lr, head_lr, weight_decay, dropout
        Training: ``steps`` Adam steps on minibatches of labelled items, each in a random
        orientation; ``lr`` for the last stage, ``head_lr`` for the new linear layer;
        class-balanced loss. The pooled features are standardised with their mean and
        spread over all items under the frozen weights (no labels involved).
    eval_views : int
        Orientations averaged at prediction (the first ``eval_views`` of the eight: 4 =
        the quarter turns without flips; fewer is cheaper).
    """

    by_index = True
    name = "finetune"

    def __init__(self, encoder, inputs, *, steps: int = 60, batch_size: int = 64,
                 lr: float = 1e-3, head_lr: float = 1e-2, weight_decay: float = 1e-4,
                 dropout: float = 0.3, mc_samples: int = 10, eval_views: int = 8):
        if inputs.ndim != 5 or inputs.shape[1] != 8:
            raise InputError(f"inputs must be (n, 8, c, h, w) from stage_inputs, got "
                             f"{tuple(inputs.shape)}")
        self.stage = copy.deepcopy(list(encoder.stages)[-1]).eval()
        self.feature_dim = encoder.feature_dim
        self.inputs = inputs
        self.steps, self.batch_size = int(steps), int(batch_size)
        self.lr, self.head_lr, self.weight_decay = lr, head_lr, weight_decay
        self.dropout, self.mc_samples = float(dropout), int(mc_samples)
        self.eval_views = int(eval_views)
        # scale of the frozen pooled features over all items (no labels): the new linear
        # layer sees standardised features, as the other heads do
        import torch

        with torch.no_grad():
            f = torch.cat([self.stage(inputs[i:i + 256, 0]).mean(dim=(2, 3))
                           for i in range(0, len(inputs), 256)])
        self.mu, self.sd = f.mean(0), f.std(0).clamp_min(1e-6)

    def _features(self, stage, x):
        return (stage(x).mean(dim=(2, 3)) - self.mu) / self.sd

    def __call__(self, idx_tr, y_tr, idx_ev, k, seed, need_samples):
        import torch

        g = torch.Generator().manual_seed(int(seed))
        torch.manual_seed(int(seed))
        idx_tr = np.asarray(idx_tr, int)
        idx_ev = np.asarray(idx_ev, int)
        y = torch.as_tensor(np.asarray(y_tr, np.int64))
        stage = copy.deepcopy(self.stage).eval()  # eval: batch-norm keeps SSL statistics
        lin = torch.nn.Linear(self.feature_dim, int(k))
        drop = torch.nn.Dropout(self.dropout)
        counts = np.bincount(np.asarray(y_tr, int), minlength=k).astype(np.float32)
        cw = torch.as_tensor(np.where(counts > 0, len(y_tr) / (k * np.maximum(counts, 1)), 0),
                             dtype=torch.float32)
        opt = torch.optim.Adam([
            {"params": stage.parameters(), "lr": self.lr},
            {"params": lin.parameters(), "lr": self.head_lr}], weight_decay=self.weight_decay)
        x_tr = self.inputs[torch.as_tensor(idx_tr)]
        n = len(idx_tr)
        for _ in range(self.steps):
            b = torch.randint(0, n, (min(self.batch_size, n),), generator=g)
            o = torch.randint(0, 8, (len(b),), generator=g)
            logits = lin(drop(self._features(stage, x_tr[b, o])))
            loss = torch.nn.functional.cross_entropy(logits, y[b], weight=cw)
            opt.zero_grad()
            loss.backward()
            opt.step()
        stage.eval()
        feats = []
        with torch.no_grad():
            for i in range(0, len(idx_ev), 256):
                xb = self.inputs[torch.as_tensor(idx_ev[i:i + 256]), :self.eval_views]
                bsz, nv = xb.shape[:2]  # (b, views, c, h, w)
                f = self._features(stage, xb.reshape(bsz * nv, *xb.shape[2:]))
                feats.append(f.reshape(bsz, nv, -1))
            f8 = torch.cat(feats)  # (n_ev, views, d)
            probs = torch.softmax(lin(f8), -1).mean(1)
            fmean = f8.mean(1)
            samples = None
            if need_samples:
                drop.train()
                samples = torch.stack([torch.softmax(lin(drop(fmean)), -1)
                                       for _ in range(self.mc_samples)]).numpy()
        return (probs.numpy().astype(np.float64),
                None if samples is None else samples.astype(np.float64),
                fmean.numpy().astype(np.float64))
