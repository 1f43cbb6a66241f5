"""The Explorer in a real client: JupyterLab in headless Chromium (Playwright).

A notebook shows an Explorer (linked to its Gallery) over a small seeded map. In the browser
we check the map image is drawn, drag a box with the mouse and compare the kernel's selection
(written to a file by an ``on_select`` callback in the notebook's kernel) and the Gallery's
tiles with the points inside the dragged rectangle mapped to map coordinates, then zoom with
the wheel and check the kernel's ``view`` and a new image; lasso in the zoomed map; then a
lasso that leaves the map around a corner and comes back, and a box released off the map:
the kernel selects the drawn shape cut to the visible window (the drag follows the pointer
outside the canvas). Screenshots go to the test's tmp_path
(or ``--screenshots DIR``).
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.widgets.explorer import points_in_polygon

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _jupyter import (  # noqa: E402
    browser_marks,
    chromium_page,
    jupyter_lab,
    open_and_run,
    write_notebook,
)

pytestmark = browser_marks()

W, H = 400, 300
N = 300

#: Page-side instrumentation: pointer positions relative to the map overlay exactly as
#: explorer.js computes them (every move of the pressed pointer, over the map or not: the
#: map holds the pointer capture during a drag), and a count of images drawn on the map.
INIT = """
window.__ex = {down: null, up: null, path: [], draws: 0, lastDraw: 0};
const rel = (ev) => {
  const o = document.querySelectorAll('.wb-ex-map canvas')[1];
  if (!o) return null;
  const r = o.getBoundingClientRect();
  return [ev.clientX - r.left, ev.clientY - r.top];
};
window.addEventListener('pointerdown', (ev) => {
  window.__ex.down = rel(ev); window.__ex.path = [rel(ev)];
}, true);
window.addEventListener('pointermove', (ev) => {
  if (ev.buttons & 1) window.__ex.path.push(rel(ev));
}, true);
window.addEventListener('pointerup', (ev) => { window.__ex.up = rel(ev); }, true);
const orig = CanvasRenderingContext2D.prototype.drawImage;
CanvasRenderingContext2D.prototype.drawImage = function (...a) {
  if (this.canvas.parentElement && this.canvas.parentElement.classList.contains('wb-ex-map')) {
    window.__ex.draws += 1; window.__ex.lastDraw = performance.now();
  }
  return orig.apply(this, a);
};
"""

#: Pixels of the map canvas that are not the black background.
NONBLANK = """() => {
  const c = document.querySelector('.wb-ex-map canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] || d[i + 1] || d[i + 2]) n++;
  return n;
}"""


def _make(path: Path):
    import workbench
    from workbench.io.collection import ProductSpec

    rng = np.random.default_rng(3)
    coll = workbench.create(path, {"radio": ProductSpec(("1.4GHz",), (12, 12))})
    coll.append(pd.DataFrame({"id": [f"s{i:03d}" for i in range(N)]}),
                {"radio": rng.normal(size=(N, 1, 12, 12)).astype(np.float32)}, kind="radio")
    lab = np.repeat([0, 1, 2], N // 3)
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])[lab] + rng.normal(0, 1.2, (N, 2))
    coll.add_columns("map-umap", {"umap_x": xy[:, 0], "umap_y": xy[:, 1]})
    coll.add_columns("clusters", {"cluster": lab, "cluster_prob": np.ones(N)})
    return xy


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    pytest.importorskip("playwright")
    root = tmp_path_factory.mktemp("explab")
    xy = _make(root / "mapped")
    write_notebook(root / "explore.ipynb", [textwrap.dedent(f"""\
        import json
        from pathlib import Path
        import workbench
        from workbench.widgets.explorer import Explorer
        coll = workbench.open("mapped")
        ex = Explorer(coll, width={W}, height={H})
        _log = Path("kernel_log.jsonl")
        def _rec(kind, **kw):
            with _log.open("a") as f:
                f.write(json.dumps({{"kind": kind, **kw}}) + "\\n")
        _rec("init", view=[float(v) for v in ex.view])
        ex.on_select(lambda ids: _rec("select", ids=[str(i) for i in ids]))
        ex.observe(lambda c: _rec("view", view=[float(v) for v in c.new]), names="view")
        ex.panel()""")])
    with jupyter_lab(root) as (base, token):
        yield root, base, token, xy


def _log(root: Path) -> list[dict]:
    p = root / "kernel_log.jsonl"
    return [json.loads(s) for s in p.read_text().splitlines()] if p.exists() else []


def _wait_log(page, root: Path, kind: str, count: int, timeout_s: float = 30.0) -> list[dict]:
    for _ in range(int(timeout_s * 10)):
        got = [r for r in _log(root) if r["kind"] == kind]
        if len(got) >= count:
            return got
        page.wait_for_timeout(100)
    raise AssertionError(f"the kernel logged no {kind!r} #{count}: {_log(root)}")


def _drag(page, points, *, steps: int = 2) -> None:
    """Press the mouse at ``points[0]``, move through the others, release at the last."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*p, steps=steps)
    page.mouse.up()


def test_box_selection_and_wheel_zoom(lab, screenshot):
    root, base, token, xy = lab
    with chromium_page() as page:
        page.add_init_script(INIT)
        open_and_run(page, base, token, "explore.ipynb")
        page.wait_for_function("() => window.__ex && window.__ex.draws > 0")
        overlay = page.locator(".wb-ex-map canvas").nth(1)
        overlay.scroll_into_view_if_needed()
        # the map image is drawn: a good share of the canvas is coloured
        assert page.evaluate(NONBLANK) > 500
        screenshot(page, "explorer_start")
        view0 = _wait_log(page, root, "init", 1)[0]["view"]

        # box drag around the cluster at (10, 0) (data -> widget pixels -> page pixels)
        box = overlay.bounding_box()
        x0, x1, y0, y1 = view0

        def page_xy(x, y):
            return (box["x"] + (x - x0) / (x1 - x0) * W, box["y"] + (y1 - y) / (y1 - y0) * H)

        ax, ay = page_xy(6.5, 3.5)
        bx, by = page_xy(13.0, -2.5)
        _drag(page, [(ax, ay), ((ax + bx) / 2, (ay + by) / 2), (bx, by)], steps=3)
        sel = _wait_log(page, root, "select", 1)[0]["ids"]
        down, up = page.evaluate("() => [window.__ex.down, window.__ex.up]")

        # expected: the kernel's own pixel -> data mapping of the pointer positions
        def to_data(px, py):
            return x0 + (x1 - x0) * px / W, y1 - (y1 - y0) * py / H

        (dxa, dya), (dxb, dyb) = to_data(*down), to_data(*up)
        xa, xb = sorted((dxa, dxb))
        ya, yb = sorted((dya, dyb))
        inside = ((xy[:, 0] >= xa) & (xy[:, 0] <= xb) & (xy[:, 1] >= ya) & (xy[:, 1] <= yb))
        want = [f"s{i:03d}" for i in np.flatnonzero(inside)]
        assert 50 < len(want) < 100  # most of one cluster, nothing of the others
        assert sorted(sel) == want

        # the Gallery below shows exactly the selection
        page.wait_for_selector(".wb-gallery .wb-tile")
        page.wait_for_function(
            "(n) => document.querySelectorAll('.wb-gallery .wb-tile').length === n",
            arg=len(want))
        tiles = page.eval_on_selector_all(".wb-gallery .wb-tile", "ts => ts.map(t => t.dataset.id)")
        assert sorted(tiles) == want
        # the map is redrawn with the selection after the Gallery is filled: wait for it
        page.wait_for_function(
            "(s) => document.querySelector('.wb-ex-info').textContent.includes(s)",
            arg=f"{len(want)} selected")
        screenshot(page, "explorer_box_selected")

        # wheel zoom in at the map centre: the kernel's view shrinks by 0.8 about the cursor,
        # and a new image is drawn that differs from the old one
        before = page.evaluate("() => document.querySelector('.wb-ex-map canvas').toDataURL()")
        draws = page.evaluate("() => window.__ex.draws")
        cx, cy = box["x"] + W / 2, box["y"] + H / 2
        page.mouse.move(cx, cy)
        page.mouse.wheel(0, -120)
        view1 = _wait_log(page, root, "view", 1)[0]["view"]
        assert view1[1] - view1[0] == pytest.approx(0.8 * (x1 - x0))
        assert view1[3] - view1[2] == pytest.approx(0.8 * (y1 - y0))
        mid = to_data(W / 2, H / 2)
        assert (view1[0] + view1[1]) / 2 == pytest.approx(mid[0], abs=0.02 * (x1 - x0))
        assert (view1[2] + view1[3]) / 2 == pytest.approx(mid[1], abs=0.02 * (y1 - y0))
        page.wait_for_function("(n) => window.__ex.draws > n", arg=draws)
        page.wait_for_timeout(200)
        after = page.evaluate("() => document.querySelector('.wb-ex-map canvas').toDataURL()")
        assert after != before and page.evaluate(NONBLANK) > 500
        screenshot(page, "explorer_zoomed")

        # lasso (a hexagon) over most of the cluster at (0, 10), inside the zoomed view
        x0, x1, y0, y1 = view1
        page.locator(".wb-ex-bar button", has_text="lasso").first.click()
        ring = [page_xy(0.5 + 2.3 * np.cos(a), 9.5 + 2.3 * np.sin(a))
                for a in np.linspace(0, 2 * np.pi, 7)]
        _drag(page, ring)
        sel = _wait_log(page, root, "select", 2)[1]["ids"]
        path = page.evaluate("() => window.__ex.path")
        inside = points_in_polygon(xy, [to_data(px, py) for px, py in path])
        want = [f"s{i:03d}" for i in np.flatnonzero(inside)]
        assert 40 < len(want) <= 100 and sorted(sel) == want
        page.wait_for_function(
            "(n) => document.querySelectorAll('.wb-gallery .wb-tile').length === n",
            arg=len(want))
        tiles = page.eval_on_selector_all(".wb-gallery .wb-tile", "ts => ts.map(t => t.dataset.id)")
        assert sorted(tiles) == want
        screenshot(page, "explorer_lasso_selected")

        # a lasso that leaves the map through the top edge, passes outside its top-left
        # corner and comes back through the left edge: every move counts, and the kernel
        # keeps the polygon's part inside the window (the map the user sees)
        in_view = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
        box = overlay.bounding_box()
        corner = [page_xy(2.5, 9.0), page_xy(2.5, y1 + 1.6), page_xy(x0 - 1.4, y1 + 1.6),
                  page_xy(x0 - 1.4, 7.5), page_xy(2.5, 7.5), page_xy(2.5, 8.8)]
        _drag(page, corner, steps=4)
        sel = _wait_log(page, root, "select", 3)[2]["ids"]
        path = page.evaluate("() => window.__ex.path")
        outside = [not (0 <= px <= W and 0 <= py <= H) for px, py in path]
        assert any(outside) and not outside[0] and not outside[-1]
        poly = points_in_polygon(xy, [to_data(px, py) for px, py in path])
        want = [f"s{i:03d}" for i in np.flatnonzero(poly & in_view)]
        assert sorted(sel) == want and len(want) > 20 and (poly & ~in_view).any()
        # tracking the pointer only over the map would have closed the lasso with a chord
        # from where it left to where it came back, losing the corner
        chord = points_in_polygon(xy, [to_data(px, py) for (px, py), o in zip(path, outside)
                                       if not o])
        assert (poly & in_view & ~chord).sum() >= 5
        screenshot(page, "explorer_lasso_off_map")

        # a box released beyond the bottom-right corner of the map stops at its edges
        page.locator(".wb-ex-bar button", has_text="box").first.click()
        release = page_xy(x1 + 2.0, y0 - 1.8)
        assert release[1] < page.viewport_size["height"]  # off the map, still in the page
        _drag(page, [page_xy(7.0, 3.0), release], steps=4)
        sel = _wait_log(page, root, "select", 4)[3]["ids"]
        down, up = page.evaluate("() => [window.__ex.down, window.__ex.up]")
        assert up[0] > W and up[1] > H
        (xa, ya), (xb, yb) = to_data(*down), to_data(min(up[0], W), min(up[1], H))
        inside = (xy[:, 0] >= xa) & (xy[:, 0] <= xb) & (xy[:, 1] >= yb) & (xy[:, 1] <= ya)
        want = [f"s{i:03d}" for i in np.flatnonzero(inside)]
        unclamped = [to_data(*down), to_data(*up)]
        wide = ((xy[:, 0] >= xa) & (xy[:, 0] <= unclamped[1][0]) & (xy[:, 1] <= ya)
                & (xy[:, 1] >= unclamped[1][1]))
        assert sorted(sel) == want and len(want) > 30 and (wide & ~inside).any()
