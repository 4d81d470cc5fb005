// Shared by every page: the session's token, API calls, the live feed, small DOM helpers.
// The token lives in sessionStorage (this tab only) and never goes into a page address.

export const config = JSON.parse(document.body.dataset.config || "{}");
const KEY = "bedfinder.token";

/** A token given once in the address (?token= or #token=) is kept and removed from it. */
export function takeTokenFromAddress() {
  const url = new URL(location.href);
  const hash = new URLSearchParams(url.hash.replace(/^#/, ""));
  const given = url.searchParams.get("token") || hash.get("token");
  if (!given) return;
  sessionStorage.setItem(KEY, given.trim());
  url.searchParams.delete("token");
  hash.delete("token");
  url.hash = hash.toString();
  history.replaceState(null, "", url.pathname + url.search + url.hash);
}

export const getToken = () => sessionStorage.getItem(KEY);
/** A signed-in person's CSRF token (the readable half of the session; web/web_sessions.py). */
export const csrfToken = () =>
  (document.cookie.split("; ").find((c) => c.startsWith("bf_csrf=")) || "").slice(8);
export const setToken = (t) => sessionStorage.setItem(KEY, t.trim());
export const clearToken = () => sessionStorage.removeItem(KEY);

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** The server's error in words: FastAPI gives a string or a list of field errors. */
export function detailText(body, status) {
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((e) => {
      const where = (e.loc || []).filter((x) => x !== "body" && x !== "query").join(".");
      return where ? `${where}: ${e.msg}` : e.msg;
    }).join("; ");
  }
  return t("the server answered {status}", { status });
}

export async function api(path, { method = "GET", json, form } = {}) {
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  else if (method !== "GET" && csrfToken()) headers["X-CSRF-Token"] = csrfToken();
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, cache: "no-store" });
  } catch (error) {
    throw new ApiError("cannot reach the server; check the connection and try again", 0, null);
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!response.ok) throw new ApiError(detailText(data, response.status), response.status, data);
  return data;
}

/** Build an element: el("p", {class: "x", text: "hi"}, child, ...). Text is never parsed as
 * HTML, so names from the directory cannot inject markup. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** The words of `timeAgo`, in the page's current language (the wall display rotates). */
export const agoWords = () => ({
  never: t("never updated"), now: t("updated just now"),
  min: (n) => t("updated {n} min ago", { n: t.number(n) }),
  hour: (n) => t("updated {n} h ago", { n: t.number(n) }),
  day: (n) => t.n("updated {count} day ago", "updated {count} days ago", n),
});

/** "updated 12 min ago": every count shows its age. */
export function timeAgo(iso, words = agoWords(), now = Date.now()) {
  if (!iso) return words.never;
  const minutes = Math.max(0, Math.floor((now - Date.parse(iso)) / 60000));
  if (minutes < 1) return words.now;
  if (minutes < 120) return words.min(minutes);
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return words.hour(hours);
  return words.day(Math.floor(hours / 24));
}

