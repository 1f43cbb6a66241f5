// Explorer front end: the kernel draws the map (a PNG of the visible window); this
// file shows it, turns wheel/drag into a new `view`, box/lasso drags into selections, the
// cursor into hover requests, and offers the cluster list, bulk labelling and "more like
// this". Only the widget's own comm is used (Binder-safe). Text goes in via textContent.

function render({ model, el }) {
  const root = wbEl("div", "wb-root wb-explorer");
  root.appendChild(wbStyle());
  const style = document.createElement("style");
  style.textContent = `
    .wb-explorer .wb-ex-main { display: flex; gap: 8px; align-items: flex-start; }
    .wb-explorer .wb-ex-map { position: relative; cursor: crosshair; border: 1px solid #444;
      user-select: none; touch-action: none; }
    .wb-explorer .wb-ex-tip { position: absolute; pointer-events: none; background: #111d;
      color: #eee; padding: 3px; font: 11px monospace; display: none; z-index: 2; }
    .wb-explorer .wb-ex-side { max-height: 520px; overflow-y: auto; font: 12px sans-serif; }
    .wb-explorer .wb-ex-cl { display: flex; align-items: center; gap: 4px; cursor: pointer; margin: 2px 0; }
    .wb-explorer .wb-ex-cl:hover { background: #8884; }
    .wb-explorer .wb-ex-swatch { width: 10px; height: 10px; display: inline-block; }
    .wb-explorer .wb-ex-bar > * { margin-right: 4px; }
    .wb-explorer .wb-ex-bar button.on { outline: 2px solid #39f; }`;
  root.appendChild(style);

  const bar = wbEl("div", "wb-bar wb-ex-bar");
  const modes = {};
  for (const m of ["pan", "box", "lasso"]) { modes[m] = wbEl("button", null, m); bar.appendChild(modes[m]); }
  const reset = wbEl("button", null, "reset view");
  const colorSel = document.createElement("select");
  const labelSel = document.createElement("select");
  const labelBtn = wbEl("button", null, "label selection");
  const moreBtn = wbEl("button", null, "more like this");
  const clearBtn = wbEl("button", null, "clear");
  const info = wbEl("span", "wb-ex-info");
  bar.append(reset, wbEl("span", null, "colour"), colorSel, labelSel, labelBtn, moreBtn, clearBtn, info);

  const main = wbEl("div", "wb-ex-main");
  const mapBox = wbEl("div", "wb-ex-map");
  const canvas = document.createElement("canvas");
  const overlay = document.createElement("canvas");
  overlay.style.position = "absolute"; overlay.style.left = "0"; overlay.style.top = "0";
  const tip = wbEl("div", "wb-ex-tip");
  const tipImg = document.createElement("img");
  const tipText = wbEl("div");
  tip.append(tipImg, tipText);
  mapBox.append(canvas, overlay, tip);
  const side = wbEl("div", "wb-ex-side");
  const legend = wbEl("div");
  const clusterList = wbEl("div");
  side.append(legend, wbEl("b", null, "clusters"), clusterList);
  main.append(mapBox, side);
  const status = wbEl("div", "wb-ex-status");
  root.append(bar, main, status);
  el.appendChild(root);

  let mode = "box";
  let lastHoverId = "";
  const setMode = (m) => { mode = m; for (const k in modes) modes[k].classList.toggle("on", k === m); };
  for (const k in modes) modes[k].addEventListener("click", () => setMode(k));
  setMode("box");

  function size() {
    const w = model.get("width"), h = model.get("height");
    for (const c of [canvas, overlay]) { c.width = w; c.height = h; }
    mapBox.style.width = w + "px"; mapBox.style.height = h + "px";
  }
  async function drawImage() {
    const bytes = wbBytes(model.get("image"));
    if (!bytes.byteLength) return;
    const bmp = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#000"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(bmp, 0, 0);
    info.textContent = `${model.get("n_points").toLocaleString()} points, ${model.get("n_selected").toLocaleString()} selected (${model.get("selection_kind") || "none"}); drawn in ${model.get("render_ms").toFixed(0)} ms`;
  }
  function fillColors() {
    colorSel.replaceChildren();
    for (const c of model.get("color_options") || []) { const o = wbEl("option", null, c); o.value = c; colorSel.appendChild(o); }
    colorSel.value = model.get("color_by");
  }
  function fillLabels() {
    labelSel.replaceChildren();
    const ch = model.get("label_choices") || [];
    for (const c of ch) { const o = wbEl("option", null, c); o.value = c; labelSel.appendChild(o); }
    labelSel.style.display = labelBtn.style.display = ch.length ? "" : "none";
  }
  function fillLegend() {
    legend.replaceChildren();
    for (const l of model.get("legend") || []) {
      const row = wbEl("div", "wb-ex-cl");
      const sw = wbEl("span", "wb-ex-swatch"); sw.style.background = l.color;
      row.append(sw, wbEl("span", null, l.count ? `${l.label} (${l.count})` : l.label));
      legend.appendChild(row);
    }
  }
  async function fillClusters() {
    clusterList.replaceChildren();
    const cl = model.get("clusters") || [];
    const bytes = wbBytes(model.get("cluster_sprite"));
    let bmp = null;
    if (bytes.byteLength) bmp = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
    cl.forEach((c, r) => {
      const row = wbEl("div", "wb-ex-cl");
      row.title = "select this cluster";
      const cv = document.createElement("canvas");
      cv.width = 48 * c.n_examples; cv.height = 48;
      if (bmp) cv.getContext("2d").drawImage(bmp, 0, r * 48, cv.width, 48, 0, 0, cv.width, 48);
      row.append(wbEl("span", null, `#${c.id} (${c.size})`), cv);
      row.addEventListener("click", () => model.send({ type: "cluster", id: c.id }));
      clusterList.appendChild(row);
    });
  }

  // --- interaction: wheel zooms, drag pans / boxes / lassos, move hovers
  const pos = (ev) => { const r = overlay.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
  overlay.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const [px, py] = pos(ev);
    const [x0, x1, y0, y1] = model.get("view");
    const f = ev.deltaY > 0 ? 1.25 : 0.8;
    const cx = x0 + (x1 - x0) * px / canvas.width, cy = y1 - (y1 - y0) * py / canvas.height;
    model.set("view", [cx - (cx - x0) * f, cx + (x1 - cx) * f, cy - (cy - y0) * f, cy + (y1 - cy) * f]);
    model.save_changes();
  }, { passive: false });
  // A drag belongs to the pointer that started it (pointer capture): its moves and its
  // release reach the map even outside the canvas, so a box or lasso may leave the map and
  // come back; the kernel keeps the part of the selection inside the visible window.
  let drag = null, hoverTimer = null;
  const octx = overlay.getContext("2d");
  overlay.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0 || drag) return;
    overlay.setPointerCapture(ev.pointerId);
    clearTimeout(hoverTimer); tip.style.display = "none";
    drag = { id: ev.pointerId, start: pos(ev), pts: [pos(ev)], last: pos(ev), view: model.get("view") };
  });
  overlay.addEventListener("pointermove", (ev) => {
    const p = pos(ev);
    if (!drag) { hoverAt(p); return; }
    if (ev.pointerId !== drag.id) return;
    drag.last = p;
    octx.clearRect(0, 0, overlay.width, overlay.height);
    octx.strokeStyle = "#fff"; octx.setLineDash([4, 3]);
    if (mode === "box") {
      octx.strokeRect(drag.start[0], drag.start[1], p[0] - drag.start[0], p[1] - drag.start[1]);
    } else if (mode === "lasso") {
      drag.pts.push(p);
      octx.beginPath(); drag.pts.forEach(([x, y], i) => (i ? octx.lineTo(x, y) : octx.moveTo(x, y))); octx.stroke();
    } else {
      const [x0, x1, y0, y1] = drag.view;
      const dx = (p[0] - drag.start[0]) * (x1 - x0) / canvas.width, dy = (p[1] - drag.start[1]) * (y1 - y0) / canvas.height;
      ctxShift(p[0] - drag.start[0], p[1] - drag.start[1]);
      drag.next = [x0 - dx, x1 - dx, y0 + dy, y1 + dy];
    }
  });
  function ctxShift(dx, dy) { canvas.style.transform = `translate(${dx}px, ${dy}px)`; }
  function finish(p) {
    const d = drag;
    drag = null;
    octx.clearRect(0, 0, overlay.width, overlay.height);
    if (mode === "box" && Math.abs(p[0] - d.start[0]) + Math.abs(p[1] - d.start[1]) > 4) {
      model.send({ type: "box", px0: d.start[0], py0: d.start[1], px1: p[0], py1: p[1] });
    } else if (mode === "lasso" && d.pts.length > 3) {
      model.send({ type: "lasso", points: d.pts });
    } else if (mode === "pan" && d.next) {
      canvas.style.transform = ""; model.set("view", d.next); model.save_changes();
    }
    canvas.style.transform = "";
  }
  overlay.addEventListener("pointerup", (ev) => { if (drag && ev.pointerId === drag.id) finish(pos(ev)); });
  // capture taken away (window lost focus, element removed): end the drag where it was
  overlay.addEventListener("lostpointercapture", (ev) => { if (drag && ev.pointerId === drag.id) finish(drag.last); });
  overlay.addEventListener("pointercancel", (ev) => {
    if (drag && ev.pointerId === drag.id) { drag = null; canvas.style.transform = ""; octx.clearRect(0, 0, overlay.width, overlay.height); }
  });
  function hoverAt(p) {
    clearTimeout(hoverTimer);
    hoverTimer = setTimeout(() => model.send({ type: "hover", px: p[0], py: p[1] }), 60);
  }
  overlay.addEventListener("pointerleave", () => { clearTimeout(hoverTimer); tip.style.display = "none"; });
  async function showHover() {
    const h = model.get("hover") || {};
    if (!h.id) { tip.style.display = "none"; return; }
    lastHoverId = h.id;
    const bytes = wbBytes(model.get("hover_png"));
    if (tipImg.src.startsWith("blob:")) URL.revokeObjectURL(tipImg.src);  // one live thumbnail
    tipImg.src = URL.createObjectURL(new Blob([bytes], { type: "image/png" }));
    tipText.textContent = h.value !== null && h.value !== undefined ? `${h.id}\n${h.column}=${h.value}` : h.id;
    tip.style.left = Math.min(h.px + 12, canvas.width - 110) + "px";
    tip.style.top = Math.min(h.py + 12, canvas.height - 130) + "px";
    tip.style.display = "block";
  }

  reset.addEventListener("click", () => model.send({ type: "reset" }));
  clearBtn.addEventListener("click", () => model.send({ type: "clear" }));
  colorSel.addEventListener("change", () => { model.set("color_by", colorSel.value); model.save_changes(); });
  labelBtn.addEventListener("click", () => model.send({ type: "label", value: labelSel.value }));
  moreBtn.addEventListener("click", () => { if (lastHoverId) model.send({ type: "more", id: lastHoverId, k: 50 }); });
  moreBtn.title = "select the 50 items most like the last hovered item";

  model.on("change:image", drawImage);
  model.on("change:hover", showHover);
  model.on("change:legend", fillLegend);
  model.on("change:color_options", fillColors);
  model.on("change:label_choices", fillLabels);
  model.on("change:clusters", fillClusters);
  model.on("change:status", () => { status.textContent = model.get("status"); });
  model.on("change:width", () => { size(); drawImage(); });
  model.on("change:height", () => { size(); drawImage(); });
  size(); fillColors(); fillLabels(); fillLegend(); fillClusters(); drawImage();
}

export default { render };
