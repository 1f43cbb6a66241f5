"""Page-side helpers for Bokeh plots in JupyterLab (the plots of :mod:`workbench.plots`).

``PLOT_GEOMETRY``: where the n-th Bokeh plot's frame is on the page, and its data range, from
BokehJS's own views (``Bokeh.index``), so a test can turn data coordinates into mouse
positions and back exactly as Bokeh does (log axes included).
"""

from __future__ import annotations

#: JS: () -> [{left, top, width, height (frame, page px), x0, x1, y0, y1 (data), logy}]
PLOT_GEOMETRY = """() => {
  const out = [];
  const seen = new Set();
  const visit = (v) => {
    if (!v || seen.has(v)) return; seen.add(v);
    if (v.frame && v.frame.x_scale && v.model && v.model.renderers) {
      const r = v.el.getBoundingClientRect();
      const f = v.frame.bbox;
      const xs = v.frame.x_scale, ys = v.frame.y_scale;
      out.push({left: r.left + f.left, top: r.top + f.top, width: f.width, height: f.height,
                ox: r.left, oy: r.top,
                logy: ys.constructor.name.includes("Log") || String(ys.type || "").includes("Log"),
                n_renderers: v.model.renderers.length});
    }
    for (const c of (v.child_views || [])) visit(c);
  };
  for (const k of Object.keys(window.Bokeh ? Bokeh.index : {})) visit(Bokeh.index[k]);
  return out;
}"""

#: JS: ([k, px, py]) -> [x, y]: page pixel -> data coordinates of plot k (Bokeh's scales).
TO_DATA = """([k, px, py]) => {
  const views = [];
  const seen = new Set();
  const visit = (v) => {
    if (!v || seen.has(v)) return; seen.add(v);
    if (v.frame && v.frame.x_scale && v.model && v.model.renderers) views.push(v);
    for (const c of (v.child_views || [])) visit(c);
  };
  for (const key of Object.keys(Bokeh.index)) visit(Bokeh.index[key]);
  const v = views[k];
  const r = v.el.getBoundingClientRect();
  return [v.frame.x_scale.invert(px - r.left), v.frame.y_scale.invert(py - r.top)];
}"""

#: JS: ([k, x, y]) -> [px, py]: data coordinates -> page pixel of plot k.
TO_PAGE = """([k, x, y]) => {
  const views = [];
  const seen = new Set();
  const visit = (v) => {
    if (!v || seen.has(v)) return; seen.add(v);
    if (v.frame && v.frame.x_scale && v.model && v.model.renderers) views.push(v);
    for (const c of (v.child_views || [])) visit(c);
  };
  for (const key of Object.keys(Bokeh.index)) visit(Bokeh.index[key]);
  const v = views[k];
  const r = v.el.getBoundingClientRect();
  return [r.left + v.frame.x_scale.compute(x), r.top + v.frame.y_scale.compute(y)];
}"""

#: JS: (k) -> for each glyph renderer of plot k: {n, x: first column values, y: second}.
RENDERER_DATA = """(k) => {
  const views = [];
  const seen = new Set();
  const visit = (v) => {
    if (!v || seen.has(v)) return; seen.add(v);
    if (v.frame && v.frame.x_scale && v.model && v.model.renderers) views.push(v);
    for (const c of (v.child_views || [])) visit(c);
  };
  for (const key of Object.keys(Bokeh.index)) visit(Bokeh.index[key]);
  const v = views[k];
  return v.model.renderers.filter(r => r.data_source).map(r => {
    const d = r.data_source.data;
    const get = (c) => d instanceof Map ? d.get(c) : d[c];
    const keys = d instanceof Map ? [...d.keys()] : Object.keys(d);
    const col = (c) => { const a = get(c); return a ? Array.from(a) : null; };
    return {glyph: r.glyph.type || r.glyph.constructor.name, keys,
            time_s: col("time_s"), dm: col("dm"), n: r.data_source.get_length()};
  });
}"""
