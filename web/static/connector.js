// The connector's caseload on `/`: claim from the queue, start a transition, and per
// transition rank the next-phase options (live counts), refer to up to three programs, hold a
// bed, withdraw, cancel, follow the timeline with the care team, and watch the next step.
// Every answer (and every refusal, in the server's words) is shown beside the control used.
import { $, api, config, el, flash, levelName } from "./common.js";

const t = window.t || ((s, p) => s.replace(/\{(\w+)\}/g, (_, k) => p?.[k] ?? ""));
const MAX_REFERRALS = 3;
const OPEN = "open";

const state = {
  me: null,
  transitions: [],
  selected: null, // the open transition's detail (GET /transitions/{id}, or the list row)
  options: [], // the matcher's options for the selected transition
  referrals: [], // the selected transition's referrals
  programs: new Map(), // program id -> {name, units?}
  optionPrograms: new Set(),
  rerank: null,
  hasQueue: true,
  turn: 0, // counts select() calls: only the latest draws
  wanted: null, // the transition asked for last (state.selected follows once it is loaded)
  hold: null, // the selected transition's active hold
  directory: null, // every program, for "Leaving which program"
};

// Small helpers -----------------------------------------------------------------------

/** Providers see the transitions their programs are part of (sending or receiving), to
 * follow the timeline and add notes; they neither claim, refer nor cancel. */
const isProvider = () => state.me && state.me.role === "provider";
const isSupervisor = () => state.me && ["supervisor", "admin"].includes(state.me.role);

const when = (iso) => new Date(iso).toLocaleString(document.documentElement.lang || [], {
  weekday: "short", hour: "2-digit", minute: "2-digit" });
const clock = (iso) => new Date(iso).toLocaleTimeString(document.documentElement.lang || [], {
  hour: "2-digit", minute: "2-digit" });

function say(selector, text, ok = true) {
  const node = $(selector);
  node.className = `msg ${ok ? "ok" : "bad"}`;
  node.setAttribute("role", ok ? "status" : "alert");
  node.textContent = text;
}

/** A datetime-local value `hours` from now, in the browser's zone. */
function localInput(hours) {
  const d = new Date(Date.now() + hours * 3600_000);
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset(), 0, 0);
  return d.toISOString().slice(0, 16);
}

async function programName(id) {
  if (!id) return "";
  if (!state.programs.has(id)) {
    try { state.programs.set(id, await api(`/api/v1/programs/${encodeURIComponent(id)}`)); } catch { return id; }
  }
  return state.programs.get(id).name;
}

const REFERRAL_WORDS = {
  pending: () => t("Referral sent, not seen yet"),
  seen: () => t("Seen by the program"),
  accepted: () => t("Accepted: a bed is held"),
  declined: () => t("Declined by the program"),
  withdrawn: () => t("Withdrawn"),
  expired: () => t("Expired without an answer"),
};
const STATUS_WORDS = {
  open: () => t("Open"), placed: () => t("Admitted"), cancelled: () => t("Cancelled"),
  lapsed: () => t("Lapsed: left without a landing"),
};
const referralState = (r) => (r.status === "pending" && r.acknowledged_at ? "seen" : r.status);
const reasonWords = (reason) => (reason || "").replaceAll("_", " ");

// Caseload and queue ------------------------------------------------------------------

async function loadCaseload() {
  if (isProvider()) return;
  try {
    const load = await api("/api/v1/caseload");
    const node = $("#caseload-count");
    node.textContent = t("{n} of {limit} open", { n: load.open, limit: load.limit });
    node.classList.toggle("full", load.open >= load.limit);
  } catch { /* a supervisor or admin has no caseload of their own */ }
}

async function loadQueue() {
  if (!state.hasQueue || isProvider()) return;
  let queue;
  try { queue = await api("/api/v1/transitions/queue"); } catch (failure) {
    if ([404, 405, 422].includes(failure.status)) state.hasQueue = false; // not on this server
    return;
  }
  $("#queue-box").hidden = false;
  $("#queue-empty").hidden = queue.length > 0;
  const items = [];
  for (const row of queue) {
    const from = await programName(row.from_program_id);
    items.push(el("li", { class: "cx-item", dataset: { transition: row.id } },
      el("div", {},
        el("strong", { text: row.client_ref || t("(reference removed)") }),
        el("span", { class: "muted" }, " · ", from || levelName(row.from_level), " · ",
           t("ready by {time}", { time: when(row.discharge_at) }))),
      el("button", { type: "button", class: "primary", text: t("Claim"),
                     "aria-label": t("Claim {ref}", { ref: row.client_ref || row.id }),
                     onclick: () => claim(row) })));
  }
  $("#queue").replaceChildren(...items);
}