export function untilText(iso, now = Date.now()) {
  const seconds = Math.max(0, Math.round((Date.parse(iso) - now) / 1000));
  const m = Math.floor(seconds / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return seconds <= 0 ? t("expired") : t("{time} left", { time: `${m}:${s}` });
}

/** "in 3 h 59 min": time left in words, for deadlines longer than a countdown suits. */
export function inWords(iso, now = Date.now()) {
  const minutes = Math.round((Date.parse(iso) - now) / 60000);
  if (minutes <= 0) return t("now");
  if (minutes < 60) return t("in {minutes} min", { minutes: t.number(minutes) });
  const h = Math.floor(minutes / 60);
  return minutes % 60 ? t("in {hours} h {minutes} min", { hours: t.number(h), minutes: t.number(minutes % 60) })
    : t("in {hours} h", { hours: t.number(h) });
}

export function levelName(key) {
  return (config.levels && config.levels[key]) || key.replaceAll("_", " ");
}

export function statusWord(status) {
  return { open: t("Open"), full: t("Full"), waitlist: t("Waitlist"), closed: t("Closed") }[status] || status;
}

/** The connection badge: colour and words, never colour alone. */
export function setConnection(state, text) {
  document.documentElement.dataset.live = state === "live" ? "yes" : "no";
  const badge = $("#conn");
  if (!badge) return;
  badge.dataset.state = state;
  $("#conn-text").textContent = text;
}

/** Briefly mark a changed element (class removed after the animation). */
export function flash(node) {
  node.classList.remove("changed");
  void node.offsetWidth;
  node.classList.add("changed");
  setTimeout(() => node.classList.remove("changed"), 2500);
}

/**
 * The live feed (/ws/inventory): a snapshot or the missed changes first, then one message per
 * change. Reconnects with backoff and resumes from the last seq; a unit message older than one
 * already applied for that unit is ignored, so a number never goes back in time.
 *
 * Never silently stale: each heartbeat says the last seq the server knows from Redis
 * (`latest`). If this feed's last seq is still below the `latest` of the heartbeat before
 * (the server's reader is down, stuck or lagging), if a heartbeat says Redis cannot be
 * asked (`latest: null`), or if two heartbeats are missed, the feed is broken: the state
 * becomes "stale" (with `detail.since`, when it was last known current) and the socket is
 * closed so it reconnects with `after=`. While stale, `onState("stale", ...)` repeats every
 * second so the page's "last change N min ago" stays true.
 */
export class LiveFeed {
  constructor({ onSnapshot = () => {}, onUnit = () => {}, onMessage = () => {},
                onState = () => {} } = {}) {
    Object.assign(this, { onSnapshot, onUnit, onMessage, onState });
    this.lastSeq = null;
    this.unitSeq = new Map();
    this.attempts = 0;
    this.socket = null;
    this.stopped = false;
    this.watchdog = null;
    this.lastHeard = Date.now();
    this.currentAt = null; // when this feed was last known to have every change
    this.expected = null; // the previous heartbeat's `latest`
    this.live = false;
  }

  start() {
    this.stopped = false;
    this.connect();
    const beat = (config.heartbeat_seconds || 15) * 1000;
    this.watchdog = setInterval(() => {
      if (this.socket && this.socket.readyState === WebSocket.OPEN
          && Date.now() - this.lastHeard > beat * 2 + 1000) this.broken();
      if (!this.live && this.currentAt !== null) this.showStale();
    }, 1000);
  }

  stop() {
    this.stopped = true;
    clearInterval(this.watchdog);
    if (this.socket) this.socket.close();
  }

  url() {
    const params = new URLSearchParams();
    const token = getToken();
    if (token) params.set("token", token);
    if (this.lastSeq !== null) params.set("after", String(this.lastSeq));
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${location.host}/ws/inventory?${params}`;
  }

  showStale() {
    this.onState("stale", { since: this.currentAt });
  }

  /** Not live any more: say so, and reconnect (the close handler does) with `after=`. */
  broken() {
    if (this.live) this.currentAt = this.currentAt ?? Date.now();
    this.live = false;
    if (this.currentAt !== null) this.showStale();
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) this.socket.close();
  }

  connect() {
    if (this.currentAt !== null) this.showStale();
    else this.onState(this.attempts ? "reconnecting" : "connecting");
    this.expected = null;
    this.lastHeard = Date.now();
    const socket = new WebSocket(this.url());
    this.socket = socket;
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket || this.stopped) return;
      if (event.code === 1008) {
        // Final: no reconnecting, and the watchdog must not turn this into "stale".
        this.live = false;
        this.stopped = true;
        clearInterval(this.watchdog);
        this.onState("denied", event.reason);
        return;
      }
      if (this.live) this.currentAt = Date.now();
      this.live = false;
      this.attempts += 1;
      const delay = Math.min(15000, 400 * 2 ** Math.min(this.attempts, 6));
      if (this.currentAt !== null) this.showStale();
      else this.onState("reconnecting");
      setTimeout(() => this.connect(), delay * (0.75 + Math.random() / 2));
    });
  }

  fresher(unit) {
    const known = this.unitSeq.get(unit.id);
    if (known !== undefined && unit.seq < known) return false;
    this.unitSeq.set(unit.id, unit.seq);
    return true;
  }

  /** A heartbeat: is this feed still current? */
  checkHeartbeat(message) {
    const behind = this.expected !== null && (this.lastSeq ?? 0) < this.expected;
    if (message.latest === null || message.latest === undefined || behind) {
      this.broken();
      return;
    }
    this.expected = message.latest;
    if ((this.lastSeq ?? 0) >= message.latest) this.current();
  }

  current() {
    this.currentAt = Date.now();
    if (!this.live) {
      this.attempts = 0;
      this.live = true;
      this.onState("live");
    }
  }

  receive(raw) {
    this.lastHeard = Date.now();
    let message;
    try { message = JSON.parse(raw); } catch { return; }
    if (message.type === "heartbeat") {
      this.checkHeartbeat(message);
    } else if (message.type === "snapshot") {
      this.lastSeq = message.seq;
      this.current();
      this.onSnapshot(message.units.filter((u) => this.fresher(u)), message);
    } else if (message.type === "unit") {
      this.lastSeq = Math.max(this.lastSeq || 0, message.seq);
      if (!this.live && this.expected === null) this.current(); // a resumed backlog
      if (this.fresher(message.unit)) this.onUnit(message.unit, message);
    } else {
      this.onMessage(message);
      // Parts of the page with no feed of their own (alerts.js) listen for these.
      document.dispatchEvent(new CustomEvent("bedfinder:message", { detail: message }));
    }
  }
}

const stateWords = () => ({
  connecting: t("Connecting…"), live: t("Live"), reconnecting: t("Reconnecting…"),
  denied: t("Not allowed: sign in again"),
});

/** "12 min ago", "just now": how long since `since` (ms), for the "Not live" words. */
export function sinceWords(since, now = Date.now()) {
  const minutes = Math.max(0, Math.floor((now - since) / 60000));
  if (minutes < 1) return t("less than a minute ago");
  if (minutes < 120) return t("{n} min ago", { n: t.number(minutes) });
  return t("{n} h ago", { n: t.number(Math.floor(minutes / 60)) });
}

/** The words for a feed state; "stale" reads "Not live: last change 12 min ago, reconnecting". */
export function connectionWords(state, detail) {
  if (state === "stale") {
    const since = detail && detail.since;
    return t("Not live: last change {ago}, reconnecting", { ago: since ? sinceWords(since) : t("unknown") });
  }
  return stateWords()[state] || state;
}

/**
 * Sign in once per tab. Resolves with the token's identity (GET /api/v1/me) when it has one of
 * `roles`, or with the public identity when `anonymous` is allowed and public reading is on.
 */
export function signIn({ roles, anonymous = false }) {
  takeTokenFromAddress();
  const section = $("#signin");
  const form = $("#signin-form");
  const error = $("#signin-error");
  const signout = $("#signout");
  if (signout) {
    signout.addEventListener("click", () => {
      clearToken();
      if (!csrfToken()) {
        location.reload();
        return;
      }
      // The answer names where to go next: the provider's sign-out, or /signed-out.
      fetch("/logout", { method: "POST", headers: { "X-CSRF-Token": csrfToken(),
                                                    Accept: "application/json" } })
        .then((r) => r.json()).then((body) => { location.href = body.redirect || "/signed-out"; })
        .catch(() => { location.href = "/signed-out"; });
    });
  }
  return new Promise((resolve) => {
    const attempt = async () => {
      let me;
      try {
        me = await api("/api/v1/me");
      } catch (failure) {
        if (getToken()) {
          clearToken();
          error.textContent = t("Sign-in failed: {reason}", { reason: failure.message });
        }
        section.hidden = false;
        $("#signin-token").focus();
        return;
      }
      if (me.role === "public" && !anonymous) {
        section.hidden = false;
        return;
      }
      if (me.role !== "public" && !roles.includes(me.role)) {
        clearToken();
        error.textContent = t("This page needs a {roles} token; that one is a {role} token.",
                              { roles: roles.join(" / "), role: me.role });
        section.hidden = false;
        return;
      }
      section.hidden = true;
      const who = $("#who");
      if (who) who.textContent = me.role === "public" ? t("Public view") : t("Signed in: {who}", { who: me.label || me.role });
      if (signout && me.role !== "public") signout.hidden = false;
      $("#app").hidden = false;
      resolve(me);
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      error.textContent = "";
      const value = $("#signin-token").value.trim();
      if (!value) {
        error.textContent = t("Enter the access token you were given.");
        return;
      }
      setToken(value);
      $("#signin-token").value = "";
      attempt();
    });
    attempt();
  });
}

const HOLD_ENDING = new Set(["admit", "release", "expire"]);

/** Follows holds beginning and ending on the websocket. The live state changes before the
 * hold's record is written, so the list drops an ended hold at once and `reload`s from the
 * records a moment later. Returns a function (message, holds) -> the holds to keep. */
export function holdTracker(reload) {
  let timer = null;
  return (message, holds) => {
    let kept = holds;
    if (HOLD_ENDING.has(message.op) && holds.some((h) => h.id === message.hold_id)) {
      kept = holds.filter((h) => h.id !== message.hold_id);
      document.querySelector(`[data-hold="${CSS.escape(message.hold_id)}"]`)?.remove();
      $("#holds-empty").hidden = kept.length > 0;
    }
    clearTimeout(timer);
    timer = setTimeout(reload, 800);
    return kept;
  };
}
