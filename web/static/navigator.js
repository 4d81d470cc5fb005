// Navigator: search open beds by need, watch them change live, hold one, plan the next phase.
import {
  holdTracker,
  $, ApiError, LiveFeed, api, config, connectionWords, el, flash, levelName, setConnection,
  signIn, statusWord, timeAgo, untilText,
} from "./common.js";
import * as connector from "./connector.js";

const results = new Map(); // program id -> program (as the API gives it, units kept live)
const names = new Map(); // program id -> {name, organization_name}
let lastQuery = null;
let refreshTimer = null;
let holds = [];
let holdTarget = null;

const BOOLEAN_BADGES = {
  wheelchair: t("Wheelchair access"), pets: t("Pets allowed"), co_occurring: t("Co-occurring"),
  involuntary: t("Involuntary holds"), secure: t("Secure unit"), harm_reduction: t("Low-barrier"),
  telehealth: t("Telehealth"), reentry: t("Reentry"), homeless_priority: t("Homeless priority"),
};
const PAYERS = { "medi-cal": t("Medi-Cal"), medicare: t("Medicare"), private: t("Private"), uninsured: t("Uninsured"),
                 county: t("County"), va: t("VA") };

function fillLevels() {
  const box = $("#level-choices");
  const from = $("#p-from");
  from.append(el("option", { value: "", text: t("Not in a program now") }));
  for (const [key, name] of Object.entries(config.levels)) {
    box.append(el("label", {}, el("input", { type: "checkbox", name: "level_of_care", value: key }), name));
    from.append(el("option", { value: key, text: name }));
  }
}

function queryFromForm() {
  const form = $("#search-form");
  const data = new FormData(form);
  const query = new URLSearchParams();
  for (const [key, value] of data.entries()) {
    const text = String(value).trim();
    if (text) query.append(key, key === "near" ? text.replace(/\s+/g, "") : text);
  }
  query.set("limit", "200");
  return query;
}

function needsFromForm() {
  const data = new FormData($("#search-form"));
  const needs = {};
  for (const key of ["gender", "payer", "language", "mat"]) if (data.get(key)) needs[key] = data.get(key);
  if (data.get("age")) needs.age = Number(data.get("age"));
  for (const key of Object.keys(BOOLEAN_BADGES)) if (data.get(key)) needs[key] = true;
  const near = String(data.get("near") || "").split(",").map(Number);
  if (near.length === 2 && near.every(Number.isFinite)) needs.location = { lat: near[0], lon: near[1] };
  return needs;
}

/** A unit the search marked as not fitting the needs searched for (`fits: false`). */
const fits = (unit) => unit.fits !== false;

/** Counts of the units that fit the person searched for: a bed in a unit they cannot use
 * is never counted (the same rule the search applied on the server). */
function totals(program) {
  const units = program.units.filter(fits);
  const available = units.reduce((n, u) => n + u.available, 0);
  const waitlist = units.reduce((n, u) => n + u.waitlist, 0);
  const capacity = units.reduce((n, u) => n + u.capacity, 0);
  const stale = units.length === 0 || units.some((u) => u.stale);
  const times = units.map((u) => u.updated_at).filter(Boolean).sort();
  const status = capacity === 0 ? "closed" : available > 0 ? "open" : waitlist > 0 ? "waitlist" : "full";
  return { available, waitlist, stale, status, updated: times[times.length - 1] || null };
}

function badges(program) {
  const out = [];
  if (program.genders && program.genders.length && program.genders.length < 3) {
    out.push(program.genders.join(" / "));
  }
  if (program.age_min !== undefined) out.push(t("Ages {min}–{max}", { min: program.age_min, max: program.age_max }));
  for (const payer of program.payers || []) out.push(PAYERS[payer] || payer);
  if (program.languages && program.languages.length) out.push(t("Languages: {list}", { list: program.languages.join(", ") }));
  for (const mat of program.mat || []) out.push(t("MAT: {medication}", { medication: mat }));
  for (const [key, label] of Object.entries(BOOLEAN_BADGES)) if (program[key]) out.push(label);
  return el("p", { class: "badges", "aria-label": t("Eligibility") }, out.map((text) => el("span", { class: "badge", text })));
}

