"""Supervised training: a classifier from a Collection and its labels, evaluated and calibrated.

One function (:func:`train_classifier`) used by ``workbench train``, by the active-learning
loop and by the notebooks: labels (a catalog column or the store's consensus) -> stable
held-out split -> model inputs -> :func:`workbench.learn.fit.fit` -> held-out metrics ->
temperature scaling -> safetensors checkpoint with everything needed to predict.

The settings are a :class:`~workbench.learn.config.TrainConfig` (``config=``, or its fields as
keyword arguments); the checkpoint stores the settings used under ``config["train"]``
(:func:`train_config` reads them back) and the function returns a :class:`TrainResult`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.errors import ModelError
from workbench.learn.config import TrainConfig

__all__ = ["train_classifier", "TrainConfig", "TrainResult", "train_config", "holdout_mask",
           "resolve_labels", "model_inputs"]


@dataclass
class TrainResult:
    """What :func:`train_classifier` made.

    Attributes
    ----------
    checkpoint : str
        The checkpoint file written.
    config : dict
        The checkpoint's config (model, classes, input preparation, temperature, held-out
        metrics, and under ``"train"`` the :class:`TrainConfig` used).
    metrics : dict
        Held-out metrics (:func:`workbench.learn.evaluate.evaluate`; ``{"n": 0}`` without a
        held-out set).
    history : list of dict
        Per-epoch loss and accuracy.
    device : str
    labels : DataFrame
        ``id``, ``label``, ``split`` (train or holdout) of every labelled item used.
    model : torch.nn.Module
        The trained model (CPU, eval mode).
    train : TrainConfig
        The settings used (dropout, product and source resolved).
    """

    checkpoint: str
    config: dict
    metrics: dict
    history: list = field(default_factory=list)
    device: str = "cpu"
    labels: pd.DataFrame | None = None
    model: object = None
    train: TrainConfig | None = None


def train_config(checkpoint) -> TrainConfig:
    """The :class:`TrainConfig` a classifier checkpoint was trained with; InputError naming
    the file if the stored record has unknown keys or bad values."""
    from workbench.learn.checkpoints import read_metadata

    meta = read_metadata(checkpoint)
    if "train" not in meta:
        raise ModelError("the checkpoint holds no classifier training settings",
                         path=checkpoint, hint="use a checkpoint written by `workbench train`")
    return TrainConfig.from_dict(meta["train"], path=checkpoint)


def holdout_mask(ids, fraction: float, *, seed: int = 0) -> np.ndarray:
    """Stable held-out split: an item is held out iff a hash of (seed, id) falls below
    ``fraction``, so an item stays on the same side as more labels arrive."""
    out = np.zeros(len(ids), bool)
    for i, item in enumerate(ids):
        h = hashlib.sha1(f"{seed}:{item}".encode()).digest()
        out[i] = int.from_bytes(h[:4], "little") / 2**32 < fraction
    return out


def resolve_labels(coll, *, labels=None, label_column=None, campaign=None,
                   store=None) -> pd.Series:
    """Labels as a Series (item id -> str) from one of: ``labels``, ``label_column``, or
    the consensus of ``campaign`` in ``store`` (default store: ``open_store(coll)``)."""
    from workbench.learn.fit import labels_from_column, labels_from_store

    if labels is not None:
        return pd.Series(labels).dropna().astype(str)
    if label_column is not None:
        return labels_from_column(coll, label_column)
    if campaign is not None:
        if store is None:
            from workbench.io.labels import open_store

            store = open_store(getattr(coll, "root", coll))
        return labels_from_store(store, campaign)
    raise ModelError("no labels: give a label column or a campaign")


def model_inputs(coll, ids, config_input: dict, *, features: np.ndarray | None = None,
                 batch_size: int = 256) -> np.ndarray:
    """Prepared model inputs for the items ``ids`` of ``coll``."""
    from workbench.learn._prep import prepare_images, standardise_features

    if config_input["kind"] == "images":
        prod = config_input["product"]
        sub = coll.select(ids=list(ids))
        blocks = [prepare_images(b.images[prod], size=config_input["size"],
                                 norm=config_input.get("norm", "per_image"))
                  for b in sub.batches(batch_size, products=[prod])]
        s = config_input["size"]
        c = coll.products[prod].full_shape[0]
        return np.concatenate(blocks) if blocks else np.zeros((0, c, s, s), np.float32)
    pos = pd.Index(coll.ids).get_indexer(pd.Index([str(i) for i in ids]))
    z, _, _ = standardise_features(features[pos], mean=config_input["mean"],
                                   std=config_input["std"])
    return z


def train_classifier(coll, output, *, config: TrainConfig | None = None, labels=None,
                     label_column: str | None = None, campaign=None, store=None,
                     features: np.ndarray | None = None, device: str | None = None,
                     progress=None, cancel=None, **options) -> TrainResult:
    """Train a classifier on the labelled items of ``coll`` and write its checkpoint.

    Parameters
    ----------
    coll : Collection
    output : path
        Checkpoint file (.safetensors) to write; metrics are in its config and returned.
    config : TrainConfig, optional
        The settings (:class:`~workbench.learn.config.TrainConfig`: ``arch``, ``source``,
        ``product``, ``size``, ``depth``, ``hidden``, ``dropout``, ``epochs``,
        ``batch_size``, ``lr``, ``holdout``, ``holdout_ids``, ``seed``, ``classes``).
    **options
        Fields of :class:`TrainConfig` (``arch=``, ``epochs=``, ...), applied on top of
        ``config``; an unknown name or a bad value is an InputError.
    labels, label_column, campaign, store
        Where the labels come from (see :func:`resolve_labels`).
    features : array (len(coll), d), optional
        Precomputed features for ``arch="head"`` (else from the config's ``source``).
    device, progress, cancel
        Where to train, a callback per epoch, a cancel event (see
        :func:`workbench.learn.fit.fit`).

    Returns
    -------
    TrainResult
    """
    from workbench.learn._prep import standardise_features
    from workbench.learn.calibration import TemperatureScaler
    from workbench.learn.checkpoints import save_checkpoint
    from workbench.learn.classifiers import EmbeddingHead
    from workbench.learn.evaluate import evaluate
    from workbench.learn.fit import encode_labels, fit
    from workbench.learn.infer import predict_logits
    from workbench.learn.mlppa import MLPPA
    from workbench.learn.pool_features import features_for, resolve_source

    cfg = (config or TrainConfig()).with_options(**options)
    arch, product, source, dropout, holdout = (cfg.arch, cfg.product, cfg.source, cfg.dropout,
                                               cfg.holdout)
    lab = resolve_labels(coll, labels=labels, label_column=label_column, campaign=campaign,
                         store=store)
    lab = lab[lab.index.isin(set(coll.ids))]
    y, classes = encode_labels(lab, classes=cfg.classes, where=f"the labels of {coll.path}")
    ids = lab.index.to_numpy().astype(str)
    if cfg.holdout_ids is not None:
        held = np.isin(ids, np.asarray(cfg.holdout_ids, dtype=str))
    else:
        held = (holdout_mask(ids, holdout, seed=cfg.seed) if holdout > 0
                else np.zeros(len(ids), bool))
    if len(np.unique(y[~held])) < 2 and cfg.holdout_ids is None:  # too few labels for a split: train on everything
        held[:] = False
    encode_labels(pd.Series(np.asarray(classes)[y[~held]]), classes=classes,
                  where="the training split")

    if dropout is None:
        dropout = 0.0 if arch == "mlppa" else 0.2
    if arch == "mlppa":
        if product is None:
            product = next((p for p, s in coll.products.items() if "dm" in s.axes.lower()
                            or "dm" in p.lower()), next(iter(coll.products)))
        if product not in coll.products:
            raise ModelError(f"no image product {product!r}", path=coll.path,
                             hint=f"products: {list(coll.products)}")
        c = coll.products[product].full_shape[0]
        cfg_in = {"kind": "images", "product": product, "size": int(cfg.size),
                  "norm": "per_image"}
        model = MLPPA(cfg.size, depth=cfg.depth, in_channels=c, n_classes=len(classes),
                      dropout=dropout)
        x = model_inputs(coll, ids, cfg_in)
    elif arch == "head":
        if features is None:
            source = resolve_source(coll, source)
            features = features_for(coll, source=source)
        pos = pd.Index(coll.ids).get_indexer(pd.Index(ids))
        _, mu, sd = standardise_features(features[pos][~held])
        cfg_in = {"kind": "features", "source": source, "mean": mu.tolist(), "std": sd.tolist()}
        x = model_inputs(coll, ids, cfg_in, features=features)
        model = EmbeddingHead(x.shape[1], len(classes), hidden=cfg.hidden, dropout=dropout)
    else:  # TrainConfig allows no other
        raise ModelError(f"unknown model {arch!r}", hint="use 'head' or 'mlppa'")
    used = cfg.with_options(dropout=float(dropout), product=product if arch == "mlppa" else
                            cfg.product, source=source if arch == "head" else cfg.source)

    res = fit(model, x[~held], y[~held], classes=classes, epochs=cfg.epochs,
              batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed, device=device,
              progress=progress, cancel=cancel)
    metrics: dict = {"n": 0}
    temperature = 1.0
    if held.any():
        logits = predict_logits(res.model, x[held], device="cpu")
        if len(np.unique(y[held])) >= 2 and held.sum() >= 5:
            ts = TemperatureScaler().fit(logits, y[held])
            temperature = ts.temperature_
            metrics = evaluate(y[held], ts.transform(logits), classes)
            metrics["calibration"] = {"temperature": temperature,
                                      "nll_before": ts.nll_before_, "nll_after": ts.nll_after_}
        else:
            from workbench.learn.infer import softmax

            metrics = evaluate(y[held], softmax(logits), classes)
    config = {**res.config, "input": cfg_in, "temperature": temperature,
              "n_holdout": int(held.sum()), "holdout_fraction": holdout,
              "metrics": {k: metrics.get(k) for k in ("n", "accuracy", "balanced_accuracy",
                                                      "auroc")},
              "train": used.to_dict()}
    if cancel is not None and (cancel() if callable(cancel) else cancel.is_set()):
        from workbench.learn.fit import TrainingCancelled

        raise TrainingCancelled("training cancelled before the checkpoint was written")
    save_checkpoint(output, res.model.state_dict(), config)
    labels_df = pd.DataFrame({"id": ids, "label": np.asarray(classes)[y],
                              "split": np.where(held, "holdout", "train")})
    return TrainResult(checkpoint=str(Path(output)), config=config, metrics=metrics,
                       history=res.history, device=res.device, labels=labels_df,
                       model=res.model, train=used)
