"""Band names, aliases and wavelength order."""

from __future__ import annotations

import pytest

from workbench.core.bands import BANDS, band_names, band_or_none, resolve_band, sort_bands
from workbench.errors import InputError


@pytest.mark.parametrize("text, name", [
    ("g", "g"), ("SDSS_g", "g"), ("HSC-G", "g"), ("g DECam SDSS c0001 4720.0 1520.0", "g"),
    ("Ks", "K"), ("vis", "VIS"), ("Euclid_J", "J_E"), ("NISP_H", "H_E"), ("J", "J"),
    ("y", "y"), ("i'", "i"),
])
def test_aliases_resolve(text, name):
    assert resolve_band(text).name == name


def test_unknown_band_names_the_known_ones():
    with pytest.raises(InputError, match="unknown band name 'Q'.*known bands: u, g"):
        resolve_band("Q")
    assert band_or_none("lens") is None


def test_sorted_by_wavelength_and_unique():
    assert sort_bands(["i", "G", "r", "sdss_g"]) == ["g", "r", "i"]
    assert sort_bands(["H_E", "VIS", "Y_E", "J_E"]) == ["VIS", "Y_E", "J_E", "H_E"]
    waves = [BANDS[b].wavelength_nm for b in band_names()]
    assert waves == sorted(waves)