function holdButton(program, unit) {
  if (!fits(unit)) {
    return el("span", { class: "unit-misfit", text: t("Does not fit: {reason}", { reason: unit.not_fitting || t("not for this client") }) });
  }
  return el("button", {
    type: "button", class: "secondary small hold-button", disabled: unit.available <= 0 || undefined,
    "aria-label": t("Hold a bed: {program}, {unit}", { program: program.name, unit: unit.label || t("beds") }),
    text: unit.available > 0 ? t("Hold a bed") : t("None free"),
    onclick: () => openHold(program.id, unit.id),
  });
}

function unitRow(program, unit) {
  const kind = unit.kind === "slot" ? t("slots") : t("beds");
  return el("li", { class: `unit status-${unit.status}${fits(unit) ? "" : " not-fitting"}`, dataset: { unit: unit.id } },
    el("div", {},
      el("span", { class: "unit-label", text: unit.label || t("Beds") }), " ",
      el("span", { class: "status", text: statusWord(unit.status) })),
    holdButton(program, unit),
    el("div", { class: "unit-counts" },
      el("strong", { text: t("{n} open", { n: t.number(unit.available) }) }),
      ` · ${t("{n} held", { n: t.number(unit.held) })} · ${t("{n} waitlist", { n: t.number(unit.waitlist) })} · ${t.number(unit.capacity)} ${kind} · `,
      el("span", { class: "unit-age" },
        el("span", { class: "age", dataset: { updated: unit.updated_at || "" }, text: timeAgo(unit.updated_at) }),
        unit.stale ? [" ", el("span", { class: "stale-badge", text: t("Stale: not confirmed recently") })] : null)));
}

function programItem(program) {
  const sum = totals(program);
  const where = [levelName(program.level_of_care), program.asam_level ? `ASAM ${program.asam_level}` : null,
                 program.area, program.distance_km !== null && program.distance_km !== undefined
                   ? t("{km} km away", { km: t.number(program.distance_km, { maximumFractionDigits: 1, minimumFractionDigits: 1 }) }) : null].filter(Boolean).join(" · ");
  return el("li", {
    class: `program status-${sum.status}${sum.stale ? " is-stale" : ""}`, dataset: { program: program.id },
  },
    el("div", { class: "program-head" },
      el("div", {},
        el("h3", { text: program.name }),
        el("p", { class: "program-sub", text: [program.organization_name, where].filter(Boolean).join(" — ") })),
      el("p", { class: "program-total" },
        el("span", { class: "big", text: t.number(sum.available) }), t("open now"))),
    el("p", { class: "program-sub" },
      el("span", { class: "status", text: statusWord(sum.status) }), " ",
      el("span", { class: "age", dataset: { updated: sum.updated || "" }, text: timeAgo(sum.updated) }), " ",
      sum.stale ? el("span", { class: "stale-badge", text: t("Stale") }) : null,
      program.hours ? [" ", el("span", { class: "badge", text: program.open_now ? t("Open now (has hours)") : t("Closed now (has hours)") })] : null,
      program.phone ? ` · ${program.phone}` : null),
    badges(program),
    el("ul", { class: "units", "aria-label": t("Units at {program}", { program: program.name }) },
      program.units.map((u) => unitRow(program, u))));
}

function summarize() {
  const n = results.size;
  $("#results-summary").textContent = n === 0
    ? t("No programs match. Try fewer needs or clear “Only with open beds now”.")
    : t.n("{count} program matches · live", "{count} programs match · live", n);
}

