// Enrolment: each chosen photo is judged by the server's enrolment check (nothing stored) and its verdict shown;
// only then can the accepted photos be saved (the server judges them again and keeps templates only).
"use strict";
(function () {
  const base = document.getElementById("enrol").dataset.base;
  const input = document.getElementById("photos");
  const save = document.getElementById("save-photos");
  const body = document.querySelector("#verdicts tbody");
  const error = document.getElementById("error");
  const text = (id) => document.getElementById(id).textContent;
  let accepted = [];
  // the enrolment check's reasons (edge.school.enrol, models.faces.quality) in the page's language
  const WHY = [["no face found", "why-none"], ["faces found", "why-faces"], ["too small", "why-small"], ["too blurry", "why-blurry"],
               ["turned away", "why-turned"], ["readable image", "why-unreadable"]];
  function why(message) {
    for (const [needle, id] of WHY) {
      if (!message.includes(needle)) continue;
      const count = message.match(/^(\d+) faces/);
      return text(id).replace("{n}", count ? count[1] : "");
    }
    return message;
  }
  document.getElementById("consent-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const reply = await kuzetSend(base + "/consent", "PUT", {granted: true, given_by: document.getElementById("given-by").value});
    if (reply.ok) window.location.reload(); else error.textContent = kuzetProblem(reply);
  });
  input.addEventListener("change", async () => {
    accepted = []; save.disabled = true; body.replaceChildren(); error.textContent = "";
    document.getElementById("enrol-status").textContent = text("t-checking");
    for (const file of input.files) {
      const form = new FormData(); form.append("photos", file, file.name);
      const reply = await kuzetSend(base + "/photos/check", "POST", form);
      const row = document.createElement("tr");
      const name = document.createElement("td"); name.textContent = file.name;
      const verdict = document.createElement("td");
      if (reply.ok) {
        const v = reply.data.photos[0];
        verdict.textContent = (v.accepted ? text("t-accepted") : text("t-refused")) + (v.accepted ? "" : ": " + why(v.message));
        verdict.className = v.accepted ? "ok" : "bad";
        row.dataset.verdict = v.accepted ? "accepted" : "refused";
        if (v.accepted) accepted.push(file);
      } else { verdict.textContent = kuzetProblem(reply); verdict.className = "bad"; row.dataset.verdict = "error"; }
      row.append(name, verdict); body.append(row);
    }
    document.getElementById("enrol-status").textContent = "";
    save.disabled = accepted.length === 0;
  });
  save.addEventListener("click", async () => {
    const form = new FormData();
    for (const file of accepted) form.append("photos", file, file.name);
    save.disabled = true;
    const reply = await kuzetSend(base + "/photos", "POST", form);
    if (!reply.ok) { error.textContent = kuzetProblem(reply); save.disabled = false; return; }
    document.getElementById("enrol-status").textContent = text("t-saved") + " " + reply.data.templates;
    document.getElementById("enrol-status").dataset.templates = String(reply.data.templates);
  });
})();
