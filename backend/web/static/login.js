"use strict";
function home(who) {
  if (who.role === "guardian") return "/parents";
  if (who.role === "operator") return "/review";
  return "/schools/" + encodeURIComponent(who.school_id) + "/dashboard";
}
document.getElementById("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = {username: document.getElementById("username").value, password: document.getElementById("password").value};
  const reply = await kuzetSend("/api/v1/auth/login", "POST", body);
  if (!reply.ok) { document.getElementById("error").textContent = kuzetProblem(reply); return; }
  window.location = home(reply.data);
});