async function search(event) {
  if (event) event.preventDefault();
  const error = $("#search-error");
  error.textContent = "";
  const form = $("#search-form");
  if (!form.reportValidity()) return;
  lastQuery = queryFromForm();
  const button = $("#search-button");
  button.disabled = true;
  try {
    const data = await api(`/api/v1/programs?${lastQuery}`);
    results.clear();
    const list = $("#results");
    list.replaceChildren();
    for (const program of data.programs) {
      results.set(program.id, program);
      names.set(program.id, program);
      list.append(programItem(program));
    }
    summarize();
  } catch (failure) {
    error.textContent = t("Search failed: {reason}", { reason: failure.message });
  } finally {
    button.disabled = false;
  }
}

/** Bring the list in line with the server without touching rows that stay. */
async function refreshQuietly() {
  if (!lastQuery) return;
  let data;
  try { data = await api(`/api/v1/programs?${lastQuery}`); } catch { return; }
  const list = $("#results");
  const wanted = new Set(data.programs.map((p) => p.id));
  for (const id of [...results.keys()]) {
    if (!wanted.has(id)) dropProgram(id);
  }
  let after = null;
  for (const program of data.programs) {
    names.set(program.id, program);
    const existing = list.querySelector(`[data-program="${CSS.escape(program.id)}"]`);
    if (existing) { after = existing; continue; }
    results.set(program.id, program);
    const node = programItem(program);
    if (after) after.after(node); else list.prepend(node);
    flash(node);
    after = node;
  }
  summarize();
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshQuietly, 1500);
}

function dropProgram(id) {
  results.delete(id);
  const node = document.querySelector(`#results [data-program="${CSS.escape(id)}"]`);
  if (node) node.remove();
}

function stillMatches(program) {
  if (!lastQuery) return true;
  const t = totals(program);
  if (lastQuery.get("available_only") && t.available <= 0) return false;
  return !(lastQuery.get("fresh_only") && t.stale);
}

function onUnit(unit, message) {
  connector.onUnit(unit, message);
  if (message && message.hold_id && holds.some((h) => h.id === message.hold_id)) {
    holds = holdEvent(message, holds);
  }
  const program = results.get(unit.program_id);
  if (!program) {
    if (lastQuery) scheduleRefresh();
    return;
  }
  const index = program.units.findIndex((u) => u.id === unit.id);
  if (index < 0) return;
  program.units[index] = { ...program.units[index], ...unit };
  if (!stillMatches(program)) {
    dropProgram(program.id);
    summarize();
    return;
  }
  const node = document.querySelector(`#results [data-program="${CSS.escape(program.id)}"]`);
  if (!node) return;
  const hadFocus = node.contains(document.activeElement) ? document.activeElement : null;
  const fresh = programItem(program);
  node.replaceWith(fresh);
  const row = fresh.querySelector(`[data-unit="${CSS.escape(unit.id)}"]`);
  flash(row || fresh);
  if (hadFocus && hadFocus.classList.contains("hold-button")) {
    const again = fresh.querySelector(`[data-unit="${CSS.escape(hadFocus.closest("[data-unit]").dataset.unit)}"] .hold-button`);
    if (again && !again.disabled) again.focus();
  }
}

function onSnapshot(units) {
  for (const unit of units) onUnit(unit);
}

// Holds --------------------------------------------------------------------------------

function openHold(programId, unitId) {
  const program = results.get(programId) || names.get(programId);
  const unit = program && program.units ? program.units.find((u) => u.id === unitId) : null;
  holdTarget = { programId, unitId };
  $("#hold-what").textContent = `${program ? program.name : programId}${unit ? ` — ${unit.label}` : ""}`;
  $("#hold-error").textContent = "";
  $("#hold-minutes").value = String(config.hold_minutes || 120);
  $("#hold-minutes").max = String(config.hold_max_minutes || 480);
  $("#hold-dialog").showModal();
  $("#hold-ref").focus();
}

