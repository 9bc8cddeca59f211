/* The web terminal: xterm.js (from npm) on a websocket to `docker exec` with a TTY. */
(function () {
  "use strict";
  const box = document.getElementById("terminal");
  if (!box) return;
  const term = new Terminal({ cursorBlink: true, fontSize: 14 });
  term.open(box);
  const socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + box.dataset.ws);
  socket.binaryType = "arraybuffer";
  socket.onmessage = function (event) {
    term.write(typeof event.data === "string" ? event.data : new Uint8Array(event.data));
  };
  socket.onclose = function () { term.write("\r\n[session closed]\r\n"); };
  socket.onopen = function () {
    socket.send(JSON.stringify({ resize: [term.rows, term.cols] }));
    term.focus();
  };
  term.onData(function (data) { if (socket.readyState === WebSocket.OPEN) socket.send(data); });
  // Documented commands: with the shell open, the server types the named command into it (and
  // logs it); otherwise the form posts and the command runs without a shell.
  document.querySelectorAll("form.run-command").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (socket.readyState !== WebSocket.OPEN) return;
      event.preventDefault();
      socket.send(JSON.stringify({ run: form.dataset.command }));
      term.focus();
    });
  });
})();