async function claim(row) {
  try {
    await api(`/api/v1/transitions/${encodeURIComponent(row.id)}/claim`, { method: "POST" });
    say("#caseload-msg", t("Claimed {ref}: it is in your caseload.", { ref: row.client_ref }));
    await refreshLists();
    await select(row.id);
  } catch (failure) {
    say("#caseload-msg", t("Could not claim {ref}: {why}", { ref: row.client_ref, why: failure.message }), false);
    await refreshLists();
  }
}

function transitionItem(row) {
  const selected = state.selected && state.selected.id === row.id;
  const status = row.status === OPEN && row.at_risk ? t("At risk: nothing accepted or held")
    : row.status === OPEN && row.hold_id ? t("Bed held") : (STATUS_WORDS[row.status] || (() => row.status))();
  return el("li", { class: `cx-item${row.at_risk && row.status === OPEN ? " at-risk-item" : ""}${selected ? " selected" : ""}`,
                    dataset: { transition: row.id } },
    el("button", { type: "button", class: "cx-open", "aria-current": selected ? "true" : undefined,
                   onclick: () => select(row.id) },
      el("strong", { text: row.client_ref || t("(reference removed)") }),
      el("span", {}, levelName(row.from_level), " · ", t("ready by {time}", { time: when(row.discharge_at) })),
      el("span", { class: row.at_risk && row.status === OPEN ? "at-risk" : "muted", text: status })));
}

async function loadTransitions() {
  let rows;
  try { rows = await api("/api/v1/transitions"); } catch { return; }
  const rank = (r) => (r.status === OPEN ? (r.at_risk ? 0 : 1) : 2);
  rows.sort((a, b) => rank(a) - rank(b) || Date.parse(a.discharge_at) - Date.parse(b.discharge_at));
  const recent = Date.now() - 3 * 86400_000; // ended ones stay a few days (next step)
  state.transitions = rows.filter((r) => r.status === OPEN || Date.parse(r.ended_at || r.created_at) > recent).slice(0, 30);
  $("#transitions-empty").hidden = state.transitions.length > 0;
  $("#transitions").replaceChildren(...state.transitions.map(transitionItem));
}

async function refreshLists() {
  await Promise.all([loadCaseload(), loadQueue(), loadTransitions()]);
}

// One transition ----------------------------------------------------------------------

/** Show one transition. Calls overlap (live messages, clicks): only the latest one draws, so
 * a slow answer for an earlier choice never replaces the later one. */
async function select(id, { focus = true } = {}) {
  const turn = ++state.turn;
  state.wanted = id;
  let detail = null;
  try { detail = await api(`/api/v1/transitions/${encodeURIComponent(id)}`); } catch (failure) {
    // The list row will do for now (with what an earlier answer said of the team and the
    // pathway), and another look follows shortly.
    $("#transition-panel").dataset.lastError = String(failure.status);
    const row = state.transitions.find((r) => r.id === id);
    const before = state.selected && state.selected.id === id ? state.selected : {};
    detail = row ? { ...before, ...row } : null;
    if (failure.status !== 404) setTimeout(() => { if (state.wanted === id) refreshSoon(id); }, 1000);
  }
  if (!detail || turn !== state.turn) return;
  const changed = !state.selected || state.selected.id !== id;
  state.selected = detail;
  for (const node of document.querySelectorAll("#transitions .cx-item")) {
    const on = node.dataset.transition === id;
    node.classList.toggle("selected", on);
    node.querySelector(".cx-open").toggleAttribute("aria-current", on);
    if (on) node.querySelector(".cx-open").setAttribute("aria-current", "true");
  }
  const panel = $("#transition-panel");
  panel.hidden = false;
  if (changed) {
    for (const sel of ["#tp-msg", "#refer-msg", "#note-msg", "#invite-msg", "#next-msg"]) $(sel).textContent = "";
    $("#refer-note").value = "";
    $("#next-ready").value = localInput(24);
  }
  await drawHead();
  if (turn !== state.turn) return;
  await Promise.all([loadReferrals(), loadTimeline(), rankOptions()]);
  if (turn !== state.turn) return;
  drawTeam();
  if (focus && changed) panel.focus();
}

