"""Point views (candidates, catalogue, sky): what they draw, when they bin, and the shared
selection both ways (stream events from the browser -> Selection -> highlight overlay)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.core.errors import InputError
from workbench.core.selection import Selection

N = 120


def make_transients(path, n=N, seed=0):
    import workbench
    from workbench.io.collection import ProductSpec

    rng = np.random.default_rng(seed)
    coll = workbench.create(path, {"dm_time": ProductSpec(("dm",), (8, 8))})
    cat = pd.DataFrame({
        "id": [f"c{i:04d}" for i in range(n)],
        "time_s": rng.uniform(0, 100, n), "dm": 10 ** rng.uniform(0.5, 3, n),
        "snr": rng.uniform(6, 40, n), "width_s": rng.choice([0.001, 0.004], n),
        "truth": rng.choice(["frb", "pulsar", "rfi"], n),
        "source_file": np.where(np.arange(n) < n // 2, "/data/beam01.fil", "/data/beam02.fil"),
        "ra": rng.uniform(10, 20, n), "dec": rng.uniform(-30, -20, n)})
    cat.loc[0, "dm"] = 0.0  # RFI at DM 0: left out of a log-DM view
    coll.append(cat, {"dm_time": rng.normal(size=(n, 1, 8, 8)).astype(np.float32)},
                kind="transient")
    return coll


@pytest.fixture(scope="module")
def coll(tmp_path_factory):
    return make_transients(tmp_path_factory.mktemp("pts") / "cands")


def plot_of(obj):
    import holoviews as hv

    return hv.renderer("bokeh").get_plot(obj)


def streams_of(plot, name):
    return [s for cbs in plot.traverse(lambda p: getattr(p, "callbacks", []))
            for cb in cbs for s in cb.streams
            if type(s).__name__ == name]


def renderers(plot):
    return [(type(r.glyph).__name__, r.data_source.data) for r in plot.state.renderers]


def test_candidates_data(coll):
    from workbench.plots.points import candidates_data

    df, spec = candidates_data(coll)
    cat = coll.catalog
    assert list(df["id"]) == list(cat["id"].astype(str))
    assert np.allclose(df["width_ms"], 1000 * cat["width_s"])
    assert spec["kind"] == "cat" and spec["column"] == "truth"  # the default colour here
    assert set(df["group"]) == {"beam01.fil", "beam02.fil"}  # grouped by source file
    big, small = df["snr"].idxmax(), df["snr"].idxmin()
    assert df["size"][big] > df["size"][small] and df["size"].between(3, 16).all()
    df2, spec2 = candidates_data(coll, color_by="snr", by=False)
    assert spec2["kind"] == "num" and "group" not in df2
    with pytest.raises(InputError, match="no catalog column 'nope'"):
        candidates_data(coll, color_by="nope")
    with pytest.raises(InputError, match="needs store="):
        candidates_data(coll, color_by="label")


def test_candidates_renders_points_with_hover_and_log_dm(coll):
    import holoviews as hv
    from bokeh.models import HoverTool, LogScale

    from workbench.plots import candidates

    obj = candidates(coll)
    model = hv.render(obj, backend="bokeh")
    assert isinstance(model.y_scale, LogScale)
    (glyph, data), = renderers(plot_of(obj))
    assert glyph == "Scatter" and len(data["id"]) == N - 1  # DM 0 left out on a log axis
    assert "c0000" not in set(data["id"])
    # one marker per source file (the group column), drawn from the data
    marks = dict(zip(data["group"], data["marker"]))
    assert len(set(marks.values())) == 2 and set(marks) == {"beam01.fil", "beam02.fil"}
    assert all(marks[g] == m for g, m in zip(data["group"], data["marker"]))
    tips = dict(model.select_one(HoverTool).tooltips)
    assert {"id", "dm", "time_s", "width_ms", "snr", "truth", "group"} <= set(tips)
    lin = hv.render(candidates(coll, dm_scale="linear"), backend="bokeh")
    assert not isinstance(lin.y_scale, LogScale)
    # composable and restylable
    lay = (candidates(coll) + candidates(coll, color_by="snr")).opts(shared_axes=False)
    hv.render(lay, backend="bokeh")
    with pytest.raises(InputError, match="not a transient Collection"):
        from workbench.plots.points import candidates_data

        candidates_data(type("C", (), {"catalog": pd.DataFrame({"id": ["a"]})})())


def test_box_select_and_tap_set_the_selection_and_the_overlay_follows(coll):
    from workbench.plots import candidates

    sel = Selection()
    obj = candidates(coll, selection=sel)
    plot = plot_of(obj)
    (s1d,) = streams_of(plot, "Selection1D")
    drawn = renderers(plot)[0][1]["id"]
    s1d.event(index=[3, 7, 3])
    assert sel.ids == [drawn[3], drawn[7]]
    hi = renderers(plot)[1][1]
    assert sorted(hi["dm"]) == sorted(coll.catalog.set_index("id").loc[sel.ids, "dm"])
    # a change made elsewhere (the Gallery's focus, another view's selection) is drawn too
    sel.set(["c0005", "c0006", "c0007"], source="gallery")
    sel.set_focus("c0006")
    _, hi, foc = renderers(plot)
    assert len(hi[1]["time_s"]) == 3 and len(foc[1]["time_s"]) == 1
    assert foc[1]["time_s"][0] == coll.catalog.set_index("id").loc["c0006", "time_s"]


def test_binned_view_above_the_size_point(coll, monkeypatch):
    from workbench.plots import candidates, raster

    monkeypatch.setattr(raster, "RASTERIZE_ABOVE", 50)
    sel = Selection()
    plot = plot_of(candidates(coll, selection=sel))
    kinds = [g for g, _ in renderers(plot)]
    assert kinds[0] == "ImageRGBA"  # no points cross to the browser
    (box,) = streams_of(plot, "BoundsXY")
    box.event(bounds=(20.0, 30.0, 60.0, 300.0))
    cat = coll.catalog
    want = cat[(cat["time_s"].between(20, 60)) & (cat["dm"].between(30, 300))]["id"]
    assert sorted(sel.ids) == sorted(want) and len(want) > 5
    (tap,) = streams_of(plot, "Tap")
    row = cat.iloc[10]
    tap.event(x=row["time_s"] + 0.05, y=row["dm"] * 1.001)
    assert sel.ids == [row["id"]] and sel.focus == row["id"]
    tap.event(x=-500.0, y=1e6)  # far from everything: nothing
    assert sel.ids == []


@pytest.mark.parametrize("binned", [False, True])
def test_linked_views_send_the_end_of_a_selection_at_once(coll, binned):
    """A linked view (points or binned) carries one JS callback on the end of a box/lasso
    select that flushes the comm's pending events (not the 50 ms debounce); unlinked views
    carry none."""
    from workbench.plots import candidates
    from workbench.plots.points import FLUSH_JS

    def flushes(obj):
        return [c for c in plot_of(obj).state.js_event_callbacks.get("selectiongeometry", [])
                if getattr(c, "code", None) == FLUSH_JS]

    assert len(flushes(candidates(coll, selection=Selection(), rasterize=binned))) == 1
    assert flushes(candidates(coll, rasterize=binned)) == []
    assert "cb_obj.final" in FLUSH_JS and "process_events" in FLUSH_JS


@pytest.mark.parametrize("linked", [False, True])
def test_binned_views_draw_on_a_canvas_point_views_keep_webgl(coll, linked):
    """A binned view is one image: drawn on a 2-D canvas (WebGL's copy back into the canvas
    cost ~370 ms a select in headless Chromium); point views keep HoloViews' WebGL."""
    from workbench.plots import candidates

    sel = Selection() if linked else None
    assert plot_of(candidates(coll, selection=sel, rasterize=True)).state.output_backend \
        == "canvas"
    assert plot_of(candidates(coll, selection=sel, rasterize=False)).state.output_backend \
        == "webgl"


