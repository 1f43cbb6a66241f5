"""Feature vectors for heads and active learning: stored embeddings, else small pixels.

``source`` strings name where the features come from, so a checkpoint can say it:
``"embedding:<derived array>"`` (vectors an encoder stored with ``coll.add_array``) or
``"pixels:<product>:<size>"`` (each image standardised and area-averaged to size x size,
then flattened).
"""

from __future__ import annotations

import numpy as np

from workbench.core.errors import ModelError

__all__ = ["features_for", "default_source", "pca_reduce"]


def default_source(coll, *, size: int = 16) -> str:
    """An embedding array of ``coll`` if it has one (name containing 'embed'), else its
    first image product downsampled to ``size`` x ``size``."""
    root = getattr(coll, "_parent", None) or coll
    arrays = [k for k, v in root.derived.items() if v.get("type") == "array"]
    emb = [k for k in arrays if "embed" in k.lower()]
    if emb:
        return f"embedding:{sorted(emb)[0]}"
    if not coll.products:
        raise ModelError("the Collection has neither embeddings nor images", path=coll.path)
    return f"pixels:{next(iter(coll.products))}:{size}"


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
