"""Export of consensus and raw annotations: Parquet, CSV, FITS, VOTable, DS9 regions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table

import workbench
from workbench.core.errors import OutputError
from workbench.io.components import compute_components
from workbench.io.labels import open_store
from workbench.labeling.export import export_labels


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    from workbench.sims.radio import simulate_radio

    path = tmp_path_factory.mktemp("e") / "sim"
    coll = simulate_radio(path, n=6, seed=1, size=48, infrared=False)
    compute_components(coll)
    return path


def _fr(m):
    return {"morphology": m, "confidence": "confident"}


def test_consensus_and_raw_in_every_format(survey, tmp_path):
    coll = workbench.open(survey)
    store = open_store(tmp_path / "l.sqlite")
    ids = coll.ids
    camp = store.create_campaign("c", "fr-morphology", ids[:4])
    camp.annotate(ids[0], _fr("FRI"), annotator="a")
    camp.annotate(ids[0], _fr("FRI"), annotator="b")
    camp.annotate(ids[1], _fr("FRII"), annotator="a")
    cat = coll.catalog.set_index("id")
    for suffix in (".parquet", ".csv", ".fits", ".vot", ".xml"):
        out = export_labels(store, "c", tmp_path / f"cons{suffix}", collection=coll)
        assert out["rows"] == 2 and out["kind"] == "consensus"
        t = pd.read_parquet(out["path"]) if suffix == ".parquet" else (
            pd.read_csv(out["path"]) if suffix == ".csv" else Table.read(out["path"]).to_pandas())
        t["item_id"] = t["item_id"].astype(str)
        t = t.set_index("item_id")
        assert t.loc[ids[0], "label"] in ("FRI", b"FRI")
        assert t.loc[ids[0], "agreement"] == 1.0
        assert np.isclose(t.loc[ids[1], "ra"], cat.loc[ids[1], "ra"])
        assert np.isclose(t.loc[ids[1], "dec"], cat.loc[ids[1], "dec"])
        raw = export_labels(store, "c", tmp_path / f"raw{suffix}", collection=coll, raw=True)
        assert raw["rows"] == 3 and raw["kind"] == "annotations"
    fits = Table.read(tmp_path / "raw.fits")
    assert str(fits["ra"].unit) == "deg" and len(fits) == 3
    assert '"morphology": "FRI"' in str(fits["answers"][0])
    with pytest.raises(OutputError, match="unknown table format"):
        export_labels(store, "c", tmp_path / "x.txt")


def test_empty_campaign_exports_an_empty_typed_table(survey, tmp_path):
    coll = workbench.open(survey)
    store = open_store(tmp_path / "l.sqlite")
    store.create_campaign("e", "transient", coll.ids)
    for raw in (False, True):
        out = export_labels(store, "e", tmp_path / f"e{raw}.parquet", collection=coll, raw=raw)
        t = pd.read_parquet(out["path"])
        assert len(t) == 0 and "item_id" in t.columns and "ra" in t.columns
        assert t["ra"].dtype == np.float64
    t = Table.read(export_labels(store, "e", tmp_path / "e.fits", collection=coll)["path"])
    assert len(t) == 0 and "label" in t.colnames


def test_rgz_regions_and_host_sky_positions(survey, tmp_path):
    coll = workbench.open(survey)
    store = open_store(tmp_path / "l.sqlite")
    item = coll.ids[2]
    camp = store.create_campaign("r", "rgz", [item])
    for who, x in (("a", 20.0), ("b", 20.5), ("c", 21.0)):
        camp.annotate(item, {"sources": [{"components": [1], "host": {"x": x, "y": 24.0},
                                          "morphology": "compact"}]}, annotator=who)
    out = export_labels(store, "r", tmp_path / "r.parquet", collection=coll)
    t = pd.read_parquet(out["path"])
    wcs = coll[item].axes["radio"]["wcs"]
    ra, dec = wcs.pixel_to_world_values(t["host_x"].iloc[0], t["host_y"].iloc[0])
    assert np.isclose(t["host_ra"].iloc[0], ra) and np.isclose(t["host_dec"].iloc[0], dec)
    reg = export_labels(store, "r", tmp_path / "r.reg", collection=coll)
    text = (tmp_path / "r.reg").read_text()
    assert reg["kind"] == "regions" and text.startswith("# Region file format: DS9")
    assert f"fk5;point({float(ra):.7f},{float(dec):.7f})" in text
    assert f"{item} source 0: components 1 (1.00)" in text
    assert "color=cyan text={1}" in text  # the component's peak
