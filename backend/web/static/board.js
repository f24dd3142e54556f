// The staff board stays live through Server-Sent Events: the server sends the rendered board when it changes.
"use strict";
(function () {
  const board = document.getElementById("board");
  const live = document.getElementById("live");
  const source = new EventSource(board.dataset.stream);
  source.addEventListener("board", (event) => {
    board.innerHTML = JSON.parse(event.data);
    live.textContent = live.dataset.live + " · " + live.dataset.updated + " " + new Date().toLocaleTimeString(document.documentElement.lang);
    live.className = "ok";
  });
  source.addEventListener("error", () => { live.textContent = live.dataset.offline; live.className = "alert"; });
})();
