// Gallery front end: one PNG sprite sheet per page cut into tiles; captions and badges as
// text (textContent only); click opens, shift/ctrl-click selects.

function render({ model, el }) {
  const root = wbEl("div", "wb-root wb-gallery");
  root.appendChild(wbStyle());
  const style = document.createElement("style");
  style.textContent = ".wb-gallery .wb-tile.wb-open { border-color: #d62728; }";
  root.appendChild(style);
  const bar = wbEl("div", "wb-bar");
  const prev = wbEl("button", null, "◀");
  const next = wbEl("button", null, "▶");
  const pageLabel = wbEl("span", "wb-page");
  const sortSel = document.createElement("select");
  const dirBtn = wbEl("button", "wb-dir");
  const selLabel = wbEl("span", "wb-selcount");
  // linked to a shared selection: make the picked (shift/ctrl-clicked) items the selection
  const pickBtn = wbEl("button", "wb-pick", "select picked");
  pickBtn.addEventListener("click", () => model.send({ type: "select_picked" }));
  bar.append(prev, pageLabel, next, wbEl("span", null, "sort by"), sortSel, dirBtn, selLabel, pickBtn);
  const grid = wbEl("div", "wb-grid");
  const detail = wbEl("div", "wb-panels wb-detail");
  root.append(bar, grid, detail);
  el.appendChild(root);
  window.__wbGalleryDraws = window.__wbGalleryDraws || [];
  let requestedAt = null;

  function fillSort() {
    sortSel.replaceChildren();
    const none = wbEl("option", null, "(catalog order)"); none.value = ""; sortSel.appendChild(none);
    for (const c of model.get("columns") || []) { const o = wbEl("option", null, c); o.value = c; sortSel.appendChild(o); }
    sortSel.value = model.get("sort_by");
  }
  function bar_() {
    pageLabel.textContent = `page ${model.get("page") + 1} / ${model.get("n_pages")}`;
    dirBtn.textContent = model.get("ascending") ? "ascending" : "descending";
    const picked = (model.get("selected") || []).length;
    selLabel.textContent = model.get("linked") ? `${model.get("n_items")} shown, ${picked} picked` : `${picked} selected`;
    pickBtn.style.display = model.get("linked") && picked ? "" : "none";
  }
  const setPage = (p) => { requestedAt = performance.now(); model.set("page", p); model.save_changes(); };
  prev.addEventListener("click", () => { if (model.get("page") > 0) setPage(model.get("page") - 1); });
  next.addEventListener("click", () => { if (model.get("page") + 1 < model.get("n_pages")) setPage(model.get("page") + 1); });
  sortSel.addEventListener("change", () => { requestedAt = performance.now(); model.set("sort_by", sortSel.value); model.set("page", 0); model.save_changes(); });
  dirBtn.addEventListener("click", () => { requestedAt = performance.now(); model.set("ascending", !model.get("ascending")); model.save_changes(); });

  // tile elements (canvas, badges, caption) are kept and filled again for each page
  const tileEls = [];
  function tileEl(k) {
    if (k < tileEls.length) return tileEls[k];
    const d = wbEl("div", "wb-tile");
    d.append(document.createElement("canvas"), wbEl("div", "wb-badges"), wbEl("div", "wb-cap"));
    d.addEventListener("click", (ev) => {
      const id = d.dataset.id;
      if (ev.shiftKey || ev.ctrlKey || ev.metaKey) {
        const cur = new Set(model.get("selected") || []);
        if (cur.has(id)) cur.delete(id); else cur.add(id);
        model.set("selected", [...cur]); model.save_changes();
      } else {
        for (const o of grid.querySelectorAll(".wb-open")) o.classList.remove("wb-open");
        d.classList.add("wb-open");
        model.send({ type: "open", id });
      }
    });
    tileEls.push(d);
    return d;
  }

  let drawGen = 0;
  async function drawGrid() {
    const gen = ++drawGen;
    const t0 = requestedAt !== null ? requestedAt : performance.now();
    const recv = receivedAt;  // epoch ms the page's message arrived (timing only)
    requestedAt = null; receivedAt = null;
    const t = model.get("thumb"), cols = model.get("n_cols");
    const tiles = model.get("tiles") || [];
    const bytes = wbBytes(model.get("sprite"));
    let bitmap = null;
    if (bytes.byteLength) bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
    if (gen !== drawGen) return;  // a newer page arrived while this one was decoded
    grid.style.gridTemplateColumns = `repeat(${cols}, ${t + 4}px)`;
    const sel = new Set(model.get("selected") || []);
    const opened = model.get("opened");
    tiles.forEach((tile, k) => {
      const d = tileEl(k);
      d.dataset.id = tile.id;
      d.classList.toggle("wb-sel", sel.has(tile.id));
      d.classList.toggle("wb-open", tile.id === opened);
      const [c, badges, cap] = d.children;
      if (c.width !== t || c.height !== t) { c.width = t; c.height = t; }
      const ctx = c.getContext("2d");
      ctx.clearRect(0, 0, t, t);
      if (bitmap) ctx.drawImage(bitmap, (k % cols) * t, Math.floor(k / cols) * t, t, t, 0, 0, t, t);
      badges.replaceChildren(...(tile.badges || []).map((b) => wbEl("span", "wb-badge", b)));
      cap.textContent = tile.caption;
      d.title = [tile.caption, ...(tile.badges || [])].join("\n");
    });
    const keep = tileEls.slice(0, tiles.length);
    if (grid.children.length !== keep.length || keep.some((d, k) => grid.children[k] !== d)) {
      grid.replaceChildren(...keep);
    }
    requestAnimationFrame(() => window.__wbGalleryDraws.push({ n: tiles.length, ms: performance.now() - t0, recv }));
    bar_();
  }
  function drawSel() {
    const sel = new Set(model.get("selected") || []);
    for (const d of grid.children) d.classList.toggle("wb-sel", sel.has(d.dataset.id));
    bar_();
  }
  function drawDetail() {
    detail.replaceChildren();
    for (const spec of model.get("detail") || []) detail.appendChild(wbPanel(spec, { size: 260 }).root);
  }
  // a page arrives as one message changing both sprite and tiles: draw it once
  let drawQueued = false;
  let receivedAt = null;
  const queueGrid = () => {
    if (drawQueued) return;
    drawQueued = true;
    receivedAt = performance.timeOrigin + performance.now();
    queueMicrotask(() => { drawQueued = false; drawGrid(); });
  };
  model.on("change:tiles", queueGrid);
  model.on("change:sprite", queueGrid);
  model.on("change:selected", drawSel);
  model.on("change:detail", drawDetail);
  model.on("change:columns", fillSort);
  model.on("change:sort_by", () => { sortSel.value = model.get("sort_by"); });
  model.on("change:linked", bar_); model.on("change:n_items", bar_);
  model.on("change:page", bar_); model.on("change:n_pages", bar_); model.on("change:ascending", bar_);
  fillSort(); drawGrid(); drawDetail();
}

export default { render };
