"""Small classifiers retrained every round of an oracle simulation.

Each head is a function ``(x_train, y_train, x_eval, n_classes, seed, need_samples) ->
(probs (n_eval, k), samples (S, n_eval, k) or None, features (n_eval, h) or None)``:
``samples`` are the draws BALD needs (Monte-Carlo dropout passes or ensemble members);
``features`` are the last hidden layer's activations, the space BADGE's gradient
embeddings live in (the inputs themselves for a linear head).

Heads
-----
mlp        one MLP (64 hidden, dropout 0.3) trained by :func:`workbench.learn.fit.fit`;
           BALD from 10 Monte-Carlo dropout passes (the simulation's original head).
logistic   L2-regularised logistic regression (scikit-learn, C=0.1, balanced classes);
           no samples (BALD unavailable).
ensemble   5 small MLPs (32 hidden, dropout 0.2) trained together on bootstrap resamples
           of the labels, from different initialisations; BALD from the members'
           disagreement (the deep-ensemble variant of Beluch et al. 2018 / the
           Bayesian-CNN ensembles of Walmsley et al. 2020).

:class:`workbench.learn.finetune.FinetuneHead` (fine-tunes the SSL encoder's last stage on
the labels each round) is a head object that ``simulate_strategies`` accepts in place of a
name; it is not in :data:`HEADS` because it needs the encoder and per-item inputs.
"""

from __future__ import annotations

import numpy as np

from workbench.core.errors import InputError

__all__ = ["HEADS", "train_head"]


def _mlp(x_tr, y_tr, x_ev, k, seed, need_samples, *, epochs=150):
    from workbench.learn.classifiers import EmbeddingHead
    from workbench.learn.fit import fit
    from workbench.learn.infer import mc_dropout_proba, predict_proba

    head = EmbeddingHead(x_tr.shape[1], k, hidden=(64,), dropout=0.3)
    r = fit(head, x_tr, y_tr, classes=[str(i) for i in range(k)], epochs=epochs,
            batch_size=len(x_tr), lr=1e-2, weight_decay=1e-3, seed=seed, device="cpu")
    probs = predict_proba(r.model, x_ev, device="cpu")
    mc = mc_dropout_proba(r.model, x_ev, samples=10, seed=seed) if need_samples else None
    return probs, mc, None


def _logistic(x_tr, y_tr, x_ev, k, seed, need_samples):
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression(C=0.1, max_iter=2000, class_weight="balanced").fit(x_tr, y_tr)
    p = np.zeros((len(x_ev), k))
    p[:, m.classes_] = m.predict_proba(x_ev)
    return p, None, np.asarray(x_ev, float)


def _ensemble(x_tr, y_tr, x_ev, k, seed, need_samples, *, members=5, hidden=32, steps=300,
              dropout=0.2, lr=1e-2, weight_decay=1e-3):
    import torch

    g = torch.Generator().manual_seed(int(seed))
    n, d = x_tr.shape
    xt = torch.as_tensor(np.asarray(x_tr, np.float32))
    yt = torch.as_tensor(np.asarray(y_tr, np.int64))
    counts = np.bincount(y_tr, minlength=k).astype(np.float32)
    cw = torch.as_tensor(np.where(counts > 0, n / (k * np.maximum(counts, 1)), 0.0),
                         dtype=torch.float32)
    # bootstrap weights per member (a multinomial resample of the labelled items)
    boot = torch.stack([torch.bincount(torch.randint(0, n, (n,), generator=g), minlength=n)
                        for _ in range(members)]).float()
    w1 = (torch.randn(members, d, hidden, generator=g) / np.sqrt(d)).requires_grad_()
    b1 = torch.zeros(members, 1, hidden, requires_grad=True)
    w2 = (torch.randn(members, hidden, k, generator=g) / np.sqrt(hidden)).requires_grad_()
    b2 = torch.zeros(members, 1, k, requires_grad=True)
    opt = torch.optim.Adam([w1, b1, w2, b2], lr=lr, weight_decay=weight_decay)
    xb = xt.expand(members, n, d)
    for _ in range(steps):
        mask = (torch.rand(members, n, hidden, generator=g) > dropout).float() / (1 - dropout)
        h = torch.relu(torch.bmm(xb, w1) + b1) * mask
        logits = torch.bmm(h, w2) + b2
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, k), yt.repeat(members),
                                                 reduction="none").reshape(members, n)
        loss = (loss * boot * cw[yt]).sum() / boot.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        xe = torch.as_tensor(np.asarray(x_ev, np.float32)).expand(members, len(x_ev), d)
        h = torch.relu(torch.bmm(xe, w1) + b1)
        p = torch.softmax(torch.bmm(h, w2) + b2, dim=-1).numpy().astype(np.float64)
    return p.mean(0), p, h.mean(0).numpy().astype(np.float64)


HEADS = {"mlp": _mlp, "logistic": _logistic, "ensemble": _ensemble}


def train_head(name: str, x_tr, y_tr, x_ev, n_classes: int, *, seed: int = 0,
               need_samples: bool = False):
    """Train head ``name`` on ``(x_tr, y_tr)``; see the module docstring for what returns."""
    if name not in HEADS:
        raise InputError(f"unknown head {name!r}", hint=f"choose one of {sorted(HEADS)}")
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: on a busy machine more threads cost 30x
    try:
        return HEADS[name](x_tr, np.asarray(y_tr), x_ev, int(n_classes), int(seed),
                           bool(need_samples))
    finally:
        torch.set_num_threads(threads)
