"""Linked plots in a real browser: box select on the candidate overview -> Gallery drawn.

    python benchmarks/bench_plots_browser.py [--n 100000] [--reps 20]

A synthetic survey of ``n`` single-pulse candidates (time 0-600 s, DM log-uniform 2-2000
pc cm^-3, S/N, width, a class; 8 x 8 DM-time images) is shown in JupyterLab (headless
Chromium) as ``workbench.plots.candidates(coll, selection=sel)`` above a
``Gallery(coll, selection=sel)``. Above ``RASTERIZE_ABOVE`` (50,000) candidates the overview
is an image binned in the kernel, so the box select is a HoloViews ``BoundsXY`` event on the
kernel's comm. Measured in the page, median and 95th percentile over ``reps`` boxes of
different sizes and places:

* box select: mouse-up (``pointerup``, which BokehJS handles first) -> the Gallery of the selection drawn (its thumbnails on canvas, next
  animation frame: the kernel resolves the box, sets the Selection, the Gallery renders its
  first page and sends its sprite, and the plot's highlight overlay is re-drawn);
* Gallery click -> the plot's focus ring drawn on that candidate (BokehJS has the glyph).

and where the box select's time goes (:data:`STAGES`, medians): marks taken in the page
(mouse-up, the comm message carrying the box, the Gallery's page received and drawn) and in
the kernel (timing wrappers set in the notebook: the comm message arriving, the BoundsXY
callback, the Selection set, the Gallery's page rendered and sent), all epoch ms on one
machine's clock.

The goal (issue 15) is a median under 300 ms for the box select at 100,000 candidates.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ui"))

from _bokeh import PLOT_GEOMETRY, RENDERER_DATA  # noqa: E402
from _jupyter import (  # noqa: E402
    CHROMIUM,
    chromium_page,
    jupyter_lab,
    open_and_run,
    write_notebook,
)

#: Timestamps in the page (epoch ms: performance.timeOrigin + now, the kernel's clock on the
#: same machine): pointer releases, comm messages carrying a selection box to the kernel
#: (Bokeh's ``selectiongeometry`` event in a PATCH-DOC), Gallery pages received and drawn.
INIT = """
const _ep = () => performance.timeOrigin + performance.now();
window.__b = {up: [], gal: [], upEpoch: [], geo: []};
window.addEventListener('pointerup', () => {  // before mouseup and before BokehJS' handlers
  window.__b.up.push(performance.now()); window.__b.upEpoch.push(_ep());
}, true);
window.__wbGalleryDraws = [];
window.__wbGalleryDraws.push = function (d) {
  window.__b.gal.push({n: d.n, at: performance.now(), atEpoch: _ep(), recv: d.recv});
  return Array.prototype.push.call(this, d);
};
const _send = WebSocket.prototype.send;
const _dec = new TextDecoder();
WebSocket.prototype.send = function (data) {
  try {  // every message to the server: when, and whether it carries a selection box
    const t = _ep();
    let text = null;
    if (typeof data === 'string') text = data;
    else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) text = _dec.decode(data);
    window.__b.geo.push({t, box: text !== null && text.includes('selectiongeometry'),
                         type: text === null ? String(data && data.constructor.name) : ''});
  } catch (e) { /* timing only */ }
  return _send.call(this, data);
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
    coll = workbench.create(path, {"dm_time": ProductSpec(("dm",), (8, 8))})
    coll.append(pd.DataFrame({
        "id": [f"c{j:07d}" for j in range(n)], "time_s": rng.uniform(0, 600, n),
        "dm": 10 ** rng.uniform(np.log10(2), np.log10(2000), n),
        "snr": 6 + rng.exponential(4, n), "width_s": rng.choice([0.001, 0.002, 0.004], n),
        "truth": rng.choice(["frb", "pulsar", "rfi", "noise"], n, p=[0.05, 0.15, 0.4, 0.4])}),
        {"dm_time": rng.normal(size=(n, 1, 8, 8)).astype(np.float32)}, kind="transient")
    print(f"made a Collection of {n:,} candidates in {time.perf_counter() - t:.1f} s")


