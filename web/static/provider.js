// Provider: keep the organization's counts current with one tap, see holds and referrals.
import {
  holdTracker,
  $, LiveFeed, api, config, connectionWords, el, flash, inWords, levelName, setConnection, signIn,
  statusWord, timeAgo, untilText,
} from "./common.js";

const units = new Map(); // unit id -> {unit, program, parts}
const queues = new Map(); // unit id -> the promise of its last write (writes go in order)
let me = null;
let holds = [];
const seenReferrals = new Set();

function serial(unitId, job) {
  const next = (queues.get(unitId) || Promise.resolve()).then(job, job);
  queues.set(unitId, next.catch(() => {}));
  return next;
}

function say(parts, text, ok) {
  parts.msg.className = `msg ${ok ? "ok" : "bad"}`;
  parts.msg.textContent = text;
}

function dischargeText(d) {
  const when = t.date(d.at, { weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  return t("{count} expected to leave {when}", { count: t.number(d.count), when });
}

function renderCounts(entry) {
  const { unit, parts } = entry;
  parts.card.className = `prov-unit status-${unit.status}`;
  parts.status.textContent = statusWord(unit.status);
  parts.status.className = `status ${unit.status}`;
  parts.age.dataset.updated = unit.updated_at || "";
  parts.age.textContent = timeAgo(unit.updated_at);
  parts.stale.hidden = !unit.stale;
  parts.counts.textContent = t("{held} held for clients on the way · {waitlist} on waitlist · capacity {capacity}",
                               { held: t.number(unit.held), waitlist: t.number(unit.waitlist), capacity: t.number(unit.capacity) });
  if (document.activeElement !== parts.input && !parts.input.dataset.dirty) parts.input.value = String(unit.available);
  parts.input.max = String(Math.max(0, unit.capacity - unit.held));
  parts.minus.disabled = unit.available <= 0;
  parts.plus.disabled = unit.available + unit.held >= unit.capacity;
  const list = unit.expected_discharges || [];
  parts.dischargeSummary.textContent = t("Expected discharges ({count})", { count: t.number(list.length) });
  parts.dischargeList.replaceChildren(...list.map((d, i) => el("li", {},
    el("span", { text: dischargeText(d) }),
    el("button", { type: "button", class: "secondary small", text: t("Remove"),
                   "aria-label": t("Remove: {what}", { what: dischargeText(d) }), onclick: () => removeDischarge(entry, i) }))));
  todo();
}

function unitCard(program, unit) {
  const id = unit.id;
  const label = unit.label || t("Beds");
  const parts = {};
  parts.input = el("input", { id: `avail-${id}`, type: "number", min: "0", inputmode: "numeric",
                              oninput: () => { parts.input.dataset.dirty = "1"; } });
  parts.minus = el("button", { type: "button", class: "step", text: "−", "aria-label": t("One fewer open: {unit}", { unit: label }),
                               onclick: () => step(id, -1) });
  parts.plus = el("button", { type: "button", class: "step", text: "+", "aria-label": t("One more open: {unit}", { unit: label }),
                              onclick: () => step(id, +1) });
  parts.status = el("span", { class: "status" });
  parts.age = el("span", { class: "age" });
  parts.stale = el("span", { class: "stale-badge", text: t("Stale: please confirm"), hidden: true });
  parts.counts = el("p", { class: "prov-counts muted" });
  parts.msg = el("p", { class: "msg", role: "status" });
  parts.dischargeSummary = el("summary");
  parts.dischargeList = el("ul", { class: "discharge-list" });
  const whenId = `dis-at-${id}`;
  const countId = `dis-count-${id}`;
  const form = el("form", { class: "stepper", novalidate: true, onsubmit: (e) => { e.preventDefault(); setTo(id, Number(parts.input.value)); } },
    el("label", { for: `avail-${id}`, text: unit.kind === "slot" ? t("Open slots now") : t("Open beds now") }),
    parts.minus, parts.input, parts.plus,
    el("button", { type: "submit", class: "primary save", text: t("Save number") }));
  const discharge = el("form", { class: "discharge-form", onsubmit: (e) => { e.preventDefault(); addDischarge(id, whenId, countId); } },
    el("div", {}, el("label", { for: whenId, text: t("When") }), el("input", { id: whenId, type: "datetime-local", required: true })),
    el("div", {}, el("label", { for: countId, text: t("How many") }), el("input", { id: countId, type: "number", min: "1", max: "1000", value: "1", required: true })),
    el("button", { type: "submit", class: "secondary", text: t("Add discharge") }));
  parts.card = el("article", { class: "prov-unit", dataset: { unit: id }, "aria-labelledby": `title-${id}` },
    el("div", { class: "prov-unit-head" },
      el("h4", { id: `title-${id}`, text: label }),
      el("span", {}, parts.status, " ", parts.age, " ", parts.stale)),
    form, parts.counts,
    el("button", { type: "button", class: "secondary attest", text: t("✓ No change: these counts are right"),
                   "aria-label": t("No change: confirm counts for {unit}", { unit: label }), onclick: () => attest(id) }),
    parts.msg,
    el("details", { class: "discharges" }, parts.dischargeSummary, parts.dischargeList, discharge));
  const entry = { unit, program, parts };
  units.set(id, entry);
  renderCounts(entry);
  return parts.card;
}

function programSection(program) {
  return el("section", { class: "panel prov-program", "aria-labelledby": `prog-${program.id}` },
    el("h3", { id: `prog-${program.id}`, text: program.name }),
    el("p", { class: "muted", text: [levelName(program.level_of_care), program.area].filter(Boolean).join(" · ") }),
    program.units.map((u) => unitCard(program, u)));
}

function todo() {
  const stale = [...units.values()].filter((e) => e.unit.stale).length;
  $("#todo").textContent = stale
    ? t("{stale} of {total} counts need confirming: set the number or tap “No change”.", { stale: t.number(stale), total: t.number(units.size) })
    : t.n("The count is current. Thank you.", "All {count} counts are current. Thank you.", units.size);
}

async function write(id, request, done) {
  const entry = units.get(id);
  try {
    const unit = await request();
    apply(unit);
    delete entry.parts.input.dataset.dirty;
    say(entry.parts, done(unit), true);
  } catch (failure) {
    say(entry.parts, t("Not saved: {reason}", { reason: failure.message }), false);
    delete entry.parts.input.dataset.dirty;
    renderCounts(entry);
  }
}

function put(id, body) {
  return api(`/api/v1/units/${encodeURIComponent(id)}/availability`, { method: "PUT", json: body });
}

function step(id, delta) {
  const entry = units.get(id);
  const target = Math.max(0, Number(entry.parts.input.value || entry.unit.available) + delta);
  entry.parts.input.value = String(target);
  entry.parts.input.dataset.dirty = "1";
  return serial(id, () => write(id, () => put(id, { available: target }), (u) => t("Saved: {n} open.", { n: t.number(u.available) })));
}

function setTo(id, value) {
  const entry = units.get(id);
  if (!Number.isInteger(value) || value < 0) {
    say(entry.parts, t("Enter a whole number, 0 or more."), false);
    return null;
  }
  return serial(id, () => write(id, () => put(id, { available: value }), (u) => t("Saved: {n} open.", { n: t.number(u.available) })));
}

function attest(id) {
  return serial(id, () => write(id, () => api(`/api/v1/units/${encodeURIComponent(id)}/attest`, { method: "POST" }),
    (u) => t("Confirmed: {n} open, no change.", { n: t.number(u.available) })));
}

function addDischarge(id, whenId, countId) {
  const entry = units.get(id);
  const when = $(`#${CSS.escape(whenId)}`).value;
  const count = Number($(`#${CSS.escape(countId)}`).value);
  if (!when) return say(entry.parts, t("Choose when the discharge is expected."), false);
  const list = [...(entry.unit.expected_discharges || []), { at: new Date(when).toISOString(), count }];
  return serial(id, () => write(id, () => put(id, { available: entry.unit.available, expected_discharges: list }),
    () => t("Expected discharge added.")));
}

function removeDischarge(entry, index) {
  const id = entry.unit.id;
  const list = (entry.unit.expected_discharges || []).filter((_, i) => i !== index);
  return serial(id, () => write(id, () => put(id, { available: entry.unit.available, expected_discharges: list }),
    () => t("Expected discharge removed.")));
}

function apply(unit) {
  const entry = units.get(unit.id);
  if (!entry) return false;
  if (entry.unit.seq > unit.seq) return false;
  const changed = entry.unit.available !== unit.available || entry.unit.held !== unit.held;
  entry.unit = { ...entry.unit, ...unit };
  renderCounts(entry);
  if (changed) flash(entry.parts.card);
  return true;
}

// Holds and referrals -------------------------------------------------------------------

function unitName(unitId) {
  const entry = units.get(unitId);
  return entry ? `${entry.program.name} — ${entry.unit.label}` : unitId;
}

async function loadHolds() {
  try { holds = await api("/api/v1/holds?status=active"); } catch { return; }
  $("#holds-empty").hidden = holds.length > 0;
  $("#holds").replaceChildren(...holds.map((h) => el("li", { dataset: { hold: h.id } },
    el("strong", { text: `${unitName(h.unit_id)}` }),
    el("span", {}, `${t("Client {ref}", { ref: h.client_ref || "" })} · `, h.held_by ? `${t("held by {who}", { who: h.held_by })} · ` : "", el("span", { class: "countdown", dataset: { expires: h.expires_at }, text: untilText(h.expires_at) })),
    el("span", { class: "actions" },
      el("button", { type: "button", class: "primary small", text: t("Arrived: admit"), "aria-label": t("Arrived: admit {ref}", { ref: h.client_ref }), onclick: () => endHold(h, "admit") }),
      el("button", { type: "button", class: "secondary small", text: t("Release"), "aria-label": t("Release bed held for {ref}", { ref: h.client_ref }), onclick: () => endHold(h, "release") })))));
}

async function endHold(hold, action) {
  const msg = $("#holds-msg");
  try {
    await api(`/api/v1/holds/${encodeURIComponent(hold.id)}/${action}`, { method: "POST" });
    msg.className = "msg ok";
    msg.textContent = action === "admit" ? t("Admitted.") : t("Bed released.");
  } catch (failure) {
    msg.className = "msg bad";
    msg.textContent = t("Not done: {reason}", { reason: failure.message });
  }
  loadHolds();
}

/** The configured decline reasons, in words where we know them (a county may add its own). */
function declineReason(key) {
  return { no_bed: t("no bed"), eligibility: t("eligibility"), clinical_needs: t("clinical needs"),
           payer: t("payer"), client_declined: t("client declined"), other: t("other") }[key]
    || key.replaceAll("_", " ");
}

function needWord(key) {
  return { gender: t("gender"), age: t("age"), payer: t("payer"), language: t("language"),
           mat: t("medication"), wheelchair: t("wheelchair"), pets: t("pets"),
           co_occurring: t("co-occurring"), involuntary: t("involuntary hold"),
           secure: t("secure unit"), harm_reduction: t("low-barrier"), telehealth: t("telehealth"),
           reentry: t("reentry"), homeless_priority: t("homeless priority") }[key]
    || key.replaceAll("_", " ");
}

function needsText(needs) {
  return Object.entries(needs || {}).filter(([k, v]) => k !== "location" && v !== null && v !== false)
    .map(([k, v]) => (v === true ? needWord(k) : `${needWord(k)}: ${v}`)).join(", ");
}

// Who a unit serves, in the words the server's refusal uses (inventory/eligibility.py): the
// page only preselects and disables; accepting into a unit that does not fit is refused by
// the server all the same.
const GENDER_WORDS = { female: t("women"), male: t("men"), nonbinary: t("nonbinary people") };
const LACKS = {
  wheelchair: t("no wheelchair-accessible room"),
  involuntary: t("does not take people on an involuntary hold"),
  secure: t("not a secure (locked) setting"),
};

function genderWords(genders) {
  const words = ["female", "male", "nonbinary"].filter((g) => genders.includes(g)).map((g) => GENDER_WORDS[g]);
  return new Intl.ListFormat(t.lang, { type: "conjunction" }).format(words);
}

/** Why this unit cannot take the person the referral describes (empty: it can). */
function misfits(unit, needs) {
  const out = [];
  if (needs.gender && unit.genders && !unit.genders.includes(needs.gender)) out.push(t("{who} only", { who: genderWords(unit.genders) }));
  if (typeof needs.age === "number" && unit.age_min !== undefined && !(unit.age_min <= needs.age && needs.age <= unit.age_max)) {
    out.push(t("ages {min}-{max} only", { min: unit.age_min, max: unit.age_max }));
  }
  for (const [name, words] of Object.entries(LACKS)) if (needs[name] && unit[name] === false) out.push(words);
  return out;
}

/** The "Accept into" choices: units that do not fit are shown, disabled, with the reason; the
 * first fitting unit with a free bed (else the first fitting one) is preselected. */
function unitOptions(program, needs) {
  const list = program ? program.units : [];
  const open = (u) => units.get(u.id)?.unit.available ?? u.available;
  const fitting = list.filter((u) => misfits(u, needs || {}).length === 0);
  const chosen = fitting.find((u) => open(u) > 0) || fitting[0];
  return list.map((u) => {
    const why = misfits(u, needs || {});
    return el("option", {
      value: u.id, disabled: why.length > 0, selected: u === chosen,
      text: why.length ? t("{unit}: does not fit ({reasons})", { unit: u.label, reasons: why.join("; ") })
        : t("{unit} ({n} open)", { unit: u.label, n: t.number(open(u)) }),
    });
  });
}

function referralItem(r) {
  const program = [...units.values()].find((e) => e.program.id === r.program_id)?.program;
  const unitSelect = `ref-unit-${r.id}`;
  const reasonSelect = `ref-reason-${r.id}`;
  const msg = el("p", { class: "msg", role: "status" });
  const act = async (path, body, done) => {
    try {
      await api(`/api/v1/referrals/${encodeURIComponent(r.id)}/${path}`, { method: "POST", json: body });
      msg.className = "msg ok";
      msg.textContent = done;
      setTimeout(() => { loadReferrals(); loadHolds(); }, 1200);
    } catch (failure) {
      msg.className = "msg bad";
      msg.textContent = t("Not done: {reason}", { reason: failure.message });
    }
  };
  const anyFits = (program ? program.units : []).some((u) => misfits(u, r.needs || {}).length === 0);
  const isNew = !seenReferrals.has(r.id);
  if (isNew) {
    seenReferrals.add(r.id);
    if (!r.acknowledged_at) api(`/api/v1/referrals/${encodeURIComponent(r.id)}/acknowledge`, { method: "POST" }).catch(() => {});
  }
  return el("li", { class: isNew ? "new" : "", dataset: { referral: r.id } },
    el("strong", { text: `${t("Client {ref}", { ref: r.client_ref || "" })} → ${program ? program.name : r.program_id}` }),
    el("span", { class: "muted", text: [needsText(r.needs), r.note, t("answer {when} (by {time})", { when: inWords(r.expires_at), time: t.time(r.expires_at) })].filter(Boolean).join(" · ") }),
    el("form", { class: "ref-actions", onsubmit: (e) => { e.preventDefault(); act("accept", { unit_id: $(`#${CSS.escape(unitSelect)}`).value }, t("Accepted: a bed is held for this client.")); } },
      el("div", {}, el("label", { for: unitSelect, text: t("Accept into") }),
        el("select", { id: unitSelect }, unitOptions(program, r.needs))),
      el("button", { type: "submit", class: "primary", text: t("Accept"), disabled: !anyFits || undefined })),
    anyFits ? null : el("p", { class: "hint", text: t("None of your units here fits this client's needs: decline with a reason.") }),
    el("form", { class: "ref-actions", onsubmit: (e) => { e.preventDefault(); act("decline", { reason: $(`#${CSS.escape(reasonSelect)}`).value }, t("Declined.")); } },
      el("div", {}, el("label", { for: reasonSelect, text: t("Decline because") }),
        el("select", { id: reasonSelect }, (config.decline_reasons || ["other"]).map((x) => el("option", { value: x, text: declineReason(x) })))),
      el("button", { type: "submit", class: "danger", text: t("Decline") })),
    msg);
}

async function loadReferrals() {
  let list;
  try { list = await api("/api/v1/referrals?status=pending"); } catch { return; }
  $("#referrals-empty").hidden = list.length > 0;
  $("#referrals").closest("section").classList.toggle("quiet", list.length === 0);
  $("#referrals").replaceChildren(...list.map(referralItem));
}

function cue(text) {
  const banner = $("#flash");
  banner.textContent = text;
  banner.hidden = false;
  flash(banner);
  setTimeout(() => { banner.hidden = true; }, 15000);
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    gain.gain.value = 0.08;
    tone.frequency.value = 880;
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.25);
  } catch { /* no sound: the banner is the cue */ }
}

