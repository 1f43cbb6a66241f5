"""The CLI's --scheduler / --workers options, and mosaic ingest through the real cluster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import workbench.io.collection as C
from workbench.cli import main
from workbench.io.ingest_mosaic import ingest_mosaic


@pytest.fixture(scope="module")
def mosaic(tmp_path_factory):
    from workbench.sims.radio import simulate_radio_mosaic

    d = tmp_path_factory.mktemp("mosaic")
    return simulate_radio_mosaic(d, n_sources=120, seed=5, size=512,
                                 class_fractions={"compact": 3, "FRII": 1})


def test_cli_mosaic_on_scheduler_equals_serial(cluster, client, mosaic, tmp_path, capsys):
    ser = ingest_mosaic(mosaic.image, tmp_path / "serial", catalog=mosaic.catalog,
                        size_arcsec=40, errors="skip")
    main(["ingest", "mosaic", str(mosaic.image), "--catalog", str(mosaic.catalog),
          "--size", "40", "-o", str(tmp_path / "par"), "--errors", "skip", "--json",
          "--scheduler", str(cluster.file)])
    rep = __import__("json").loads(capsys.readouterr().out)
    a, b = C.open(tmp_path / "serial"), C.open(tmp_path / "par")
    assert rep["n_items"] == ser.n_items == len(b) > 100
    assert rep["n_edge"] == ser.n_edge and rep["skipped"] == ser.skipped
    assert b.ids == a.ids
    assert b.read(np.arange(len(b)))["radio"].tobytes() == a.read(np.arange(len(a)))[
        "radio"].tobytes()
    pd.testing.assert_frame_equal(b.catalog, a.catalog)
    assert [b[i].axes["radio"]["wcs"].wcs.crpix.tolist() for i in (0, 50)] == [
        a[i].axes["radio"]["wcs"].wcs.crpix.tolist() for i in (0, 50)]


def test_mosaic_task_size_splits_the_work(client, mosaic, tmp_path):
    ingest_mosaic(mosaic.image, tmp_path / "c", catalog=mosaic.catalog, size_arcsec=40,
                  errors="skip", client=client, task_size=25)
    coll = C.open(tmp_path / "c")
    assert len(coll.manifest["segments"]) == -(-len(coll) // 25)


def test_cli_fits_on_scheduler_and_option_errors(cluster, client, fits_inputs, tmp_path,
                                                 capsys):
    files = [str(f) for f in fits_inputs[:40]]
    main(["ingest", "fits", *files, "-o", str(tmp_path / "s")])
    main(["ingest", "fits", *files, "-o", str(tmp_path / "p"), "--scheduler", str(cluster.file)])
    a, b = C.open(tmp_path / "s"), C.open(tmp_path / "p")
    assert a.ids == b.ids and len(b) == 40
    assert a.read(np.arange(40))["radio"].tobytes() == b.read(np.arange(40))["radio"].tobytes()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["ingest", "fits", *files, "-o", str(tmp_path / "x"), "--scheduler",
              str(cluster.file), "--workers", "2"])
    assert exc.value.code == 2 and "not both" in capsys.readouterr().err
    import dask

    with pytest.raises(SystemExit) as exc, dask.config.set(
            {"distributed.comm.timeouts.connect": "2s"}):
        main(["ingest", "fits", *files, "-o", str(tmp_path / "y"), "--scheduler",
              "tcp://127.0.0.1:9"])
    assert exc.value.code == 2
    assert "cannot reach the Dask scheduler tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
