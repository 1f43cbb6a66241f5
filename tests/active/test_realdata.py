"""MiraBest classes and the SSL embedding cached by data + configuration."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from workbench.active.realdata import cached_ssl_embedding, mirabest_classes  # noqa: E402

TINY = {"method": "simclr", "epochs": 1, "size": 16, "crop": None, "seed": 0,
        "batch_size": 32, "encoder": {"width": 4, "depth": [1], "out_dim": 8}}


def test_mirabest_codes_to_classes():
    codes = [100, 102, 104, 110, 200, 201, 210, 300, 310]
    assert list(mirabest_classes(codes)) == ["FRI", "FRI", "FRI", None, "FRII", "FRII", None,
                                             None, None]
    assert list(mirabest_classes(codes, hybrids=True))[-2:] == ["hybrid", "hybrid"]


def test_embedding_is_trained_once_per_data_and_config(blobs, tmp_path):
    x1, i1 = cached_ssl_embedding(blobs, tmp_path, config=TINY)
    assert x1.shape == (len(blobs), 8) and not i1["cached"]
    x2, i2 = cached_ssl_embedding(blobs, tmp_path, config=TINY, store=True)
    assert i2["cached"] and i2["key"] == i1["key"]
    np.testing.assert_array_equal(x1, x2)
    # stored where --features auto and the ActiveLoop look for embeddings
    name = f"embedding-ssl{i1['key'][:12]}"
    assert blobs.derived_arrays("embedding")[0] == name
    np.testing.assert_array_equal(blobs.derived_array(name), x1)
    # another configuration is another cache entry
    _, i3 = cached_ssl_embedding(blobs, tmp_path, config={**TINY, "seed": 1})
    assert not i3["cached"] and i3["key"] != i1["key"]
    assert len(list(tmp_path.glob("ssl-*.npy"))) == 2
