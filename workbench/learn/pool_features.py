"""Feature vectors for heads and active learning: stored embeddings, else small pixels.

``source`` strings name where the features come from, so a checkpoint can say it:
``"embedding:<derived array>"`` (vectors an encoder stored with ``coll.add_array``, e.g.
``embedding-<hash12>`` from ``workbench embed``) or ``"pixels:<product>:<size>"`` (each
image standardised and area-averaged to size x size, then flattened).

What users type (``--features`` of ``workbench train`` / ``workbench al ...``) is resolved
by :func:`resolve_source`: ``auto`` (the newest stored ``embedding-*`` array, else pixels),
``pixels``, ``embedding`` (the newest embeddings, required), ``embedding-<hash>`` (that
array; a unique prefix of the hash is enough), or a full source string.
"""

from __future__ import annotations

import numpy as np

from workbench.core.errors import ModelError

__all__ = ["features_for", "default_source", "resolve_source", "embedding_arrays",
           "pca_reduce"]


def embedding_arrays(coll) -> list[str]:
    """Names of the stored embedding arrays of ``coll`` (derived arrays named
    ``embedding*``), newest first."""
    return coll.derived_arrays("embedding")  # the same rule as workbench map / anomalies


def default_source(coll, *, size: int = 16) -> str:
    """The newest embedding array of ``coll`` if it has one (``embedding-<hash>`` written by
    ``workbench embed``), else its first image product downsampled to ``size`` x ``size``."""
    emb = embedding_arrays(coll)
    if emb:
        return f"embedding:{emb[0]}"
    return _pixels(coll, size)


def _pixels(coll, size: int) -> str:
    if not coll.products:
        raise ModelError("the Collection has neither embeddings nor images", path=coll.path)
    return f"pixels:{next(iter(coll.products))}:{size}"


def resolve_source(coll, features: str | None = "auto", *, size: int = 16) -> str:
    """Turn a ``--features`` choice into a source string for :func:`features_for`.

    Parameters
    ----------
    coll : Collection
    features : {"auto", "pixels", "embedding", "embedding-<hash>"} or source string
        ``auto``/None: newest stored embeddings, else pixels. ``pixels``: the first image
        product at ``size`` x ``size``. ``embedding``: the newest stored embeddings (an
        error when there are none). ``embedding-<hash>``: that derived array (a unique
        prefix is enough). ``embedding:<array>`` / ``pixels:<product>:<size>``: as given.
    """
    f = "auto" if features is None else str(features).strip()
    if f == "auto":
        return default_source(coll, size=size)
    if f == "pixels":
        return _pixels(coll, size)
    if ":" in f:
        return f
    emb = embedding_arrays(coll)
    if f == "embedding":
        if not emb:
            raise ModelError("the Collection has no stored embeddings", path=coll.path,
                             hint="run `workbench train-ssl` and `workbench embed` first, or "
                                  "use --features pixels")
        return f"embedding:{emb[0]}"
    if f.startswith("embed"):
        hits = [k for k in emb if k == f] or [k for k in emb if k.startswith(f)]
        if len(hits) == 1:
            return f"embedding:{hits[0]}"
        raise ModelError(f"{'several' if hits else 'no'} stored embedding arrays match {f!r}",
                         path=coll.path, hint=f"stored embeddings: {emb or 'none'} (run "
                                              "`workbench embed` to make them)")
    raise ModelError(f"unknown features {f!r}", hint="use auto, pixels, embedding, "
                     "embedding-<hash>, 'embedding:<array>' or 'pixels:<product>:<size>'")


def features_for(coll, *, source: str | None = None, batch_size: int = 512) -> np.ndarray:
    """Feature matrix ``(n_items, d)`` float32 for the items of ``coll`` (catalog order)."""
    from workbench.learn._prep import prepare_images

    source = source or default_source(coll)
    kind, _, rest = source.partition(":")
    if kind == "embedding":
        try:
            x = coll.derived_array(rest)
        except KeyError as exc:
            raise ModelError(f"no embedding array {rest!r}", path=coll.path,
                             hint="run `workbench embed` first") from exc
        return np.nan_to_num(x.reshape(len(x), -1).astype(np.float32))
    if kind == "pixels":
        prod, _, size = rest.partition(":")
        size = int(size or 16)
        if prod not in coll.products:
            raise ModelError(f"no image product {prod!r}", path=coll.path,
                             hint=f"products: {list(coll.products)}")
        blocks = [prepare_images(b.images[prod], size=size).reshape(len(b), -1)
                  for b in coll.batches(batch_size, products=[prod])]
        return np.concatenate(blocks) if blocks else np.zeros((0, size * size), np.float32)
    raise ModelError(f"unknown feature source {source!r}",
                     hint="use 'embedding:<name>' or 'pixels:<product>:<size>'")


def pca_reduce(x: np.ndarray, *, n_components: int = 32, seed: int = 0) -> np.ndarray:
    """Project ``(n, d)`` features onto their first principal components (float32)."""
    from sklearn.decomposition import PCA

    k = int(min(n_components, x.shape[1], max(1, len(x) - 1)))
    return PCA(k, random_state=seed).fit_transform(x).astype(np.float32)
