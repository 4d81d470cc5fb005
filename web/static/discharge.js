// Provider page: mark a client discharge-pending from one of our programs, and follow the
// ones we marked (their transitions' status arrives live as `transition_event` messages,
// relayed by provider.js as a `bedfinder:transition` document event).
import { $, api, el, flash } from "./common.js";

const t = window.t || ((s, p) => s.replace(/\{(\w+)\}/g, (_, k) => p?.[k] ?? ""));

let programs = [];

function statusText(tr) {
  if (tr.status === "open" && !tr.claimed) return t("Waiting for a connector");
  if (tr.status === "open" && tr.hold_id) return t("Bed held");
  if (tr.status === "open") return t("A connector is finding a bed");
  if (tr.status === "placed") return t("Admitted");
  if (tr.status === "lapsed") return t("Lapsed: no landing yet");
  return t("Cancelled");
}

function when(iso) {
  return t.date(iso, { weekday: "short", hour: "2-digit", minute: "2-digit" });
}

function defaultReadyBy() {
  const d = new Date(Date.now() + 24 * 3600 * 1000);
  d.setMinutes(0, 0, 0);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:00`;
}

async function loadList() {
  const ours = new Set(programs.map((p) => p.id));
  let list = [];
  try {
    list = (await api("/api/v1/transitions")).filter((tr) => ours.has(tr.from_program_id));
  } catch { return; }
  $("#dp-empty").hidden = list.length > 0;
  $("#dp-list").replaceChildren(...list.map((tr) => el("li", {
    class: `dp-item dp-${tr.status}${tr.claimed ? "" : " dp-unclaimed"}`, dataset: { transition: tr.id } },
    el("strong", { text: tr.client_ref || t("(reference purged)") }),
    el("span", { class: "dp-status", text: statusText(tr) }),
    el("span", { class: "muted", text: t("ready by {when}", { when: when(tr.discharge_at) }) }),
    el("a", { href: `/#transition=${encodeURIComponent(tr.id)}`, text: t("Open the timeline") }))));
}

async function submit(event) {
  event.preventDefault();
  const msg = $("#dp-msg");
  const ready = $("#dp-ready").value;
  const ref = $("#dp-ref").value.trim();
  if (!ref || !ready) {
    msg.className = "msg bad";
    msg.textContent = t("Give your reference and the time the client is ready.");
    return;
  }
  const needs = {};
  if ($("#dp-gender").value) needs.gender = $("#dp-gender").value;
  if ($("#dp-age").value) needs.age = Number($("#dp-age").value);
  try {
    await api("/api/v1/discharges", { method: "POST", json: {
      client_ref: ref, from_program_id: $("#dp-program").value,
      ready_by: new Date(ready).toISOString(), needs } });
    msg.className = "msg ok";
    msg.textContent = t("Marked: {ref} is in the connectors' queue.", { ref });
    $("#dp-ref").value = "";
    loadList();
  } catch (failure) {
    msg.className = "msg bad";
    msg.textContent = t("Not marked: {why}", { why: failure.message });
  }
  flash(msg);
}

async function start() {
  const me = await api("/api/v1/me");
  const data = await api("/api/v1/programs?limit=2000");
  programs = data.programs.filter((p) => me.role === "admin" || p.organization_id === me.organization_id);
  if (!programs.length) {
    $(".discharge-pending").hidden = true;
    return;
  }
  $("#dp-program").replaceChildren(...programs.map((p) => el("option", { value: p.id, text: p.name })));
  $("#dp-ready").value = defaultReadyBy();
  $("#dp-form").addEventListener("submit", submit);
  document.addEventListener("bedfinder:transition", () => loadList());
  loadList();
}

// The page reveals #app once signed in (provider.js); start then.
const app = $("#app");
if (app && !app.hidden) start();
else if (app) {
  const seen = new MutationObserver(() => {
    if (!app.hidden) { seen.disconnect(); start(); }
  });
  seen.observe(app, { attributes: true, attributeFilter: ["hidden"] });
}
