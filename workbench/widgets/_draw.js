// Shared drawing code for the workbench widgets (prepended to each widget's ESM by Python).
// Panels arrive as plain objects (see workbench/widgets/render.py: panel()) with raw RGBA
// bytes (DataView) and overlay geometry in display pixels. All text goes through
// textContent or canvas fillText: data is never parsed as HTML.

const WB_MARGIN = { left: 58, right: 8, top: 6, bottom: 38 };
const WB_LEVEL_COLOURS = ["#7fdbff", "#39cccc", "#2ecc40", "#ffdc00", "#ff851b", "#ff4136",
  "#f012be", "#ffffff"];
const WB_SOURCE_COLOURS = ["#ff4136", "#2ecc40", "#0074d9", "#ffdc00", "#f012be", "#ff851b",
  "#7fdbff", "#b10dc9"];

function wbEl(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function wbBytes(v) {
  if (!v) return new Uint8Array(0);
  if (v instanceof DataView) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return new Uint8Array(0);
}

function wbTyped(v, Ctor) {
  const b = wbBytes(v);
  if (b.byteLength === 0) return new Ctor(0);
  // copy to get alignment right
  const c = new Uint8Array(b.byteLength);
  c.set(b);
  return new Ctor(c.buffer);
}

function wbNiceTicks(lo, hi, n) {
  const span = hi - lo;
  if (!(span > 0) || !isFinite(span)) return [];
  const raw = span / Math.max(1, n);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  const step = (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) out.push(v);
  return out;
}

function wbFmt(v) {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

function wbSexa(deg, hours) {
  let v = hours ? deg / 15 : deg;
  const sign = v < 0 ? "-" : hours ? "" : "+";
  v = Math.abs(v);
  const d = Math.floor(v);
  const m = Math.floor((v - d) * 60);
  const s = ((v - d) * 60 - m) * 60;
  const pad = (x, w) => String(x).padStart(w, "0");
  return `${sign}${pad(d, 2)}${hours ? "h" : "°"}${pad(m, 2)}${hours ? "m" : "′"}${s.toFixed(hours ? 2 : 1).padStart(hours ? 5 : 4, "0")}${hours ? "s" : "″"}`;
}

function wbSky(sky, x, y) {
  // gnomonic (TAN) deprojection of a display-pixel position
  const dx = x - sky.crpix[0], dy = y - sky.crpix[1];
  const xi = (sky.cd[0][0] * dx + sky.cd[0][1] * dy) * Math.PI / 180;
  const eta = (sky.cd[1][0] * dx + sky.cd[1][1] * dy) * Math.PI / 180;
  const ra0 = sky.crval[0] * Math.PI / 180, dec0 = sky.crval[1] * Math.PI / 180;
  const D = Math.cos(dec0) - eta * Math.sin(dec0);
  let ra = (ra0 + Math.atan2(xi, D)) * 180 / Math.PI;
  const dec = Math.atan2(Math.sin(dec0) + eta * Math.cos(dec0), Math.hypot(xi, D)) * 180 / Math.PI;
  ra = ((ra % 360) + 360) % 360;
  return [ra, dec];
}

// Build a panel: returns {root, canvas, scale, spec, redraw(overlayFn), toImage(ev)}
function wbPanel(spec, opts) {
  opts = opts || {};
  const axes = !!(spec.x || spec.y);
  const M = axes ? WB_MARGIN : { left: 0, right: 0, top: 0, bottom: 0 };
  const target = opts.size || 300;
  const scale = Math.max(1, target / Math.max(spec.w, spec.h));
  const W = Math.round(spec.w * scale), H = Math.round(spec.h * scale);
  const root = wbEl("div", "wb-panel");
  if (spec.title) root.appendChild(wbEl("div", "wb-panel-title", spec.title));
  const canvas = wbEl("canvas", "wb-canvas");
  canvas.width = W + M.left + M.right;
  canvas.height = H + M.top + M.bottom;
  root.appendChild(canvas);
  const readout = wbEl("div", "wb-readout", "\u00a0");
  root.appendChild(readout);
  for (const line of spec.info || []) root.appendChild(wbEl("div", "wb-info", line));

  const img = document.createElement("canvas");
  img.width = spec.w; img.height = spec.h;
  const bytes = wbBytes(spec.rgba);
  if (bytes.byteLength === spec.w * spec.h * 4) {
    const data = new ImageData(new Uint8ClampedArray(bytes.buffer, bytes.byteOffset, bytes.byteLength), spec.w, spec.h);
    img.getContext("2d").putImageData(data, 0, 0);
  }
  const contours = spec.contours ? {
    xy: wbTyped(spec.contours.xy, Float32Array),
    starts: wbTyped(spec.contours.starts, Int32Array),
    tags: wbTyped(spec.contours.tags, Int32Array),
  } : null;

  const P = { root, canvas, scale, spec, M, W, H };
  P.toImage = (ev) => {
    const r = canvas.getBoundingClientRect();
    const cx = (ev.clientX - r.left) * canvas.width / r.width - M.left;
    const cy = (ev.clientY - r.top) * canvas.height / r.height - M.top;
    return [cx / scale, cy / scale, cx >= 0 && cy >= 0 && cx < W && cy < H];
  };
  P.polyline = (ctx, xy, close) => {
    ctx.beginPath();
    for (let i = 0; i < xy.length; i += 2) {
      const X = M.left + xy[i] * scale, Y = M.top + xy[i + 1] * scale;
      if (i === 0) ctx.moveTo(X, Y); else ctx.lineTo(X, Y);
    }
    if (close) ctx.closePath();
  };
  P.redraw = (overlay) => {
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, M.left, M.top, W, H);
    if (contours && contours.tags.length) {
      ctx.lineWidth = 1.2;
      for (let k = 0; k < contours.tags.length; k++) {
        const a = contours.starts[k], b = contours.starts[k + 1];
        ctx.strokeStyle = opts.contourColour || WB_LEVEL_COLOURS[contours.tags[k] % WB_LEVEL_COLOURS.length];
        ctx.beginPath();
        for (let i = a; i < b; i++) {
          const X = M.left + contours.xy[2 * i] * scale, Y = M.top + contours.xy[2 * i + 1] * scale;
          if (i === a) ctx.moveTo(X, Y); else ctx.lineTo(X, Y);
        }
        ctx.stroke();
      }
    }
    if (spec.beam && spec.beam.length) {
      ctx.fillStyle = "rgba(255,255,255,0.55)"; ctx.strokeStyle = "#fff"; ctx.lineWidth = 1;
      P.polyline(ctx, spec.beam, true); ctx.fill(); ctx.stroke();
    }
    if (spec.scalebar) {
      const L = spec.scalebar.px * scale;
      const x1 = M.left + W - 8, x0 = x1 - L, y = M.top + H - 10;
      ctx.strokeStyle = "#fff"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(x0, y); ctx.lineTo(x1, y); ctx.stroke();
      ctx.fillStyle = "#fff"; ctx.font = "11px sans-serif"; ctx.textAlign = "center";
      ctx.fillText(spec.scalebar.label, (x0 + x1) / 2, y - 4);
    }
    if (axes) {
      ctx.fillStyle = "#222"; ctx.strokeStyle = "#444"; ctx.lineWidth = 1;
      ctx.font = "10px sans-serif";
      ctx.strokeRect(M.left - 0.5, M.top - 0.5, W + 1, H + 1);
      if (spec.x) {
        ctx.textAlign = "center";
        for (const t of wbNiceTicks(spec.x.lo, spec.x.hi, 5)) {
          const X = M.left + (t - spec.x.lo) / (spec.x.hi - spec.x.lo) * W;
          ctx.beginPath(); ctx.moveTo(X, M.top + H); ctx.lineTo(X, M.top + H + 4); ctx.stroke();
          ctx.fillText(wbFmt(t), X, M.top + H + 14);
        }
        ctx.fillText(`${spec.x.label} (${spec.x.unit})`, M.left + W / 2, M.top + H + 30);
      }
      if (spec.y) {
        ctx.textAlign = "right";
        for (const t of wbNiceTicks(spec.y.lo, spec.y.hi, 5)) {
          const Y = M.top + H - (t - spec.y.lo) / (spec.y.hi - spec.y.lo) * H;
          ctx.beginPath(); ctx.moveTo(M.left - 4, Y); ctx.lineTo(M.left, Y); ctx.stroke();
          ctx.fillText(wbFmt(t), M.left - 6, Y + 3);
        }
        ctx.save(); ctx.translate(12, M.top + H / 2); ctx.rotate(-Math.PI / 2);
        ctx.textAlign = "center";
        ctx.fillText(`${spec.y.label} (${spec.y.unit})`, 0, 0);
        ctx.restore();
      }
    }
    if (overlay) overlay(ctx, P);
  };
  canvas.addEventListener("mousemove", (ev) => {
    const [x, y, inside] = P.toImage(ev);
    if (!inside) { readout.textContent = "\u00a0"; return; }
    if (spec.sky) {
      const [ra, dec] = wbSky(spec.sky, x, y);
      readout.textContent = `RA ${wbSexa(ra, true)}  Dec ${wbSexa(dec, false)}  (${ra.toFixed(5)}°, ${dec.toFixed(5)}°)`;
    } else if (spec.x && spec.y) {
      const xv = spec.x.lo + x / spec.w * (spec.x.hi - spec.x.lo);
      const yv = spec.y.lo + (spec.h - y) / spec.h * (spec.y.hi - spec.y.lo);
      readout.textContent = `${spec.x.label} ${wbFmt(xv)} ${spec.x.unit}, ${spec.y.label} ${wbFmt(yv)} ${spec.y.unit}`;
    } else {
      readout.textContent = `x ${x.toFixed(1)}, y ${(spec.h - y).toFixed(1)} px`;
    }
  });
  canvas.addEventListener("mouseleave", () => { readout.textContent = "\u00a0"; });
  P.redraw(null);
  return P;
}

// RGZ overlay on the first panel: component outlines (in their source's colour once
// assigned, dashed white while selected, faint otherwise) and host crosses. ``outlines``:
// {tags, starts, xy} as sent by the kernel or server; ``st``: the labeling view (selected,
// pending); ``sources``: the item's finished sources [{components, host}, ...].
function wbComponentOverlay(ctx, P, outlines, st, sources) {
  const owner = {};
  sources.forEach((s, k) => (s.components || []).forEach((c) => { owner[c] = k; }));
  const pending = (st.pending && st.pending.components) || [];
  const sel = new Set([...(st.selected || []), ...pending]);
  for (let k = 0; k < outlines.tags.length; k++) {
    const cid = outlines.tags[k];
    const xy = outlines.xy.subarray(2 * outlines.starts[k], 2 * outlines.starts[k + 1]);
    if (owner[cid] !== undefined) {
      ctx.strokeStyle = WB_SOURCE_COLOURS[owner[cid] % WB_SOURCE_COLOURS.length];
      ctx.fillStyle = ctx.strokeStyle + "55"; ctx.lineWidth = 3; ctx.setLineDash([]);
      P.polyline(ctx, xy, true); ctx.fill(); ctx.stroke();
    } else if (sel.has(cid)) {
      ctx.strokeStyle = "#ffffff"; ctx.fillStyle = "#ffffff44"; ctx.lineWidth = 3;
      ctx.setLineDash([5, 3]); P.polyline(ctx, xy, true); ctx.fill(); ctx.stroke();
      ctx.setLineDash([]);
    } else {
      ctx.strokeStyle = "rgba(255,255,255,0.35)"; ctx.lineWidth = 1;
      P.polyline(ctx, xy, true); ctx.stroke();
    }
  }
  const ny = P.spec.h;
  const mark = (h, colour) => {
    if (!h) return;
    const X = P.M.left + (h.x + 0.5) * P.scale, Y = P.M.top + (ny - h.y - 0.5) * P.scale;
    ctx.strokeStyle = colour; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(X - 8, Y); ctx.lineTo(X + 8, Y); ctx.moveTo(X, Y - 8);
    ctx.lineTo(X, Y + 8); ctx.stroke();
  };
  sources.forEach((s, k) => mark(s.host, WB_SOURCE_COLOURS[k % WB_SOURCE_COLOURS.length]));
  if (st.pending) mark(st.pending.host, "#ffffff");
}

function wbStyle() {
  const s = document.createElement("style");
  s.textContent = `
  .wb-root { font-family: sans-serif; font-size: 13px; color: var(--jp-ui-font-color1, #222); outline: none; }
  .wb-root:focus { box-shadow: 0 0 0 2px #0074d9; }
  .wb-panels { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-start; }
  .wb-panel-title { font-weight: bold; margin-bottom: 2px; }
  .wb-readout { font-family: monospace; font-size: 11px; min-height: 14px; }
  .wb-info { font-size: 12px; }
  .wb-canvas { display: block; cursor: crosshair; }
  .wb-bar { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin: 4px 0; }
  .wb-key { display: inline-block; border: 1px solid #888; border-radius: 3px; padding: 0 4px;
    font-family: monospace; background: #f4f4f4; color: #222; margin-right: 3px; }
  .wb-answer { padding: 2px 6px; border: 1px solid #ccc; border-radius: 4px; cursor: pointer; }
  .wb-answer.wb-on { background: #0074d9; color: #fff; }
  .wb-grid { display: grid; gap: 4px; }
  .wb-tile { position: relative; border: 2px solid transparent; cursor: pointer; }
  .wb-tile.wb-sel { border-color: #0074d9; }
  .wb-tile canvas { display: block; }
  .wb-badges { position: absolute; left: 1px; top: 1px; display: flex; flex-wrap: wrap; gap: 1px; }
  .wb-badge { font-size: 9px; background: rgba(0,0,0,0.65); color: #fff; padding: 0 2px; border-radius: 2px; }
  .wb-cap { font-size: 10px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
  .wb-msg { color: #b00; min-height: 16px; }
  `;
  return s;
}
