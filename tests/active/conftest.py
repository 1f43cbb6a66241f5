"""Small synthetic Collections for the active-learning tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.io.collection import Collection, ProductSpec


def make_blobs_collection(path, *, n=80, size=16, seed=0):
    """Two classes of 16x16 images: a centred blob ('point') or a horizontal bar ('bar')."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] - size / 2
    truth = np.where(rng.random(n) < 0.5, "point", "bar")
    imgs = rng.normal(0, 0.3, (n, 1, size, size)).astype(np.float32)
    for i, t in enumerate(truth):
        if t == "point":
            imgs[i, 0] += np.exp(-(xx**2 + yy**2) / 6)
        else:
            imgs[i, 0] += np.exp(-(yy**2) / 2) * (np.abs(xx) < 6)
    cat = pd.DataFrame({"id": [f"s{i:03d}" for i in range(n)], "ra": rng.uniform(0, 10, n),
                        "dec": rng.uniform(0, 10, n), "pixscale_arcsec": 1.0,
                        "source_file": "synthetic", "source_hdu": 0, "truth": truth})
    coll = Collection.create(path, {"img": ProductSpec(channels=("I",), shape=(size, size))})
    coll.append(cat, {"img": imgs}, kind="image")
    return coll


@pytest.fixture
def blobs(tmp_path):
    return make_blobs_collection(tmp_path / "blobs")


@pytest.fixture(autouse=True)
def campaign_stand_ins(monkeypatch):
    """Test campaigns that hand out their consensus labels themselves (a ``consensus()``
    method, no label store behind them) stand in for a store campaign: the consensus the
    loop reads (:func:`workbench.labeling.consensus.campaign_consensus`) is theirs."""
    import workbench.labeling.consensus as consensus

    real = consensus.campaign_consensus

    def campaign_consensus(campaign, *args, **kwargs):
        own = getattr(campaign, "consensus", None)
        return own() if callable(own) else real(campaign, *args, **kwargs)

    monkeypatch.setattr(consensus, "campaign_consensus", campaign_consensus)