def _settle(page) -> None:
    """Wait until no Gallery draw happened for 300 ms."""
    while True:
        k = page.evaluate("() => window.__b.gal.length")
        page.wait_for_timeout(300)
        if page.evaluate("() => window.__b.gal.length") == k:
            return


def _boxes(page, geo, reps: int, *, first: int = 0, click: bool = True):
    ms, sizes, ring, ups = [], [], [], []
    m = max(first + reps, 20)  # box places cycle over m positions
    for r in range(first, first + reps):
        fx = 0.15 + 0.6 * ((r * 7) % m) / m
        fy = 0.15 + 0.6 * ((r * 3) % m) / m
        half = 0.05 + 0.02 * (r % 4)
        ax, ay = geo["left"] + geo["width"] * fx, geo["top"] + geo["height"] * fy
        bx = ax + geo["width"] * 2 * half
        by = ay + geo["height"] * 2 * half
        n_up = page.evaluate("() => window.__b.up.length")
        page.mouse.move(ax, ay)
        page.mouse.down()
        page.mouse.move(bx, by, steps=4)
        page.mouse.up()
        page.wait_for_function("(n) => window.__b.up.length > n", arg=n_up)
        t_up = page.evaluate("(n) => window.__b.up[n]", n_up)
        page.wait_for_function("(t) => window.__b.gal.some(g => g.at > t)", arg=t_up,
                               timeout=60_000)
        g = page.evaluate("(t) => window.__b.gal.find(g => g.at > t)", t_up)
        ms.append(g["at"] - t_up)
        up = page.evaluate("(n) => window.__b.upEpoch[n]", n_up)
        sends = page.evaluate("(t) => window.__b.geo.filter(s => s.t >= t)", up)
        box = [s["t"] for s in sends if s["box"]]
        ev = page.evaluate("(t) => (window.__wbSelectionEnds || []).filter(v => v.at >= t)", up)
        ups.append({"up": up, "recv": g.get("recv"), "drawn": g["atEpoch"],
                    # the message carrying the box; else the first one after mouse-up
                    "geo": min(box) if box else (min(s["t"] for s in sends) if sends else None),
                    "geo_found": bool(box), "event": min(e["at"] for e in ev) if ev else None,
                    "flushed": bool(ev and ev[0]["flushed"])})
        _settle(page)
        text = page.locator(".wb-gallery .wb-selcount").text_content()
        sizes.append(int(text.split(" shown")[0].replace(",", "")))
        tiles = page.locator(".wb-gallery .wb-tile")
        if click and tiles.count():  # click the first tile: time until its focus ring is drawn
            before = page.evaluate(f"() => JSON.stringify(({RENDERER_DATA})(0).filter("
                                   "r => r.n === 1).map(r => r.time_s))")
            t_click = page.evaluate("() => performance.now()")
            tiles.first.click()
            page.wait_for_function(
                f"""(b) => {{ const now = JSON.stringify(({RENDERER_DATA})(0).filter(
                    r => r.n === 1).map(r => r.time_s));
                    if (now !== b) {{ window.__ringAt = performance.now(); return true; }}
                    return false; }}""", arg=before, polling="raf", timeout=60_000)
            ring.append(page.evaluate("() => window.__ringAt") - t_click)
            _settle(page)
    return ms, sizes, ring, ups


