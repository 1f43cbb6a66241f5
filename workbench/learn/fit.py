"""One training function for every classifier, and the training labels it learns from.

:func:`fit` owns the optimiser, the device (CUDA with mixed precision when there is one,
else CPU), class weighting, progress, cancel and the checkpoint. Labels come from the
label store's consensus (:func:`labels_from_store`) or from a catalog column used as an
oracle (:func:`labels_from_column`); :func:`encode_labels` turns them into class indices
and refuses what cannot be trained on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.core.errors import ModelError

__all__ = ["fit", "FitResult", "TrainingCancelled", "encode_labels", "labels_from_column",
           "labels_from_store", "class_weights", "pick_device"]


class TrainingCancelled(ModelError):
    """Training was cancelled (by the user or a cancel event) before it finished."""


@dataclass
class FitResult:
    """What :func:`fit` returns: the trained ``model`` (in eval mode, on CPU), its
    ``config`` (model config + classes + anything in ``extra_config``), the per-epoch
    ``history`` (loss, accuracy, seconds) and the ``checkpoint`` path if one was written."""

    model: object
    config: dict
    history: list = field(default_factory=list)
    checkpoint: str | None = None
    device: str = "cpu"


# ------------------------------------------------------------------------ labels
def labels_from_column(coll, column: str) -> pd.Series:
    """Training labels from a catalog column (ground truth used as an oracle).

    Returns a Series of str labels indexed by item id; missing values are dropped.
    """
    cat = coll.catalog
    if column not in cat.columns:
        raise ModelError(f"no column {column!r} in the catalog", path=getattr(coll, "path", None),
                         hint=f"columns are {list(cat.columns)}")
    s = pd.Series(cat[column].to_numpy(), index=cat["id"].astype(str).to_numpy(), name="label")
    s = s[s.notna()]
    return s.astype(str)


def _consensus_frame_to_series(cons) -> pd.Series:
    if isinstance(cons, pd.Series):
        return cons.dropna().astype(str)
    if isinstance(cons, dict):
        return pd.Series(cons, dtype=object).dropna().astype(str)
    if isinstance(cons, pd.DataFrame):
        idcol = next((c for c in ("item_id", "id", "item") if c in cons.columns), None)
        labcol = next((c for c in ("label", "consensus", "answer", "value") if c in cons.columns),
                      None)
        if idcol is None or labcol is None:
            raise ModelError(f"cannot read consensus table with columns {list(cons.columns)}")
        s = pd.Series(cons[labcol].to_numpy(), index=cons[idcol].astype(str).to_numpy())
        return s[s.notna()].astype(str)
    raise ModelError(f"cannot read consensus of type {type(cons).__name__}")


def labels_from_store(store, campaign) -> pd.Series:
    """Training labels from the label store: the campaign's consensus answers.

    Parameters
    ----------
    store : workbench.io.labels store (``open_store(coll)``)
    campaign : Campaign, or its name / id in ``store``

    Returns
    -------
    Series of str labels indexed by item id (items without consensus are left out).
    """
    camp = campaign
    if isinstance(campaign, (str, int)):
        getter = getattr(store, "campaign", None) or getattr(store, "get_campaign", None)
        if getter is None:
            raise ModelError("the label store has no campaign lookup")
        camp = getter(campaign)
    from workbench.labeling.consensus import campaign_consensus

    labels = _consensus_frame_to_series(campaign_consensus(camp))
    allowed = _scheme_classes(camp)
    if allowed is not None:
        gone = sorted(set(labels) - set(allowed))
        if gone:
            raise ModelError(f"consensus labels {gone} are not answers of the campaign's "
                             f"current scheme {sorted(allowed)}", hint="the scheme dropped "
                             "them: relabel those items or map old answers to current ones")
    return labels


def _scheme_classes(camp):
    """The answers of the scheme's class question, or None when unknown."""
    try:
        scheme = camp.scheme
        qid = getattr(scheme, "class_question", None)
        q = next(q for q in scheme.questions if q.id == qid)
        return [getattr(a, "value", a) for a in q.answers]
    except Exception:  # noqa: BLE001 - a store without schemes: no check
        return None


def encode_labels(labels: pd.Series, *, classes: Sequence[str] | None = None,
                  where: str = "the labels") -> tuple[np.ndarray, list[str]]:
    """Str labels -> ``(y, classes)`` with ``y`` int64 indices into ``classes``.

    Raises
    ------
    ModelError
        No labels; only one class; a label that is not among ``classes`` (e.g. an answer
        the label scheme has since dropped).
    """
    labels = pd.Series(labels).dropna().astype(str)
    if len(labels) == 0:
        raise ModelError(f"no labels to train on in {where}",
                         hint="label some items first (or pass --label-column)")
    present = sorted(labels.unique())
    if classes is None:
        classes = present
    classes = [str(c) for c in classes]
    unknown = sorted(set(present) - set(classes))
    if unknown:
        raise ModelError(f"{where} contain label(s) {unknown} that are not classes of the "
                         f"scheme {classes}", hint="the scheme may have dropped them: "
                         "relabel those items or map the old answers to current ones")
    if len(present) < 2:
        raise ModelError(f"only one class ({present[0]!r}) in {where}; a classifier needs "
                         "examples of at least two classes", hint="label some items of "
                         "another class")
    index = {c: i for i, c in enumerate(classes)}
    return labels.map(index).to_numpy(np.int64), classes


