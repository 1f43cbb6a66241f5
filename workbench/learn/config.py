"""The settings of the two training functions, as small dataclasses (importable without torch).

* :class:`SSLConfig`: what :func:`workbench.learn.train.train_ssl` trains with (method,
  budget, image preparation, encoder and augmentation settings).
* :class:`TrainConfig`: what :func:`workbench.learn.supervised.train_classifier` trains with
  (model, features, budget, held-out share).

Both are stored in the checkpoint they make (``meta["train"]`` of an SSL checkpoint,
``config["train"]`` of a classifier) with the values actually used, and read back with
:meth:`~workbench.core.config.Settings.from_dict`, which refuses unknown keys and bad values
naming the file. Values are checked when a config is made (:class:`InputError` naming the
setting).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from workbench.core.config import Settings, check, tuple_of

__all__ = ["SSLConfig", "TrainConfig", "SSL_METHODS", "ARCHS", "STRETCHES"]

#: The self-supervised methods (keys of :data:`workbench.learn.ssl.METHODS`).
SSL_METHODS = ("simclr", "byol")
#: The classifiers :func:`~workbench.learn.supervised.train_classifier` trains.
ARCHS = ("head", "mlppa")
#: Display stretches of the SSL input preparation (:class:`~workbench.learn.data.CollectionImages`).
STRETCHES = ("asinh", "linear")


def _dict_or_none(self, name: str) -> None:
    """A dict of named JSON values (stored as JSON reads it back: tuples become lists)."""
    v = getattr(self, name)
    check(v is None or (isinstance(v, dict) and all(isinstance(k, str) for k in v)),
          type(self).__name__, name, v, "an object of named settings or None")
    if v is not None:
        try:
            object.__setattr__(self, name, json.loads(json.dumps(v, allow_nan=False)))
        except (TypeError, ValueError):
            check(False, type(self).__name__, name, v, "JSON values (numbers, strings, lists)")


@dataclass(frozen=True)
class SSLConfig(Settings):
    """Settings of :func:`~workbench.learn.train.train_ssl`.

    Attributes
    ----------
    method : {"simclr", "byol"}
        SimCLR (Chen et al. 2020, the default) or BYOL (Grill et al. 2020).
    epochs, batch_size, lr, weight_decay, seed
        Training budget (AdamW, cosine learning-rate decay per step) and seed. The batch is
        capped at the number of images.
    size : int or None
        Images are resized to ``size x size`` pixels (None keeps the grid).
    product : str, optional
        The image product (default: the Collection's first).
    crop, stretch
        Centre crop (fraction of the side kept; None keeps the whole stamp) and display
        stretch (``"asinh"`` or ``"linear"``; None means linear).
    encoder : dict, optional
        Keyword arguments of :class:`~workbench.learn.encoders.ResNetEncoder` (``width``,
        ``depth``, ``out_dim``, ``stem_stride``).
    method_options : dict, optional
        Keyword arguments of the method (``proj_dim``, ``hidden``, ``tau``, ``temperature``).
    augment : dict, optional
        Settings of :class:`~workbench.learn.augment.Augment` (default: its ``radio``
        recipe); ``train_ssl`` also takes an ``Augment`` and stores its settings.
    """

    method: str = "simclr"
    epochs: int = 30
    batch_size: int = 128
    size: int | None = 64
    product: str | None = None
    lr: float = 3e-3
    crop: float | None = None
    stretch: str | None = "asinh"
    weight_decay: float = 1e-5
    seed: int = 0
    encoder: dict | None = None
    method_options: dict | None = None
    augment: dict | None = None

    def __post_init__(self):
        name = type(self).__name__
        check(isinstance(self.method, str) and self.method.lower() in SSL_METHODS, name,
              "method", self.method, f"one of {list(SSL_METHODS)}")
        object.__setattr__(self, "method", self.method.lower())
        self._int("epochs", 1)
        self._int("batch_size", 2)
        self._int("size", 4, allow_none=True)
        self._str("product")
        self._float("lr", 0.0, 10.0, lo_open=True)
        self._float("crop", 0.0, 1.0, lo_open=True, allow_none=True)
        self._choice("stretch", STRETCHES, allow_none=True)
        self._float("weight_decay", 0.0, 1.0)
        self._int("seed", 0)
        for key in ("encoder", "method_options", "augment"):
            _dict_or_none(self, key)


@dataclass(frozen=True)
class TrainConfig(Settings):
    """Settings of :func:`~workbench.learn.supervised.train_classifier`.

    Attributes
    ----------
    arch : {"head", "mlppa"}
        An MLP on features (embeddings / small pixels) or the ML-PPA CNN on an image product
        (resampled to ``size`` x ``size``; ``depth`` convolutions).
    product : str, optional
        Image product of ``mlppa`` (default: one with a DM axis, else the first).
    source : str, optional
        Features of ``head``: ``auto`` (stored ``embedding-*`` array if any, else 16x16
        pixels), ``pixels``, ``embedding``, ``embedding-<hash>`` or a full source string
        (see :func:`workbench.learn.pool_features.resolve_source`).
    hidden : tuple of int
        Hidden layer widths of ``head``.
    dropout : float, optional
        Dropout before the dense layers. Default: 0 for ``mlppa`` (the network as the ML-PPA
        seed gives it), 0.2 for ``head``. Monte-Carlo dropout (BALD) needs it above 0.
    epochs, batch_size, lr, seed
        Training budget and seed.
    holdout : float
        Fraction of labelled items held out (stable by id) for metrics and calibration.
    holdout_ids : tuple of str, optional
        A fixed evaluation set instead: exactly these labelled items are held out (never
        trained on), so successive rounds are measured on the same items.
    classes : tuple of str, optional
        The scheme's classes; labels outside them are refused.
    """

    arch: str = "head"
    product: str | None = None
    size: int = 256
    depth: int = 3
    source: str | None = None
    hidden: tuple = (128,)
    dropout: float | None = None
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    holdout: float = 0.2
    holdout_ids: tuple | None = None
    seed: int = 0
    classes: tuple | None = None

    def __post_init__(self):
        name = type(self).__name__
        self._choice("arch", ARCHS)
        self._str("product")
        self._int("size", 4)
        self._int("depth", 1)
        self._str("source")
        hidden = tuple_of(self.hidden, int, name, "hidden")
        check(all(h >= 1 for h in hidden), name, "hidden", self.hidden, "positive widths")
        object.__setattr__(self, "hidden", hidden)
        self._float("dropout", 0.0, 1.0, hi_open=True, allow_none=True)
        self._int("epochs", 1)
        self._int("batch_size", 1)
        self._float("lr", 0.0, 10.0, lo_open=True)
        self._float("holdout", 0.0, 1.0, hi_open=True)
        ids = self.holdout_ids
        if ids is not None:
            check(hasattr(ids, "__iter__") and not isinstance(ids, (str, bytes, dict)), name,
                  "holdout_ids", ids, "a list of item ids or None")
            ids = tuple(str(i) for i in ids)
        object.__setattr__(self, "holdout_ids", ids)
        self._int("seed", 0)
        classes = tuple_of(self.classes, str, name, "classes", allow_none=True)
        check(classes is None or len(classes) >= 2, name, "classes", self.classes,
              "at least two class names")
        object.__setattr__(self, "classes", classes)
