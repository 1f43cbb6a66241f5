"""Items as PNG files drawn the way the workbench's views draw them (for Zooniverse subjects).

Each panel of :func:`workbench.labeling.panels.item_panels` (radio map with contours, DM-time
and frequency-time of a transient, colour composite and bands of a lens, ...) becomes one
PNG: the same stretch and colour map, north up (first image row at the bottom), enlarged by
a whole factor (nearest neighbour) to at least ``min_size`` pixels a side, with the contour
lines the views draw over radio maps rasterised on top (PIL).
"""

from __future__ import annotations

import io

import numpy as np

from workbench.labeling import panels as _panels

__all__ = ["panel_png", "subject_pngs", "CONTOUR_RGBA"]

#: Colour of contour lines drawn on the PNGs.
CONTOUR_RGBA = (0, 255, 255, 255)


def _unpack(contours: dict) -> list[np.ndarray]:
    if not contours or not contours.get("n"):
        return []
    xy = np.frombuffer(contours["xy"], np.float32).reshape(-1, 2)
    starts = np.frombuffer(contours["starts"], np.int32)
    return [xy[a:b] for a, b in zip(starts[:-1], starts[1:])]


def panel_png(panel: dict, *, min_size: int = 424) -> bytes:
    """PNG bytes of one panel (see :func:`workbench.labeling.render.panel`)."""
    from PIL import Image, ImageDraw

    w, h = int(panel["w"]), int(panel["h"])
    rgba = np.frombuffer(panel["rgba"], np.uint8).reshape(h, w, 4)
    k = max(1, -(-int(min_size) // max(w, h)))
    big = np.repeat(np.repeat(rgba, k, axis=0), k, axis=1)
    img = Image.fromarray(np.ascontiguousarray(big), "RGBA")
    lines = _unpack(panel.get("contours") or {})
    if lines:
        draw = ImageDraw.Draw(img)
        width = max(1, k // 4)
        for xy in lines:
            pts = [(float(x) * k, float(y) * k) for x, y in xy]
            if len(pts) >= 2:
                draw.line(pts, fill=CONTOUR_RGBA, width=width)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def subject_pngs(item, *, min_size: int = 424) -> list[bytes]:
    """PNG bytes of every panel of ``item``, in the order the views show them."""
    return [panel_png(p, min_size=min_size) for p in _panels.item_panels(item)]
