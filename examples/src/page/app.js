// The page's live part: a WebSocket on this page's session (GET /live). It updates the
// visit counter, counts visits over the socket, pings now and then (activity keeps the
// session alive), and says so when the session ends (close code 4401).
(() => {
  const status = document.getElementById("live");
  if (!status) return;
  const visits = document.getElementById("visits");
  const button = document.getElementById("live-visit");
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + "/live");
  socket.onopen = () => {
    status.textContent = "Live: this page follows your session.";
    status.dataset.state = "open";
    button.disabled = false;
  };
  socket.onmessage = (event) => {
    let view;
    try {
      view = JSON.parse(event.data);
    } catch {
      return; // "pong"
    }
    if (typeof view.visits === "number") visits.textContent = String(view.visits);
    if (view.error) status.textContent = view.error;
  };
  socket.onclose = (event) => {
    button.disabled = true;
    if (event.code === 4401) {
      status.textContent = "Your session ended: you were logged out on another device. Log in again.";
      status.dataset.state = "ended";
      for (const element of document.querySelectorAll("button")) element.disabled = true;
    } else {
      status.textContent = "Live updates stopped: reload the page.";
      status.dataset.state = "closed";
    }
  };
  button.addEventListener("click", () => socket.send("visit"));
  setInterval(() => {
    if (socket.readyState === WebSocket.OPEN) socket.send("ping");
  }, 20000);
})();