async function drawHead() {
  const tr = state.selected;
  const from = await programName(tr.from_program_id);
  $("#tp-title").textContent = t("{ref}: leaving {program}", { ref: tr.client_ref || t("(reference removed)"), program: from || levelName(tr.from_level) });
  const parts = [(STATUS_WORDS[tr.status] || (() => tr.status))(),
                 t("ready by {time}", { time: when(tr.discharge_at) })];
  if (tr.status === OPEN && tr.at_risk) parts.push(t("At risk: nothing accepted or held"));
  if (tr.hold_id && tr.status === OPEN) parts.push(t("Bed held"));
  $("#tp-status").textContent = parts.join(" · ");
  $("#tp-status").className = `tp-status${tr.status === OPEN && tr.at_risk ? " at-risk" : ""}`;
  const open = tr.status === OPEN;
  $("#tp-options-box").hidden = !open || Boolean(tr.hold_id) || isProvider();
  $("#assign-form").hidden = !open || !isSupervisor();
  $("#tp-cancel").closest(".tp-end").hidden = !open || tr.member === false || isProvider();
  drawNext();
  await drawHold();
}

/** The bed held for this transition (a provider's acceptance or a direct hold), with the
 * two things that can happen to it next. */
async function drawHold() {
  const tr = state.selected;
  const box = $("#tp-hold");
  let hold = null;
  if (tr.hold_id && tr.status === OPEN) {
    try { hold = await api(`/api/v1/holds/${encodeURIComponent(tr.hold_id)}`); } catch { hold = null; }
  }
  state.hold = hold && hold.status === "active" ? hold : null;
  box.hidden = !state.hold;
  if (!state.hold) return;
  const where = await programName(state.hold.program_id);
  $("#tp-hold-text").textContent = t("A bed is held at {program} until {time}.", { program: where, time: clock(state.hold.expires_at) });
  $("#tp-admit").setAttribute("aria-label", t("Admitted: {ref} at {program}", { ref: tr.client_ref, program: where }));
  $("#tp-release").setAttribute("aria-label", t("Release the bed held for {ref} at {program}", { ref: tr.client_ref, program: where }));
}

async function endHold(action) {
  const tr = state.selected;
  const hold = state.hold;
  if (!hold) return;
  try {
    await api(`/api/v1/holds/${encodeURIComponent(hold.id)}/${action}`, { method: "POST" });
    say("#tp-msg", action === "admit" ? t("{ref}: admitted.", { ref: tr.client_ref })
      : t("{ref}: bed released.", { ref: tr.client_ref }));
  } catch (failure) {
    say("#tp-hold-msg", t("Not done: {why}", { why: failure.message }), false);
  }
  document.dispatchEvent(new CustomEvent("bf:holds-changed"));
  await refreshLists();
  await select(tr.id, { focus: false });
}

function drawNext() {
  const tr = state.selected;
  const box = $("#tp-next");
  const levels = tr.next_levels || [];
  box.hidden = !(tr.status === "placed" && levels.length > 0 && !tr.next_id);
  if (box.hidden) return;
  $("#tp-next-text").textContent = t("Admitted to {level}. The pathway goes on to: {next}.", {
    level: levelName(tr.to_level || ""), next: levels.map(levelName).join(", ") });
}

// Options: rank, live counts, refer, hold ----------------------------------------------