def _kernel_times(page) -> dict:
    """The kernel's timestamps ``T`` (epoch ms), read back through a new cell."""
    import json

    page.locator(".jp-Notebook .jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type("import json; print('SETAT' + json.dumps(T))")
    page.keyboard.press("Shift+Enter")
    out = page.locator(".jp-OutputArea-output", has_text="SETAT").last
    out.wait_for(timeout=60_000)
    return json.loads(out.text_content().split("SETAT", 1)[1].strip())


#: The stages of a box select, in order: (name, start mark, end mark).
STAGES = [
    ("mouse-up -> BokehJS emits the final selectiongeometry event (plots' FLUSH_JS)", "up",
     "event"),
    ("event -> box sent on the comm (panel's comm manager)", "event", "geo"),
    ("box sent -> message in the kernel", "geo", "arrive"),
    ("message in kernel -> BoundsXY callback (HoloViews' event queue)", "arrive", "bounds"),
    ("BoundsXY callback -> Selection set (box -> ids)", "bounds", "set"),
    ("Selection set -> Gallery starts its page", "set", "render0"),
    ("Gallery page rendered in the kernel (read, stretch, PNG)", "render0", "render1"),
    ("page rendered -> page sent", "render1", "sent"),
    ("page sent -> page message in the browser", "sent", "recv"),
    ("page message -> Gallery drawn (decode, tiles, next frame)", "recv", "drawn"),
]


def _breakdown(ups: list, T: dict) -> list[str]:
    """Per box: the marks of :data:`STAGES` matched by time, then the median of each stage."""
    def after(name, t):
        later = [v for v in T.get(name, []) if v >= t]
        return min(later) if later else None

    def before(name, t):
        earlier = [v for v in T.get(name, []) if v <= t]
        return max(earlier) if earlier else None

    rows = []
    for u in ups:
        m = {k: u[k] for k in ("up", "recv", "drawn", "geo", "event")}
        m["bounds"] = after("bounds", u["up"])
        if m["bounds"] is None:
            continue
        m["arrive"] = before("arrive", m["bounds"])
        for name, prev in (("set", "bounds"), ("render0", "set"), ("render1", "render0"),
                           ("sent", "render1")):
            m[name] = after(name, m[prev]) if m[prev] is not None else None
        rows.append(m)
    found = sum(u["geo_found"] for u in ups)
    flushed = sum(u["flushed"] for u in ups)
    out = [f"  (the message carrying the box was found in {found} of {len(ups)} boxes, "
           "otherwise the first message after mouse-up; the comm flushed at the end of the "
           f"selection in {flushed})"]
    for label, a, b in STAGES:
        d = [r[b] - r[a] for r in rows if r.get(a) is not None and r.get(b) is not None]
        out.append(f"  {label:<72} " + (f"median {np.median(d):6.1f} ms  p95 "
                                         f"{np.percentile(d, 95):6.1f} ms" if d else "n/a"))
    return out


def _js_profile(page, geo, boxes: int, *, first: int, top: int = 15) -> list[str]:
    """``boxes`` more box selects, each under Chromium's sampling JS profiler (CDP
    ``Profiler``, 100 us samples): the functions with the most self time between mouse-up
    and the Gallery drawn, i.e. what keeps the page's main thread busy during a select."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 100})
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    self_ms: dict = {}
    span = busy = 0.0
    skipped: list[int] = []
    for r in range(boxes):
        t_start = page.evaluate("() => performance.now()")
        cdp.send("Profiler.start")
        try:
            _boxes(page, geo, 1, first=first + r, click=False)
        except PlaywrightTimeout:
            cdp.send("Profiler.stop")
            skipped.append(first + r)
            continue
        prof = cdp.send("Profiler.stop")["profile"]
        up, drawn = page.evaluate("() => { const u = window.__b.up[window.__b.up.length - 1];"
                                  " return [u, window.__b.gal.find(g => g.at > u).at]; }")
        span += drawn - up
        nodes = {n["id"]: n["callFrame"] for n in prof["nodes"]}
        parent = {c: n["id"] for n in prof["nodes"] for c in n.get("children", ())}
        t = prof["startTime"]
        for sid, d in zip(prof["samples"], prof["timeDeltas"]):
            t += d
            at = t_start + (t - prof["startTime"]) / 1000.0  # ms, page clock (+- a few ms)
            if not up <= at <= drawn:
                continue
            f = nodes[sid]
            name = f["functionName"] or "(anonymous)"
            url = f["url"].rsplit("/", 1)[-1][:48]
            key = f"{name}  {url}:{f['lineNumber'] + 1}" if url else name
            if not url and sid in parent:  # a built-in: say who called it
                c = nodes[parent[sid]]
                key += (f"  <- {c['functionName'] or '(anonymous)'}  "
                        f"{c['url'].rsplit('/', 1)[-1][:40]}:{c['lineNumber'] + 1}")
            self_ms[key] = self_ms.get(key, 0.0) + d / 1000.0
            if name != "(idle)":
                busy += d / 1000.0
    cdp.detach()
    boxes -= len(skipped)
    if boxes <= 0:
        return [f"JS profile: no Gallery drawn within 60 s after boxes {skipped}"]
    lines = [f"JS profile, {boxes} selects: mouse-up -> drawn {span / boxes:.0f} ms a select, "
             f"main thread busy {busy / boxes:.0f} ms of it; most self time (ms a select):"]
    for key, ms in sorted(self_ms.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {ms / boxes:7.1f}  {key}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="candidates")
    ap.add_argument("--reps", type=int, default=20, help="box selections")
    ap.add_argument("--page-size", type=int, default=100, help="Gallery tiles per page")
    ap.add_argument("--profile", type=int, default=0, metavar="K",
                    help="then K more selects under the JS profiler: where the page's time goes")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="wb-bench-plots-") as tmp:
        root = Path(tmp)
        _make(root / "cands", args.n)
        write_notebook(root / "bench.ipynb", [
            textwrap.dedent("""\
                import time, workbench, workbench.plots as p
                from workbench.widgets import Gallery
                coll = workbench.open("cands")
                import panel.viewable as _pv, workbench.plots.link as _link
                sel = p.Selection()
                # timing only: epoch ms of each step in the kernel
                T = {"arrive": [], "bounds": [], "set": [], "render0": [], "render1": [],
                     "sent": []}
                _now = lambda: time.time() * 1000
                _on_msg = _pv.MimeRenderMixin._on_msg  # a comm message from a Bokeh plot
                def _timed_on_msg(self, *a, **k):
                    T["arrive"].append(_now())
                    return _on_msg(self, *a, **k)
                _pv.MimeRenderMixin._on_msg = _timed_on_msg
                _from_bounds = _link.LinkedPoints.from_bounds  # the BoundsXY subscriber
                def _timed_from_bounds(self, bounds):
                    T["bounds"].append(_now())
                    return _from_bounds(self, bounds)
                _link.LinkedPoints.from_bounds = _timed_from_bounds
                sel.observe(lambda ids: T["set"].append(_now()))
                t = time.perf_counter()
                view = p.candidates(coll, selection=sel, color_by="truth")
                print(f"overview built in {time.perf_counter() - t:.2f} s")
                view"""),
            textwrap.dedent(f"""\
                g = Gallery(coll, selection=sel, page_size={args.page_size}, n_cols=10,
                            thumb=48)
                _render, _show = g._render_page, g._show
                def _timed_render():
                    T["render0"].append(_now()); _render(); T["render1"].append(_now())
                def _timed_show(ids, **k):  # the page is sent when its hold_sync ends
                    _show(ids, **k); T["sent"].append(_now())
                g._render_page, g._show = _timed_render, _timed_show
                g""")])
        with jupyter_lab(root) as (base, token), chromium_page(height=1400) as page:
            page.add_init_script(INIT)
            open_and_run(page, base, token, "bench.ipynb", timeout_ms=300_000)
            page.wait_for_selector(".wb-gallery .wb-bar", timeout=300_000)
            page.wait_for_function(f"() => ({PLOT_GEOMETRY})().length > 0", timeout=300_000)
            page.wait_for_timeout(1000)
            geo = page.evaluate(PLOT_GEOMETRY)[0]
            _settle(page)
            ms, sizes, ring, ups = _boxes(page, geo, args.reps)
            print(f"box select mouse-up -> Gallery drawn ({args.n:,} candidates, "
                  f"{args.page_size} tiles a page): "
                  f"{_stats(ms)}; selected median {int(np.median(sizes)):,} "
                  f"(min {min(sizes):,}, max {max(sizes):,})")
            if args.profile:
                for line in _js_profile(page, geo, args.profile, first=args.reps):
                    print(line)
            try:  # where the time goes (same machine, same clock; adds a cell at the end)
                for line in _breakdown(ups, _kernel_times(page)):
                    print(line)
            except Exception as exc:  # noqa: BLE001 - a breakdown only
                print(f"  (no breakdown: {exc})")
            if ring:
                print(f"Gallery click -> focus ring drawn in the plot:        {_stats(ring)}")
            print(f"goal: median < 300 ms: {'met' if np.median(ms) < 300 else 'NOT met'}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
