"""Labeler and Gallery speed in a real browser (JupyterLab + headless Debian Chromium).

    python benchmarks/bench_labeler_browser.py [--n 100]

Measures, in the browser, the time from a key press to the next item fully drawn
(keydown -> kernel writes the annotation, renders the next item -> bytes over the widget
comm -> canvas drawn -> next animation frame), median and 95th percentile over ``n`` items:

* a 150 x 150 radio item (simulated, infrared underlay, contours at 3σ x 2^k, component
  outlines), RGZ scheme, key ``0`` (no contours) on each item;
* a 256 x 256 DM-time + 256 x 256 frequency-time pair (simulated candidates), transient
  scheme, key ``1`` on each item;

and the Gallery: time from a click (sort order flipped) to a page of 100 thumbnails drawn.
Also the kernel-side part alone (Labeler.handle_key in-process) for comparison.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ui"))

from _jupyter import (  # noqa: E402
    CHROMIUM,
    chromium_page,
    jupyter_lab,
    open_and_run,
    write_notebook,
)


def _stats(ms) -> str:
    ms = np.asarray(ms, float)
    return (f"median {np.median(ms):6.1f} ms  p95 {np.percentile(ms, 95):6.1f} ms  "
            f"max {ms.max():6.1f} ms  (n={len(ms)})")


def _make(root: Path, n: int) -> None:
    import workbench
    from workbench.io.components import compute_components
    from workbench.sims.radio import simulate_radio
    from workbench.sims.transients import simulate_transients

    radio = simulate_radio(root / "radio", n=n + 1, seed=11, size=150)
    compute_components(radio)
    simulate_transients(root / "cands", n=n + 1, seed=12)
    c = workbench.open(root / "cands")
    shapes = {k: s.shape for k, s in c.products.items()}
    print(f"made {n + 1} radio items (150 x 150 + infrared) and {n + 1} candidates {shapes}")


def _kernel_side(root: Path, n: int) -> None:
    import workbench
    from workbench.io.labels import open_store
    from workbench.widgets import Labeler

    for name, scheme, key in (("radio", "rgz", "0"), ("cands", "transient", "1")):
        coll = workbench.open(root / name)
        store = open_store(root / name / "kernel-side.sqlite")
        lab = Labeler(coll, scheme=scheme, store=store, annotator="kernel")
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            lab.handle_key(key)
            ts.append((time.perf_counter() - t0) * 1e3)
        print(f"kernel side only, {name:5s} ({scheme}): {_stats(ts)}")


def _browser(root: Path, n: int) -> None:
    cells = [textwrap.dedent("""\
        import workbench
        from workbench.widgets import Labeler, Gallery
        from workbench.io.labels import open_store
        radio = workbench.open("radio")
        cands = workbench.open("cands")
        Labeler(radio, scheme="rgz", store=open_store(radio), annotator="bench", size=300)"""),
        'Labeler(cands, scheme="transient", store=open_store(cands), annotator="bench", '
        'size=256)',
        "Gallery(radio, page_size=100, n_cols=10, thumb=64)"]
    write_notebook(root / "bench.ipynb", cells)
    with jupyter_lab(root) as (base, token), chromium_page(height=1400) as page:
        open_and_run(page, base, token, "bench.ipynb")
        page.wait_for_selector(".wb-gallery .wb-tile")
        labelers = page.locator(".wb-labeler")
        page.wait_for_function("() => document.querySelectorAll('.wb-labeler').length === 2")
        for k, (what, key) in enumerate((("radio 150x150 + contours", "0"),
                                         ("DM-time + freq-time 256x256", "1"))):
            root_el = labelers.nth(k)
            root_el.locator(".wb-question").click()
            page.evaluate("() => { window.__wbLabelerDraws = []; }")
            for i in range(n):
                page.keyboard.press(key)
                page.wait_for_function("(i) => window.__wbLabelerDraws.length > i", arg=i,
                                       timeout=30_000)
            ms = page.evaluate("() => window.__wbLabelerDraws.map(d => d.ms)")
            print(f"browser key -> next item drawn, {what:28s}: {_stats(ms)}")
        gal = page.locator(".wb-gallery")
        page.evaluate("() => { window.__wbGalleryDraws = []; }")
        reps = 10
        for i in range(reps):
            gal.locator(".wb-dir").click()
            page.wait_for_function("(i) => window.__wbGalleryDraws.length > i", arg=i,
                                   timeout=30_000)
        ms = page.evaluate("() => window.__wbGalleryDraws.map(d => d.ms)")
        n_tiles = page.evaluate("() => window.__wbGalleryDraws.map(d => d.n)")
        print(f"browser Gallery page of {n_tiles[-1]} thumbnails (click -> drawn): {_stats(ms)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="items per measurement")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp:
        root = Path(tmp)
        _make(root, args.n)
        _kernel_side(root, args.n)
        _browser(root, args.n)


if __name__ == "__main__":
    main()