async function rankOptions() {
  const tr = state.selected;
  if (!tr || tr.status !== OPEN || tr.hold_id) {
    state.options = [];
    state.optionPrograms = new Set();
    return;
  }
  const body = { needs: tr.needs || {}, limit: 8, ready_at: tr.discharge_at };
  if (tr.from_level && config.pathways && config.pathways[tr.from_level]) body.from_level = tr.from_level;
  const lang = document.documentElement.lang;
  if (["en", "es", "zh", "fil"].includes(lang)) body.lang = lang;
  let data;
  try { data = await api("/api/v1/match", { method: "POST", json: body }); } catch (failure) {
    $("#tp-options-msg").textContent = t("Could not rank options: {why}", { why: failure.message });
    return;
  }
  if (!state.selected || state.selected.id !== tr.id) return;
  const checked = new Set([...document.querySelectorAll("#tp-options input[name=program]:checked")].map((n) => n.value));
  state.options = data.options;
  state.optionPrograms = new Set(data.options.map((o) => o.program_id));
  for (const o of data.options) {
    state.programs.set(o.program_id, { ...(state.programs.get(o.program_id) || {}), name: o.program_name });
  }
  $("#tp-options-msg").textContent = data.options.length
    ? t("{n} options, best first. Counts update live.", { n: data.options.length })
    : t("No program fits these needs right now.");
  $("#tp-options").replaceChildren(...data.options.map((o) => optionItem(o, checked.has(o.program_id))));
  limitChoices();
}

function alreadyReferred(programId) {
  return state.referrals.some((r) => r.program_id === programId && ["pending", "accepted"].includes(r.status));
}

function optionItem(option, checked) {
  const referred = alreadyReferred(option.program_id);
  const id = `opt-${option.program_id}`;
  const counts = t("{open} open now · {expected} expected by then", {
    open: option.available_now, expected: option.expected_by_ready_at });
  return el("li", { class: "option", dataset: { program: option.program_id } },
    el("div", { class: "option-pick" },
      el("input", { type: "checkbox", id, name: "program", value: option.program_id,
                    checked: checked && !referred ? true : undefined, disabled: referred || undefined,
                    onchange: limitChoices }),
      el("div", { class: "option-title" },
        el("label", { for: id, class: "option-name", text: option.program_name }),
        el("span", { class: "muted", text: `${levelName(option.level_of_care)}${option.area ? ` · ${option.area}` : ""}` }))),
    el("p", { class: "option-counts" },
      el("strong", { class: "live-count", text: counts }),
      option.stale ? [" ", el("span", { class: "stale-badge", text: t("Stale") })] : null,
      referred ? [" ", el("span", { class: "badge", text: t("Referred") })] : null),
    el("ul", { class: "reasons" }, option.reasons.map((r) => el("li", { text: r }))),
    option.would_disqualify.length
      ? el("p", { class: "hint", text: t("Its conditions you have not given: {list}.", { list: option.would_disqualify.join("; ") }) })
      : null,
    option.best_unit_id && option.available_now > 0
      ? el("div", { class: "option-hold" },
        el("button", { type: "button", class: "secondary", text: t("Hold a bed here"),
                       "aria-label": t("Hold a bed at {program}", { program: option.program_name }),
                       onclick: (event) => holdFor(option, event.currentTarget) }),
        el("p", { class: "msg", role: "status" }))
      : null);
}

/** At most three programs at once: the rest are disabled while three are checked. */
function limitChoices() {
  const boxes = [...document.querySelectorAll("#tp-options input[name=program]")];
  const n = boxes.filter((b) => b.checked).length;
  for (const box of boxes) {
    if (alreadyReferred(box.value)) continue;
    box.disabled = !box.checked && n >= MAX_REFERRALS;
  }
  const button = $("#refer-button");
  button.disabled = n === 0;
  button.textContent = n === 0 ? t("Refer (choose up to 3)")
    : n === 1 ? t("Refer to 1 program") : t("Refer to {n} programs", { n });
}

async function refer(event) {
  event.preventDefault();
  const tr = state.selected;
  const ids = [...document.querySelectorAll("#tp-options input[name=program]:checked")].map((n) => n.value);
  if (!tr || ids.length === 0) return;
  const button = $("#refer-button");
  button.disabled = true;
  try {
    const sent = await api("/api/v1/referrals", { method: "POST", json: {
      client_ref: tr.client_ref, program_ids: ids, needs: tr.needs || {},
      note: $("#refer-note").value.trim(), transition_id: tr.id } });
    const names = await Promise.all(sent.map((r) => programName(r.program_id)));
    say("#refer-msg", t("Referral sent to {programs}.", { programs: names.join(", ") }));
    $("#refer-note").value = "";
    for (const box of document.querySelectorAll("#tp-options input[name=program]:checked")) box.checked = false;
    await loadReferrals();
    await rankOptions();
    loadTimeline();
  } catch (failure) {
    say("#refer-msg", t("Not sent: {why}", { why: failure.message }), false);
  } finally {
    limitChoices();
  }
}

