"""Mosaic ingest: stamps around catalogue positions of a memory-mapped FITS map."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.errors import CatalogError
from workbench.io.ingest_mosaic import ingest_mosaic, is_memmapped, open_mosaic
from workbench.sims.radio import mosaic_header, simulate_radio_mosaic


@pytest.fixture(scope="module")
def mosaic(tmp_path_factory):
    d = tmp_path_factory.mktemp("mosaic")
    res = simulate_radio_mosaic(d, n_sources=40, seed=11, size=512,
                                class_fractions={"compact": 3, "FRII": 1})
    return res


def test_stamps_centred_on_sources(mosaic, tmp_path):
    rep = ingest_mosaic(mosaic.image, tmp_path / "c", catalog=mosaic.catalog, size_arcsec=30)
    coll = workbench.open(tmp_path / "c")
    cat = coll.catalog
    assert rep.n_items == len(coll) == 40 and rep.shape == (17, 17)
    assert not rep.outside and rep.n_edge == int(cat["edge"].sum())
    # catalogue columns carried over, ids from the catalogue
    assert {"truth", "flux_jy", "snr", "x", "y"} <= set(cat.columns)
    assert list(cat["id"]) == list(pd.read_csv(mosaic.catalog)["id"])
    # the mosaic's restoring beam (BMAJ/BMIN in deg) on every stamp, in arcsec
    np.testing.assert_allclose(cat[["bmaj", "bmin", "bpa"]].to_numpy(float), [[5.0, 5.0, 0.0]] * 40)
    xy = cat[["x", "y"]].to_numpy()
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    isolated = d.min(axis=1) > 40
    n_checked = 0
    for i in range(len(coll)):
        item = coll[i]
        m = item.meta
        img = item.images["radio"]
        ax = item.axes["radio"]
        # the stamp's own WCS puts the catalogue position on the central pixel
        x, y = ax["wcs"].all_world2pix([[m["ra"], m["dec"]]], 0)[0]
        assert abs(x - 8) <= 0.5 + 1e-6 and abs(y - 8) <= 0.5 + 1e-6
        assert abs(ax["pixscale_arcsec"] - 1.8) < 1e-6 and m["pixscale_arcsec"] == pytest.approx(1.8)
        if m["truth"] == "compact" and m["snr"] > 15 and not m["edge"] and isolated[i]:
            py, px = np.unravel_index(np.nanargmax(img), img.shape)
            assert abs(px - 8) <= 1 and abs(py - 8) <= 1, (i, px, py)
            assert np.nanmax(img) > 0.6 * m["peak_jy_beam"]
            n_checked += 1
    assert n_checked >= 5


def test_edge_sources_padded_and_flagged(mosaic, tmp_path):
    from astropy.wcs import WCS

    with open_mosaic(mosaic.image) as m:
        w = m.wcs
        assert isinstance(w, WCS) and w.naxis == 2
        ra, dec = w.all_pix2world([0.2, 250.0, 511.0], [0.3, 250.0, 260.0], 0)
    cat = pd.DataFrame({"name": ["corner", "middle", "right"], "RAJ2000": ra, "DEJ2000": dec,
                        "flux": [1.0, 2.0, 3.0]})
    rep = ingest_mosaic(mosaic.image, tmp_path / "e", catalog=cat, size_arcsec=36)
    coll = workbench.open(tmp_path / "e")
    c = coll.catalog.set_index("id")
    assert bool(c.at["corner", "edge"]) and bool(c.at["right", "edge"])
    assert not bool(c.at["middle", "edge"]) and rep.n_edge == 2
    corner = coll["corner"].images["radio"]
    n = corner.shape[0]
    assert np.isnan(corner[: n // 2 - 1, :]).all() and np.isnan(corner[:, : n // 2 - 1]).all()
    assert np.isfinite(corner[n // 2:, n // 2:]).all()
    assert 0.6 < c.at["corner", "nan_fraction"] < 0.85
    assert np.isfinite(coll["middle"].images["radio"]).all()
    assert list(c["flux"]) == [1.0, 2.0, 3.0]


def test_off_mosaic_sources_reported(mosaic, tmp_path):
    cat = pd.read_csv(mosaic.catalog)
    far = cat.iloc[[0, 1]].copy()
    far["id"] = ["far-1", "far-2"]
    far["dec"] = far["dec"] + 5.0
    bad = pd.concat([cat, far], ignore_index=True)
    path = tmp_path / "with_far.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(CatalogError) as exc:
        ingest_mosaic(mosaic.image, tmp_path / "x", catalog=path, size_arcsec=30)
    msg = str(exc.value)
    assert "with_far.csv" in msg and "2 of 42" in msg and "far-1" in msg and "far-2" in msg
    assert not (tmp_path / "x").exists()
    with pytest.warns(UserWarning, match="outside the mosaic"):
        rep = ingest_mosaic(mosaic.image, tmp_path / "y", catalog=path, size_arcsec=30,
                            errors="skip")
    assert rep.n_items == 40
    assert [r["id"] for r in rep.outside] == ["far-1", "far-2"]
    assert [r["row"] for r in rep.outside] == [40, 41]


def test_catalog_without_radec(mosaic, tmp_path):
    path = tmp_path / "nopos.csv"
    pd.DataFrame({"name": ["a"], "flux": [1.0]}).to_csv(path, index=False)
    with pytest.raises(CatalogError, match="RA/Dec"):
        ingest_mosaic(mosaic.image, tmp_path / "z", catalog=path, size_arcsec=30)


@pytest.mark.parametrize("fmt,suffix", [("votable", ".xml"), ("fits", ".fits")])
def test_votable_and_fits_catalogues(mosaic, tmp_path, fmt, suffix):
    from astropy.table import Table

    cat = pd.read_csv(mosaic.catalog).iloc[:10]
    t = Table.from_pandas(cat.rename(columns={"ra": "RA", "dec": "DEC"}))
    path = tmp_path / f"cat{suffix}"
    t.write(path, format=fmt)
    ingest_mosaic(mosaic.image, tmp_path / "ref", catalog=cat, size_arcsec=30)
    ingest_mosaic(mosaic.image, tmp_path / fmt, catalog=path, size_arcsec=30)
    a, b = workbench.open(tmp_path / "ref"), workbench.open(tmp_path / fmt)
    assert list(a.ids) == list(b.ids)
    np.testing.assert_array_equal(a.read(np.arange(10))["radio"], b.read(np.arange(10))["radio"])
    assert list(b.catalog["truth"]) == list(cat["truth"])


def test_mosaic_is_memory_mapped(mosaic):
    with open_mosaic(mosaic.image) as m:
        assert m.data.shape == (512, 512)  # FREQ/STOKES axes dropped
        assert is_memmapped(m.data)


def test_scaled_integer_mosaic(tmp_path):
    from astropy.io import fits

    hdr = mosaic_header((64, 64), 10.0, 20.0, 2.0, 5.0)
    raw = np.arange(64 * 64, dtype=np.int16).reshape(1, 1, 64, 64)
    raw[0, 0, 32, 32] = -32768
    hdu = fits.PrimaryHDU(raw, header=hdr)
    hdu.header["BSCALE"] = 0.5
    hdu.header["BZERO"] = 10.0
    hdu.header["BLANK"] = -32768
    hdu.writeto(tmp_path / "int.fits")
    rep = ingest_mosaic(tmp_path / "int.fits", tmp_path / "c",
                        catalog=pd.DataFrame({"ra": [10.0], "dec": [20.0]}), size_arcsec=10)
    img = workbench.open(tmp_path / "c")[0].images["radio"]
    assert rep.shape == (5, 5) and np.isnan(img).sum() == 1
    finite = img[np.isfinite(img)]
    expected = raw[0, 0].astype(float) * 0.5 + 10.0
    assert set(np.round(finite, 3)) <= set(np.round(expected[28:37, 28:37].ravel(), 3))


def test_peak_memory_stays_small(tmp_path):
    """An 8k x 8k (256 MiB) mosaic is cut without loading it: the peak of the heap
    (Python and numpy allocations, traced) stays far below the map's size. (Pages of the
    memory-mapped file that the kernel reads ahead are page cache, not the process's heap.)"""
    from astropy.io import fits

    ny = nx = 8192
    hdr = fits.Header()
    hdr["SIMPLE"] = True
    hdr["BITPIX"] = -32
    hdr["NAXIS"] = 4
    for i, n in enumerate((nx, ny, 1, 1), start=1):
        hdr[f"NAXIS{i}"] = n
    hdr.update(mosaic_header((ny, nx), 150.0, 2.0, 1.8, 5.0))
    path = tmp_path / "big.fits"
    with open(path, "wb") as fh:
        fh.write(hdr.tostring().encode())
        data_bytes = ny * nx * 4
        fh.truncate(fh.tell() + data_bytes + (-data_bytes) % 2880)  # sparse: zeros
    script = textwrap.dedent(f"""
        import tracemalloc, numpy as np, pandas as pd
        from astropy.wcs import WCS
        from astropy.io import fits
        from workbench.io.ingest_mosaic import ingest_mosaic
        w = WCS(fits.getheader({str(path)!r})).celestial
        ra, dec = w.all_pix2world(np.linspace(100, 8000, 200), np.linspace(50, 8100, 200), 0)
        cat = pd.DataFrame({{"ra": ra, "dec": dec}})
        ingest_mosaic({str(path)!r}, {str(tmp_path / 'warm')!r}, catalog=cat.iloc[:3], size_arcsec=60)
        tracemalloc.start()
        rep = ingest_mosaic({str(path)!r}, {str(tmp_path / 'c')!r}, catalog=cat, size_arcsec=60)
        print(rep.n_items, tracemalloc.get_traced_memory()[1] // 2**20)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split()
    n_items, peak_mib = int(out[0]), int(out[1])
    assert n_items == 200
    assert peak_mib < 64, f"heap peaked at {peak_mib} MiB for a 256 MiB mosaic"


def test_loading_the_whole_map_would_be_caught(tmp_path):
    """The check above can fail: reading the data of a non-memory-mapped HDU is traced."""
    import tracemalloc

    from astropy.io import fits

    path = tmp_path / "m.fits"
    fits.PrimaryHDU(np.zeros((2048, 2048), np.float32)).writeto(path)
    tracemalloc.start()
    try:
        with fits.open(path, memmap=False) as h:
            _ = h[0].data
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak >= 16 * 2**20
