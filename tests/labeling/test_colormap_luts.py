"""labeling/render's colour-map lookup tables: made once per name, read-only, kept in the
documented, bounded COLORMAP_LUTS cache."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from workbench.labeling.render import COLORMAP_LUTS, colormap_lut


def test_colormap_luts_are_made_once_bounded_and_cleared():
    COLORMAP_LUTS.clear()
    try:
        lut = colormap_lut("magma")
        assert lut.shape == (256, 4) and lut.dtype == np.uint8 and not lut.flags.writeable
        assert tuple(lut[-1]) == tuple(int(v * 255 + 0.5) for v in matplotlib.colormaps["magma"](1.0))
        assert colormap_lut("magma") is lut and len(COLORMAP_LUTS) == 1
        names = sorted(matplotlib.colormaps)[: COLORMAP_LUTS.max_entries + 3]
        for n in names:
            colormap_lut(n)
        assert len(COLORMAP_LUTS) == COLORMAP_LUTS.max_entries == 32
        with pytest.raises(ValueError, match="unknown colour map 'no-such-map'"):
            colormap_lut("no-such-map")
        assert "no-such-map" not in COLORMAP_LUTS
        COLORMAP_LUTS.clear()
        assert len(COLORMAP_LUTS) == 0 and colormap_lut("magma") is not lut
    finally:
        COLORMAP_LUTS.clear()