async function placeHold(event) {
  event.preventDefault();
  const form = $("#hold-form");
  if (!form.reportValidity() || !holdTarget) return;
  const body = { unit_id: holdTarget.unitId, client_ref: $("#hold-ref").value.trim(),
                 minutes: Number($("#hold-minutes").value) };
  try {
    const hold = await api("/api/v1/holds", { method: "POST", json: body });
    $("#hold-dialog").close();
    $("#hold-ref").value = "";
    $("#holds-msg").className = "msg ok";
    $("#holds-msg").textContent = t("Held one bed for {ref} until {time}.", { ref: hold.client_ref, time: t.time(hold.expires_at) });
    await loadHolds();
  } catch (failure) {
    $("#hold-error").textContent = failure.status === 409
      ? t("No bed is free there any more: {reason}", { reason: failure.message })
      : t("Could not hold: {reason}", { reason: failure.message });
  }
}

async function programName(id) {
  if (!names.has(id)) {
    try { names.set(id, await api(`/api/v1/programs/${encodeURIComponent(id)}`)); } catch { return id; }
  }
  return names.get(id).name;
}

async function unitLabel(programId, unitId) {
  const program = names.get(programId);
  const unit = program && program.units ? program.units.find((u) => u.id === unitId) : null;
  return unit ? unit.label : unitId;
}

async function loadHolds() {
  try { holds = await api("/api/v1/holds?status=active"); } catch { return; }
  const list = $("#holds");
  const items = [];
  for (const hold of holds) {
    const name = await programName(hold.program_id);
    const label = await unitLabel(hold.program_id, hold.unit_id);
    items.push(el("li", { dataset: { hold: hold.id } },
      el("strong", { text: `${hold.client_ref} → ${name}` }),
      el("span", {}, `${label} · `, el("span", { class: "countdown", dataset: { expires: hold.expires_at }, text: untilText(hold.expires_at) })),
      el("span", { class: "actions" },
        el("button", { type: "button", class: "primary small", text: t("Admitted"), "aria-label": t("Admitted: {ref} at {program}", { ref: hold.client_ref, program: name }), onclick: () => endHold(hold, "admit") }),
        el("button", { type: "button", class: "secondary small", text: t("Release bed"), "aria-label": t("Release bed held for {ref} at {program}", { ref: hold.client_ref, program: name }), onclick: () => endHold(hold, "release") }))));
  }
  list.replaceChildren(...items);
  $("#holds-empty").hidden = holds.length > 0;
}

async function endHold(hold, action) {
  const msg = $("#holds-msg");
  try {
    await api(`/api/v1/holds/${encodeURIComponent(hold.id)}/${action}`, { method: "POST" });
    msg.className = "msg ok";
    msg.textContent = action === "admit" ? t("{ref}: admitted.", { ref: hold.client_ref })
      : t("{ref}: bed released.", { ref: hold.client_ref });
  } catch (failure) {
    msg.className = "msg bad";
    msg.textContent = action === "admit" ? t("Could not admit: {reason}", { reason: failure.message })
      : t("Could not release: {reason}", { reason: failure.message });
  }
  await loadHolds();
}

function tickCountdowns() {
  let expired = false;
  for (const node of document.querySelectorAll(".countdown")) {
    node.textContent = untilText(node.dataset.expires);
    if (Date.parse(node.dataset.expires) < Date.now() - 2000) expired = true;
  }
  if (expired) loadHolds();
}

const holdEvent = holdTracker(() => loadHolds());

// Next phase, transitions, referrals ----------------------------------------------------

async function rankNextPhase(event) {
  event.preventDefault();
  const msg = $("#phase-msg");
  msg.className = "msg";
  msg.textContent = t("Ranking…");
  const body = { needs: needsFromForm(), limit: 8, lang: t.lang };
  const from = $("#p-from").value;
  if (from) body.from_level = from;
  const ready = $("#p-ready").value;
  if (ready) body.ready_at = new Date(ready).toISOString();
  try {
    const data = await api("/api/v1/match", { method: "POST", json: body });
    msg.textContent = data.options.length ? t.n("{count} option, best first.", "{count} options, best first.", data.options.length)
      : t("No program fits these needs.");
    $("#phase-results").replaceChildren(...data.options.map(optionItem));
  } catch (failure) {
    msg.className = "msg bad";
    msg.textContent = t("Could not rank: {reason}", { reason: failure.message });
    $("#phase-results").replaceChildren();
  }
}

