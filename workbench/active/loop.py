"""The active-learning loop: labels -> retrain -> evaluate -> score the pool -> new queue.

Every round is recorded under ``<collection>/rounds/round-NNNN/``::

    model.safetensors   the checkpoint (weights, input preparation, temperature)
    labels.parquet      the labels it was trained / evaluated on (id, label, split)
    metrics.json        held-out metrics, training history, strategy, checkpoint hash
    queue.parquet       the items it asks to label next (id, score, rank, reason)

A round is built in a ``.tmp-...`` folder and renamed into place only when complete;
``rounds/current.json`` (replaced atomically afterwards) names the round in use. A
retraining killed half-way therefore leaves the previous round current, and
:meth:`ActiveLoop.rollback` makes any earlier round current again.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.errors import ModelError

__all__ = ["ActiveLoop", "RoundJob"]


def _atomic_json(path: Path, obj) -> None:
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{path.name}")
    tmp.write_text(json.dumps(obj, indent=1, default=_json_default))
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


class RoundJob:
    """A round running in a background thread: ``progress`` (latest epoch record),
    ``cancel()``, ``done``, ``result(timeout)`` (the round record, or raises its error)."""

    def __init__(self, loop: ActiveLoop, **kwargs):
        self._cancel = threading.Event()
        self.progress: dict = {}
        self.error: BaseException | None = None
        self.record: dict | None = None
        self._listeners = []

        def on_progress(rec):
            self.progress = rec
            for fn in list(self._listeners):
                fn(rec)

        def run():
            try:
                self.record = loop.run_round(progress=on_progress, cancel=self._cancel, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - reported through result()
                self.error = exc

        self._thread = threading.Thread(target=run, name="workbench-al-round", daemon=True)
        self._thread.start()

    def on_progress(self, fn) -> None:
        """Call ``fn(record)`` after every epoch (from the worker thread)."""
        self._listeners.append(fn)

    def cancel(self) -> None:
        """Ask the round to stop; the previous round stays current."""
        self._cancel.set()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self, timeout: float | None = None) -> dict:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the round is still running")
        if self.error is not None:
            raise self.error
        return self.record


class ActiveLoop:
    """Rounds of retraining and re-queuing over one Collection.

    Parameters
    ----------
    coll : Collection (opened ``r+`` to record rounds)
    campaign : str or Campaign, optional
        Label-store campaign: its consensus gives the labels and its queue receives the
        new priorities (``campaign.set_priorities(scores, round=, strategy=)``).
    store : label store, optional
        Default ``workbench.io.labels.open_store(coll)``.
    label_column : str, optional
        Oracle labels from the catalog instead of a campaign.
    arch : {"head", "mlppa"}
        Model retrained each round (see :func:`workbench.active.training.train_classifier`).
    strategy : str
        Default acquisition strategy (:mod:`workbench.active.acquisition`).
    queue_size : int
        Items queued per round.
    classes : list of str, optional
        The scheme's classes (labels outside them are refused).
    source : str, optional
        Features of the ``head`` model and of the acquisition: ``auto`` (default: stored SSL
        embeddings ``embedding-*`` if any, else pixels), ``pixels``, ``embedding-<hash>``
        (see :func:`workbench.learn.pool_features.resolve_source`).
    dropout : float, optional
        Dropout of the retrained model. Default: train_classifier's (0 for ``mlppa``, the
        network as published; 0.2 for ``head``), except that an ``mlppa`` round using BALD
        trains with 0.2, which its Monte-Carlo dropout samples need.
    holdout_ids : sequence of str, optional
        A fixed evaluation set (labelled items never trained on) instead of the stable
        hash-chosen ``holdout`` share of whatever is labelled: every round is then measured
        on the same items, so the curve shows what the new labels bought. (The hash share
        grows with the labels, and an uncertainty strategy labels hard items, so that
        held-out set gets harder round by round.)
    """

    def __init__(self, coll, *, campaign=None, store=None, label_column: str | None = None,
                 arch: str = "head", strategy: str = "margin", queue_size: int = 50,
                 random_fraction: float = 0.1, epochs: int = 60, batch_size: int = 64,
                 lr: float = 3e-3, holdout: float = 0.2, source: str | None = None,
                 product: str | None = None, size: int = 64, classes=None,
                 mc_samples: int = 10, dropout: float | None = None, seed: int = 0,
                 holdout_ids=None):
        self.coll = coll
        self.holdout_ids = None if holdout_ids is None else [str(i) for i in holdout_ids]
        self.dropout = dropout
        self.campaign = campaign
        self.store = store
        self.label_column = label_column
        self.arch = arch
        self.strategy = strategy
        self.queue_size = queue_size
        self.random_fraction = random_fraction
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.holdout = holdout
        self.source = source
        self.product = product
        self.size = size
        self.classes = classes
        self.mc_samples = mc_samples
        self.seed = seed
        self.root = Path(coll.path) / "rounds"
        self.root.mkdir(exist_ok=True)
        self._features = None
        self._lock = threading.Lock()
        for p in self.root.glob(".tmp-*"):  # leftovers of a killed round
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)

    # ---------------------------------------------------------------- state
    def rounds(self) -> list[int]:
        """Completed round numbers, ascending."""
        return sorted(int(p.name.split("-")[1]) for p in self.root.glob("round-*") if p.is_dir())

    def current_round(self) -> int | None:
        """The round whose model is in use (None before the first)."""
        p = self.root / "current.json"
        return json.loads(p.read_text())["round"] if p.exists() else None

    def round_dir(self, k: int) -> Path:
        return self.root / f"round-{k:04d}"

    def record(self, k: int | None = None) -> dict | None:
        """The metrics record of round ``k`` (default: the current one)."""
        k = self.current_round() if k is None else k
        if k is None:
            return None
        return json.loads((self.round_dir(k) / "metrics.json").read_text())

    def history(self) -> pd.DataFrame:
        """One row per round: round, strategy, n_train, n_holdout, accuracy, balanced
        accuracy, AUROC."""
        rows = []
        for k in self.rounds():
            r = self.record(k)
            m = r["metrics"]
            rows.append({"round": k, "strategy": r["strategy"], "n_train": r["n_train"],
                         "n_holdout": r["n_holdout"], "accuracy": m.get("accuracy"),
                         "balanced_accuracy": m.get("balanced_accuracy"),
                         "auroc": m.get("auroc")})
        return pd.DataFrame(rows, columns=["round", "strategy", "n_train", "n_holdout",
                                           "accuracy", "balanced_accuracy", "auroc"])

    def queue(self, k: int | None = None) -> pd.DataFrame:
        """The queue (id, score, rank, reason) chosen by round ``k`` (default current)."""
        k = self.current_round() if k is None else k
        if k is None:
            return pd.DataFrame(columns=["id", "score", "rank", "reason"])
        return pd.read_parquet(self.round_dir(k) / "queue.parquet")

    def model(self, k: int | None = None):
        """``(model, config)`` of round ``k`` (default: the current round)."""
        from workbench.learn.infer import load_model

        k = self.current_round() if k is None else k
        if k is None:
            raise ModelError("no round has been trained yet", path=self.root)
        return load_model(self.round_dir(k) / "model.safetensors")

    def rollback(self, k: int) -> None:
        """Make round ``k`` current again (its model and queue)."""
        if k not in self.rounds():
            raise ModelError(f"there is no round {k}", path=self.root,
                             hint=f"rounds: {self.rounds()}")
        _atomic_json(self.root / "current.json", {"round": k, "rolled_back": True})
        self._push_priorities(k)

    # ---------------------------------------------------------------- work
    def _store(self):
        if self.store is None and self.campaign is not None:
            from workbench.io.labels import open_store

            self.store = open_store(self.coll)
        return self.store

    def _campaign(self):
        if self.campaign is None or not isinstance(self.campaign, (str, int)):
            return self.campaign
        return self._store().campaign(self.campaign)

    def _feats(self):
        if self._features is None:
            from workbench.learn.pool_features import features_for, resolve_source

            self.source = resolve_source(self.coll, self.source)
            self._features = features_for(self.coll, source=self.source)
        return self._features

    def labels(self) -> pd.Series:
        """The labels available now (item id -> class)."""
        from workbench.active.training import resolve_labels

        camp = self._campaign()
        return resolve_labels(self.coll, label_column=self.label_column, campaign=camp,
                              store=self._store())

    def start_round(self, **kwargs) -> RoundJob:
        """Run :meth:`run_round` in a background thread; returns a :class:`RoundJob`."""
        return RoundJob(self, **kwargs)

    def run_round(self, *, strategy: str | None = None, progress=None, cancel=None) -> dict:
        """Retrain on the labels now in the store, evaluate, queue the next items.

        Returns the round's record (``round``, ``metrics``, ``queue``, ``path``, ...).
        """
        from workbench.active.acquisition import acquire
        from workbench.active.training import model_inputs, train_classifier
        from workbench.learn.checkpoints import file_hash
        from workbench.learn.infer import mc_dropout_proba, predict_proba

        strategy = strategy or self.strategy
        with self._lock:
            k = (max(self.rounds()) + 1) if self.rounds() else 1
            tmp = self.root / f".tmp-round-{k:04d}-{uuid.uuid4().hex[:6]}"
            tmp.mkdir()
            try:
                t0 = time.perf_counter()
                lab = self.labels()
                feats = self._feats() if self.arch == "head" else None
                dropout = self.dropout
                if dropout is None and strategy == "bald" and self.arch == "mlppa":
                    dropout = 0.2  # MC dropout needs it; plain ML-PPA has none
                res = train_classifier(
                    self.coll, tmp / "model.safetensors", labels=lab, classes=self.classes,
                    arch=self.arch, product=self.product, size=self.size, source=self.source,
                    features=feats, epochs=self.epochs, batch_size=self.batch_size,
                    lr=self.lr, holdout=self.holdout, holdout_ids=self.holdout_ids,
                    seed=self.seed, dropout=dropout,
                    progress=progress, cancel=cancel)
                cfg = res["config"]
                ids = np.asarray(self.coll.ids)
                labelled = np.isin(ids, res["labels"]["id"].to_numpy())
                # only the campaign's items can be queued (it may cover part of the data)
                outside = ~self._in_campaign(ids)
                x = model_inputs(self.coll, ids, cfg["input"], features=feats)
                probs = predict_proba(res["model"], x, temperature=cfg["temperature"])
                mc = (mc_dropout_proba(res["model"], x, samples=self.mc_samples, seed=k)
                      if strategy == "bald" else None)
                clusters, anomaly = self._aux_columns()
                picks, scores = acquire(
                    strategy, self.queue_size, probs=probs, mc_probs=mc,
                    embeddings=feats if feats is not None else x.reshape(len(x), -1),
                    clusters=clusters, anomaly=anomaly, labelled_mask=labelled | outside,
                    random_fraction=self.random_fraction, seed=self.seed * 1000 + k)
                n_main = len(picks) - int(round(len(picks) * self.random_fraction)) \
                    if strategy != "random" else len(picks)
                queue = pd.DataFrame({
                    "id": ids[picks], "score": scores[picks], "rank": np.arange(len(picks)),
                    "reason": [f"round {k}: {strategy}" if i < n_main else
                               f"round {k}: random share" for i in range(len(picks))],
                    "pred_label": np.asarray(cfg["classes"])[probs[picks].argmax(1)],
                    "pred_confidence": probs[picks].max(1)})
                queue.to_parquet(tmp / "queue.parquet", index=False)
                res["labels"].to_parquet(tmp / "labels.parquet", index=False)
                held = res["labels"]["split"].to_numpy() == "holdout"
                mistakes = self._mistakes(res["labels"][held], ids, probs, cfg["classes"])
                record = {"round": k, "strategy": strategy, "arch": self.arch,
                          "n_train": int((~held).sum()), "n_holdout": int(held.sum()),
                          "metrics": res["metrics"], "history": res["history"],
                          "checkpoint_sha256": file_hash(tmp / "model.safetensors", length=64),
                          "temperature": cfg["temperature"], "classes": cfg["classes"],
                          "mistakes": mistakes, "seconds": time.perf_counter() - t0,
                          "created": pd.Timestamp.now("UTC").isoformat()}
                _atomic_json(tmp / "metrics.json", record)
                final = self.round_dir(k)
                os.rename(tmp, final)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            _atomic_json(self.root / "current.json", {"round": k})
        self._push_priorities(k, scores=pd.Series(scores, index=ids).dropna())
        return {**record, "queue": queue, "path": str(final)}

    def advice(self, *, strategies=None, seeds: int = 5, head: str = "logistic",
               save: bool = True) -> dict:
        """Which acquisition strategy is ahead on the labels so far, and by how much.

        Runs :func:`workbench.active.advisor.advise` (an oracle simulation on the labelled
        items, their labels as the annotator) on the loop's features (stored embeddings,
        else pixels) and returns its dict (``ahead``, ``best``, ``saving``, ``saving_ci``,
        ``message``; the full simulation under ``simulation``). A strategy is named ahead
        only when the interval of its saving excludes 0. With ``save`` the advice (without
        the simulation) is written beside the current round as ``advice.json``, where
        :meth:`latest_advice` (and the Dashboard) read it.
        """
        from workbench.active.advisor import DEFAULT_STRATEGIES, advise
        from workbench.learn.pool_features import features_for, resolve_source

        lab = self.labels()
        ids = pd.Index(np.asarray(self.coll.ids).astype(str))
        pos = ids.get_indexer(pd.Index(lab.index.astype(str)))
        lab = lab[pos >= 0]
        pos = pos[pos >= 0]
        feats = (self._feats() if self.arch == "head" else
                 features_for(self.coll, source=resolve_source(self.coll, "auto")))
        adv = advise(feats[pos], lab.to_numpy(), seeds=seeds, head=head,
                     strategies=strategies or DEFAULT_STRATEGIES)
        k = self.current_round()
        adv["round"] = k
        adv["n_labels"] = int(len(lab))
        if save and k is not None:
            _atomic_json(self.round_dir(k) / "advice.json",
                         {key: v for key, v in adv.items() if key != "simulation"})
        return adv

    def latest_advice(self) -> dict | None:
        """The advice saved by :meth:`advice` for the newest round that has one."""
        for k in reversed(self.rounds()):
            p = self.round_dir(k) / "advice.json"
            if p.exists():
                return json.loads(p.read_text())
        return None

    def _in_campaign(self, ids) -> np.ndarray:
        """Which of ``ids`` the campaign covers (all of them without a campaign, or for a
        campaign object that cannot list its items)."""
        camp = self._campaign()
        items = getattr(camp, "items", None)
        if camp is None or not callable(items):
            return np.ones(len(ids), bool)
        df = items()
        col = "item_id" if "item_id" in df.columns else "id"
        return np.isin(np.asarray(ids).astype(str), df[col].astype(str).to_numpy())

    def _aux_columns(self):
        cat = self.coll.catalog
        cl = next((c for c in cat.columns if c in ("cluster", "cluster_id", "hdbscan")), None)
        an = next((c for c in cat.columns if "outlier" in c or "anomaly" in c), None)
        return (cat[cl].to_numpy() if cl else None,
                cat[an].to_numpy(dtype=float) if an else None)

    @staticmethod
    def _mistakes(held_df, ids, probs, classes) -> list[dict]:
        pos = pd.Index(ids).get_indexer(held_df["id"])
        out = []
        for (_, row), p in zip(held_df.iterrows(), probs[pos]):
            pred = classes[int(p.argmax())]
            if pred != row["label"]:
                out.append({"id": row["id"], "label": row["label"], "pred": pred,
                            "confidence": float(p.max())})
        return sorted(out, key=lambda r: -r["confidence"])

    def _push_priorities(self, k: int, scores: pd.Series | None = None) -> None:
        camp = self._campaign()
        if camp is None or not hasattr(camp, "set_priorities"):
            return
        if scores is None:
            q = self.queue(k)
            scores = pd.Series(q["score"].to_numpy(), index=q["id"].to_numpy())
        rec = self.record(k)
        camp.set_priorities(scores, round=k, strategy=rec["strategy"])
