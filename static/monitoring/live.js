/* Hearth's live pages: websockets push what the server pages show, so nothing needs a reload.
 * Every element enhanced here also works without JavaScript: progress and task pages poll
 * (htmx) or refresh, the log has a page of its own and a download. */
(function () {
  "use strict";

  function wsUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  /* A socket that opens again after a drop, with backoff. `path` is called at each (re)open
   * so the URL can carry where the last one stopped. */
  function keepOpen(path, handlers) {
    let delay = 500, socket = null, stopped = false;
    function open() {
      socket = new WebSocket(wsUrl(path()));
      socket.binaryType = "arraybuffer";
      socket.onopen = function () { delay = 500; if (handlers.open) handlers.open(socket); };
      socket.onmessage = function (event) { handlers.message(JSON.parse(event.data), socket); };
      socket.onclose = function (event) {
        if (handlers.close) handlers.close(event);
        if (stopped || event.code === 4403) return;  // refused: asking again will not help
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 10000);
      };
    }
    open();
    return {
      get live() { return socket !== null && socket.readyState === WebSocket.OPEN; },
      close() { stopped = true; if (socket) socket.close(); },
      socket() { return socket; },
    };
  }
  window.hearthKeepOpen = keepOpen;

  /* Polling stands down for an element whose socket is open; it resumes if the socket drops. */
  const liveElements = new Map();
  document.addEventListener("htmx:beforeRequest", function (event) {
    const elt = event.detail && event.detail.elt;
    const conn = elt && liveElements.get(elt.id);
    if (conn && conn.live && event.detail.requestConfig && event.detail.requestConfig.verb === "get") {
      event.preventDefault();
    }
  });

  async function replaceFragment(id, url) {
    const response = await fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
    const redirect = response.headers.get("HX-Redirect");
    if (redirect) { location.href = redirect; return; }
    const holder = document.createElement("div");
    holder.innerHTML = (await response.text()).trim();
    const fresh = holder.querySelector("#" + id);
    const current = document.getElementById(id);
    if (fresh && current) {
      current.replaceWith(fresh);
      if (window.htmx) window.htmx.process(fresh);
    }
  }

  // App page: task progress and health -------------------------------------------------
  function liveAppStatus(section) {
    const url = section.dataset.progressUrl;
    const refresh = function () { return replaceFragment("app-status", url); };
    const conn = keepOpen(function () { return section.dataset.ws; }, {
      open: refresh,  // catch up with whatever happened before the socket was open
      message: function (msg) {
        if (msg.health !== undefined) {
          const badge = document.getElementById("app-health");
          if (badge) { badge.textContent = msg.health; badge.className = "health health-" + msg.health; }
          return;
        }
        const bar = document.getElementById("task-progress");
        if (bar && msg.percent !== undefined) {
          bar.value = msg.percent;
          bar.textContent = msg.percent + "%";
          const percent = document.querySelector("#app-status .percent");
          if (percent) percent.textContent = msg.percent + "%";
          const label = document.querySelector("#app-status label[for=task-progress]");
          if (label && msg.message) label.textContent = label.textContent.split(":")[0] + ": " + msg.message;
        }
        if (!bar || ["succeeded", "failed", "cancelled"].indexOf(msg.state) !== -1) refresh();
      },
    });
    liveElements.set("app-status", conn);
  }

  // Task page: state, percent and the log, resumed from the last offset -----------------
  function liveTask(section) {
    let offset = parseInt(section.dataset.offset || "0", 10);
    const log = section.querySelector(".log");
    const conn = keepOpen(function () { return section.dataset.ws + "?offset=" + offset; }, {
      open: function () { section.dataset.live = "true"; },
      close: function () { section.dataset.live = "false"; },
      message: function (msg) {
        if (msg.log) log.textContent += msg.log;
        offset = msg.offset;
        const bar = section.querySelector("progress");
        if (bar) { bar.value = msg.percent; bar.textContent = msg.percent + "%"; }
        const state = section.querySelector(".task-state");
        if (state) state.textContent = msg.state + " · " + msg.percent + "%";
        if (msg.error) {
          const error = section.querySelector(".task-error");
          if (error) { error.textContent = msg.error; error.hidden = false; }
        }
        if (!msg.active) {
          const cancel = section.querySelector(".cancel-task");
          if (cancel) cancel.remove();
          section.removeAttribute("hx-trigger");
          conn.close();
        }
      },
    });
    liveElements.set(section.id, conn);
  }

  // App log: follow/pause, filter, resume after a drop from the last line's timestamp ----
  const MAX_LINES = 5000;
  function liveLog(box) {
    const view = box.querySelector(".log");
    const followButton = box.querySelector("[data-log-follow]");
    const filterInput = box.querySelector("[data-log-filter]");
    const status = box.querySelector(".log-status");
    let lastTs = "", following = true, filter = "";
    const offsets = {};  // logPaths files: byte offset of the last whole line received
    const held = [];

    function matches(text) { return !filter || text.toLowerCase().indexOf(filter) !== -1; }
    function label(line) { return line.file ? "[" + line.file + "] " + line.text : line.text; }
    function show(rows) {
      const fragment = document.createDocumentFragment();
      rows.forEach(function (row) { fragment.appendChild(row); });
      view.appendChild(fragment);
      while (view.childElementCount > MAX_LINES) view.removeChild(view.firstElementChild);
      view.scrollTop = view.scrollHeight;
    }
    function row(line) {
      const div = document.createElement("div");
      div.className = "line";
      if (line.ts) { div.dataset.ts = line.ts; div.title = line.ts; }
      div.textContent = label(line);
      div.hidden = !matches(div.textContent);
      return div;
    }
    keepOpen(function () {
      const query = [];
      if (lastTs) query.push("after=" + encodeURIComponent(lastTs));
      if (Object.keys(offsets).length) query.push("offsets=" + encodeURIComponent(JSON.stringify(offsets)));
      return box.dataset.ws + (query.length ? "?" + query.join("&") : "");
    }, {
      open: function () { if (status) status.textContent = "live"; },
      close: function (event) {
        if (status) status.textContent = event.code === 4403 ? "not available to you" : "reconnecting…";
      },
      message: function (msg) {
        if (msg.status && status) { status.textContent = msg.status; return; }
        if (!msg.lines) return;
        if (msg.file) offsets[msg.file] = msg.offset;
        if (status) status.textContent = "live";
        const rows = msg.lines.map(function (line) { if (line.ts) lastTs = line.ts; return row(line); });
        if (following) show(rows);
        else {
          Array.prototype.push.apply(held, rows);
          followButton.textContent = "Follow (" + held.length + " new)";
        }
      },
    });
    if (followButton) followButton.addEventListener("click", function () {
      following = !following;
      followButton.setAttribute("aria-pressed", String(following));
      followButton.textContent = following ? "Pause" : "Follow";
      if (following) show(held.splice(0));
    });
    if (filterInput) filterInput.addEventListener("input", function () {
      filter = filterInput.value.toLowerCase();
      view.querySelectorAll(".line").forEach(function (line) { line.hidden = !matches(line.textContent); });
    });
  }

  // Top bar: the unread count ---------------------------------------------------------
  function liveBadge(link) {
    keepOpen(function () { return link.dataset.ws; }, {
      message: function (msg) {
        const badge = link.querySelector(".badge");
        badge.textContent = msg.unread;
        badge.hidden = !msg.unread;
      },
    });
  }

  // Times in the reader's own time zone: the server renders them in the zone of a cookie
  // (panel.monitoring.timezones); this tells it the browser's. A zone picked on the time zone
  // page wins over it. --------------------------------------------------------------------
  function rememberTimeZone() {
    let zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (error) { return; }
    const cookie = "hearth_browser_tz=";
    const current = document.cookie.split("; ").find(function (c) { return c.indexOf(cookie) === 0; });
    if (!zone || (current && decodeURIComponent(current.slice(cookie.length)) === zone)) return;
    document.cookie = cookie + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  }

  // App list: fetched again when an app's health changes (busy apps are polled anyway) ---
  function liveAppList(list) {
    keepOpen(function () { return list.dataset.ws; }, {
      message: function () { replaceFragment("app-list", list.dataset.url); },
    });
  }

  function start() {
    rememberTimeZone();
    const list = document.getElementById("app-list");
    if (list && list.dataset.ws) liveAppList(list);
    const status = document.getElementById("app-status");
    if (status && status.dataset.ws) liveAppStatus(status);
    const task = document.getElementById("task-live");
    if (task && task.dataset.ws && task.dataset.active === "true") liveTask(task);
    document.querySelectorAll("[data-live-log]").forEach(liveLog);
    const badge = document.getElementById("notification-link");
    if (badge && badge.dataset.ws) liveBadge(badge);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