function optionItem(option) {
  names.set(option.program_id, { ...(names.get(option.program_id) || {}), name: option.program_name });
  return el("li", {},
    el("strong", { text: option.program_name }),
    el("div", { class: "muted", text: `${levelName(option.level_of_care)}${option.area ? ` · ${option.area}` : ""}` }),
    el("div", {}, t("{open} open now · {expected} expected by then", { open: t.number(option.available_now), expected: t.number(option.expected_by_ready_at) }),
      option.stale ? [" ", el("span", { class: "stale-badge", text: t("Stale") })] : null),
    el("ul", {}, option.reasons.map((r) => el("li", { text: r }))),
    option.would_disqualify.length
      ? el("p", { class: "hint", text: t("Its conditions you have not given: {list}.", { list: option.would_disqualify.join("; ") }) }) : null,
    option.best_unit_id && option.available_now > 0
      ? el("button", { type: "button", class: "secondary small", text: t("Hold a bed"),
                       "aria-label": t("Hold a bed at {program}", { program: option.program_name }),
                       onclick: async () => { await programName(option.program_id); openHold(option.program_id, option.best_unit_id); } })
      : null);
}

async function loadReferrals() {
  let list;
  try { list = await api("/api/v1/referrals"); } catch { return; }
  $("#referrals-empty").hidden = list.length > 0;
  const items = [];
  for (const r of list.slice(0, 30)) {
    items.push(el("li", {},
      el("strong", { text: r.client_ref || t("(reference removed)") }), ` → ${await programName(r.program_id)}: `,
      el("span", { class: `status ${r.status === "accepted" ? "open" : r.status === "declined" ? "full" : "waitlist"}`, text: referralStatus(r.status) }),
      r.decline_reason ? ` (${r.decline_reason.replaceAll("_", " ")})` : ""));
  }
  $("#referrals").replaceChildren(...items);
}

function referralStatus(status) {
  return { pending: t("pending"), seen: t("seen"), accepted: t("accepted"), declined: t("declined"),
           withdrawn: t("withdrawn"), expired: t("expired") }[status] || status;
}

function onMessage(message) {
  connector.onMessage(message);
  if (message.type === "referral" || message.type === "transition_event") {
    loadReferrals();
    loadHolds(); // an acceptance places a hold for the navigator
  }
  if (message.type === "transition_match") {
    const msg = $("#phase-msg");
    msg.className = "msg ok";
    msg.textContent = t("New options for a pending transition: {list}.", { list: message.options.map((o) => o.program_name).join(", ") });
  }
}

function useLocation() {
  if (!navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition((pos) => {
    $("#f-near").value = `${pos.coords.latitude.toFixed(4)},${pos.coords.longitude.toFixed(4)}`;
  }, () => { $("#search-error").textContent = t("Your location is not available; type it instead."); });
}

async function main() {
  fillLevels();
  const me = await signIn({ roles: ["navigator", "supervisor", "admin", "provider"] });
  $("#search-form").addEventListener("submit", search);
  $("#search-form").addEventListener("reset", () => setTimeout(search, 0));
  $("#phase-form").addEventListener("submit", rankNextPhase);
  $("#hold-form").addEventListener("submit", placeHold);
  $("#hold-cancel").addEventListener("click", () => $("#hold-dialog").close());
  $("#use-location").addEventListener("click", useLocation);
  const feed = new LiveFeed({
    onState: (state, detail) => setConnection(state, connectionWords(state, detail)),
    onSnapshot, onUnit, onMessage,
  });
  feed.start();
  await search();
  loadHolds();
  loadReferrals();
  document.addEventListener("bf:holds-changed", loadHolds);
  connector.startConnector(me);
  setInterval(tickCountdowns, 1000);
  setInterval(() => {
    for (const node of document.querySelectorAll("#results .age")) node.textContent = timeAgo(node.dataset.updated || null);
  }, 30000);
  setInterval(loadReferrals, 60000);
}

main().catch((error) => {
  if (!(error instanceof ApiError)) console.error(error);
});
