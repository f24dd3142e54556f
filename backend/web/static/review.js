// The evidence viewer: the clip played in place with the track drawn over it, the vehicle box at the offence,
// the plate crop zoom, the signal timeline, the speed with its uncertainty, and confirm enabled only after the
// server says the evidence verifies and a plate is present (GET .../handoff answers 409 with the reasons if not).
// Keys: c confirm, r reject (reason), p correct plate, n next in the queue, z zoom the plate, space play/pause.
"use strict";
(function () {
  const get = (id) => document.getElementById(id);
  const viewer = get("viewer");
  const base = viewer.dataset.base;
  const confirmButton = get("confirm");
  function showError(reply) {
    const error = get("error");
    if (error) error.textContent = kuzetProblem(reply);
    const reasons = reply.data && reply.data.reasons;
    if (Array.isArray(reasons)) get("reasons").replaceChildren(...reasons.map((r) => {
      const li = document.createElement("li"); li.textContent = r; return li;
    }));
  }
  async function act(path, body) {
    const reply = await kuzetSend(base + path, "POST", body);
    if (reply.ok) { window.location.reload(); return; }
    showError(reply);
  }
  const on = (id, fn) => { const f = get(id); if (f) f.addEventListener("submit", (e) => { e.preventDefault(); fn(); }); };
  on("confirm-form", () => { if (!confirmButton.disabled) act("/confirm", {}); });
  on("reject-form", () => act("/reject", {reason: get("reason").value}));
  on("plate-form", () => act("/plate", {plate: get("plate-input").value}));

  function drawSignal(timeline) {
    const strip = get("signal-timeline");
    if (!Array.isArray(timeline) || timeline.length === 0) return;
    const items = timeline.map((s) => Array.isArray(s) ? {t: Number(s[0]), state: String(s[1])}
      : {t: Number(s.t ?? s.at ?? s.start ?? 0), state: String(s.state ?? s.color ?? "unknown")});
    const t0 = items[0].t, t1 = Math.max(items[items.length - 1].t, t0 + 1e-6);
    strip.replaceChildren(...items.map((s, i) => {
      const end = i + 1 < items.length ? items[i + 1].t : t1 + (t1 - t0) / Math.max(1, items.length - 1);
      const span = document.createElement("span");
      span.className = s.state; span.title = s.state;
      span.dataset.state = s.state;
      span.style.flexGrow = String(Math.max(end - s.t, 1e-3));
      return span;
    }));
    strip.hidden = false;
  }
  async function drawBox(data) {
    const track = (data.files || []).find((f) => f.role === "track");
    const box = get("vehicle-box");
    if (!track || !box) return;
    const reply = await fetch(base + "/media/" + track.sha256, {credentials: "same-origin"});
    if (!reply.ok) return;
    const samples = await reply.json();
    if (!samples.boxes_xyxy || !samples.t) return;
    const at = Date.parse(data.captured_at) / 1000;
    let best = 0;
    samples.t.forEach((t, i) => { if (Math.abs(t - at) < Math.abs(samples.t[best] - at)) best = i; });
    const [x1, y1, x2, y2] = samples.boxes_xyxy[best];
    box.setAttribute("x", x1); box.setAttribute("y", y1);
    box.setAttribute("width", x2 - x1); box.setAttribute("height", y2 - y1);
  }
  function showClip(media) {
    if (!media || !(media.clip || media.clip_annotated)) return;
    const video = get("clip");
    const choose = () => { video.src = (get("annotated").checked && media.clip_annotated) || media.clip || media.clip_annotated; };
    get("annotated").addEventListener("change", choose);
    choose();
    get("clip-stage").hidden = false; get("clip-choice").hidden = !(media.clip && media.clip_annotated);
    get("no-clip").hidden = true;
  }
  async function load() {
    const reply = await kuzetSend(base, "GET");
    if (!reply.ok) return;
    const data = reply.data, review = data.review || {};
    showClip(review.media);
    const speed = review.speed || {};
    if (speed.kmh !== undefined && speed.kmh !== null) {
      const sigma = speed.sigma_kmh !== undefined && speed.sigma_kmh !== null ? " ± " + Number(speed.sigma_kmh).toFixed(1) : "";
      get("speed").textContent = Number(speed.kmh).toFixed(1) + sigma + " " + get("t-kmh").textContent;
    }
    drawSignal((review.signal || {}).timeline);
    drawBox(data);
    if (viewer.dataset.state !== "queued") return;
    const check = await kuzetSend(base + "/handoff", "GET");
    const verified = !review.verification || review.verification.verified;
    get("confirm-wait").textContent = check.ok && verified ? get("t-ready").textContent : "";
    if (check.ok && verified) confirmButton.disabled = false; else showError(check);
  }
  load();
  async function next() {
    const reply = await kuzetSend("/api/v1/violations", "GET");
    const ids = reply.ok ? reply.data.map((v) => v.violation_id) : [];
    const after = ids[ids.indexOf(viewer.dataset.id) + 1] || ids.find((id) => id !== viewer.dataset.id);
    window.location = after ? "/review/" + after : "/review";
  }
  const crop = get("plate-crop");
  if (crop) crop.addEventListener("click", () => crop.classList.toggle("zoomed"));
  document.addEventListener("keydown", (ev) => {
    if (ev.target.closest && ev.target.closest("input, select, textarea")) return;
    if (ev.key === "c" && confirmButton && !confirmButton.disabled) { ev.preventDefault(); act("/confirm", {}); }
    else if (ev.key === "r" && get("reason")) { ev.preventDefault(); get("reason").focus(); }
    else if (ev.key === "p" && get("plate-input")) { ev.preventDefault(); get("plate-input").focus(); }
    else if (ev.key === "n") { ev.preventDefault(); next(); }
    else if (ev.key === "z" && crop) { ev.preventDefault(); crop.classList.toggle("zoomed"); }
    else if (ev.key === " " && !get("clip-stage").hidden) { ev.preventDefault(); const v = get("clip"); if (v.paused) v.play(); else v.pause(); }
    else if (ev.key === "Escape") { window.location = "/review"; }
  });
})();