async function holdFor(option, button) {
  const tr = state.selected;
  const msg = button.parentElement.querySelector(".msg");
  button.disabled = true;
  try {
    const hold = await api("/api/v1/holds", { method: "POST", json: {
      unit_id: option.best_unit_id, client_ref: tr.client_ref, transition_id: tr.id,
      minutes: config.hold_minutes || 120 } });
    msg.className = "msg ok";
    msg.textContent = t("Bed held at {program} until {time}.", { program: option.program_name, time: clock(hold.expires_at) });
    say("#tp-msg", msg.textContent);
    document.dispatchEvent(new CustomEvent("bf:holds-changed"));
    await select(tr.id, { focus: false });
    refreshLists();
  } catch (failure) {
    msg.className = "msg bad";
    msg.setAttribute("role", "alert");
    msg.textContent = failure.status === 409 ? t("No bed is free there any more: {why}", { why: failure.message })
      : t("Could not hold: {why}", { why: failure.message });
    button.disabled = false;
  }
}

/** A unit changed: if it belongs to an option on screen, rank again (counts stay live); a
 * hold beginning or ending may change the selected transition. */
export function onUnit(unit, message) {
  if (message && message.hold_id && state.selected
      && (state.selected.hold_id === message.hold_id || state.optionPrograms.has(unit.program_id))) {
    refreshSoon(state.selected.id);
  }
  if (!state.optionPrograms.has(unit.program_id)) return;
  clearTimeout(state.rerank);
  state.rerank = setTimeout(async () => {
    await rankOptions();
    const row = document.querySelector(`#tp-options [data-program="${CSS.escape(unit.program_id)}"]`);
    if (row) flash(row);
  }, 300);
}

// Referrals of the selected transition ------------------------------------------------

async function loadReferrals() {
  const tr = state.selected;
  let rows;
  try { rows = await api("/api/v1/referrals"); } catch { rows = []; }
  if (!state.selected || state.selected.id !== tr.id) return;
  state.referrals = rows.filter((r) => r.transition_id === tr.id);
  await drawReferrals();
}

async function drawReferrals() {
  $("#tp-referrals-empty").hidden = state.referrals.length > 0;
  // A provider's list holds only referrals to its own programs: the timeline tells the rest.
  $("#tp-referrals").closest("section").hidden = isProvider();
  const items = [];
  for (const r of state.referrals) {
    const name = await programName(r.program_id);
    const key = referralState(r);
    items.push(el("li", { class: `cx-item ref-${key}`, dataset: { referral: r.id } },
      el("div", {},
        el("strong", { text: name }), " ",
        el("span", { class: `status ${key === "accepted" ? "open" : key === "declined" ? "full" : "waitlist"}`,
                     text: (REFERRAL_WORDS[key] || (() => key))() }),
        r.decline_reason ? [" ", el("span", { class: "reason", text: t("Reason: {reason}", { reason: reasonWords(r.decline_reason) }) })] : null),
      r.status === "pending" && state.selected.member !== false
        ? el("button", { type: "button", class: "secondary small", text: t("Withdraw"),
                         "aria-label": t("Withdraw the referral to {program}", { program: name }),
                         onclick: () => withdraw(r, name) })
        : null));
  }
  $("#tp-referrals").replaceChildren(...items);
}

async function withdraw(referral, name) {
  try {
    await api(`/api/v1/referrals/${encodeURIComponent(referral.id)}/withdraw`, { method: "POST" });
    say("#tp-msg", t("Referral to {program} withdrawn.", { program: name }));
  } catch (failure) {
    say("#tp-msg", t("Could not withdraw: {why}", { why: failure.message }), false);
  }
  await loadReferrals();
  await rankOptions();
}

// Timeline and notes ------------------------------------------------------------------

