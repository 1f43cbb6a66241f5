"""Zooniverse both ways: subject export (PNG + manifest) and classification import."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import workbench
from workbench.errors import InputError, OutputError
from workbench.io.export_zooniverse import ID_COLUMN, export_zooniverse
from workbench.io.labels import open_store
from workbench.io.labels.zooniverse import import_zooniverse, load_mapping
from workbench.labeling import panels
from workbench.labeling.consensus import campaign_consensus
from workbench.labeling.subject_images import CONTOUR_RGBA, subject_pngs


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    from workbench.sims.radio import simulate_radio

    path = tmp_path_factory.mktemp("zoo") / "sim"
    simulate_radio(path, n=5, seed=7, size=40, infrared=False)
    return path


def test_export_subjects_drawn_like_the_views(survey, tmp_path):
    coll = workbench.open(survey)
    res = export_zooniverse(coll, tmp_path / "zoo", draw=lambda it: subject_pngs(it, min_size=160))
    man = pd.read_csv(tmp_path / "zoo" / "manifest.csv", dtype=str, keep_default_na=False)
    assert list(man[ID_COLUMN]) == list(coll.ids) and res["n_subjects"] == len(coll)
    assert ID_COLUMN.startswith("#")  # hidden from volunteers, kept in exports
    np.testing.assert_allclose(man["ra"].astype(float), coll.catalog["ra"], atol=1e-6)
    n_contour = 0
    for iid, fname in zip(man[ID_COLUMN], man["image_1"]):
        img = np.asarray(Image.open(tmp_path / "zoo" / fname).convert("RGBA"))
        p = panels.item_panels(coll[iid])[0]
        ref = np.frombuffer(p["rgba"], np.uint8).reshape(p["h"], p["w"], 4)
        k = img.shape[0] // p["h"]
        assert k * p["h"] == img.shape[0] == img.shape[1] and k * p["w"] >= 160
        big = np.repeat(np.repeat(ref, k, 0), k, 1)
        same = (img == big).all(axis=2)
        line = (img == np.array(CONTOUR_RGBA, np.uint8)).all(axis=2)
        # every pixel is the view's pixel, or a contour line drawn over it
        assert (same | line).all()
        n_contour += int((line & ~same).sum())
    assert n_contour > 0


def test_export_is_atomic_and_refuses_to_clobber(survey, tmp_path):
    coll = workbench.open(survey)
    calls = []

    def failing(item):
        calls.append(item.id)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return subject_pngs(item, min_size=32)

    with pytest.raises(RuntimeError):
        export_zooniverse(coll, tmp_path / "z", draw=failing)
    assert not (tmp_path / "z").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".z")]
    first = coll.ids[0]
    res = export_zooniverse(coll, tmp_path / "z", draw=lambda it: subject_pngs(it, min_size=32),
                            query=f"id == '{first}'")
    assert res["n_subjects"] == 1
    before = sorted(p.name for p in (tmp_path / "z").iterdir())
    with pytest.raises(OutputError, match="exists"):
        export_zooniverse(coll, tmp_path / "z", draw=lambda it: subject_pngs(it, min_size=32))
    assert sorted(p.name for p in (tmp_path / "z").iterdir()) == before
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(OutputError):
        export_zooniverse(coll, tmp_path / "other", overwrite=True,
                          draw=lambda it: subject_pngs(it, min_size=32))
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


# --------------------------------------------------------------------------- import
MAPPING = {"subject_key": "#workbench_id",
           "tasks": {"T0": {"question": "morphology",
                            "answers": {"FR I": "FRI", "FR II": "FRII", "Hybrid": "hybrid"}},
                     "T1": {"question": "confidence",
                            "answers": {"Confident": "confident", "Not sure": "uncertain"}}}}
COLUMNS = ["classification_id", "user_name", "user_id", "user_ip", "workflow_id",
           "workflow_name", "workflow_version", "created_at", "gold_standard", "expert",
           "metadata", "annotations", "subject_data", "subject_ids"]


def _row(cid, user, subject, item, answers, *, workflow="4321", version="12.7",
         created="2024-05-01 10:00:00 UTC", extra_task=False, ip="a1b2c3d4e5"):
    anns = [{"task": "T0", "task_label": "Which FR class?", "value": answers[0]}]
    if answers[1] is not None:
        anns.append({"task": "T1", "task_label": "How sure are you?", "value": answers[1]})
    if extra_task:  # a drawing task the mapping does not cover
        anns.append({"task": "T2", "task_label": "Mark the core",
                     "value": [{"x": 10.5, "y": 12.0, "tool": 0, "frame": 0, "details": []}]})
    meta = {"source": "api", "session": "abc", "started_at": "2024-05-01T09:59:30.000Z",
            "finished_at": "2024-05-01T09:59:58.000Z", "user_language": "en",
            "subject_dimensions": [{"naturalWidth": 424, "naturalHeight": 424}]}
    sdata = {str(subject): {"retired": None, "image_1": f"{item}_1.png", "#workbench_id": item,
                            "#collection": "sim"}}
    return {"classification_id": str(cid),
            "user_name": user if user else f"not-logged-in-{ip}",
            "user_id": "" if not user else str(1000 + cid % 97), "user_ip": ip,
            "workflow_id": workflow, "workflow_name": "FR classes", "workflow_version": version,
            "created_at": created, "gold_standard": "", "expert": "",
            "metadata": json.dumps(meta), "annotations": json.dumps(anns),
            "subject_data": json.dumps(sdata), "subject_ids": str(subject)}


def _write_export(path, rows):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS)
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue())


@pytest.fixture()
def campaign(survey, tmp_path):
    coll = workbench.open(survey)
    store = open_store(tmp_path / "l.sqlite")
    store.create_campaign("zoo", "fr-morphology", coll.ids, retire=10)
    (tmp_path / "map.json").write_text(json.dumps(MAPPING))
    return coll, store, tmp_path / "map.json"


def _good_rows(ids):
    return [
        _row(500001, "alice", 70001, ids[0], ("FR II", "Confident"), extra_task=True),
        _row(500002, "bob", 70001, ids[0], ("FR II", "Not sure"),
             created="2024-05-01 10:05:00 UTC"),
        _row(500003, None, 70001, ids[0], ("FR I", "Confident"), ip="ffee99"),
        _row(500004, "alice", 70002, ids[1], ("Hybrid", "Confident")),
        _row(500005, "carol", 70002, ids[1], ("FR I", "Confident"), workflow="9999"),
        _row(500006, "dave", 70002, ids[1], ("FR I", "Confident"), version="11.2"),
    ]


def test_import_maps_users_times_and_is_idempotent(campaign):
    coll, store, mapping = campaign
    ids = coll.ids
    path = mapping.parent / "fr-classifications.csv"
    _write_export(path, _good_rows(ids))
    rep = import_zooniverse(store, path, "zoo", workflow="4321", version="12", mapping=mapping)
    assert (rep.n_rows, rep.n_added, rep.n_other_workflow, rep.n_other_version) == (6, 4, 1, 1)
    assert rep.ignored_tasks == {"T2": 1} and rep.annotators == 3
    ann = store.annotations(campaign="zoo").set_index("item_id")
    assert set(ann["source"]) == {"zooniverse"}
    a0 = ann.loc[ids[0]].sort_values("ended")
    assert sorted(a0["annotator"]) == ["zooniverse:alice", "zooniverse:bob",
                                       "zooniverse:not-logged-in-ffee99"]
    bob = a0[a0["annotator"] == "zooniverse:bob"].iloc[0]
    assert bob["answers"] == {"morphology": "FRII", "confidence": "uncertain"}
    assert bob["ended"] == pd.Timestamp("2024-05-01 10:05:00", tz="UTC")
    assert bob["started"] == pd.Timestamp("2024-05-01 09:59:30", tz="UTC")
    assert bob["source_detail"]["classification_id"] == "500002"
    assert bob["source_detail"]["subject_id"] == "70001"
    assert bob["source_detail"]["workflow_version"] == "12.7"
    # the campaign's consensus sees them like any other annotations
    cons = campaign_consensus(store.campaign("zoo")).set_index("item_id")
    assert cons.loc[ids[0], "label"] == "FRII" and cons.loc[ids[1], "label"] == "hybrid"
    # again: nothing added
    again = import_zooniverse(store, path, "zoo", workflow="4321", version="12",
                              mapping=mapping)
    assert again.n_added == 0 and again.n_already == 4
    assert len(store.annotations(campaign="zoo")) == 4
    # without --version the 11.2 classification comes in too, and only it
    more = import_zooniverse(store, path, "zoo", workflow="4321", mapping=mapping)
    assert (more.n_added, more.n_already) == (1, 4)


def test_unknown_subjects_and_answers_reported_not_guessed(campaign):
    coll, store, mapping = campaign
    ids = coll.ids
    rows = _good_rows(ids) + [
        _row(500010, "erin", 70099, "not-an-item", ("FR I", "Confident")),
        _row(500011, "erin", 70001, ids[0], ("Bent", "Confident")),
        _row(500012, "frank", 70001, ids[0], ("FR I", None)),  # confidence missing
    ]
    path = mapping.parent / "mixed.csv"
    _write_export(path, rows)
    with pytest.raises(InputError, match=r"mixed.csv.*classification 500010.*subject 70099") \
            as err:
        import_zooniverse(store, path, "zoo", workflow="4321", mapping=mapping)
    assert "\n" not in str(err.value)
    assert len(store.annotations(campaign="zoo")) == 0  # nothing half written
    rep = import_zooniverse(store, path, "zoo", workflow="4321", mapping=mapping,
                            errors="skip")
    assert rep.n_added == 5 and rep.n_skipped == 3  # 500006 (version 11.2) counts: no --version
    assert rep.unknown_subjects == {"70099": 1}
    assert rep.unknown_answers == {"T0: Bent": 1}
    assert [b["classification_id"] for b in rep.invalid] == ["500012"]
    assert "confidence" in rep.invalid[0]["reason"]


def test_bad_files_and_mappings(campaign):
    coll, store, mapping = campaign
    scheme = store.campaign("zoo").scheme
    bad = mapping.parent / "bad_map.json"
    bad.write_text(json.dumps({"tasks": {"T0": {"question": "morphology",
                                                "answers": {"FR I": "FR1"}}}}))
    with pytest.raises(InputError, match=r"bad_map.json.*tasks.T0.answers\['FR I'\].*FR1"):
        load_mapping(bad, scheme)
    bad.write_text(json.dumps({"tasks": {"T0": {"question": "colour", "answers": {"a": "b"}}}}))
    with pytest.raises(InputError, match=r"tasks.T0.question"):
        load_mapping(bad, scheme)
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not a JSON file"):
        load_mapping(bad, scheme)
    notzoo = mapping.parent / "cat.csv"
    notzoo.write_text("ra,dec\n1,2\n")
    with pytest.raises(InputError, match=r"cat.csv.*no column"):
        import_zooniverse(store, notzoo, "zoo", workflow="1", mapping=mapping)
    rows = _good_rows(coll.ids)
    rows[1]["annotations"] = "[{broken"
    _write_export(mapping.parent / "broken.csv", rows)
    with pytest.raises(InputError, match=r"classification 500002 \(line 3\): annotations is "
                                         r"not JSON"):
        import_zooniverse(store, mapping.parent / "broken.csv", "zoo", workflow="4321",
                          mapping=mapping)
    with pytest.raises(InputError, match=r"no classification of workflow 77"):
        import_zooniverse(store, mapping.parent / "broken.csv", "zoo", workflow="77",
                          mapping=mapping)


def test_cli_round_trip(survey, tmp_path):
    """export zooniverse -> (volunteers classify) -> labels import zooniverse."""
    from workbench.cli import cli

    run = CliRunner()
    res = run.invoke(cli, ["export", "zooniverse", str(survey), "-o", str(tmp_path / "subj"),
                           "--min-size", "64", "--json"])
    assert res.exit_code == 0, res.output
    man = pd.read_csv(tmp_path / "subj" / "manifest.csv", dtype=str)
    store_path = tmp_path / "l.sqlite"
    store = open_store(store_path)
    store.create_campaign("zoo", "fr-morphology", list(man[ID_COLUMN]))
    rows = [_row(600000 + k, f"user{k % 2}", 80000 + k, iid, ("FR I", "Confident"))
            for k, iid in enumerate(man[ID_COLUMN])]
    _write_export(tmp_path / "export.csv", rows)
    (tmp_path / "map.json").write_text(json.dumps(MAPPING))
    args = ["labels", "import", "zooniverse", str(tmp_path / "export.csv"), str(survey),
            "--campaign", "zoo", "--workflow", "4321", "--mapping", str(tmp_path / "map.json"),
            "--store", str(store_path), "--json"]
    res = run.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["n_added"] == len(man)
    res = run.invoke(cli, args)
    assert json.loads(res.output)["n_added"] == 0
    assert len(store.annotations(campaign="zoo")) == len(man)


def test_same_export_into_a_second_campaign(campaign):
    """Idempotence is per campaign: the uid carries the campaign, so a second campaign over
    the same items gets its own copies."""
    coll, store, mapping = campaign
    path = mapping.parent / "e.csv"
    _write_export(path, _good_rows(coll.ids))
    store.create_campaign("zoo2", "fr-morphology", coll.ids, retire=10)
    a = import_zooniverse(store, path, "zoo", workflow="4321", version="12", mapping=mapping)
    b = import_zooniverse(store, path, "zoo2", workflow="4321", version="12", mapping=mapping)
    assert a.n_added == b.n_added == 4
    assert len(store.annotations(campaign="zoo2")) == 4
    assert import_zooniverse(store, path, "zoo2", workflow="4321", version="12",
                             mapping=mapping).n_added == 0
