// The wire's rows in the page: newest first, each a <details> that opens to its JSON.
// Rows are keyed by their number, so a row the learner opened stays open while new ones arrive.
function render({ model, el }) {
  el.classList.add("vk-wire-table");
  const list = document.createElement("div");
  list.className = "vk-wire-list";
  el.appendChild(list);
  const open = new Set();

  function draw() {
    const rows = model.get("rows") || [];
    const scroll = list.scrollTop;
    list.replaceChildren();
    if (!rows.length) {
      const empty = document.createElement("div");
      empty.className = "vk-wire-empty";
      empty.textContent = "Nothing on the wire yet.";
      list.appendChild(empty);
    }
    for (const row of rows) {
      const item = document.createElement("details");
      item.className = "vk-wire-row vk-wire-" + row.kind;
      item.dataset.n = String(row.n);
      item.open = open.has(row.n);
      const summary = document.createElement("summary");
      const parts = [
        ["vk-wire-clock", row.clock],
        ["vk-wire-arrow", row.arrow],
        ["vk-wire-what", row.what],
        ["vk-wire-status" + (/^[45]/.test(row.status) ? " vk-wire-error" : ""), row.status],
        ["vk-wire-ms", row.ms ? row.ms + " ms" : ""],
        ["vk-wire-via", row.via ? "via " + row.via : ""],
      ];
      for (const [cls, text] of parts) {
        const span = document.createElement("span");
        span.className = cls;
        span.textContent = text;
        summary.appendChild(span);
      }
      const pre = document.createElement("pre");
      pre.className = "vk-wire-json";
      pre.textContent = row.json;
      item.append(summary, pre);
      item.addEventListener("toggle", () => {
        if (item.open) open.add(row.n); else open.delete(row.n);
        model.set("opened", Array.from(open));
        model.save_changes();
      });
      list.appendChild(item);
    }
    list.scrollTop = scroll;
  }

  model.on("change:rows", draw);
  draw();
}

export default { render };
