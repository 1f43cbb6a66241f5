"""Catalogue positions: the column spellings real survey catalogues use."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.errors import CatalogError
from workbench.io.catalogs import find_radec, read_table, sky_positions


def test_askap_selavy_votable_positions(tmp_path):
    """Selavy (RACS/EMU/VAST) components: degrees in *_deg_cont, sexagesimal in *_hms/dms_cont."""
    from astropy.table import Table

    t = Table({"island_id": ["SB1_island_1", "SB1_island_2"],
               "ra_hms_cont": ["12:30:49.4", "00:00:12.0"],
               "dec_dms_cont": ["+12:23:28", "-30:00:36"],
               "ra_deg_cont": [187.70583, 0.05], "dec_deg_cont": [12.39111, -30.01]})
    path = tmp_path / "selavy-components.xml"
    t.write(path, format="votable")
    df = read_table(path)
    assert find_radec(df, path) == ("ra_deg_cont", "dec_deg_cont")
    ra, dec = sky_positions(df, path)
    np.testing.assert_allclose(ra, [187.70583, 0.05])
    np.testing.assert_allclose(dec, [12.39111, -30.01])
    # the sexagesimal columns alone give the same positions
    ra2, dec2 = sky_positions(df.drop(columns=["ra_deg_cont", "dec_deg_cont"]), path)
    np.testing.assert_allclose(ra2, ra, atol=1e-4)
    np.testing.assert_allclose(dec2, dec, atol=1e-4)


def test_no_position_columns_names_the_file(tmp_path):
    path = tmp_path / "fluxes.csv"
    pd.DataFrame({"flux": [1.0]}).to_csv(path, index=False)
    with pytest.raises(CatalogError, match="RA/Dec") as err:
        sky_positions(read_table(path), path)
    assert "fluxes.csv" in str(err.value)
