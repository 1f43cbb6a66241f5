"""Linked plots in a real client: JupyterLab in headless Chromium (Playwright), issue 15.

A notebook shows ``workbench.plots.candidates`` and a Gallery sharing one Selection. In the
browser we drag a box on the candidate overview (Bokeh's box-select tool; the drag becomes
a HoloViews ``Selection1D`` event on the kernel's comm) and check that

* the kernel's selection (written to a file by an observer in the notebook) is exactly the
  candidates inside the dragged rectangle, mapped to data coordinates by BokehJS's own
  scales (the DM axis is logarithmic);
* the Gallery then shows exactly those ids;

then click a Gallery tile and check that the plot draws that candidate in the focus ring
(a glyph whose data is that one candidate's time and DM arrives from the kernel). The same
with the binned view (``rasterize=True``: a ``BoundsXY`` event). Screenshots go to the
test's tmp_path (or ``--screenshots DIR``).
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "plots"))

from _bokeh import PLOT_GEOMETRY, RENDERER_DATA, TO_DATA, TO_PAGE  # noqa: E402
from _jupyter import (  # noqa: E402
    browser_marks,
    chromium_page,
    jupyter_lab,
    open_and_run,
    write_notebook,
)

pytestmark = browser_marks()

N = 200


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    pytest.importorskip("playwright")
    from test_point_plots import make_transients

    root = tmp_path_factory.mktemp("plotlab")
    make_transients(root / "cands", n=N, seed=4)
    for name, opts in (("points", "rasterize=False"), ("binned", "rasterize=True")):
        write_notebook(root / f"{name}.ipynb", [
            textwrap.dedent(f"""\
                import json
                from pathlib import Path
                import workbench, workbench.plots as p
                from workbench.widgets import Gallery
                coll = workbench.open("cands")
                sel = p.Selection()
                def _log(kind, value):
                    with Path("{name}.jsonl").open("a") as f:
                        f.write(json.dumps({{"kind": kind, "value": value}}) + "\\n")
                sel.observe(lambda ids: _log("ids", ids))
                sel.observe(lambda f: _log("focus", f), "focus")
                p.candidates(coll, selection=sel, by=False, {opts})"""),
            "Gallery(coll, selection=sel, page_size=300, thumb=16, n_cols=20)"])
    with jupyter_lab(root) as (base, token):
        yield root, base, token


def _log(root, name):
    p = root / f"{name}.jsonl"
    return [json.loads(s) for s in p.read_text().splitlines()] if p.exists() else []


def _wait_log(page, root, name, kind, count, timeout_s=60.0):
    for _ in range(int(timeout_s * 10)):
        got = [r["value"] for r in _log(root, name) if r["kind"] == kind]
        if len(got) >= count:
            return got
        page.wait_for_timeout(100)
    raise AssertionError(f"the kernel logged no {kind!r} #{count}: {_log(root, name)}")


@pytest.mark.parametrize("name", ["points", "binned"])
def test_box_select_updates_gallery_and_gallery_click_highlights(lab, name, screenshot):
    import workbench

    root, base, token = lab
    cat = workbench.open(root / "cands").catalog.set_index("id")
    with chromium_page() as page:
        open_and_run(page, base, token, f"{name}.ipynb")
        page.wait_for_selector(".wb-gallery .wb-bar")
        page.wait_for_function(f"() => ({PLOT_GEOMETRY})().length > 0")
        page.wait_for_timeout(500)  # let the first draw of the plot settle
        geo = page.evaluate(PLOT_GEOMETRY)[0]
        assert geo["logy"]  # DM on a log axis
        screenshot(page, f"plots_{name}_start")

        # drag a box over the middle of the frame with the box-select tool (active by default)
        ax, ay = geo["left"] + 0.25 * geo["width"], geo["top"] + 0.2 * geo["height"]
        bx, by = geo["left"] + 0.6 * geo["width"], geo["top"] + 0.75 * geo["height"]
        page.mouse.move(ax, ay)
        page.mouse.down()
        for f in np.linspace(0, 1, 8)[1:]:
            page.mouse.move(ax + f * (bx - ax), ay + f * (by - ay))
        page.mouse.up()
        ids = _wait_log(page, root, name, "ids", 1)[0]
        (x0, y0), (x1, y1) = (page.evaluate(TO_DATA, [0, ax, ay]),
                              page.evaluate(TO_DATA, [0, bx, by]))
        xa, xb, ya, yb = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
        inside = (cat["time_s"].between(xa, xb) & cat["dm"].between(ya, yb) & (cat["dm"] > 0))
        want = sorted(cat.index[inside])
        assert 10 < len(want) < N // 2
        assert sorted(ids) == want

        # the Gallery shows exactly the selection
        page.wait_for_function(
            "(n) => document.querySelectorAll('.wb-gallery .wb-tile').length === n",
            arg=len(want))
        tiles = page.eval_on_selector_all(".wb-gallery .wb-tile",
                                          "ts => ts.map(t => t.dataset.id)")
        assert sorted(tiles) == want
        screenshot(page, f"plots_{name}_selected")

        # click a Gallery tile: the kernel's focus, then the plot's focus ring on that item
        pick = tiles[3]
        page.locator(f".wb-gallery .wb-tile[data-id='{pick}']").click()
        assert _wait_log(page, root, name, "focus", 1)[-1] == pick
        t, d = float(cat.loc[pick, "time_s"]), float(cat.loc[pick, "dm"])
        page.wait_for_function(
            f"() => ({RENDERER_DATA})(0).some(r => r.n === 1 && r.time_s && "
            f"Math.abs(r.time_s[0] - {t}) < 1e-9 && Math.abs(r.dm[0] - {d}) < 1e-9)")
        # the ring is drawn where the item is: inside the frame, at Bokeh's own position
        px, py = page.evaluate(TO_PAGE, [0, t, d])
        assert geo["left"] <= px <= geo["left"] + geo["width"]
        assert geo["top"] <= py <= geo["top"] + geo["height"]
        sel_renderer = [r for r in page.evaluate(RENDERER_DATA, 0) if r["n"] == len(want)]
        assert sel_renderer  # the selected items' rings
        screenshot(page, f"plots_{name}_focus")
