// Every page: the language switch (remembered with the account, and in a cookie for the login page) and log out.
"use strict";
async function kuzetSend(url, method, body) {
  const init = {method, credentials: "same-origin", headers: {}};
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  const r = await fetch(url, init);
  let data = null;
  const type = r.headers.get("content-type") || "";
  if (type.includes("json")) data = await r.json();
  return {ok: r.ok, status: r.status, data};
}
function kuzetProblem(reply) {
  return (reply.data && (reply.data.detail || reply.data.title)) || String(reply.status);
}
for (const button of document.querySelectorAll("button.lang")) {
  button.addEventListener("click", async () => {
    const reply = await kuzetSend("/api/v1/me/language", "POST", {language: button.dataset.lang});
    if (reply.ok) window.location.reload();
  });
}
const kuzetLogout = document.getElementById("logout");
if (kuzetLogout) kuzetLogout.addEventListener("click", async () => {
  await kuzetSend("/api/v1/auth/logout", "POST");
  window.location = "/login";
});
