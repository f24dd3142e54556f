// The admin page: each form posts to the school's JSON API; the camera's key is shown once, then the page reloads.
"use strict";
(function () {
  const school = document.getElementById("admin").dataset.school;
  const base = "/api/v1/schools/" + encodeURIComponent(school);
  const error = document.getElementById("error");
  function values(form) {
    const out = {};
    for (const [k, v] of new FormData(form).entries()) if (v !== "") out[k] = v;
    return out;
  }
  function on(id, send) {
    document.getElementById(id).addEventListener("submit", async (ev) => {
      ev.preventDefault();
      error.textContent = "";
      const reply = await send(values(ev.target));
      if (reply && !reply.ok) error.textContent = kuzetProblem(reply);
      else if (reply) window.location.reload();
    });
  }
  on("new-pupil", (v) => kuzetSend(base + "/pupils", "POST", v));
  on("new-class", (v) => kuzetSend(base + "/classes", "POST", v));
  on("new-guardian", async (v) => {
    const pupil = v.pupil_id; delete v.pupil_id;
    const reply = await kuzetSend(base + "/guardians", "POST", v);
    if (!reply.ok || !pupil) return reply;
    return kuzetSend(base + "/guardians/" + encodeURIComponent(v.guardian_id) + "/pupils/" + encodeURIComponent(pupil), "PUT");
  });
  on("timezone-form", (v) => kuzetSend(base + "/timezone", "PUT", v));
  on("new-camera", async (v) => {
    const reply = await kuzetSend(base + "/cameras", "POST", v);
    if (!reply.ok) return reply;
    document.getElementById("camera-key-value").textContent = reply.data.api_key;
    document.getElementById("camera-key").hidden = false;
    return null;
  });
})();
