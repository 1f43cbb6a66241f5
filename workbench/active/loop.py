"""The active-learning loop: labels -> retrain -> evaluate -> score the pool -> new queue.

The loop's settings are a :class:`LoopConfig`: the acquisition (strategy, queue size, random
share, Monte-Carlo samples) and the :class:`~workbench.learn.config.TrainConfig` of the model
retrained each round.

Every round is recorded in the Collection's derived data (listed by its manifest, with the
SHA-256 checked on every read; ``workbench info`` shows them), as derived files named after
the round number ``k``::

    al-round-000k-model    the checkpoint (.safetensors: weights, input preparation, temperature)
    al-round-000k-labels   the labels it was trained / evaluated on (.parquet: id, label, split)
    al-round-000k-queue    the items it asks to label next (.parquet: id, score, rank, reason, ...)
    al-round-000k-advice   the strategy advice saved on it, if any (.json)
    al-round-000k          its record (.json: held-out metrics, training history, strategy,
                           checkpoint SHA-256, and the LoopConfig used), written last
    al-current             the round in use (.json)

A round is complete once its record is stored; ``al-current`` is replaced afterwards. A
retraining killed half-way therefore leaves the previous round current (the files of the
unfinished round are replaced when the round is run again), and :meth:`ActiveLoop.rollback`
makes any earlier round current again. Running rounds needs the Collection opened ``r+``; on
a read-only Collection the loop reads the recorded rounds and writes nothing. Run one loop
per Collection at a time.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from workbench.core.config import Settings, check
from workbench.core.errors import InputError, ModelError, ReadOnlyError
from workbench.core.jobs import Job
from workbench.core.jsonable import jsonable
from workbench.learn.config import TrainConfig

__all__ = ["ActiveLoop", "RoundJob", "RoundResult", "LoopConfig", "loop_config",
           "ROUND_PREFIX", "CURRENT", "record_bytes"]

#: Derived-data name prefix of the rounds' files (``al-round-0001``, ``al-round-0001-model``).
ROUND_PREFIX = "al-round-"
#: Derived file naming the round in use.
CURRENT = "al-current"
_RECORD = re.compile(r"al-round-(\d{4,})")
_PARTS = {"model": ".safetensors", "labels": ".parquet", "queue": ".parquet",
          "advice": ".json"}


def record_bytes(data: dict, name: str = "record") -> bytes:
    """A round's JSON record (or advice, or the current-round pointer) as stored: converted
    by the package's one rule, :func:`workbench.core.jsonable.jsonable` (numpy scalars and
    arrays as numbers and lists, paths as text, ...), written with ``indent=1``.

    Raises
    ------
    TypeError
        A value with no JSON form, named by where it is (``al-round-0003['metrics']['f']``),
        rather than stored as its ``str()``.
    """
    return json.dumps(jsonable(data, where=name), indent=1).encode()


def _loop_train_default() -> TrainConfig:
    return TrainConfig(epochs=60, batch_size=64, lr=3e-3, size=64)


@dataclass(frozen=True)
class LoopConfig(Settings):
    """Settings of an :class:`ActiveLoop`, stored with every round (``record["config"]``).

    Attributes
    ----------
    strategy : str
        Default acquisition strategy (:func:`workbench.active.acquisition.available`).
    queue_size : int
        Items queued per round.
    random_fraction : float
        Share of the queue picked at random (keeps the labels unbiased).
    mc_samples : int
        Monte-Carlo dropout samples of a BALD round.
    train : TrainConfig
        The model retrained each round (default: the ``head`` MLP, 60 epochs, batch 64,
        learning rate 3e-3; ``size`` 64 for ``mlppa``). Its ``dropout`` default is
        train_classifier's (0 for ``mlppa``, 0.2 for ``head``), except that an ``mlppa``
        round using BALD trains with 0.2, which its Monte-Carlo dropout samples need. Its
        ``holdout_ids`` (a fixed evaluation set of labelled items never trained on) measure
        every round on the same items, so the curve shows what the new labels bought; the
        hash-chosen ``holdout`` share grows with the labels, and an uncertainty strategy
        labels hard items, so that held-out set gets harder round by round.
    """

    strategy: str = "margin"
    queue_size: int = 50
    random_fraction: float = 0.1
    mc_samples: int = 10
    train: TrainConfig = field(default_factory=_loop_train_default)

    _NESTED: ClassVar[dict] = {"train": TrainConfig}

    def __post_init__(self):
        from workbench.active.acquisition import available

        check(isinstance(self.strategy, str) and self.strategy in available(), "LoopConfig",
              "strategy", self.strategy, f"one of {available()} (or one added with "
              "workbench.active.acquisition.register)")
        self._int("queue_size", 1)
        self._float("random_fraction", 0.0, 1.0)
        self._int("mc_samples", 1)
        check(isinstance(self.train, TrainConfig), "LoopConfig", "train", self.train,
              "a TrainConfig")


def loop_config(config: LoopConfig | None = None, **options) -> LoopConfig:
    """``config`` (default :class:`LoopConfig`) with ``options`` applied: names of LoopConfig
    fields, or of its :class:`~workbench.learn.config.TrainConfig` (``arch``, ``epochs``,
    ``source``, ``holdout_ids``, ...). An unknown name or a bad value is an InputError."""
    cfg = config or LoopConfig()
    top = {k: v for k, v in options.items() if k in LoopConfig.field_names()}
    train = {k: v for k, v in options.items() if k in TrainConfig.field_names()}
    unknown = sorted(set(options) - set(top) - set(train))
    if unknown:
        raise InputError(f"unknown active-learning setting(s) {unknown}",
                         hint=f"LoopConfig: {', '.join(LoopConfig.field_names())}; its "
                              f"TrainConfig: {', '.join(TrainConfig.field_names())}")
    if train:
        top["train"] = top.get("train", cfg.train).with_options(**train)
    return cfg.with_options(**top)


@dataclass
class RoundResult:
    """What :meth:`ActiveLoop.run_round` made.

    Attributes
    ----------
    round : int
        The round number.
    name : str
        Derived-data name of its record (``al-round-000k``).
    record : dict
        The stored record, as :meth:`ActiveLoop.record` reads it back (``metrics``,
        ``history``, ``mistakes``, ``checkpoint_sha256``, ``config``, ...).
    queue : DataFrame
        The items it asks to label next (id, score, rank, reason, pred_label,
        pred_confidence).
    config : LoopConfig
        The settings it ran with (its strategy; dropout and feature source resolved).
    """

    round: int
    name: str
    record: dict
    queue: pd.DataFrame
    config: LoopConfig

    @property
    def metrics(self) -> dict:
        """Held-out metrics (``n``, ``accuracy``, ``balanced_accuracy``, ``auroc``, ...)."""
        return self.record["metrics"]

    @property
    def strategy(self) -> str:
        return self.record["strategy"]

    @property
    def n_train(self) -> int:
        return self.record["n_train"]

    @property
    def n_holdout(self) -> int:
        return self.record["n_holdout"]


class RoundJob(Job):
    """A round running in a background thread (a :class:`workbench.core.jobs.Job`, started
    by :meth:`ActiveLoop.start_round`): ``progress`` (latest epoch record),
    ``on_progress(fn)``, ``cancel()``, ``running``, ``done``, ``error``, ``result(timeout)``
    (the :class:`RoundResult`, or raises its error) and ``record`` (the RoundResult once
    done)."""

    misuse_error = ModelError

    def __init__(self, loop: ActiveLoop, **kwargs):
        super().__init__(name="workbench-al-round")
        self._loop = loop
        self._kwargs = kwargs

    def run(self, progress, cancel) -> RoundResult:
        return self._loop.run_round(progress=progress, cancel=cancel, **self._kwargs)

    @property
    def record(self) -> RoundResult | None:
        """The round's result once it is done (None before, or after an error)."""
        return self._value


