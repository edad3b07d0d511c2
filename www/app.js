// The wsrelay test page: one WebSocket to the relay on this page's own origin.
"use strict";

(() => {
  const MAX_LOG_ENTRIES = 500; // older entries go, so a busy relay cannot eat the tab
  const MAX_PENDING_ECHOES = 1000; // with echo_to_sender off, echoes never come
  const BACKOFF_FIRST_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  const PREVIEW_BYTES = 64;
  const PREVIEW_CHARS = 300; // a long message would bury the rest of the log

  const CLOSE_CODES = {
    1000: "normal closure",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1005: "no status code",
    1006: "connection lost",
    1007: "invalid data",
    1008: "policy violation",
    1009: "message too big",
    1011: "server error",
  };

  const $ = (id) => document.getElementById(id);
  const el = {
    connectForm: $("connect-form"),
    path: $("ws-path"),
    token: $("ws-token"),
    url: $("ws-url"),
    connect: $("connect"),
    disconnect: $("disconnect"),
    status: $("status"),
    autoReconnect: $("auto-reconnect"),
    reconnectInfo: $("reconnect-info"),
    sendForm: $("send-form"),
    message: $("message"),
    send: $("send"),
    modeBinary: $("mode-binary"),
    autoscroll: $("autoscroll"),
    clear: $("clear"),
    log: $("log"),
    sent: $("stat-sent"),
    received: $("stat-received"),
    echoes: $("stat-echoes"),
    rtt: $("stat-rtt"),
    rttAvg: $("stat-rtt-avg"),
  };

  const encoder = new TextEncoder();
  const strictDecoder = new TextDecoder("utf-8", { fatal: true });

  let ws = null;
  let reconnectTimer = null;
  let countdownTimer = null;
  let attempts = 0; // failed or dropped connections since the last open one
  const stats = { sent: 0, received: 0, echoes: 0, rttTotal: 0 };
  // Our messages not yet echoed, oldest first. The relay keeps each
  // sender's order, so our next echo can only be the oldest of them.
  let pending = [];

  // With shown true the token is masked: the URL is displayed, and a token
  // must not end up on a screen or in a screenshot.
  function wsUrl(shown) {
    let path = el.path.value.trim() || "/ws";
    if (!path.startsWith("/")) path = "/" + path;
    const token = el.token.value.trim();
    if (token) {
      path += (path.includes("?") ? "&" : "?") + "access_token=" +
        (shown ? "***" : encodeURIComponent(token));
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + location.host + path;
  }

  function setStatus(state, text) {
    el.status.dataset.state = state;
    el.status.textContent = text;
    const open = state === "open";
    el.send.disabled = !open;
    el.disconnect.disabled = state !== "open" && state !== "connecting";
  }

  function clock() {
    const d = new Date();
    const pad = (n, w) => String(n).padStart(w, "0");
    return pad(d.getHours(), 2) + ":" + pad(d.getMinutes(), 2) + ":" + pad(d.getSeconds(), 2) +
      "." + pad(d.getMilliseconds(), 3);
  }

  // direction: "sent", "received" or "info"; note: extra words, e.g. the RTT.
  function addEntry(direction, kind, body, note) {
    const item = document.createElement("li");
    item.className = "entry " + direction;
    const time = document.createElement("time");
    time.dateTime = new Date().toISOString();
    time.textContent = clock();
    const dir = document.createElement("span");
    dir.className = "direction";
    dir.textContent = direction === "sent" ? "→ sent" : direction === "received" ? "← received" : "•";
    item.append(time, " ", dir, " ");
    if (kind) {
      const badge = document.createElement("span");
      badge.className = "kind";
      badge.textContent = kind;
      item.append(badge, " ");
    }
    const text = document.createElement("span");
    text.className = "body";
    text.textContent = body.length > PREVIEW_CHARS
      ? body.slice(0, PREVIEW_CHARS) + " … (" + body.length + " characters in all)"
      : body;
    item.append(text);
    if (note) {
      const extra = document.createElement("span");
      extra.className = "note";
      extra.textContent = " (" + note + ")";
      item.append(extra);
    }
    el.log.append(item);
    while (el.log.childElementCount > MAX_LOG_ENTRIES) el.log.firstElementChild.remove();
    if (el.autoscroll.checked) el.log.scrollTop = el.log.scrollHeight;
  }

  function hex(bytes) {
    const shown = Array.from(bytes.subarray(0, PREVIEW_BYTES), (b) => b.toString(16).padStart(2, "0"));
    return shown.join(" ") + (bytes.length > PREVIEW_BYTES ? " …" : "");
  }

  function describeBinary(bytes) {
    let text = bytes.length + " bytes: " + hex(bytes);
    try {
      text += ' = "' + strictDecoder.decode(bytes) + '"';
    } catch {
      // not UTF-8: the hex says it all
    }
    return text;
  }

  function sameBytes(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function formatMs(ms) {
    return (ms < 10 ? ms.toFixed(1) : Math.round(ms)) + " ms";
  }

  function renderStats() {
    el.sent.textContent = String(stats.sent);
    el.received.textContent = String(stats.received);
    el.echoes.textContent = String(stats.echoes);
    el.rttAvg.textContent = stats.echoes ? formatMs(stats.rttTotal / stats.echoes) : "–";
  }

  // Returns the round trip in ms if data is the echo of our oldest pending send.
  function takeEcho(isText, data) {
    const head = pending[0];
    if (!head || head.isText !== isText) return null;
    const match = isText ? head.data === data : sameBytes(head.data, data);
    if (!match) return null;
    pending.shift();
    return performance.now() - head.at;
  }

  function onMessage(event) {
    const isText = typeof event.data === "string";
    const data = isText ? event.data : new Uint8Array(event.data);
    stats.received++;
    const rtt = takeEcho(isText, data);
    let note = "";
    if (rtt !== null) {
      stats.echoes++;
      stats.rttTotal += rtt;
      el.rtt.textContent = formatMs(rtt);
      note = "echo after " + formatMs(rtt);
    }
    addEntry("received", isText ? "text" : "binary", isText ? data : describeBinary(data), note);
    renderStats();
  }

  function describeClose(event) {
    const name = CLOSE_CODES[event.code] || "";
    const reason = event.reason && event.reason !== name ? ": " + event.reason : "";
    return "closed (" + event.code + (name ? " " + name : "") + reason + ")";
  }

  function stopReconnect() {
    clearTimeout(reconnectTimer);
    clearInterval(countdownTimer);
    reconnectTimer = countdownTimer = null;
    el.reconnectInfo.textContent = "";
  }

  function scheduleReconnect() {
    // Exponential backoff with jitter, so a restarted relay is not hit by
    // every page at the same instant.
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempts);
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    attempts++;
    const due = Date.now() + delay;
    const show = () => {
      const left = Math.max(0, Math.ceil((due - Date.now()) / 1000));
      el.reconnectInfo.textContent = "reconnecting in " + left + " s (attempt " + attempts + ")";
    };
    show();
    countdownTimer = setInterval(show, 1000);
    reconnectTimer = setTimeout(() => {
      stopReconnect();
      connect();
    }, delay);
  }

  function connect() {
    stopReconnect();
    if (ws) {
      // Replacing a live socket: detach it first so its close event does
      // not schedule a reconnect of its own.
      const old = ws;
      old.onopen = old.onmessage = old.onclose = old.onerror = null;
      old.close(1000, "reconnecting");
    }
    pending = [];
    const url = wsUrl(true);
    el.url.textContent = url;
    setStatus("connecting", "connecting to " + url + " …");
    let socket;
    try {
      socket = new WebSocket(wsUrl(false));
    } catch (err) {
      // Only a malformed URL throws here; connection failures arrive as close events.
      ws = null;
      setStatus("closed", "cannot connect: " + err.message);
      return;
    }
    socket.binaryType = "arraybuffer";
    ws = socket;
    socket.onopen = () => {
      socket.opened = true;
      attempts = 0;
      setStatus("open", "open");
      addEntry("info", "", "connected to " + url);
    };
    socket.onmessage = onMessage;
    socket.onclose = (event) => {
      ws = null;
      pending = [];
      // The relay's close reply carries no reason, so say who closed.
      let text = describeClose(event) + (socket.closedByUser ? ": you disconnected" : "");
      // A browser never shows a WebSocket's HTTP refusal (only 1006), so
      // say what a refusal before the upgrade usually means.
      if (!socket.opened && !socket.closedByUser) {
        text += el.token.value.trim()
          ? ": refused before opening; the token may be invalid or expired (HTTP 401)," +
            " or not allowed here (403)"
          : ": refused before opening; if this relay requires a token (HTTP 401)," +
            " paste one in the Token field";
      }
      setStatus("closed", text);
      addEntry("info", "", text);
      if (el.autoReconnect.checked && !socket.closedByUser) scheduleReconnect();
    };
  }

  function disconnect() {
    stopReconnect();
    if (ws) {
      ws.closedByUser = true;
      ws.close(1000, "closed by the user");
      setStatus("closing", "closing …");
    }
  }

  function send(event) {
    event.preventDefault();
    const text = el.message.value;
    if (!text || !ws || ws.readyState !== WebSocket.OPEN) return;
    const binary = el.modeBinary.checked;
    const data = binary ? encoder.encode(text) : text;
    ws.send(data);
    stats.sent++;
    pending.push({ isText: !binary, data, at: performance.now() });
    if (pending.length > MAX_PENDING_ECHOES) pending.shift();
    addEntry("sent", binary ? "binary" : "text", binary ? describeBinary(data) : text);
    renderStats();
    el.message.value = "";
    el.message.focus();
  }

  el.connectForm.addEventListener("submit", (event) => {
    event.preventDefault();
    attempts = 0;
    connect();
  });
  el.path.addEventListener("input", () => {
    el.url.textContent = wsUrl();
  });
  el.disconnect.addEventListener("click", disconnect);
  // Switching it on applies to the next drop; Connect reconnects now.
  el.autoReconnect.addEventListener("change", () => {
    if (!el.autoReconnect.checked) stopReconnect();
  });
  el.sendForm.addEventListener("submit", send);
  el.clear.addEventListener("click", () => {
    el.log.replaceChildren();
  });

  el.url.textContent = wsUrl();
  renderStats();
  connect();
})();