def class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """'Balanced' class weights ``n / (k * n_c)`` (0 for absent classes), float32 (k,)."""
    counts = np.bincount(np.asarray(y), minlength=n_classes).astype(np.float64)
    present = counts > 0
    w = np.zeros(n_classes)
    w[present] = counts.sum() / (present.sum() * counts[present])
    return w.astype(np.float32)


def pick_device(device: str | None = None) -> str:
    """``device`` if given, else ``"cuda"`` when a GPU is usable, else ``"cpu"``."""
    import torch

    if device:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def _check_cancel(cancel) -> bool:
    if cancel is None:
        return False
    if callable(cancel):
        return bool(cancel())
    return bool(cancel.is_set())


# ------------------------------------------------------------------------ training
def fit(model, x: np.ndarray, y: np.ndarray, *, classes: Sequence[str], epochs: int = 10,
        batch_size: int = 32, lr: float = 1e-3, weight_decay: float = 1e-4,
        class_weight: str | None = "balanced", device: str | None = None,
        amp: bool | None = None, seed: int = 0, augment: Callable | None = None,
        progress: Callable[[dict], None] | None = None, cancel=None,
        checkpoint=None, extra_config: dict | None = None) -> FitResult:
    """Train ``model`` on ``(x, y)`` with Adam and cross-entropy.

    Parameters
    ----------
    model : torch.nn.Module with a ``config`` dict
        E.g. :class:`~workbench.learn.mlppa.MLPPA` or
        :class:`~workbench.learn.classifiers.EmbeddingHead`.
    x : ndarray, float32
        Inputs, already prepared: images ``(n, c, s, s)`` or features ``(n, d)``.
    y : ndarray of int, shape (n,)
        Class indices into ``classes``.
    classes : sequence of str
        Class names (their order is the logits' order).
    epochs, batch_size, lr, weight_decay
        Optimisation settings.
    class_weight : {"balanced", None}
        ``"balanced"`` weights the loss by ``n / (k * n_c)`` so rare classes count as much
        as common ones.
    device : str, optional
        ``"cuda"``/``"cpu"``; default CUDA when available.
    amp : bool, optional
        Mixed precision (bfloat16 autocast); default on for CUDA, off on CPU.
    augment : callable, optional
        ``augment(xb_tensor) -> tensor`` applied to each training batch.
    progress : callable, optional
        Called after every epoch with ``{"epoch", "epochs", "loss", "accuracy", "seconds"}``.
    cancel : threading.Event or callable, optional
        Checked between batches; when set, :class:`TrainingCancelled` is raised and
        nothing is written.
    checkpoint : path, optional
        Where to write the safetensors checkpoint (atomically) when training finishes.
    extra_config : dict, optional
        Stored in the checkpoint next to the model config (input preparation, labels...).
    """
    import torch
    from torch import nn

    from workbench.learn.checkpoints import save_checkpoint

    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    classes = [str(c) for c in classes]
    if len(x) != len(y):
        raise ModelError(f"{len(x)} inputs but {len(y)} labels")
    if len(y) == 0:
        raise ModelError("no labels to train on")
    if len(np.unique(y)) < 2:
        raise ModelError(f"only one class ({classes[int(y[0])]!r}) among the labels; a "
                         "classifier needs at least two")
    n_classes = len(classes)
    if getattr(model, "config", {}).get("n_classes", n_classes) != n_classes:
        raise ModelError(f"model has {model.config['n_classes']} outputs for "
                         f"{n_classes} classes")
    device = pick_device(device)
    use_amp = (device.startswith("cuda")) if amp is None else bool(amp and device != "cpu")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)

    model = model.to(device)
    weight = None
    if class_weight == "balanced":
        weight = torch.from_numpy(class_weights(y, n_classes)).to(device)
    elif class_weight is not None:
        raise ModelError(f"class_weight must be 'balanced' or None, not {class_weight!r}")
    loss_fn = nn.CrossEntropyLoss(weight=weight)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y)
    history = []
    n = len(x)
    bs = max(1, min(batch_size, n))
    for epoch in range(epochs):
        t0 = time.perf_counter()
        model.train()
        order = rng.permutation(n)
        tot, correct, seen = 0.0, 0, 0
        for start in range(0, n, bs):
            if _check_cancel(cancel):
                raise TrainingCancelled(f"training cancelled in epoch {epoch + 1}/{epochs}")
            idx = torch.from_numpy(order[start:start + bs])
            xb = xt[idx].to(device, non_blocking=True)
            yb = yt[idx].to(device, non_blocking=True)
            if augment is not None:
                xb = augment(xb)
            with torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu",
                                dtype=torch.bfloat16, enabled=use_amp):
                logits = model(xb)
                loss = loss_fn(logits.float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            seen += len(idx)
        rec = {"epoch": epoch + 1, "epochs": epochs, "loss": tot / seen,
               "accuracy": correct / seen, "seconds": time.perf_counter() - t0}
        history.append(rec)
        if progress is not None:
            progress(rec)
    model = model.to("cpu").eval()
    config = {"model": dict(model.config), "classes": classes, "n_train": int(n),
              "class_counts": np.bincount(y, minlength=n_classes).tolist(),
              "epochs": epochs, "lr": lr, "seed": seed, "device": device, "amp": use_amp,
              **(extra_config or {})}
    path = None
    if checkpoint is not None:
        save_checkpoint(checkpoint, model.state_dict(), config)
        path = str(checkpoint)
    return FitResult(model=model, config=config, history=history, checkpoint=path,
                     device=device)
