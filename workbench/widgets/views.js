// Item views (RadioView, TransientView, LensView): panels drawn by _draw.js plus controls.

function render({ model, el }) {
  const root = wbEl("div", "wb-root");
  root.appendChild(wbStyle());
  const bar = wbEl("div", "wb-bar");
  const panelsDiv = wbEl("div", "wb-panels");
  root.appendChild(bar);
  root.appendChild(panelsDiv);
  el.appendChild(root);

  const controls = model.get("_controls") || {};
  for (const [name, choices] of Object.entries(controls)) {
    const label = wbEl("label", null, name + " ");
    if (choices === "bool") {
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = !!model.get(name);
      box.addEventListener("change", () => { model.set(name, box.checked); model.save_changes(); });
      model.on(`change:${name}`, () => { box.checked = !!model.get(name); });
      label.appendChild(box);
    } else {
      const sel = document.createElement("select");
      for (const c of choices) { const o = wbEl("option", null, c); o.value = c; sel.appendChild(o); }
      sel.value = model.get(name);
      sel.addEventListener("change", () => { model.set(name, sel.value); model.save_changes(); });
      model.on(`change:${name}`, () => { sel.value = model.get(name); });
      label.appendChild(sel);
    }
    bar.appendChild(label);
  }

  function draw() {
    panelsDiv.replaceChildren();
    for (const spec of model.get("panels") || []) {
      const P = wbPanel(spec, { size: model.get("size"),
        contourColour: spec.title && spec.title.includes("contours on") ? "#00ff66" : null });
      panelsDiv.appendChild(P.root);
    }
  }
  model.on("change:panels", draw);
  draw();
}

export default { render };