const EVENT_WORDS = {
  created: () => t("Transition started"),
  discharge_pending: () => t("Marked discharge pending by the sending program"),
  claimed: () => t("Claimed by a connector"),
  reassigned: () => t("Reassigned to another connector"),
  referral_sent: (p) => t("Referral sent to {program}", p),
  referral_seen: (p) => t("Referral seen by {program}", p),
  referral_accepted: (p) => t("Accepted by {program}", p),
  referral_declined: (p) => (p.reason ? t("Declined by {program}: {reason}", p) : t("Declined by {program}", p)),
  referral_withdrawn: (p) => t("Referral to {program} withdrawn", p),
  referral_expired: (p) => t("Referral to {program} expired", p),
  hold_placed: (p) => t("Bed held at {program}", p),
  hold_released: (p) => t("Bed released at {program}", p),
  admitted: (p) => t("Admitted at {program}", p),
  at_risk: () => t("At risk: nothing accepted or held yet"),
  lapsed: () => t("Lapsed: discharged without a landing"),
  bed_match: (p) => t("Beds open that fit: {programs}", p),
  note: (p) => t("Note: {text}", p),
  member_invited: (p) => t("{member} joined the care team", p),
  member_removed: (p) => t("{member} left the care team", p),
  cancelled: () => t("Cancelled"),
  next_step: () => t("Next step on the pathway is being watched"),
};

async function eventText(event) {
  const d = event.details || {};
  const params = { ...d, program: d.program || (d.program_id ? await programName(d.program_id) : ""),
                   reason: reasonWords(d.reason), member: d.label || d.member || d.member_id || "",
                   programs: (d.programs || []).map((p) => `${p.program} (${p.available_now})`).join(", ") };
  return (EVENT_WORDS[event.kind] || (() => event.kind.replaceAll("_", " ")))(params);
}

const ROLE_WORDS = {
  navigator: () => t("a connector"), provider: () => t("program staff"),
  supervisor: () => t("a supervisor"), admin: () => t("an administrator"),
  system: () => t("Bedfinder"),
};

/** Who did it, in words: a person's name as the server gives it; a machine token or the
 * server itself by its role ("navigator:tok-…" says nothing to a reader). */
function actorWords(actor) {
  const match = /^(\w+):(tok-|watch|system)/.exec(actor || "");
  if (match && ROLE_WORDS[match[1]]) return ROLE_WORDS[match[1]]();
  return (actor || "").replace(/ \((usr|tok)-[^)]*\)$/, ""); // "Ana Ruiz (usr-…)": the name
}

async function eventItem(event) {
  return el("li", { class: `tl-${event.kind}`, dataset: { event: String(event.id) } },
    el("time", { datetime: event.at, text: when(event.at) }),
    el("span", { class: "tl-text", text: await eventText(event) }),
    event.actor ? el("span", { class: "muted tl-actor" }, " · ", actorWords(event.actor)) : null);
}

async function appendEvent(event) {
  const list = $("#tp-timeline");
  if (list.querySelector(`[data-event="${CSS.escape(String(event.id))}"]`)) return;
  const item = await eventItem(event);
  if (list.querySelector(`[data-event="${CSS.escape(String(event.id))}"]`)) return;
  const later = [...list.children].find((li) => Number(li.dataset.event) > event.id);
  list.insertBefore(item, later || null);
  flash(item);
}

async function loadTimeline() {
  const tr = state.selected;
  const list = $("#tp-timeline");
  let events;
  try { events = await api(`/api/v1/transitions/${encodeURIComponent(tr.id)}/timeline`); } catch {
    list.closest("section").hidden = true; // no timeline on this server
    return;
  }
  list.closest("section").hidden = false;
  if (!state.selected || state.selected.id !== tr.id) return;
  list.replaceChildren(...await Promise.all(events.map(eventItem)));
}

async function addNote(event) {
  event.preventDefault();
  const tr = state.selected;
  const input = $("#note-text");
  const text = input.value.trim();
  if (!text) return;
  try {
    await api(`/api/v1/transitions/${encodeURIComponent(tr.id)}/notes`, { method: "POST", json: { text } });
    input.value = "";
    say("#note-msg", t("Note added."));
    await loadTimeline();
  } catch (failure) {
    say("#note-msg", t("Note not added: {why}", { why: failure.message }), false);
  }
}

// Care team ---------------------------------------------------------------------------

