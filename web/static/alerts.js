// The alert list (web/templates/_alerts.html): the signed-in person's alerts, live, with an
// acknowledge button, and "enable browser notifications" (Web Push through /sw.js).
// Live alerts arrive as `alert` messages on the page's websocket, which common.js's LiveFeed
// re-dispatches as "bedfinder:message" events; the list is also reloaded every minute.
import { api, el, $ } from "./common.js";

const t = window.t || ((s, p) => s.replace(/\{(\w+)\}/g, (_, k) => p?.[k] ?? ""));
const RELOAD_MS = 60000;
const shown = new Map(); // alert id -> alert

const KIND_CLASS = {
  at_risk: "waitlist", lapsed: "full", bed_match: "open",
  referral_accepted: "open", referral_declined: "full",
};
// What the page says, in the page's language; the e-mail and push say the same in English.
const SAYS = {
  at_risk: (ref) => t("{ref}: at risk, no accepted referral or hold yet and the ready-by time is near", { ref }),
  lapsed: (ref) => t("{ref}: lapsed, the ready-by time passed without a landing", { ref }),
  bed_match: (ref) => t("{ref}: a bed matching the needs has opened", { ref }),
  referral_accepted: (ref) => t("{ref}: a referral was accepted", { ref }),
  referral_declined: (ref) => t("{ref}: a referral was declined", { ref }),
};
const LABEL = {
  at_risk: () => t("At risk"), lapsed: () => t("Lapsed"), bed_match: () => t("Bed match"),
  referral_accepted: () => t("Referral answered"), referral_declined: () => t("Referral answered"),
};
const WHY = {
  unanswered: () => t("Nobody acknowledged it in time."),
  unled: () => t("No connector has claimed it."),
};

function when(iso) {
  return t.date ? t.date(iso, { dateStyle: "medium", timeStyle: "short" })
    : new Date(iso).toLocaleString();
}

/** The transition on this site's page (the e-mail and push carry the public address). */
const href = (alert) => `/?transition=${encodeURIComponent(alert.transition_id)}`;

function sentence(alert) {
  const ref = alert.client_ref || t("(reference removed)");
  const says = SAYS[alert.kind] ? SAYS[alert.kind](ref) : alert.body;
  const why = WHY[alert.escalation_reason];
  return why ? `${says}. ${why()}` : `${says}.`;
}

function item(alert) {
  const ack = alert.acknowledged_at
    ? el("span", { class: "hint", text: t("Acknowledged") })
    : el("button", { type: "button", class: "ack", text: t("Acknowledge"),
                     "aria-label": t("Acknowledge the alert for {ref}", { ref: alert.client_ref || "" }),
                     onclick: (event) => acknowledge(alert, event.currentTarget) });
  const label = alert.escalation ? t("Escalation") : (LABEL[alert.kind] || (() => "!"))();
  return el("li", { class: `alert ${alert.acknowledged_at ? "done" : "new"}`, "data-id": String(alert.id),
                    "data-kind": alert.kind },
    el("span", { class: `status ${KIND_CLASS[alert.kind] || "waitlist"}`, text: label }),
    " ", el("a", { href: href(alert), text: sentence(alert) }),
    " ", el("time", { datetime: alert.created_at, text: when(alert.created_at) }),
    " ", ack);
}

function render() {
  const list = [...shown.values()].sort((a, b) => b.id - a.id);
  const open = list.filter((a) => !a.acknowledged_at).length;
  $("#alerts-list").replaceChildren(...list.map(item));
  $("#alerts-empty").hidden = list.length > 0;
  $("#alerts-count").textContent = open ? t("{n} new", { n: open }) : "";
}

async function acknowledge(alert, button) {
  button.disabled = true;
  try {
    shown.set(alert.id, await api(`/api/v1/alerts/${alert.id}/ack`, { method: "POST" }));
    render();
  } catch (error) {
    button.disabled = false;
    button.after(el("span", { class: "msg error", role: "alert", text: error.message }));
  }
}

async function load() {
  try {
    const alerts = await api("/api/v1/alerts");
    shown.clear();
    for (const a of alerts) shown.set(a.id, a);
    $("#alerts").hidden = false;
    render();
    setUpPush();
  } catch {
    // Not signed in yet, or not a role that gets alerts: stay hidden, try again later.
  }
}

function base64UrlToBytes(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

let pushReady = false;
async function setUpPush() {
  if (pushReady) return;
  pushReady = true;
  const state = $("#alerts-push-state");
  const button = $("#alerts-enable");
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    state.textContent = t("This browser cannot show notifications; alerts still arrive here and by e-mail.");
    return;
  }
  const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  const existing = await registration.pushManager.getSubscription();
  if (existing && Notification.permission === "granted") {
    await api("/api/v1/push/subscriptions", { method: "POST", json: existing.toJSON() });
    state.textContent = t("Browser notifications are on.");
    return;
  }
  button.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        state.textContent = t("Notifications were not allowed; you can allow them in the browser's site settings.");
        return;
      }
      const { public_key: key } = await api("/api/v1/push/public-key");
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: base64UrlToBytes(key) });
      await api("/api/v1/push/subscriptions", { method: "POST", json: subscription.toJSON() });
      button.hidden = true;
      state.textContent = t("Browser notifications are on.");
    } catch (error) {
      state.textContent = t("Notifications could not be turned on: {why}", { why: error.message });
    } finally {
      button.disabled = false;
    }
  });
}

document.addEventListener("bedfinder:message", (event) => {
  const message = event.detail;
  if (!message || message.type !== "alert" || !message.alert) return;
  shown.set(message.alert.id, message.alert);
  $("#alerts").hidden = false;
  render();
});

load();
setInterval(load, RELOAD_MS);
