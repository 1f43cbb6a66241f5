// Labeler front end: draws the item, the question and the keys; sends keys and clicks to
// the kernel (workbench/widgets/labeler.py), which writes to the label store and answers
// with new state. Key events are stopped here so JupyterLab's shortcuts never see them.

function render({ model, el }) {
  const root = wbEl("div", "wb-root wb-labeler");
  root.tabIndex = 0;
  root.appendChild(wbStyle());
  const head = wbEl("div", "wb-bar");
  const progress = wbEl("span", "wb-progress");
  const timer = wbEl("span", "wb-timer");
  const ident = wbEl("span", "wb-ident");
  head.append(progress, timer, ident);
  const panelsDiv = wbEl("div", "wb-panels");
  const question = wbEl("div", "wb-question");
  const answersDiv = wbEl("div", "wb-bar wb-answers");
  const status = wbEl("div", "wb-status");
  const msg = wbEl("div", "wb-msg");
  const keysDiv = wbEl("div", "wb-bar wb-keys");
  const metaDiv = wbEl("div", "wb-meta");
  root.append(head, panelsDiv, question, answersDiv, status, msg, keysDiv, metaDiv);
  el.appendChild(root);

  let panels = [];
  let outlines = null;
  let shownAt = performance.now();
  let lastKeyAt = null;
  let lastItem = null;
  window.__wbLabelerDraws = window.__wbLabelerDraws || [];

  function send(content) { model.send(content); }

  function overlay(ctx, P) {
    const st = model.get("state") || {};
    if (!outlines || !outlines.tags.length) return;
    const sources = (st.answers && st.answers.sources) || [];
    wbComponentOverlay(ctx, P, outlines, st, sources);
  }

  function drawPanels() {
    panelsDiv.replaceChildren();
    const o = model.get("outlines");
    outlines = o && o.n ? { xy: wbTyped(o.xy, Float32Array), starts: wbTyped(o.starts, Int32Array),
      tags: wbTyped(o.tags, Int32Array) } : null;
    panels = (model.get("panels") || []).map((spec, k) => {
      const P = wbPanel(spec, { size: model.get("size"),
        contourColour: spec.title && spec.title.includes("contours on") ? "#00ff66" : null });
      if (k === 0) {
        P.canvas.addEventListener("click", (ev) => {
          const [x, y, inside] = P.toImage(ev);
          if (inside) send({ type: "click", x, y });
          root.focus({ preventScroll: true });
        });
        P.redraw(overlay);
      }
      panelsDiv.appendChild(P.root);
      return P;
    });
  }

  function drawState() {
    const st = model.get("state") || {};
    if (panels.length) panels[0].redraw(overlay);
    const p = st.progress || {};
    progress.textContent = `item ${st.position ? st.position[0] : 0} · ${p.mine || 0} labelled by you · ${p.done || 0}/${p.total || 0} done`;
    ident.textContent = `${st.scheme || ""} · ${st.annotator || ""} · ${st.item_id || ""}`;
    root.dataset.itemId = st.item_id || "";
    root.dataset.seq = String(st.seq || 0);
    root.dataset.question = (st.question && st.question.id) || "";
    if (st.done_all) {
      question.textContent = "Nothing left to label here. ← goes back, u undoes.";
      answersDiv.replaceChildren(); keysDiv.replaceChildren(); status.textContent = "";
      msg.textContent = st.message || "";
      return;
    }
    const q = st.question || {};
    question.textContent = q.text || "";
    answersDiv.replaceChildren();
    const chosen = new Set((st.multi || []).map(String));
    for (const a of q.answers || []) {
      const b = wbEl("span", "wb-answer");
      if (a.key) b.appendChild(wbEl("span", "wb-key", a.key));
      b.appendChild(document.createTextNode(a.label));
      if (chosen.has(String(a.value))) b.classList.add("wb-on");
      b.addEventListener("click", () => { if (a.key) send({ type: "key", key: a.key }); root.focus(); });
      answersDiv.appendChild(b);
    }
    const bits = [];
    const srcs = (st.answers && st.answers.sources) || [];
    if (st.answers && st.answers.no_contours) bits.push("answered: no contours");
    srcs.forEach((s, k) => bits.push(`source ${k + 1}: components ${JSON.stringify(s.components)}, host ${s.host ? `(${s.host.x}, ${s.host.y})` : "none"}${s.morphology ? ", " + s.morphology : ""}`));
    if (st.selected && st.selected.length) bits.push(`selected: ${JSON.stringify(st.selected)}`);
    for (const [k, v] of Object.entries(st.answers || {})) {
      if (k !== "sources" && k !== "no_contours") bits.push(`${k}: ${JSON.stringify(v)}`);
    }
    status.textContent = bits.join(" · ");
    msg.textContent = st.message || "";
    keysDiv.replaceChildren();
    for (const [k, what] of st.keys || []) {
      const s = wbEl("span", null);
      s.appendChild(wbEl("span", "wb-key", k));
      s.appendChild(document.createTextNode(what));
      keysDiv.appendChild(s);
    }
    metaDiv.replaceChildren();
    const meta = st.meta || {};
    const tbl = wbEl("div", "wb-meta-list");
    for (const [k, v] of Object.entries(meta)) tbl.appendChild(wbEl("div", "wb-meta-row", `${k}: ${v}`));
    metaDiv.appendChild(tbl);
  }

  function onNewItem() {
    const st = model.get("state") || {};
    if (st.item_id !== lastItem) {
      lastItem = st.item_id;
      shownAt = performance.now();
      if (lastKeyAt !== null) {
        const t0 = lastKeyAt;
        lastKeyAt = null;
        requestAnimationFrame(() => {
          window.__wbLabelerDraws.push({ item: st.item_id, ms: performance.now() - t0 });
        });
      }
    }
  }

  model.on("change:panels", drawPanels);
  model.on("change:outlines", drawPanels);
  model.on("change:state", () => { drawState(); onNewItem(); });
  drawPanels(); drawState(); onNewItem();

  const tick = setInterval(() => {
    timer.textContent = `${((performance.now() - shownAt) / 1000).toFixed(0)} s on this item`;
  }, 500);

  // Keyboard first. Every key typed while the labeler has focus stops here (JupyterLab
  // listens in the bubbling phase), except Escape which hands focus back to the notebook.
  const stop = (ev) => {
    if (ev.key === "Escape") { root.blur(); return; }
    ev.stopPropagation();
  };
  root.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") { root.blur(); return; }
    ev.stopPropagation();
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (["Shift", "Control", "Alt", "Meta", "Tab"].includes(ev.key)) return;
    ev.preventDefault();
    lastKeyAt = performance.now();
    send({ type: "key", key: ev.key });
  });
  root.addEventListener("keyup", stop);
  root.addEventListener("keypress", stop);
  root.addEventListener("mousedown", () => setTimeout(() => root.focus({ preventScroll: true }), 0));
  setTimeout(() => root.focus({ preventScroll: true }), 0);
  return () => clearInterval(tick);
}

export default { render };
