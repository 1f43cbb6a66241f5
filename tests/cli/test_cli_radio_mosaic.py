"""CLI: workbench simulate radio / radio-mosaic and workbench ingest mosaic."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import workbench
from workbench.cli import main


def _run(argv, capsys):
    try:
        main(argv)
    except SystemExit as exc:
        if exc.code:
            raise
    return capsys.readouterr()


def test_simulate_radio_then_info(tmp_path, capsys):
    out = tmp_path / "sim"
    _run(["simulate", "radio", "--n", "14", "--seed", "1", "-o", str(out), "--size", "48",
          "--quiet"], capsys)
    info = json.loads(_run(["info", str(out), "--json"], capsys).out)
    assert info["n_items"] == 14 and info["kinds"] == {"radio": 14}
    assert set(info["products"]) == {"radio", "infrared"}
    assert "truth" in info["columns"] and "truth_components" in info["derived"]
    _run(["simulate", "radio", "--n", "3", "--seed", "1", "-o", str(tmp_path / "n"),
          "--size", "32", "--no-infrared", "--quiet"], capsys)
    assert set(workbench.open(tmp_path / "n").products) == {"radio"}


def test_mosaic_round_trip_and_outside_positions(tmp_path, capsys):
    mos = tmp_path / "mos"
    _run(["simulate", "radio-mosaic", "--n", "12", "--seed", "2", "--size", "256", "-o",
          str(mos), "--quiet"], capsys)
    cat = pd.read_csv(mos / "catalog.csv")
    far = cat.iloc[[0]].assign(id="far", dec=cat["dec"].iloc[0] + 3)
    pd.concat([cat, far]).to_csv(tmp_path / "cat.csv", index=False)
    with pytest.raises(SystemExit) as exc:
        main(["ingest", "mosaic", str(mos / "mosaic.fits"), "--catalog", str(tmp_path / "cat.csv"),
              "--size", "40", "-o", str(tmp_path / "c")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "cat.csv" in err and "outside the mosaic" in err and "far" in err
    res = _run(["ingest", "mosaic", str(mos / "mosaic.fits"), "--catalog",
                str(tmp_path / "cat.csv"), "--size", "40", "-o", str(tmp_path / "c"),
                "--errors", "skip"], capsys)
    assert "far" in res.err and "ingested 12 stamp(s)" in res.out
    assert len(workbench.open(tmp_path / "c")) == 12