function drawTeam() {
  const tr = state.selected;
  const team = tr.team;
  $("#tp-team-box").hidden = !team;
  if (!team) return;
  const lead = !team.lead ? t("not claimed yet")
    : state.me && team.lead === state.me.token_id ? t("you ({name})", { name: state.me.label || state.me.role })
      : team.lead_label || (isSupervisor() ? team.lead : t("a connector")); // ids are for supervisors
  const items = [el("li", { class: "cx-item" }, el("span", { text: t("Lead connector: {name}", { name: lead }) }))];
  for (const m of team.members || []) {
    items.push(el("li", { class: "cx-item" },
      el("span", { text: m.label }),
      m.release_on_file ? el("span", { class: "muted" }, " · ", t("release on file, confirmed {time}", { time: when(m.release_confirmed_at) })) : null));
  }
  $("#tp-team").replaceChildren(...items);
  $("#invite-form").hidden = tr.member === false || tr.status !== OPEN || isProvider();
  $("#note-form").hidden = tr.member === false;
}

async function invite(event) {
  event.preventDefault();
  const tr = state.selected;
  const member = $("#invite-member").value.trim();
  if (!member) return;
  try {
    const team = await api(`/api/v1/transitions/${encodeURIComponent(tr.id)}/team`, { method: "POST", json: {
      member, release_on_file: $("#invite-release").checked } });
    state.selected.team = team;
    $("#invite-member").value = "";
    $("#invite-release").checked = false;
    say("#invite-msg", t("Invited to the care team."));
    drawTeam();
    loadTimeline();
  } catch (failure) {
    say("#invite-msg", t("Not invited: {why}", { why: failure.message }), false);
  }
}

// Start, cancel, next step ------------------------------------------------------------

async function fillPrograms() {
  const select = $("#start-from");
  if (!state.directory) {
    try { state.directory = (await api("/api/v1/programs?limit=200&sort=relevance")).programs; } catch { return; }
    state.directory.sort((a, b) => a.name.localeCompare(b.name));
    for (const p of state.directory) state.programs.set(p.id, p);
  }
  const sorted = state.directory;
  select.replaceChildren(el("option", { value: "", text: t("Choose the program") }),
    ...sorted.map((p) => el("option", { value: p.id, text: `${p.name} (${levelName(p.level_of_care)})` })));
}

async function openStart() {
  const dialog = $("#start-dialog");
  dialog.replaceChildren($("#start-template").content.cloneNode(true));
  $("#start-form").addEventListener("submit", startTransition);
  $("#start-cancel").addEventListener("click", () => dialog.close());
  await fillPrograms();
  $("#start-ready").value = localInput(24);
  dialog.showModal();
  $("#start-ref").focus();
}

async function startTransition(event) {
  event.preventDefault();
  const form = $("#start-form");
  if (!form.reportValidity()) return;
  const data = new FormData(form);
  const needs = {};
  if (data.get("gender")) needs.gender = data.get("gender");
  if (data.get("payer")) needs.payer = data.get("payer");
  if (data.get("age")) needs.age = Number(data.get("age"));
  try {
    const row = await api("/api/v1/transitions", { method: "POST", json: {
      client_ref: String(data.get("client_ref")).trim(), from_program_id: data.get("from_program_id"),
      discharge_at: new Date(String(data.get("discharge_at"))).toISOString(), needs } });
    $("#start-dialog").close();
    say("#caseload-msg", t("Watching {ref}.", { ref: row.client_ref }));
    await refreshLists();
    await select(row.id);
  } catch (failure) {
    $("#start-error").textContent = t("Not started: {why}", { why: failure.message });
  }
}

let cancelArmed = null;

async function cancel() {
  const tr = state.selected;
  const button = $("#tp-cancel");
  if (!cancelArmed) { // a second press confirms: nothing is lost to one stray tap
    button.textContent = t("Press again to cancel {ref}", { ref: tr.client_ref });
    cancelArmed = setTimeout(() => { cancelArmed = null; button.textContent = t("Cancel this transition"); }, 5000);
    return;
  }
  clearTimeout(cancelArmed);
  cancelArmed = null;
  button.textContent = t("Cancel this transition");
  try {
    await api(`/api/v1/transitions/${encodeURIComponent(tr.id)}/cancel`, { method: "POST" });
    say("#tp-msg", t("{ref}: transition cancelled.", { ref: tr.client_ref }));
  } catch (failure) {
    say("#tp-msg", t("Could not cancel: {why}", { why: failure.message }), false);
  }
  await refreshLists();
  await select(tr.id, { focus: false });
}