def test_bin_rgba_places_points_and_colours():
    from workbench.plots.raster import bin_rgba

    x = np.array([0.5, 9.5, 9.5])
    y = np.array([1.5, 1000.0, 1000.0])
    img = bin_rgba(x, y, (0, 10), (1, 10_000), 10, 4, logy=True,
                   codes=np.array([0, 1, 1]), colours=["#ff0000", "#0000ff"])
    # log bins: 1.5 is in the bottom row, 1000 in the second from the top
    assert img[3, 0, 3] > 0 and tuple(img[3, 0, :3]) == (255, 0, 0)
    assert tuple(img[1, 9, :3]) == (0, 0, 255) and img[1, 9, 3] > img[3, 0, 3]
    assert bin_rgba(x, y, (0, 10), (1, 1), 10, 4).max() == 0  # empty range: blank
    with pytest.raises(ValueError, match="cannot be drawn"):
        bin_rgba(x, y, (0, 10), (0, 10), 100_000, 1000)


def test_catalog_brushing_updates_marginal_histograms(coll):
    import holoviews as hv

    from workbench.plots import catalog

    sel = Selection()
    lay = catalog(coll, "snr", "dm", by="truth", selection=sel, bins=10)
    assert isinstance(lay, hv.AdjointLayout)
    plot = plot_of(lay)
    (s1d,) = streams_of(plot, "Selection1D")
    s1d.event(index=list(range(20)))
    snr = coll.catalog["snr"].to_numpy()
    edges = np.linspace(snr.min(), snr.max(), 11)
    want = np.histogram(snr[:20], edges)[0]
    got = [d for p in plot.traverse(lambda p: p) for d in [getattr(p, "current_frame", None)]
           if isinstance(d, hv.Histogram) and d.kdims[0].name == "snr"
           and d.opts.get().kwargs.get("color") == "#1f4e8c"]
    assert got and list(got[-1].dimension_values("items")) == list(want)
    hv.render(lay * hv.Points([(10, 100)]), backend="bokeh")  # overlays on the scatter
    with pytest.raises(InputError, match="no catalog column"):
        catalog(coll, "snr", "flux")