function onMessage(message) {
  if (message.type === "referral" && message.referral && message.referral.status === "pending") {
    cue(t("New referral for client {ref}.", { ref: message.referral.client_ref || "" }));
  }
  if (message.type === "referral") loadReferrals();
  if (message.type === "transition_event") document.dispatchEvent(new CustomEvent("bedfinder:transition", { detail: message }));
}

function onUnit(unit, message) {
  apply(unit);
  if (message && message.hold_id) holds = holdEvent(message, holds);
}

const holdEvent = holdTracker(() => loadHolds());

// Census upload ---------------------------------------------------------------------------

async function upload(event) {
  event.preventDefault();
  const out = $("#census-result");
  const file = $("#census-file").files[0];
  if (!file) {
    out.className = "msg bad";
    out.textContent = t("Choose a CSV file first.");
    return;
  }
  const form = new FormData();
  form.append("file", file);
  out.className = "msg";
  out.textContent = t("Uploading…");
  try {
    const result = await api("/api/v1/census", { method: "POST", form });
    out.className = "msg ok";
    out.textContent = t.n("Applied {count} row: the counts above are updated.", "Applied {count} rows: the counts above are updated.", result.applied);
    for (const unit of result.units || []) apply(unit);
    $("#census-file").value = "";
  } catch (failure) {
    out.className = "msg bad";
    const rows = failure.body && Array.isArray(failure.body.rows) ? failure.body.rows : [];
    out.replaceChildren(t("Nothing applied: {reason}", { reason: failure.status === 404 ? t("census upload is not available on this server") : failure.message }));
    if (rows.length) {
      out.append(el("ul", { class: "census-report" }, rows.map((r) => el("li", {
        text: t("Row {row}: {errors}", { row: r.row, errors: (r.errors || []).join("; ") }) }))));
    }
  }
}

async function main() {
  me = await signIn({ roles: ["provider", "admin"] });
  const data = await api("/api/v1/programs?limit=2000");
  const mine = data.programs.filter((p) => me.role === "admin" || p.organization_id === me.organization_id);
  if (mine.length) $("#org-title").textContent = me.role === "admin" ? t("Update beds (all organizations)") : mine[0].organization_name;
  $("#programs").replaceChildren(...(mine.length ? mine.map(programSection)
    : [el("p", { class: "panel", text: t("Your organization has no programs yet. An administrator adds them.") })]));
  todo();
  const feed = new LiveFeed({
    onState: (state, detail) => setConnection(state, connectionWords(state, detail)),
    onSnapshot: (list) => list.forEach((u) => apply(u)), onUnit, onMessage,
  });
  feed.start();
  $("#census-form").addEventListener("submit", upload);
  loadHolds();
  loadReferrals();
  setInterval(() => {
    for (const node of document.querySelectorAll(".countdown")) node.textContent = untilText(node.dataset.expires);
  }, 1000);
  setInterval(() => {
    for (const entry of units.values()) entry.parts.age.textContent = timeAgo(entry.unit.updated_at);
  }, 30000);
  setInterval(loadReferrals, 60000);
}

main();
