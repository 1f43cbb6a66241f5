"""The one SSL training loop: device, mixed precision, checkpoints, resume, progress, cancel.

:func:`train_ssl` trains a SimCLR or BYOL encoder on a Collection product and writes one
safetensors checkpoint (model + optimiser state, config, hash of the data it saw) at every
epoch end and when cancelled. With ``resume=True`` it continues from that file exactly: the
shuffling of epoch ``e`` and the augmentations of batch ``b`` are seeded by ``(seed, e, b)``,
so an interrupted and resumed run ends with the same weights as an uninterrupted one.

From a notebook, :class:`TrainingJob` runs the same function in a background thread so the
widgets stay live::

    job = TrainingJob(coll, out="enc.safetensors", method="byol", epochs=20).start()
    job.progress          # {'epoch': 3, 'step': 40, 'total_steps': 200, 'loss': 0.41, ...}
    job.cancel()          # stops after the current step and saves a resumable checkpoint
    res = job.result()    # SSLResult(path, hash, history, ...)

The settings are an :class:`~workbench.learn.config.SSLConfig` (``config=``, or its fields as
keyword arguments); the checkpoint stores the settings used (``meta["train"]``), which
:func:`ssl_config` reads back.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from workbench.core.errors import ModelError
from workbench.core.jobs import Job
from workbench.learn.augment import Augment, make_generator
from workbench.learn.checkpoints import load_checkpoint, read_metadata, save_checkpoint
from workbench.learn.config import SSLConfig
from workbench.learn.data import CollectionImages
from workbench.learn.encoders import build_encoder, encoder_config
from workbench.learn.fit import pick_device
from workbench.learn.ssl import build_method

__all__ = ["train_ssl", "SSLConfig", "SSLResult", "ssl_config", "TrainingJob"]


@dataclass
class SSLResult:
    """What :func:`train_ssl` made: the checkpoint ``path`` and encoder ``hash``, the loss
    per epoch ``history``, wall time ``seconds``, and whether it was ``cancelled``."""

    path: Path
    hash: str
    history: list = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False
    steps: int = 0
    device: str = "cpu"
    config: SSLConfig | None = None


def ssl_config(checkpoint) -> SSLConfig:
    """The :class:`SSLConfig` an SSL checkpoint was trained with (the values used: product,
    batch size and augmentation resolved); InputError naming the file if the stored record
    has unknown keys or bad values."""
    meta = read_metadata(checkpoint)
    if meta.get("kind") != "ssl-encoder" or "train" not in meta:
        raise ModelError("not an SSL encoder checkpoint (no training settings)", path=checkpoint,
                         hint="use a checkpoint written by `workbench train-ssl`")
    return SSLConfig.from_dict(meta["train"], path=checkpoint)


def _opt_tensors(opt) -> tuple[dict, dict]:
    sd = opt.state_dict()
    tensors, extra = {}, {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"optim.{pid}.{k}"] = v
            else:
                extra[f"{pid}.{k}"] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": extra}


def _load_opt(opt, tensors: dict, meta: dict) -> None:
    state: dict = {}
    for name, t in tensors.items():
        if name.startswith("optim."):
            _, pid, k = name.split(".", 2)
            state.setdefault(int(pid), {})[k] = t
    for key, v in meta.get("scalars", {}).items():
        pid, k = key.split(".", 1)
        state.setdefault(int(pid), {})[k] = v
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def _batch_seed(seed: int, epoch: int, step: int) -> int:
    return (int(seed) * 1_000_003 + epoch * 10_007 + step) % (2**62)


def train_ssl(data, *, out, config: SSLConfig | None = None, resume: bool = False,
              device=None, amp: bool | None = None, progress=None,
              cancel: threading.Event | None = None, checkpoint_every: int | None = None,
              **options) -> SSLResult:
    """Train a self-supervised encoder and save it as a safetensors checkpoint.

    Parameters
    ----------
    data : Collection or CollectionImages
        The items to learn from (a Collection is wrapped in :class:`CollectionImages` with
        the config's ``product``, ``size``, ``crop`` and ``stretch``).
    out : path-like
        The checkpoint to write (and to resume from when ``resume``).
    config : SSLConfig, optional
        The settings (:class:`~workbench.learn.config.SSLConfig`: method, budget, image
        preparation, encoder, augmentation). At CPU budgets (minutes) SimCLR learned useful
        features on MiraBest and BYOL did not beat an untrained encoder
        (``benchmarks/bench_discover.py --only mirabest``). On MiraBest (150 px stamps,
        median source 24 px across) ``crop=0.64`` keeps the source large at 64 px.
    **options
        Fields of :class:`SSLConfig` (``method=``, ``epochs=``, ...), applied on top of
        ``config``; ``augment=`` may be an :class:`~workbench.learn.augment.Augment`.
        An unknown name or a bad value is an InputError.
    resume : bool
        Continue from ``out`` if it exists (same config and data required).
    device : str or torch.device, optional
        Default: CUDA if available, else CPU. ``amp`` (default: on for CUDA) uses bfloat16
        (or float16 with loss scaling) autocast.
    progress : callable, optional
        Called after every step with a dict (epoch, step, total_steps, loss, elapsed_s,
        images_per_s).
    cancel : threading.Event, optional
        When set, training stops after the current step and saves a resumable checkpoint.
    checkpoint_every : int, optional
        Also save every this many steps (besides every epoch end).

    Returns
    -------
    SSLResult
        ``config`` is the :class:`SSLConfig` used (product, batch size and augmentation
        resolved), the one stored in the checkpoint as ``meta["train"]``.
    """
    if isinstance(options.get("augment"), Augment):
        options["augment"] = options["augment"].config()
    cfg = (config or SSLConfig()).with_options(**options)
    method, epochs, batch_size, lr, seed = (cfg.method, cfg.epochs, cfg.batch_size, cfg.lr,
                                            cfg.seed)
    t0 = time.perf_counter()
    out = Path(out)
    ds = data if isinstance(data, CollectionImages) else CollectionImages(
        data, cfg.product, size=cfg.size, crop=cfg.crop, stretch=cfg.stretch)
    n = len(ds)
    if n < 2:
        raise ModelError(f"need at least 2 images to train, the Collection has {n}",
                         path=getattr(ds.coll, "path", None))
    dev = torch.device(pick_device(device))
    use_amp = (dev.type == "cuda") if amp is None else bool(amp and dev.type == "cuda")
    amp_dtype = torch.bfloat16 if (use_amp and torch.cuda.is_bf16_supported()) else torch.float16

    torch.manual_seed(seed)
    enc_cfg = encoder_config(ds.n_channels, **(cfg.encoder or {}))
    enc_cfg.pop("arch")
    model = build_method(method, build_encoder(enc_cfg), **(cfg.method_options or {})).to(dev)
    params = (model.trainable_parameters() if hasattr(model, "trainable_parameters")
              else list(model.parameters()))
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    aug = _augment(cfg.augment)
    bs = min(batch_size, n)
    steps_per_epoch = max(1, n // bs)  # drop the ragged last batch (BatchNorm needs > 1)
    total = epochs * steps_per_epoch
    data_desc = ds.describe()
    used = cfg.with_options(batch_size=int(bs), augment=aug.config(), size=ds.size,
                            product=ds.product, crop=ds.crop, stretch=ds.stretch or "linear")
    train_cfg = used.to_dict()
    encoder_cfg = model.encoder.config

    start_epoch, start_step, history = 0, 0, []
    if resume and out.exists():
        tensors, meta = load_checkpoint(out, device="cpu")
        if meta.get("kind") != "ssl-encoder" or "state" not in meta:
            raise ModelError("cannot resume: not an SSL training checkpoint", path=out)
        ssl_config(out)  # the stored settings must read back (unknown keys: refused)
        same = {k: train_cfg[k] for k in ("method", "batch_size", "seed", "size", "product",
                                          "crop", "stretch")}
        theirs = {k: meta["train"].get(k, {"stretch": "linear"}.get(k)) for k in same}
        if same != theirs or meta["encoder"] != encoder_cfg:
            raise ModelError(f"cannot resume: checkpoint was trained with {theirs} and "
                             f"encoder {meta['encoder']}, this run asks for {same} and "
                             f"{encoder_cfg}", path=out, hint="use the same options or a new -o")
        if meta["data"]["hash"] != data_desc["hash"]:
            raise ModelError("cannot resume: the checkpoint saw different data",
                             path=out, hint="resume on the same Collection and product")
        model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("optim.")})
        _load_opt(opt, tensors, meta["state"]["optimizer"])
        start_epoch, start_step = meta["state"]["epoch"], meta["state"]["step"]
        history = list(meta.get("history", []))
        if start_step >= steps_per_epoch:
            start_epoch, start_step = start_epoch + 1, 0

    def save(epoch: int, step: int, complete: bool) -> str:
        otensors, ometa = _opt_tensors(opt)
        tensors = {**model.state_dict(), **otensors}
        meta = {"kind": "ssl-encoder", "format": 1, "encoder": encoder_cfg,
                "method": model.config, "train": train_cfg,
                "data": data_desc, "history": history, "complete": complete,
                "state": {"epoch": epoch, "step": step, "optimizer": ometa},
                "device": str(dev), "amp": use_amp}
        return save_checkpoint(out, tensors, json.loads(json.dumps(meta, default=str)))

    digest, done_steps, cancelled = "", 0, False
    model.train()
    for epoch in range(start_epoch, epochs):
        perm = torch.randperm(n, generator=make_generator(_batch_seed(seed, epoch, -1)))
        losses = []
        for step in range(start_step if epoch == start_epoch else 0, steps_per_epoch):
            k = epoch * steps_per_epoch + step
            for grp in opt.param_groups:
                grp["lr"] = lr * 0.5 * (1 + math.cos(math.pi * k / total))
            idx = perm[step * bs:(step + 1) * bs]
            x = (ds.tensor[idx] if ds.tensor is not None
                 else torch.stack([ds[int(i)] for i in idx])).to(dev, non_blocking=True)
            g = make_generator(_batch_seed(seed, epoch, step))
            x1, x2 = aug(x, g), aug(x, g)
            with torch.autocast(dev.type, dtype=amp_dtype, enabled=use_amp):
                loss = model.loss(x1, x2)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            model.after_step((k + 1) / total)
            losses.append(float(loss.detach()))
            done_steps += 1
            if progress is not None:
                el = time.perf_counter() - t0
                progress({"epoch": epoch, "step": step + 1, "steps_per_epoch": steps_per_epoch,
                          "global_step": k + 1, "total_steps": total, "loss": losses[-1],
                          "elapsed_s": el, "images_per_s": done_steps * bs / max(el, 1e-9)})
            if cancel is not None and cancel.is_set():
                history.append({"epoch": epoch, "loss": sum(losses) / len(losses),
                                "partial": True})
                digest = save(epoch, step + 1, False)
                cancelled = True
                break
            if checkpoint_every and (k + 1) % checkpoint_every == 0 and step + 1 < steps_per_epoch:
                save(epoch, step + 1, False)
        if cancelled:
            break
        history.append({"epoch": epoch, "loss": sum(losses) / max(len(losses), 1)})
        digest = save(epoch, steps_per_epoch, epoch == epochs - 1)
    if not digest:  # nothing left to do (resumed a finished run)
        digest = save(epochs - 1, steps_per_epoch, True)
    return SSLResult(out, digest, history, time.perf_counter() - t0, cancelled, done_steps,
                     str(dev), used)


def _augment(settings: dict | None) -> Augment:
    """The :class:`Augment` of an SSLConfig's ``augment`` settings (None: the default)."""
    if settings is None:
        return Augment()
    known = {f for f in Augment.__dataclass_fields__}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ModelError(f"unknown augmentation setting(s) {unknown}",
                         hint=f"Augment settings: {', '.join(sorted(known))}")
    return Augment(**{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()})


class TrainingJob(Job):
    """Run :func:`train_ssl` in a background thread (keeps a notebook's widgets responsive):
    a :class:`workbench.core.jobs.Job`.

    ``TrainingJob(data, out=..., **options).start()``; then ``.progress`` (latest progress
    dict), ``.running``, ``.done``, ``.cancel()`` (the run stops after its current step and
    saves a resumable checkpoint), ``.error``, ``.result(timeout=None)`` (the
    :class:`SSLResult`, re-raising any error of the run). Progress callbacks passed as
    ``progress=`` still run (from the worker thread), as do those added with
    ``.on_progress(fn)``.
    """

    misuse_error = ModelError

    def __init__(self, data, **options):
        super().__init__(name="workbench-train-ssl")
        self._data = data
        user_progress = options.pop("progress", None)
        self._options = options
        if user_progress is not None:
            self.on_progress(user_progress)

    def run(self, progress, cancel) -> SSLResult:
        return train_ssl(self._data, progress=progress, cancel=cancel, **self._options)
