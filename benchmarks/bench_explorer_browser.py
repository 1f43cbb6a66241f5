"""Explorer speed at a million points in a real browser (JupyterLab + headless Chromium).

    python benchmarks/bench_explorer_browser.py [--n 1000000] [--reps 20]

A synthetic 2-D map (30 Gaussian clusters, 4 x 4 images per item) is shown in an Explorer
linked to its Gallery. Measured in the page, median and 95th percentile over ``reps``:

* box selection: mouse-up -> the Gallery of the selection drawn (its thumbnails on canvas,
  next animation frame; the kernel resolves the box, builds the Gallery, sends its sprite);
* lasso selection (a 12-vertex polygon): the same;
* wheel zoom (alternately in and out at a point): wheel event -> the kernel's new PNG of the
  window drawn on the map canvas.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ui"))

from _jupyter import (  # noqa: E402
    CHROMIUM,
    chromium_page,
    jupyter_lab,
    open_and_run,
    write_notebook,
)

W, H = 640, 480

#: Timestamps in the page: pointer releases, wheel events, map draws, Gallery draws.
INIT = """
window.__b = {up: [], wheel: [], map: [], gal: []};
window.addEventListener('mouseup', () => window.__b.up.push(performance.now()), true);
window.addEventListener('wheel', () => window.__b.wheel.push(performance.now()), true);
const orig = CanvasRenderingContext2D.prototype.drawImage;
CanvasRenderingContext2D.prototype.drawImage = function (...a) {
  const p = this.canvas.parentElement;
  if (p && p.classList.contains('wb-ex-map')) {
    const t = performance.now();
    requestAnimationFrame(() => window.__b.map.push(t));
  }
  return orig.apply(this, a);
};
window.__wbGalleryDraws = [];
window.__wbGalleryDraws.push = function (d) {
  window.__b.gal.push({n: d.n, at: performance.now()});
  return Array.prototype.push.call(this, d);
};
"""


def _stats(ms) -> str:
    ms = np.asarray(ms, float)
    return (f"median {np.median(ms):7.1f} ms  p95 {np.percentile(ms, 95):7.1f} ms  "
            f"max {ms.max():7.1f} ms  (n={len(ms)})")


def _make(path: Path, n: int) -> None:
    import workbench
    from workbench.io.collection import ProductSpec

    rng = np.random.default_rng(0)
    t = time.perf_counter()
    coll = workbench.create(path, {"img": ProductSpec(("x",), (4, 4))})
    with coll.appender() as app:
        for s in range(0, n, 250_000):
            m = min(250_000, n - s)
            app.add(pd.DataFrame({"id": [f"i{j:07d}" for j in range(s, s + m)]}),
                    {"img": rng.normal(size=(m, 1, 4, 4)).astype(np.float32)}, kind="image")
    cen = rng.uniform(-30, 30, (30, 2))
    lab = rng.integers(0, 30, n)
    xy = cen[lab] + rng.normal(0, 1.5, (n, 2))
    coll.add_columns("map-umap", {"umap_x": xy[:, 0], "umap_y": xy[:, 1]})
    coll.add_columns("clusters", {"cluster": lab, "cluster_prob": rng.uniform(size=n)})
    print(f"made a Collection of {n:,} items with a 30-cluster map in "
          f"{time.perf_counter() - t:.1f} s")


def _wait(page, expr: str, arg, timeout_ms: int = 60_000):
    page.wait_for_function(expr, arg=arg, timeout=timeout_ms)


def _settle(page) -> None:
    """Wait until no map or Gallery draw happened for 300 ms."""
    while True:
        k = page.evaluate("() => window.__b.map.length + window.__b.gal.length")
        page.wait_for_timeout(300)
        if page.evaluate("() => window.__b.map.length + window.__b.gal.length") == k:
            return


def _selections(page, box, mode: str, reps: int) -> tuple[list, list]:
    page.locator(".wb-ex-bar button", has_text=mode).first.click()
    ms, sizes = [], []
    for r in range(reps):
        cx = box["x"] + W * (0.3 + 0.4 * ((r * 7) % reps) / reps)
        cy = box["y"] + H * (0.3 + 0.4 * ((r * 3) % reps) / reps)
        half = 40 + (r % 4) * 10
        n_up = page.evaluate("() => window.__b.up.length")
        if mode == "box":
            page.mouse.move(cx - half, cy - half)
            page.mouse.down()
            page.mouse.move(cx + half, cy + half, steps=4)
        else:
            pts = [(cx + half * math.cos(2 * math.pi * k / 12),
                    cy + half * math.sin(2 * math.pi * k / 12)) for k in range(13)]
            page.mouse.move(*pts[0])
            page.mouse.down()
            for p in pts[1:]:
                page.mouse.move(*p)
        page.mouse.up()
        _wait(page, "(n) => window.__b.up.length > n", n_up)
        t_up = page.evaluate("(n) => window.__b.up[n]", n_up)
        _wait(page, "(t) => window.__b.gal.some(g => g.at > t && g.n > 0)", t_up)
        g = page.evaluate("(t) => window.__b.gal.find(g => g.at > t && g.n > 0)", t_up)
        ms.append(g["at"] - t_up)
        _settle(page)
        info = page.locator(".wb-ex-info").text_content()
        sizes.append(int(re.sub(r"\D", "", re.search(r"points, ([\d,.\s]+) selected",
                                                      info).group(1))))
    return ms, sizes


def _zooms(page, box, reps: int) -> list:
    ms = []
    page.mouse.move(box["x"] + W * 0.45, box["y"] + H * 0.55)
    for r in range(reps):
        n_w = page.evaluate("() => window.__b.wheel.length")
        page.mouse.wheel(0, -120 if r % 2 == 0 else 120)
        _wait(page, "(n) => window.__b.wheel.length > n", n_w)
        t_w = page.evaluate("(n) => window.__b.wheel[n]", n_w)
        _wait(page, "(t) => window.__b.map.some(m => m > t)", t_w)
        ms.append(page.evaluate("(t) => window.__b.map.find(m => m > t)", t_w) - t_w)
        _settle(page)
    return ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="points on the map")
    ap.add_argument("--reps", type=int, default=20, help="repetitions per measurement")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="wb-bench-ex-") as tmp:
        root = Path(tmp)
        _make(root / "big", args.n)
        write_notebook(root / "bench.ipynb", [textwrap.dedent(f"""\
            import time, workbench
            from workbench.widgets.explorer import Explorer
            coll = workbench.open("big")
            t = time.perf_counter()
            ex = Explorer(coll, width={W}, height={H})
            print(f"Explorer ready in {{time.perf_counter() - t:.1f}} s, "
                  f"render {{ex.render_ms:.0f}} ms")
            ex.panel()""")])
        with jupyter_lab(root) as (base, token), chromium_page(height=1400) as page:
            page.add_init_script(INIT)
            open_and_run(page, base, token, "bench.ipynb", timeout_ms=300_000)
            page.wait_for_function("() => window.__b.map.length > 0", timeout=300_000)
            print(page.locator(".jp-OutputArea-output >> text=Explorer ready").first
                  .text_content().strip())
            overlay = page.locator(".wb-ex-map canvas").nth(1)
            overlay.scroll_into_view_if_needed()
            box = overlay.bounding_box()
            _settle(page)
            for mode in ("box", "lasso"):
                ms, sizes = _selections(page, box, mode, args.reps)
                print(f"{mode:5s} mouse-up -> Gallery drawn: {_stats(ms)}; selected "
                      f"median {int(np.median(sizes)):,} (min {min(sizes):,}, "
                      f"max {max(sizes):,})")
            ms = _zooms(page, box, args.reps)
            print(f"wheel zoom -> map redrawn:      {_stats(ms)}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
