// The operator's queue: filters (kind, camera, time, state) and the keyboard: j / ArrowDown next, k / ArrowUp
// previous, Enter or o opens the selected violation.
"use strict";
(function () {
  const get = (id) => document.getElementById(id);
  const rows = () => Array.from(document.querySelectorAll("table.filterable tbody tr"));
  function visible(row) {
    const kind = get("f-kind").value, camera = get("f-camera").value, state = get("f-state").value;
    const from = get("f-from").value, to = get("f-to").value, at = row.dataset.at;
    return (!kind || row.dataset.kind === kind) && (!camera || row.dataset.camera === camera) &&
      (!state || row.dataset.state === state) && (!from || at >= from) && (!to || at <= to);
  }
  function apply() {
    for (const row of rows()) row.hidden = !visible(row);
    const count = get("queue-count");
    if (count) count.textContent = String(document.querySelectorAll("#queue tbody tr:not([hidden])").length);
  }
  for (const id of ["f-kind", "f-camera", "f-from", "f-to", "f-state"]) get(id).addEventListener("input", apply);
  let selected = -1;
  function select(step) {
    const shown = rows().filter((r) => !r.hidden);
    if (!shown.length) return;
    selected = Math.max(0, Math.min(shown.length - 1, selected + step));
    for (const r of rows()) r.classList.remove("selected");
    shown[selected].classList.add("selected");
    shown[selected].querySelector("a").focus();
  }
  document.addEventListener("keydown", (ev) => {
    if (ev.target.closest && ev.target.closest("input, select, textarea")) return;
    if (ev.key === "j" || ev.key === "ArrowDown") { ev.preventDefault(); select(1); }
    else if (ev.key === "k" || ev.key === "ArrowUp") { ev.preventDefault(); select(-1); }
    else if (ev.key === "o") {
      const row = document.querySelector("tr.selected");
      if (row) window.location = row.querySelector("a").href;
    }
  });
})();
