// The labeling page (workbench/server): a thin view over the server's labeling Session, as
// the notebook Labeler is over the same Session in the kernel. Keys and clicks go to the REST
// API (workbench/server/handlers.py); the answer is the session's view, with the item's
// images (PNG + packed contours) when a new item is shown. Drawing is _draw.js's, which is
// prepended to this file. All data is shown with textContent or canvas text: never as HTML.

(function () {
  "use strict";
  const body = document.body;
  const API = body.dataset.api;
  const TOKEN = new URLSearchParams(window.location.search).get("token");

  function cookie(name) {
    for (const part of document.cookie.split(";")) {
      const [k, ...v] = part.trim().split("=");
      if (k === name) return decodeURIComponent(v.join("="));
    }
    return null;
  }

  function headers(json) {
    const h = { Accept: "application/json" };
    if (json) h["Content-Type"] = "application/json";
    if (TOKEN) h.Authorization = "token " + TOKEN;  // an invite link: the token, no cookie
    else {
      const x = cookie("_xsrf");  // a Jupyter cookie session: POSTs carry the XSRF token
      if (x) h["X-XSRFToken"] = x;
    }
    return h;
  }

  async function api(method, path, payload) {
    const r = await fetch(API + path, {
      method, headers: headers(payload !== undefined), credentials: "same-origin",
      cache: "no-store", body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    if (r.status === 204) return null;
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      const err = new Error((data && data.message) || `HTTP ${r.status}`);
      err.status = r.status;
      throw err;
    }
    return data;
  }

  function b64(s) {
    const bin = atob(s || "");
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function packed(p) {
    return p && p.n ? { xy: b64(p.xy), starts: b64(p.starts), tags: b64(p.tags), n: p.n } : null;
  }

  // A panel from the API (PNG) -> the spec _draw.js draws (raw RGBA bytes).
  async function decodePanel(p) {
    const bmp = await createImageBitmap(new Blob([b64(p.png)], { type: "image/png" }),
      { premultiplyAlpha: "none", colorSpaceConversion: "none" });
    const c = document.createElement("canvas");
    c.width = p.w; c.height = p.h;
    const ctx = c.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(bmp, 0, 0);
    const px = ctx.getImageData(0, 0, p.w, p.h).data;
    const spec = Object.assign({}, p, { rgba: new Uint8Array(px.buffer) });
    delete spec.png;
    if (p.contours) spec.contours = packed(p.contours) || { xy: new Uint8Array(0),
      starts: new Uint8Array(4), tags: new Uint8Array(0) };
    return spec;
  }

  // ------------------------------------------------------------------ layout
  const app = document.getElementById("wb-app");
  const root = wbEl("div", "wb-root wb-labeler wb-page");
  root.tabIndex = 0;
  root.appendChild(wbStyle());
  const extra = document.createElement("style");
  extra.textContent = `
    body { margin: 12px; background: #fff; }
    .wb-page .wb-title { font-size: 15px; font-weight: bold; }
    .wb-page .wb-bar > span { margin-right: 10px; }
    .wb-page .wb-meta-row { font-family: monospace; font-size: 12px; white-space: pre-wrap; }
    .wb-page .wb-question { font-size: 14px; margin: 6px 0; }
    .wb-page input.wb-text { font-size: 13px; width: 30em; }`;
  root.appendChild(extra);
  const title = wbEl("div", "wb-title",
    `${body.dataset.campaign} · ${body.dataset.collection} · labeling as ${body.dataset.annotator}`);
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
  root.append(title, head, panelsDiv, question, answersDiv, status, msg, keysDiv, metaDiv);
  app.appendChild(root);

  let st = {};        // the session's view
  let panels = [];    // _draw.js panels of the item shown
  let outlines = null;
  let shownAt = performance.now();
  let lastKeyAt = null;
  let lastFetchMs = null;
  window.__wbLabelDraws = window.__wbLabelDraws || [];

  // ------------------------------------------------------------------ drawing
  function componentAnswers() {
    const a = st.answers || {};
    for (const v of Object.values(a)) {
      if (Array.isArray(v) && v.length && v[0] && typeof v[0] === "object" && "components" in v[0]) return v;
    }
    return [];
  }

  function overlay(ctx, P) {
    if (!outlines || !outlines.tags.length) return;
    const sources = componentAnswers();
    wbComponentOverlay(ctx, P, outlines, st, sources);
  }

  async function drawImages(images) {
    const specs = await Promise.all((images.panels || []).map(decodePanel));
    const o = images.outlines;
    outlines = o && o.n ? { xy: wbTyped(b64(o.xy), Float32Array),
      starts: wbTyped(b64(o.starts), Int32Array), tags: wbTyped(b64(o.tags), Int32Array) } : null;
    panelsDiv.replaceChildren();
    panels = specs.map((spec, k) => {
      const P = wbPanel(spec, { size: 360,
        contourColour: spec.title && spec.title.includes("contours on") ? "#00ff66" : null });
      if (k === 0) {
        P.canvas.addEventListener("click", (ev) => {
          const [x, y, inside] = P.toImage(ev);
          if (inside) act("click", { x, y });
          root.focus({ preventScroll: true });
        });
      }
      panelsDiv.appendChild(P.root);
      return P;
    });
  }

  function drawState() {
    if (panels.length) panels[0].redraw(overlay);
    const p = st.progress || {};
    progress.textContent = `item ${st.position ? st.position[0] : 0} · ${p.mine || 0} labelled by you · ${p.done || 0}/${p.total || 0} done`;
    ident.textContent = `${st.scheme || ""} · ${st.item_id || ""}`;
    root.dataset.itemId = st.item_id || "";
    root.dataset.seq = String(st.seq || 0);
    root.dataset.visit = String(st.visit || 0);
    root.dataset.question = (st.question && st.question.id) || "";
    msg.textContent = st.message || "";
    if (st.done_all || !st.item_id) {
      panelsDiv.replaceChildren(); panels = []; outlines = null;
      question.textContent = "Nothing left to label here. Thank you! ← goes back, u undoes.";
      answersDiv.replaceChildren(); keysDiv.replaceChildren(); status.textContent = "";
      metaDiv.replaceChildren();
      root.dataset.doneAll = "1";
      return;
    }
    root.dataset.doneAll = "";
    const q = st.question || {};
    question.textContent = q.text || "";
    answersDiv.replaceChildren();
    const chosen = new Set((st.multi || []).map(String));
    for (const a of q.answers || []) {
      const b = wbEl("span", "wb-answer");
      if (a.key) b.appendChild(wbEl("span", "wb-key", a.key));
      b.appendChild(document.createTextNode(a.label));
      if (chosen.has(String(a.value))) b.classList.add("wb-on");
      b.addEventListener("click", () => { if (a.key) sendKey(a.key); root.focus(); });
      answersDiv.appendChild(b);
    }
    if (q.type === "text") {
      const input = wbEl("input", "wb-text");
      input.type = "text";
      input.addEventListener("keydown", (ev) => {
        ev.stopPropagation();
        if (ev.key === "Enter") { act("text", { text: input.value }); root.focus(); }
      });
      answersDiv.appendChild(input);
    }
    const bits = [];
    const srcs = componentAnswers();
    if (st.answers && st.answers.no_contours) bits.push("answered: no contours");
    srcs.forEach((s, k) => bits.push(`source ${k + 1}: components ${JSON.stringify(s.components)}, host ${s.host ? `(${s.host.x}, ${s.host.y})` : "none"}${s.morphology ? ", " + s.morphology : ""}`));
    if (st.selected && st.selected.length) bits.push(`selected: ${JSON.stringify(st.selected)}`);
    for (const [k, v] of Object.entries(st.answers || {})) {
      if (!Array.isArray(v) && k !== "no_contours") bits.push(`${k}: ${JSON.stringify(v)}`);
    }
    status.textContent = bits.join(" · ");
    keysDiv.replaceChildren();
    for (const [k, what] of st.keys || []) {
      const s = wbEl("span", null);
      s.appendChild(wbEl("span", "wb-key", k));
      s.appendChild(document.createTextNode(what));
      keysDiv.appendChild(s);
    }
    metaDiv.replaceChildren();
    for (const [k, v] of Object.entries(st.meta || {})) {
      metaDiv.appendChild(wbEl("div", "wb-meta-row", `${k}: ${v}`));
    }
  }

  // Nothing left for now: ask again every 30 s (claims of others expire, skips return).
  let poll = null;
  function pollWhenDone() {
    clearTimeout(poll);
    if (!st.done_all) return;
    poll = setTimeout(() => {
      chain = chain.then(async () => {
        try { await show(await api("GET", "next")); } catch (e) { msg.textContent = String(e.message || e); }
      });
    }, 30000);
  }

  async function show(view) {
    if (view === null) view = { done_all: true, item_id: "" };
    const newItem = view.visit !== st.visit || view.item_id !== st.item_id;
    st = view;
    if (view.images) await drawImages(view.images);
    drawState();
    pollWhenDone();
    if (newItem) {
      shownAt = performance.now();
      if (lastKeyAt !== null) {
        const t0 = lastKeyAt, item = view.item_id;
        lastKeyAt = null;
        requestAnimationFrame(() => {
          // ms: key to next item drawn; fetch: of which the request and the server's answer
          window.__wbLabelDraws.push({ item, ms: performance.now() - t0, fetch: lastFetchMs });
        });
      }
    }
  }

  // ------------------------------------------------------------------ actions
  // One request at a time, in the order the keys were pressed.
  let chain = Promise.resolve();
  function act(what, payload) {
    chain = chain.then(async () => {
      try {
        const t0 = performance.now();
        const view = await api("POST", what, Object.assign({ visit: st.visit }, payload));
        lastFetchMs = performance.now() - t0;
        await show(view);
      } catch (e) {
        msg.textContent = String(e.message || e);
        if (e.status === 403) msg.textContent += " (is your invite link still valid?)";
      }
    });
    return chain;
  }
  function sendKey(key) { return act("key", { key }); }

  const tick = setInterval(() => {
    timer.textContent = `${((performance.now() - shownAt) / 1000).toFixed(0)} s on this item`;
  }, 500);
  window.addEventListener("unload", () => clearInterval(tick));

  const NAMED_KEYS = new Set(["Enter", "Backspace", "ArrowLeft", "ArrowRight"]);
  document.addEventListener("keydown", (ev) => {
    if (ev.target && ev.target.tagName === "INPUT") return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key.length !== 1 && !NAMED_KEYS.has(ev.key)) return;
    ev.preventDefault();
    lastKeyAt = performance.now();
    sendKey(ev.key);
  });

  chain = chain.then(async () => {
    try {
      await show(await api("GET", "next"));
    } catch (e) {
      msg.textContent = String(e.message || e);
    }
  });
  root.focus({ preventScroll: true });
})();
