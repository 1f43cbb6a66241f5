"""Masks out: COCO and caesar-mrcnn files from an RGZ campaign equal the component maps.

pycocotools is not installed: the COCO file is read here by hand (RLE runs decoded with
numpy, polygons rasterised at pixel centres with matplotlib's Path).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits
from click.testing import CliRunner

import workbench
from workbench.errors import CollectionError, StoreError
from workbench.io.components import component_map, compute_components
from workbench.io.labels import open_store
from workbench.labeling.export import export_labels


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    from workbench.sims.radio import simulate_radio

    path = tmp_path_factory.mktemp("masks") / "sim"
    coll = simulate_radio(path, n=12, seed=3, size=48, infrared=False)
    compute_components(coll)
    return path


def _decode_rle(rle):
    """COCO uncompressed RLE by hand: runs alternate 0/1 from 0, column-major."""
    h, w = rle["size"]
    flat = np.zeros(h * w, bool)
    pos, val = 0, False
    for n in rle["counts"]:
        flat[pos:pos + n] = val
        pos, val = pos + n, not val
    assert pos == h * w
    return flat.reshape((w, h)).T


def _rasterise(polys, shape):
    from matplotlib.path import Path

    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    pts = np.c_[xx.ravel() + 0.5, yy.ravel() + 0.5]
    out = np.zeros(len(pts), bool)
    for p in polys:
        out |= Path(np.asarray(p, float).reshape(-1, 2)).contains_points(pts)
    return out.reshape(shape)


@pytest.fixture(scope="module")
def rgz(survey, tmp_path_factory):
    """An RGZ campaign with answers: per item with >= 2 components, two of three annotators
    group components 1+2 into one FRII source with a host, plus component 3 (if any) as a
    compact source without host; the third annotator splits them."""
    coll = workbench.open(survey)
    ncomp = dict(zip(coll.catalog["id"].astype(str), coll.catalog["n_components"]))
    items = [i for i in coll.ids if ncomp[i] >= 2][:4]
    assert len(items) >= 2
    store = open_store(tmp_path_factory.mktemp("store") / "l.sqlite")
    camp = store.create_campaign("rgz1", "rgz", items, retire=5)
    truth = {}
    for iid in items:
        lab = component_map(coll, iid)
        rows, cols = np.nonzero(lab == 1)
        host = {"x": float(cols.mean()), "y": float(rows.mean())}
        srcs = [{"components": [1, 2], "host": host, "morphology": "FRII"}]
        if ncomp[iid] >= 3:
            srcs.append({"components": [3], "host": None, "morphology": "compact"})
        for who in ("ada", "bea"):
            camp.annotate(iid, {"sources": srcs}, annotator=who, n_components=ncomp[iid])
        camp.annotate(iid, {"sources": [{"components": [1], "host": None, "morphology": "FRI"},
                                        {"components": [2], "host": None,
                                         "morphology": "compact"}]},
                      annotator="cyd", n_components=ncomp[iid])
        truth[iid] = (lab, srcs)
    return coll, store, truth


def test_coco_rle_masks_equal_the_component_maps(rgz, tmp_path):
    coll, store, truth = rgz
    out = export_labels(store, "rgz1", tmp_path / "rgz.json", collection=coll, format="coco")
    data = json.loads((tmp_path / "rgz.json").read_text())
    cats = {c["id"]: c["name"] for c in data["categories"]}
    assert sorted(cats.values()) == sorted(["compact", "FRI", "FRII", "bent", "other"])
    images = {im["id"]: im for im in data["images"]}
    assert {im["workbench_id"] for im in images.values()} == set(truth)
    n_want = sum(len(s) for _, s in truth.values())
    assert out["rows"] == len(data["annotations"]) == n_want
    seen = set()
    for a in data["annotations"]:
        im = images[a["image_id"]]
        lab, srcs = truth[im["workbench_id"]]
        assert [im["height"], im["width"]] == list(lab.shape) == a["segmentation"]["size"]
        src = next(s for s in srcs if s["components"] == a["attributes"]["components"])
        mask = _decode_rle(a["segmentation"])
        want = np.isin(lab, src["components"])
        assert np.array_equal(mask, want)
        assert a["area"] == want.sum()
        rows, cols = np.nonzero(want)
        assert a["bbox"] == [cols.min(), rows.min(), cols.max() - cols.min() + 1,
                             rows.max() - rows.min() + 1]
        assert cats[a["category_id"]] == src["morphology"]
        if src["host"] is None:
            assert a["keypoints"] == [0, 0, 0] and a["num_keypoints"] == 0
        else:  # the KDE peak of two identical clicks is the click, in COCO's pixel-edge frame
            np.testing.assert_allclose(a["keypoints"][:2], [src["host"]["x"] + 0.5,
                                                            src["host"]["y"] + 0.5], atol=0.01)
            assert a["keypoints"][2] == 2
        assert a["attributes"]["consensus_level"] == pytest.approx(2 / 3)
        seen.add((im["workbench_id"], tuple(src["components"])))
    assert len(seen) == n_want


def test_coco_polygons_cover_the_same_pixels(rgz, tmp_path):
    from scipy import ndimage

    coll, store, truth = rgz
    export_labels(store, "rgz1", tmp_path / "p.json", collection=coll, format="coco",
                  segmentation="polygon")
    data = json.loads((tmp_path / "p.json").read_text())
    images = {im["id"]: im["workbench_id"] for im in data["images"]}
    for a in data["annotations"]:
        lab, _ = truth[images[a["image_id"]]]
        want = ndimage.binary_fill_holes(np.isin(lab, a["attributes"]["components"]),
                                         structure=np.ones((3, 3)))
        assert all(len(p) >= 8 and len(p) % 2 == 0 for p in a["segmentation"])
        assert np.array_equal(_rasterise(a["segmentation"], lab.shape), want)


def test_caesar_folder(rgz, tmp_path):
    coll, store, truth = rgz
    out = export_labels(store, "rgz1", tmp_path / "caesar", collection=coll, format="caesar")
    listed = (tmp_path / "caesar" / "datalist.txt").read_text().split()
    assert len(listed) == out["n_items"] == len(truth)
    classes = []
    for jf in listed:
        doc = json.loads(open(jf).read())
        img = fits.getdata(tmp_path / "caesar" / doc["img"])
        iid = doc["objs"][0]["workbench_id"]
        lab, srcs = truth[iid]
        np.testing.assert_array_equal(img, coll[iid].images["radio"][0]
                                      if coll[iid].images["radio"].ndim == 3
                                      else coll[iid].images["radio"])
        assert (doc["nx"], doc["ny"]) == (lab.shape[1], lab.shape[0])
        assert len(doc["objs"]) == len(srcs)
        for obj in doc["objs"]:
            m = fits.getdata(tmp_path / "caesar" / obj["mask"])
            assert np.array_equal(m.astype(bool), np.isin(lab, obj["components"]))
            assert obj["nislands"] == len(obj["components"])
            classes.append(obj["class"])
            # the caesar class follows from the RGZ morphology and the island count
            assert obj["class"] == ("compact" if obj["components"] == [3]
                                    else "extended-multisland")
            assert {"sidelobe-mixed", "sidelobe-near", "name"} <= set(obj)
    assert "extended-multisland" in classes
    # a second export into the same folder is refused unless asked; nothing is changed
    before = sorted(p.name for p in (tmp_path / "caesar").iterdir())
    with pytest.raises(Exception, match="exists"):
        export_labels(store, "rgz1", tmp_path / "caesar", collection=coll, format="caesar")
    assert sorted(p.name for p in (tmp_path / "caesar").iterdir()) == before
    export_labels(store, "rgz1", tmp_path / "caesar", collection=coll, format="caesar",
                  overwrite=True)
    with pytest.raises(Exception, match="is a folder"):
        export_labels(store, "rgz1", tmp_path / "c.json", collection=coll, format="caesar")
    assert not (tmp_path / "c.json").exists()


def test_item_class_campaign_and_refusals(survey, tmp_path):
    coll = workbench.open(survey)
    store = open_store(tmp_path / "l.sqlite")
    ids = coll.ids[:3]
    camp = store.create_campaign("c", "caesar-mrcnn", ids)
    for who in ("a", "b"):
        camp.annotate(ids[0], {"class": "extended"}, annotator=who)
    camp.annotate(ids[1], {"class": "spurious"}, annotator="a")
    data_out = export_labels(store, "c", tmp_path / "c.json", collection=coll, format="coco")
    data = json.loads((tmp_path / "c.json").read_text())
    assert data_out["rows"] == 2
    by_item = {im["id"]: im["workbench_id"] for im in data["images"]}
    cats = {c["id"]: c["name"] for c in data["categories"]}
    for a in data["annotations"]:
        iid = by_item[a["image_id"]]
        lab = component_map(coll, iid)
        assert np.array_equal(_decode_rle(a["segmentation"]), lab > 0)
        assert cats[a["category_id"]] == {ids[0]: "extended", ids[1]: "spurious"}[iid]
    # a scheme with no objects, and a Collection without component maps, are refused
    store.create_campaign("t", "transient", ids)
    with pytest.raises(StoreError, match="radio components"):
        export_labels(store, "t", tmp_path / "t.json", collection=coll, format="coco")
    from workbench.sims.radio import simulate_radio

    bare = simulate_radio(tmp_path / "bare", n=2, seed=1, size=32, infrared=False)
    s2 = open_store(tmp_path / "l2.sqlite")
    s2.create_campaign("c", "caesar-mrcnn", bare.ids)
    with pytest.raises(CollectionError, match="workbench components"):
        export_labels(s2, "c", tmp_path / "b.json", collection=bare, format="coco")
    assert not (tmp_path / "b.json").exists()


def test_cli_acceptance_command(rgz, tmp_path):
    """`workbench labels export COLL --campaign RGZ -o rgz.json --format coco`."""
    from workbench.cli import cli

    coll, store, truth = rgz
    res = CliRunner().invoke(cli, ["labels", "export", str(coll.path), "--campaign", "rgz1",
                                   "-o", str(tmp_path / "rgz.json"), "--format", "coco",
                                   "--store", str(store.path)])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "rgz.json").read_text())
    assert len(data["annotations"]) == sum(len(s) for _, s in truth.values())
    assert "coco object(s)" in res.output