class ActiveLoop:
    """Rounds of retraining and re-queuing over one Collection.

    Parameters
    ----------
    coll : Collection
        Opened ``r+`` to run rounds (they are recorded in its derived data); read-only, the
        recorded rounds can be read and nothing is written.
    config : LoopConfig, optional
        The settings (strategy, queue size, random share, MC samples, and the
        :class:`~workbench.learn.config.TrainConfig` of the model retrained each round,
        see :func:`workbench.learn.supervised.train_classifier`).
    **options
        Fields of :class:`LoopConfig` (``strategy=``, ``queue_size=``, ...) or of its
        TrainConfig (``arch=``, ``epochs=``, ``source=``, ``holdout_ids=``, ...), applied on
        top of ``config`` (see :func:`loop_config`).
    campaign : str or Campaign, optional
        Label-store campaign: its consensus gives the labels and its queue receives the
        new priorities (``campaign.set_priorities(scores, round=, strategy=)``).
    store : label store, optional
        Default ``workbench.io.labels.open_store(coll)``.
    label_column : str, optional
        Oracle labels from the catalog instead of a campaign.

    ``source`` (TrainConfig) gives the features of the ``head`` model and of the acquisition:
    ``auto`` (default: stored SSL embeddings ``embedding-*`` if any, else pixels),
    ``pixels``, ``embedding-<hash>`` (see :func:`workbench.learn.pool_features.resolve_source`).
    """

    def __init__(self, coll, *, config: LoopConfig | None = None, campaign=None, store=None,
                 label_column: str | None = None, **options):
        self.coll = coll
        self.config = loop_config(config, **options)
        self.campaign = campaign
        self.store = store
        self.label_column = label_column
        self._source = None  # the resolved feature source of a head model
        self._features = None
        self._lock = threading.Lock()

    @property
    def strategy(self) -> str:
        """The default acquisition strategy (setting it checks the name)."""
        return self.config.strategy

    @strategy.setter
    def strategy(self, name: str) -> None:
        self.config = self.config.with_options(strategy=name)

    @property
    def arch(self) -> str:
        """The model retrained each round (``head`` or ``mlppa``)."""
        return self.config.train.arch

    # ---------------------------------------------------------------- state
    @staticmethod
    def round_name(k: int, part: str | None = None) -> str:
        """Derived-data name of round ``k``'s record, or of its ``part`` (``model``,
        ``labels``, ``queue``, ``advice``)."""
        if part is not None and part not in _PARTS:
            raise ValueError(f"no round part {part!r}; parts: {sorted(_PARTS)}")
        return f"{ROUND_PREFIX}{int(k):04d}" + (f"-{part}" if part else "")

    def _derived(self) -> dict:
        """The derived records of the Collection, re-read (another process may have run a
        round)."""
        root = self.coll.root
        root.refresh()
        return root.derived

    def rounds(self) -> list[int]:
        """Completed round numbers (those whose record is stored), ascending."""
        return sorted(int(m.group(1)) for name, rec in self._derived().items()
                      if (m := _RECORD.fullmatch(name)) and rec.get("type") == "file")

    def current_round(self) -> int | None:
        """The round whose model is in use (None before the first)."""
        if CURRENT not in self._derived():
            return None
        k = self._json(CURRENT).get("round")
        if not isinstance(k, int) or isinstance(k, bool):
            raise ModelError(f"derived file {CURRENT!r} names no round ({k!r})",
                             path=self.coll.path, hint="rollback to a round to repair it")
        return k

    def _bytes(self, name: str) -> bytes:
        return self.coll.root.derived_file(name)  # checks the SHA-256 in the manifest

    def _json(self, name: str) -> dict:
        try:
            obj = json.loads(self._bytes(name))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"derived file {name!r} is not JSON ({exc})",
                             path=self.coll.path) from None
        if not isinstance(obj, dict):
            raise ModelError(f"derived file {name!r} is not a JSON object", path=self.coll.path)
        return obj

    def _parquet(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self._bytes(name)))

    def _round(self, k: int | None) -> int | None:
        return self.current_round() if k is None else int(k)

    def record(self, k: int | None = None) -> dict | None:
        """The record of round ``k`` (default: the current one): ``round``, ``strategy``,
        ``arch``, ``n_train``, ``n_holdout``, ``metrics``, ``history``, ``mistakes``,
        ``checkpoint_sha256``, ``config`` (the :class:`LoopConfig` used, as a dict), ..."""
        k = self._round(k)
        if k is None:
            return None
        if k not in self.rounds():
            raise ModelError(f"there is no round {k}", path=self.coll.path,
                             hint=f"rounds: {self.rounds()}")
        return self._json(self.round_name(k))

    def round_config(self, k: int | None = None) -> LoopConfig | None:
        """The :class:`LoopConfig` round ``k`` (default: the current one) ran with (its
        strategy, and the TrainConfig with dropout and source resolved)."""
        rec = self.record(k)
        if rec is None:
            return None
        where = f"{self.coll.path} (derived file {self.round_name(rec['round'])})"
        return LoopConfig.from_dict(rec.get("config"), path=where)

    def history(self) -> pd.DataFrame:
        """One row per round: round, strategy, n_train, n_holdout, accuracy, balanced
        accuracy, AUROC."""
        rows = []
        for k in self.rounds():
            r = self._json(self.round_name(k))
            m = r["metrics"]
            rows.append({"round": k, "strategy": r["strategy"], "n_train": r["n_train"],
                         "n_holdout": r["n_holdout"], "accuracy": m.get("accuracy"),
                         "balanced_accuracy": m.get("balanced_accuracy"),
                         "auroc": m.get("auroc")})
        return pd.DataFrame(rows, columns=["round", "strategy", "n_train", "n_holdout",
                                           "accuracy", "balanced_accuracy", "auroc"])

    def queue(self, k: int | None = None) -> pd.DataFrame:
        """The queue (id, score, rank, reason, pred_label, pred_confidence) chosen by round
        ``k`` (default current)."""
        k = self._round(k)
        if k is None:
            return pd.DataFrame(columns=["id", "score", "rank", "reason"])
        return self._parquet(self.round_name(k, "queue"))

    def round_labels(self, k: int | None = None) -> pd.DataFrame:
        """The labels round ``k`` (default current) used: id, label, split (train or
        holdout)."""
        k = self._round(k)
        if k is None:
            return pd.DataFrame(columns=["id", "label", "split"])
        return self._parquet(self.round_name(k, "labels"))

    def model(self, k: int | None = None):
        """``(model, config)`` of round ``k`` (default: the current round)."""
        from workbench.learn.infer import load_model

        k = self._round(k)
        if k is None:
            raise ModelError("no round has been trained yet", path=self.coll.path)
        data = self._bytes(self.round_name(k, "model"))
        with tempfile.TemporaryDirectory(prefix="workbench-al-") as tmp:
            path = Path(tmp) / f"{self.round_name(k, 'model')}.safetensors"
            path.write_bytes(data)
            return load_model(path)

    def rollback(self, k: int) -> None:
        """Make round ``k`` current again (its model and queue)."""
        self._require_writable()
        if k not in self.rounds():
            raise ModelError(f"there is no round {k}", path=self.coll.path,
                             hint=f"rounds: {self.rounds()}")
        self._put(CURRENT, {"round": k, "rolled_back": True})
        self._push_priorities(k)

    # ---------------------------------------------------------------- writing
    def _require_writable(self) -> None:
        if self.coll.root.mode != "r+":
            raise ReadOnlyError("opened read-only: active-learning rounds are recorded in the "
                                "Collection", path=self.coll.path,
                                hint="open it with workbench.open(path, mode='r+')")

    def _put(self, name: str, data, suffix: str = ".json", k: int | None = None) -> str:
        """Store ``data`` (bytes, or a JSON-safe dict) as derived file ``name``."""
        if isinstance(data, dict):
            data = record_bytes(data, name)
        params = {} if k is None else {"round": int(k)}
        return self.coll.root.add_file(name, data, suffix=suffix, tool="workbench.active.loop",
                                       params=params)

    def _drop_unfinished(self, k: int) -> None:
        """Remove the files of round ``k`` left by a round that did not finish."""
        root = self.coll.root
        for name in list(self._derived()):
            if name.startswith(self.round_name(k) + "-"):
                root.remove_derived(name)

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

            self._source = resolve_source(self.coll, self.config.train.source)
            self._features = features_for(self.coll, source=self._source)
        return self._features

    def labels(self) -> pd.Series:
        """The labels available now (item id -> class)."""
        from workbench.learn.supervised import resolve_labels

        camp = self._campaign()
        return resolve_labels(self.coll, label_column=self.label_column, campaign=camp,
                              store=self._store())

    def start_round(self, **kwargs) -> RoundJob:
        """Run :meth:`run_round` in a background thread; returns its :class:`RoundJob`,
        started."""
        return RoundJob(self, **kwargs).start()

    def run_round(self, *, strategy: str | None = None, progress=None,
                  cancel=None) -> RoundResult:
        """Retrain on the labels now in the store, evaluate, queue the next items.

        Returns a :class:`RoundResult` (the stored record, the queue, the LoopConfig used).
        Needs the Collection opened ``r+`` (ReadOnlyError before any work otherwise).
        """
        from workbench.active.acquisition import acquire
        from workbench.learn.infer import mc_dropout_proba, predict_proba
        from workbench.learn.supervised import model_inputs, train_classifier

        self._require_writable()
        cfg = self.config if strategy is None else self.config.with_options(strategy=strategy)
        strategy, tcfg = cfg.strategy, cfg.train
        with self._lock:
            done = self.rounds()
            k = (max(done) + 1) if done else 1
            t0 = time.perf_counter()
            lab = self.labels()
            feats = self._feats() if tcfg.arch == "head" else None
            if feats is not None:
                tcfg = tcfg.with_options(source=self._source)
            if tcfg.dropout is None and strategy == "bald" and tcfg.arch == "mlppa":
                tcfg = tcfg.with_options(dropout=0.2)  # MC dropout needs it; ML-PPA has none
            with tempfile.TemporaryDirectory(prefix="workbench-al-round-") as tmp:
                ck = Path(tmp) / "model.safetensors"
                res = train_classifier(self.coll, ck, config=tcfg, labels=lab, features=feats,
                                       progress=progress, cancel=cancel)
                model_bytes = ck.read_bytes()
            ck_cfg = res.config
            ids = np.asarray(self.coll.ids)
            labelled = np.isin(ids, res.labels["id"].to_numpy())
            # only the campaign's items can be queued (it may cover part of the data)
            outside = ~self._in_campaign(ids)
            x = model_inputs(self.coll, ids, ck_cfg["input"], features=feats)
            probs = predict_proba(res.model, x, temperature=ck_cfg["temperature"])
            mc = (mc_dropout_proba(res.model, x, samples=cfg.mc_samples, seed=k)
                  if strategy == "bald" else None)
            clusters, anomaly = self._aux_columns()
            picks, scores = acquire(
                strategy, cfg.queue_size, probs=probs, mc_probs=mc,
                embeddings=feats if feats is not None else x.reshape(len(x), -1),
                clusters=clusters, anomaly=anomaly, labelled_mask=labelled | outside,
                random_fraction=cfg.random_fraction, seed=tcfg.seed * 1000 + k)
            n_main = len(picks) - int(round(len(picks) * cfg.random_fraction)) \
                if strategy != "random" else len(picks)
            queue = pd.DataFrame({
                "id": ids[picks], "score": scores[picks], "rank": np.arange(len(picks)),
                "reason": [f"round {k}: {strategy}" if i < n_main else
                           f"round {k}: random share" for i in range(len(picks))],
                "pred_label": np.asarray(ck_cfg["classes"])[probs[picks].argmax(1)],
                "pred_confidence": probs[picks].max(1)})
            held = res.labels["split"].to_numpy() == "holdout"
            mistakes = self._mistakes(res.labels[held], ids, probs, ck_cfg["classes"])
            used = cfg.with_options(train=res.train)
            record = {"round": k, "strategy": strategy, "arch": tcfg.arch,
                      "n_train": int((~held).sum()), "n_holdout": int(held.sum()),
                      "metrics": res.metrics, "history": res.history,
                      "checkpoint_sha256": hashlib.sha256(model_bytes).hexdigest(),
                      "temperature": ck_cfg["temperature"], "classes": ck_cfg["classes"],
                      "mistakes": mistakes, "seconds": time.perf_counter() - t0,
                      "created": pd.Timestamp.now("UTC").isoformat(),
                      "config": used.to_dict()}
            self._drop_unfinished(k)
            try:
                self._put(self.round_name(k, "model"), model_bytes, ".safetensors", k)
                for part, df in (("labels", res.labels), ("queue", queue)):
                    buf = io.BytesIO()
                    df.to_parquet(buf, index=False)
                    self._put(self.round_name(k, part), buf.getvalue(), ".parquet", k)
                self._put(self.round_name(k), record, ".json", k)  # the round is complete
            except BaseException:
                self._drop_unfinished(k)
                raise
            self._put(CURRENT, {"round": k})
        self._push_priorities(k, scores=pd.Series(scores, index=ids).dropna())
        return RoundResult(round=k, name=self.round_name(k), record=record, queue=queue,
                           config=used)

    def advice(self, *, strategies=None, seeds: int = 5, head: str = "logistic",
               save: bool = True) -> dict:
        """Which acquisition strategy is ahead on the labels so far, and by how much.

        Runs :func:`workbench.active.advisor.advise` (an oracle simulation on the labelled
        items, their labels as the annotator) on the loop's features (stored embeddings,
        else pixels) and returns its dict (``ahead``, ``best``, ``saving``, ``saving_ci``,
        ``message``; the full simulation under ``simulation``). A strategy is named ahead
        only when the interval of its saving excludes 0. With ``save`` (the Collection
        opened ``r+``) the advice (without the simulation) is stored with the current round
        (derived file ``al-round-000k-advice``), where :meth:`latest_advice` (and the
        Dashboard) read it.
        """
        from workbench.active.advisor import DEFAULT_STRATEGIES, advise
        from workbench.learn.pool_features import features_for, resolve_source

        k = self.current_round()
        if save and k is not None:
            self._require_writable()
        lab = self.labels()
        ids = pd.Index(np.asarray(self.coll.ids).astype(str))
        pos = ids.get_indexer(pd.Index(lab.index.astype(str)))
        lab = lab[pos >= 0]
        pos = pos[pos >= 0]
        feats = (self._feats() if self.arch == "head" else
                 features_for(self.coll, source=resolve_source(self.coll, "auto")))
        adv = advise(feats[pos], lab.to_numpy(), seeds=seeds, head=head,
                     strategies=strategies or DEFAULT_STRATEGIES)
        adv["round"] = k
        adv["n_labels"] = int(len(lab))
        if save and k is not None:
            self._put(self.round_name(k, "advice"),
                      {key: v for key, v in adv.items() if key != "simulation"}, ".json", k)
        return adv

    def latest_advice(self) -> dict | None:
        """The advice saved by :meth:`advice` for the newest round that has one."""
        derived = self._derived()
        for k in reversed(self.rounds()):
            if self.round_name(k, "advice") in derived:
                return self._json(self.round_name(k, "advice"))
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
