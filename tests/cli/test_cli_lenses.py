"""`workbench simulate lenses` and `workbench ingest stamps` from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits

import workbench
from workbench.cli import main


def _run(argv, capsys):
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_simulate_lenses_then_info(tmp_path, capsys):
    out = tmp_path / "lens"
    code, text, _ = _run(["simulate", "lenses", "--n", "6", "--seed", "1", "-o", str(out)], capsys)
    assert code == 0 and "simulated 6 stamp(s)" in text
    code, text, _ = _run(["info", str(out), "--json"], capsys)
    info = json.loads(text)
    assert info["n_items"] == 6 and info["kinds"] == {"lens": 6}
    assert info["products"]["bands"]["channels"] == ["g", "r", "i"]
    assert {"truth", "truth_class", "theta_e_arcsec"} <= set(info["columns"])
    # same seed, same stamps
    code, _, _ = _run(["simulate", "lenses", "--n", "6", "--seed", "1", "-o",
                       str(tmp_path / "again")], capsys)
    a = workbench.open(out).read(range(6))["bands"]
    b = workbench.open(tmp_path / "again").read(range(6))["bands"]
    np.testing.assert_array_equal(a, b)


def test_simulate_space(tmp_path, capsys):
    code, text, _ = _run(["simulate", "lenses", "--n", "2", "--space", "-o",
                          str(tmp_path / "s")], capsys)
    assert code == 0 and "bands VIS" in text
    assert workbench.open(tmp_path / "s").catalog["pixscale_arcsec"].eq(0.1).all()


def test_ingest_stamps_skip_and_error(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for o in (1, 2):
        for b in ("g", "r", "i"):
            if (o, b) == (2, "i"):
                continue
            fits.PrimaryHDU(np.random.default_rng(o).normal(size=(16, 16)).astype("f4")) \
                .writeto(src / f"c{o}_{b}.fits")
    code, _, err = _run(["ingest", "stamps", str(src), "-o", str(tmp_path / "o")], capsys)
    assert code == 2
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "object 'c2' has no i band" in errors[0]
    code, text, err = _run(["ingest", "stamps", str(src), "-o", str(tmp_path / "o"),
                            "--bands", "r,g,i", "--errors", "skip"], capsys)
    assert code == 0 and "ingested 1 object(s) with bands g,r,i" in text
    assert "c2: object 'c2' has no i band" in err
    code, text, _ = _run(["ingest", "stamps", str(src), "-o", str(tmp_path / "o2"),
                          "--bands", "g,r", "--json"], capsys)
    rep = json.loads(text)
    assert rep["n_items"] == 2 and rep["bands"] == ["g", "r"]


@pytest.mark.parametrize("cmd", [["simulate", "lenses"], ["ingest", "stamps"]])
def test_help(cmd, capsys):
    code, text, _ = _run([*cmd, "--help"], capsys)
    assert code == 0 and "Collection" in text
