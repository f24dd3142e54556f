"use strict";
for (const button of document.querySelectorAll("button.withdraw")) {
  button.addEventListener("click", async () => {
    const url = "/api/v1/parents/children/" + encodeURIComponent(button.dataset.pupil) + "/consent/withdraw";
    const reply = await kuzetSend(url, "POST");
    if (reply.ok) window.location.reload();
    else document.getElementById("error").textContent = kuzetProblem(reply);
  });
}
document.getElementById("preferences").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = {channel: document.getElementById("channel").value, address: document.getElementById("address").value,
                language: document.getElementById("msg-language").value};
  const reply = await kuzetSend("/api/v1/parents/preferences", "PUT", body);
  if (!reply.ok) { document.getElementById("error").textContent = kuzetProblem(reply); return; }
  if (body.language !== document.documentElement.lang) { window.location.reload(); return; }
  document.getElementById("preferences-status").textContent = document.getElementById("saved-text").textContent;
});