def test_sky_inverts_ra(coll):
    import holoviews as hv

    from workbench.plots import sky

    model = hv.render(sky(coll, color_by="snr"), backend="bokeh")
    assert model.x_range.start > model.x_range.end  # RA grows to the left
    assert model.xaxis[0].axis_label.startswith("RA")


def test_plots_import_no_widget_library():
    import json
    import subprocess
    import sys

    code = ("import json, sys, workbench.plots as p, workbench.plots.points, "
            "workbench.plots.learning\n"
            "print(json.dumps([m for m in ('torch', 'ipywidgets', 'anywidget', 'datashader') "
            "if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_colour_by_the_stores_consensus(coll, tmp_path):
    from workbench.io.labels import LabelStore
    from workbench.plots.points import candidates_data, store_labels

    store = LabelStore(tmp_path / "l.sqlite")
    for who, item, cls in [("a", "c0003", "frb"), ("b", "c0003", "frb"), ("c", "c0003", "noise"),
                           ("a", "c0004", "pulsar")]:
        store.annotate(item, {"class": cls}, annotator=who, scheme="transient")
    lab = store_labels(store, coll.catalog["id"])
    assert lab["c0003"] == "frb" and lab["c0004"] == "pulsar" and lab.isna().sum() == N - 2
    df, spec = candidates_data(coll, store=store)  # label is the default colour with labels
    assert spec["column"] == "label"
    got = dict(zip(df["id"], df["label"]))
    assert got["c0003"] == "frb" and got["c0005"] == "(none)"
    assert "(none)" in spec["names"]