async function watchNext(event) {
  event.preventDefault();
  const tr = state.selected;
  const ready = $("#next-ready").value;
  try {
    const next = await api(`/api/v1/transitions/${encodeURIComponent(tr.id)}/next`, { method: "POST", json: {
      ready_by: new Date(ready).toISOString() } });
    await refreshLists();
    await select(next.id);
    say("#tp-msg", t("Watching the next step for {ref}.", { ref: next.client_ref }));
  } catch (failure) {
    say("#next-msg", t("Next step not started: {why}", { why: failure.message }), false);
  }
}

async function assign(event) {
  event.preventDefault();
  const tr = state.selected;
  const to = $("#assign-to").value.trim();
  try {
    await api(`/api/v1/transitions/${encodeURIComponent(tr.id)}/assign`, { method: "POST", json: {
      navigator: to, force: $("#assign-force").checked } });
    say("#assign-msg", t("{ref} is now with {navigator}.", { ref: tr.client_ref, navigator: to }));
    $("#assign-to").value = "";
    $("#assign-force").checked = false;
  } catch (failure) {
    say("#assign-msg", t("Not reassigned: {why}", { why: failure.message }), false);
  }
  await refreshLists();
  await select(tr.id, { focus: false });
}

// Live messages -----------------------------------------------------------------------

let refreshTimer = null;
function refreshSoon(id) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    refreshLists();
    if (state.wanted && (!id || state.wanted === id)) select(state.wanted, { focus: false });
  }, 100);
}

/** Websocket messages other than unit changes: referral answers, timeline events, matches. */
export function onMessage(message) {
  const selected = state.selected;
  if (message.type === "transition_event" && selected && selected.id === message.transition_id
      && message.event) {
    appendEvent(message.event); // at once; the rest of the panel follows
  }
  const referral = message.type === "referral" && message.referral;
  if (referral && selected && referral.transition_id === selected.id) {
    const i = state.referrals.findIndex((r) => r.id === referral.id);
    if (i >= 0) state.referrals[i] = { ...state.referrals[i], ...referral };
    drawReferrals();
  }
  if (message.type === "transition_event") {
    refreshSoon(message.transition_id);
    const row = document.querySelector(`#transitions [data-transition="${CSS.escape(message.transition_id)}"]`);
    if (row) flash(row);
  } else if (message.type === "referral") {
    const r = message.referral || {};
    if (!r.transition_id || (state.selected && state.selected.id === r.transition_id)) refreshSoon(r.transition_id);
    else refreshSoon(null);
  } else if (message.type === "transition_match" || message.type === "transition_queue") {
    refreshSoon(null);
  }
}

/** Wire the controls and load the caseload; `me` is the signed-in identity. */
export async function startConnector(me) {
  state.me = me;
  $("#start-transition").addEventListener("click", openStart);
  $("#start-dialog").addEventListener("close", () => $("#start-dialog").replaceChildren());
  $("#refer-form").addEventListener("submit", refer);
  $("#note-form").addEventListener("submit", addNote);
  $("#invite-form").addEventListener("submit", invite);
  $("#next-form").addEventListener("submit", watchNext);
  $("#tp-cancel").addEventListener("click", cancel);
  $("#assign-form").addEventListener("submit", assign);
  $("#tp-admit").addEventListener("click", () => endHold("admit"));
  $("#tp-release").addEventListener("click", () => endHold("release"));
  if (isProvider()) {
    $("#caseload-title").textContent = t("Transitions we are part of");
    $("#transitions-title").textContent = t("Clients moving from or to our programs");
    $("#start-transition").hidden = true;
  }
  limitChoices();
  await refreshLists();
  // `?transition=ID` (an alert's link) or `#transition=ID` (a shared link) opens that one.
  const wanted = new URLSearchParams(location.search).get("transition")
    || new URLSearchParams(location.hash.replace(/^#/, "")).get("transition");
  const first = wanted ? { id: wanted } : state.transitions.find((r) => r.status === OPEN);
  if (first) await select(first.id, { focus: Boolean(wanted) });
  window.addEventListener("hashchange", () => {
    const id = new URLSearchParams(location.hash.replace(/^#/, "")).get("transition");
    if (id) select(id);
  });
  setInterval(refreshLists, 60000);
  // A new discharge-pending client is no message to navigators (it has no team yet): look.
  setInterval(loadQueue, 15000);
}
